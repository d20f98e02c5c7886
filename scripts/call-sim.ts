/**
 * `npm run call:sim -- --persona brad --script sandbox/scenarios/friendly.json`: places one keyless
 * call end to end and prints the transcript with per-turn latencies and what the callee heard.
 * It reuses a running stack (`--base-url`, default http://127.0.0.1:8787, with the Twilio emulator
 * on `--twilio-url`, default :8791) or starts its own (`startStack`), signs in as the demo user,
 * registers the scripted callee on the demo phone at the Twilio emulator, places the call through
 * `POST /api/calls`, follows the live SSE stream until `ended`, then reads the stored call.
 * `runScriptedCall` is the same flow as a function (the e2e tests use it).
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Call, CallTurn, LiveEvent } from "../contracts/calls";
import { DEMO_USER } from "../worker/db/seed";

export interface ScriptedCallOptions {
  baseUrl: string;
  twilioUrl: string;
  /** Persona slug (system personas) or name. */
  persona: string;
  /** Scenario object for the scripted callee (sandbox/scenarios/*.json). */
  scenario: Record<string, unknown>;
  durationMinutes?: 3 | 5 | 10 | 15;
  /** Called for each live event as it arrives. */
  onEvent?(event: LiveEvent): void;
  /** Called once the call is placed (e.g. to restart the Durable Object mid-call). */
  onPlaced?(ctx: { callId: string; token: string }): void | Promise<void>;
  /** "sse" follows the live stream; "poll" polls the call until it ended (survives a Durable Object restart). @default "sse" */
  follow?: "sse" | "poll";
  /** Give up waiting for `ended` after this long. @default 120000 */
  timeoutMs?: number;
}

export interface HeardSegment {
  text: string;
  cut?: boolean;
}

export interface ScriptedCallResult {
  call: Call;
  turns: CallTurn[];
  events: LiveEvent[];
  token: string;
  /** The Twilio emulator's record of the call (what the callee said and heard, clears, marks). */
  record: TwilioCallRecord | null;
}

export interface TwilioCallRecord {
  status: string;
  heardText?: string;
  heard?: HeardSegment[];
  said?: { text: string; kind: string; bargeIn?: boolean; responseLatencyMs?: number | null; clearLatencyMs?: number | null }[];
  clears?: unknown[];
  twiml?: unknown[];
  callbacks?: unknown[];
  [k: string]: unknown;
}

async function json<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Signs in as the demo user and returns the bearer token. */
export async function demoLogin(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: DEMO_USER.email, password: DEMO_USER.password }),
  });
  return (await json<{ token: string }>(res, "login")).token;
}

/** Reads SSE `data:` events from a streaming response until `until` returns true or the stream ends. */
export async function readLiveEvents(res: Response, onEvent: (e: LiveEvent) => boolean | void): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let idx: number;
    while ((idx = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      const data = block
        .split("\n")
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart())
        .join("\n");
      if (!data) continue;
      if (onEvent(JSON.parse(data) as LiveEvent) === true) {
        await reader.cancel().catch(() => undefined);
        return;
      }
    }
  }
}

export async function runScriptedCall(opts: ScriptedCallOptions): Promise<ScriptedCallResult> {
  const { baseUrl, twilioUrl } = opts;
  const token = await demoLogin(baseUrl);
  const auth = { Authorization: `Bearer ${token}` };
  const personas = await json<{ personas: { id: string; slug: string | null; name: string }[] }>(
    await fetch(`${baseUrl}/api/personas`, { headers: auth }),
    "personas",
  );
  const wanted = opts.persona.toLowerCase();
  const persona = personas.personas.find((p) => p.slug === wanted || p.name.toLowerCase() === wanted);
  if (!persona) throw new Error(`no persona "${opts.persona}"`);
  const reg = await fetch(`${twilioUrl}/__sandbox/phones/${encodeURIComponent(DEMO_USER.phone)}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ scenario: opts.scenario }),
  });
  if (!reg.ok) throw new Error(`registering the scripted callee: HTTP ${reg.status}`);

  const placed = await json<{ call: Call }>(
    await fetch(`${baseUrl}/api/calls`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ personaId: persona.id, durationMinutes: opts.durationMinutes ?? 3 }),
    }),
    "place call",
  );
  const callId = placed.call.id;
  const events: LiveEvent[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs ?? 120_000);
  try {
    if (opts.follow === "poll") {
      const placedHook = opts.onPlaced?.({ callId, token });
      for (;;) {
        if (controller.signal.aborted) throw new Error("timed out waiting for the call to end");
        const d = await json<{ call: Call }>(await fetch(`${baseUrl}/api/calls/${callId}`, { headers: auth }), "call detail");
        if (d.call.endedAt) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      await placedHook;
    } else {
    const stream = await fetch(`${baseUrl}/api/calls/${callId}/events`, { headers: auth, signal: controller.signal });
    if (!stream.ok) throw new Error(`events: HTTP ${stream.status}`);
    const placedHook = opts.onPlaced?.({ callId, token });
    await Promise.all([
      readLiveEvents(stream, (e) => {
        events.push(e);
        opts.onEvent?.(e);
        return e.type === "ended";
      }),
      placedHook,
    ]);
    }
  } finally {
    clearTimeout(timer);
  }
  // The final flush happens before `ended`; read the stored call.
  const detail = await json<{ call: Call; turns: CallTurn[] }>(
    await fetch(`${baseUrl}/api/calls/${callId}`, { headers: auth }),
    "call detail",
  );
  let record: TwilioCallRecord | null = null;
  const list = await fetch(`${twilioUrl}/__sandbox/calls`).then((r) => r.json() as Promise<unknown>);
  const callsList = ((list as { calls?: unknown[] }).calls ?? []) as { callSid: string }[];
  const last = callsList[callsList.length - 1];
  if (last) record = (await fetch(`${twilioUrl}/__sandbox/calls/${last.callSid}`).then((r) => r.json())) as TwilioCallRecord;
  return { call: detail.call, turns: detail.turns, events, token, record };
}

/** Human-readable transcript lines with per-turn latency. */
export function formatTranscript(turns: CallTurn[]): string[] {
  return turns.map((t) => {
    const who = t.speaker === "user" ? "caller " : "persona";
    const l = t.latency;
    const lat =
      t.speaker === "assistant" && l
        ? `  [final ${l.endOfSpeechToFinalMs ?? "-"} · llm ${l.llmFirstTokenMs ?? "-"} · tts ${l.ttsFirstByteMs ?? "-"} · sent ${l.firstAudioSentMs ?? "-"} · heard ${l.firstMarkHeardMs ?? "-"} ms${l.speculative ? " · spec" : ""}${l.fallback ? " · fallback" : ""}]`
        : "";
    return `${String(t.seq).padStart(2)} ${who}${t.interrupted ? " (cut)" : ""}: ${t.text}${lat}`;
  });
}

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const persona = arg("persona", "brad") as string;
  const scriptPath = arg("script", "sandbox/scenarios/friendly.json") as string;
  const scenario = JSON.parse(await readFile(resolve(scriptPath), "utf8")) as Record<string, unknown>;
  let baseUrl = arg("base-url", "http://127.0.0.1:8787") as string;
  let twilioUrl = arg("twilio-url", "http://127.0.0.1:8791") as string;
  let close: (() => Promise<void>) | null = null;
  const up = await fetch(`${baseUrl}/health`).then((r) => r.ok).catch(() => false);
  if (up) {
    console.log(`using the running stack at ${baseUrl}`);
  } else {
    console.log("starting a local stack (sandbox emulators + wrangler dev)…");
    const { startStack } = await import("./stack");
    const stack = await startStack({ port: 0 });
    baseUrl = stack.baseUrl;
    twilioUrl = stack.sandbox.urls.twilio;
    close = () => stack.close();
  }
  try {
    const started = Date.now();
    const result = await runScriptedCall({
      baseUrl,
      twilioUrl,
      persona,
      scenario,
      onEvent: (e) => {
        if (e.type === "status") console.log(`  · ${e.status}`);
        if (e.type === "turn") console.log(`  ${e.turn.speaker === "user" ? "caller " : "persona"}: ${e.turn.text}`);
      },
    });
    console.log(`\ncall ${result.call.id}: ${result.call.status} (${result.call.endReason ?? "-"}), ${result.call.durationS ?? 0} s, wall ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log("\ntranscript (latency ms from the end of caller speech):");
    for (const line of formatTranscript(result.turns)) console.log(line);
    const replies = result.turns.filter((t) => t.speaker === "assistant" && t.seq > 0 && t.latency?.firstAudioSentMs != null);
    const v2v = replies.map((t) => t.latency?.firstAudioSentMs as number).sort((a, b) => a - b);
    if (v2v.length > 0) {
      console.log(`\nv2v (end of caller speech → first audio frame sent): p50 ${v2v[Math.floor(v2v.length / 2)]} ms, max ${v2v[v2v.length - 1]} ms over ${v2v.length} replies`);
    }
    if (result.record) {
      console.log("\nwhat the callee heard:");
      for (const h of result.record.heard ?? []) console.log(`  ${h.cut ? "(cut) " : ""}${h.text}`);
      const said = (result.record.said ?? []).filter((s) => typeof s.responseLatencyMs === "number");
      if (said.length > 0) console.log(`callee-measured response latency: ${said.map((s) => s.responseLatencyMs).join(", ")} ms`);
    }
  } finally {
    await close?.();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.dirname, "call-sim.ts")) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
