/**
 * `npm run bench`: the call loop measured end to end. Starts the real stack (startStack: workerd
 * running the Worker and the CallSession Durable Objects — in Miniflare by default, or under
 * `wrangler dev` — Postgres over Neon HTTP, the vendor emulators) with fixed injected vendor latencies, places scripted calls through
 * `POST /api/calls` to scripted sandbox callees, and reads the results from the Twilio emulator's
 * own timeline (plus a tap on every outbound media frame, bench/lib/tap.ts).
 *
 * Two stacks, because speculation is a Worker binding (PIPELINE_CONFIG_JSON):
 *   A. speculation OFF — latency turns (v2v, overhead, greeting, CPU), barge-in rounds,
 *      backchannel rounds (every `clear` there is a false interruption);
 *   B. speculation ON (the product default) — latency turns (speculative v2v), then the
 *      concurrency run (N simultaneous calls: dropped frames, pacing jitter, CPU).
 * Then (C) the first concurrency level on the comparison runtime and (F) the runtime's floor:
 * workerd carrying as many sockets of media messages with no application (bench/lib/floor.ts).
 * Prints human-readable lines, then ONE JSON object as the last line. Flags: --calls, --turns,
 * --barge-calls, --barge-rounds, --concurrency (levels, default 10,25,100), --concurrency-turns,
 * --data-dir <dir> (persist Postgres + Durable Object storage there, wiped first), --quick (small smoke run),
 * --runtime miniflare|wrangler (what runs every phase; default miniflare: workerd without wrangler
 * dev's proxy and inspector), --compare-runtime wrangler|miniflare|none (a third stack on that
 * runtime runs the first concurrency level again, for CPU per call-minute on both; default: the
 * other runtime, none with --quick), --ramp-ms-per-call (concurrency placement ramp, default 150),
 * --pg-main-thread (Postgres in this process's event loop instead of its worker thread, to compare).
 */
import { cpus, loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { startStack, type Stack, type StackRuntime } from "../scripts/stack";
import { runCalls, streamSeconds, type CallRun } from "./lib/driver";
import { analysePlayback } from "./lib/frames";
import { ticksPerSecond } from "./lib/cpu";
import { CpuSampler } from "./lib/cpu-sampler";
import { measureRuntimeFloor } from "./lib/floor";
import { backchannelScenario, bargeInScenario, gateReadyMs, latencyScenario } from "./lib/scenarios";
import { formatSummary, percentile, round, summarize } from "./lib/stats";
import { personaIdBySlug, provisionUsers, type BenchUser } from "./lib/users";

/** Injected vendor latencies (ms) and the pipeline constants the analysis needs. */
export const INJECTED = { endpointingMs: 300, llmFirstTokenMs: 200, llmTokensPerSecond: 1000, ttsFirstByteMs: 150 } as const;
const INJECTED_SUM_MS = INJECTED.endpointingMs + INJECTED.llmFirstTokenMs + INJECTED.ttsFirstByteMs;
/** The pipeline ends a turn on its local VAD (200 ms of quiet) + Deepgram `Finalize`, not on endpointing. */
const VAD_STOP_MS = 200;
const PATH_SUM_MS = VAD_STOP_MS + INJECTED.llmFirstTokenMs + INJECTED.ttsFirstByteMs;
/** Pipeline defaults (durable-objects/pipeline): pacer lead and the barge-in gate. */
const LEAD_MS = 200;
/** The barge-in gate's voiced minimum once a word rules out a backchannel (barge-in.ts). */
const BARGE_MIN_VOICED_MS = 160;
/** Callee speaking rate (Twilio emulator `speechMsPerChar`). */
const CALLEE_MS_PER_CHAR = 60;

const { values: flags } = parseArgs({
  options: {
    calls: { type: "string" },
    turns: { type: "string" },
    "barge-calls": { type: "string" },
    "barge-rounds": { type: "string" },
    concurrency: { type: "string" },
    "concurrency-turns": { type: "string" },
    quick: { type: "boolean", default: false },
    "data-dir": { type: "string" },
    runtime: { type: "string" },
    "compare-runtime": { type: "string" },
    "ramp-ms-per-call": { type: "string" },
    "pg-main-thread": { type: "boolean", default: false },
  },
});
const quick = flags.quick === true;
const num = (v: string | undefined, dflt: number): number => (v === undefined ? dflt : Math.max(0, Math.floor(Number(v))));
const CFG = {
  latencyCalls: num(flags.calls, quick ? 2 : 8),
  turnsPerCall: num(flags.turns, quick ? 3 : 26),
  bargeCalls: num(flags["barge-calls"], quick ? 2 : 10),
  bargeRounds: num(flags["barge-rounds"], quick ? 2 : 5),
  /** Levels run one after another (e.g. "25,50,100"); the headline figures come from the last. */
  concurrency: (flags.concurrency ?? (quick ? "4" : "10,25,100")).split(",").map((x) => num(x, 0)).filter((x) => x > 0),
  concurrencyTurns: num(flags["concurrency-turns"], quick ? 2 : 3),
  /** Concurrency levels place their calls at an even rate, one per this many ms (≥ 5 s for the whole level). */
  rampMsPerCall: num(flags["ramp-ms-per-call"], 150),
};
const runtimeFlag = (v: string | undefined, dflt: StackRuntime | null): StackRuntime | null => {
  if (v === undefined) return dflt;
  if (v === "none") return null;
  if (v === "miniflare" || v === "wrangler") return v;
  throw new Error(`--runtime / --compare-runtime: expected miniflare, wrangler or none, got ${v}`);
};
/** What runs every phase, and the runtime the first concurrency level is repeated on for comparison. */
const RUNTIME: StackRuntime = runtimeFlag(flags.runtime, "miniflare") ?? "miniflare";
const COMPARE_RUNTIME = runtimeFlag(flags["compare-runtime"], quick ? null : RUNTIME === "miniflare" ? "wrangler" : "miniflare");

const log = (line: string): void => console.log(line);
const t0 = performance.now();
const elapsed = (): string => `${((performance.now() - t0) / 1000).toFixed(0)}s`;

interface PhaseMeasure {
  wallMs: number;
  workerdCpuMs: number;
  /** workerd processes that started during the phase (wrangler dev reloads on source changes). */
  workerdRestarts: number;
  wranglerCpuMs: number;
  /** Event-loop delay p99 of this process (the emulators and Postgres run here), ms. */
  loopDelayP99Ms: number;
  /** Its worst single stall, ms. */
  loopDelayMaxMs: number;
  /** CPU of this process (emulators, Postgres on PGlite, the harness) ÷ wall time: 1 = one core busy. */
  benchCpuShare: number;
}

async function measured<T>(fn: () => Promise<T>): Promise<{ result: T; m: PhaseMeasure }> {
  const hz = ticksPerSecond();
  const workerd = new CpuSampler(process.pid, (p) => p.comm === "workerd", hz);
  // wrangler dev's node processes (the emulators run in this process, which is excluded).
  const wrangler = new CpuSampler(process.pid, (p) => p.comm === "node" && p.pid !== process.pid, hz);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const own0 = process.cpuUsage();
  const start = performance.now();
  try {
    const result = await fn();
    const w = workerd.stop();
    const m: PhaseMeasure = {
      wallMs: performance.now() - start,
      workerdCpuMs: w.cpuMs,
      workerdRestarts: w.started,
      wranglerCpuMs: wrangler.stop().cpuMs,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
      loopDelayMaxMs: loop.max / 1e6,
      benchCpuShare: 0,
    };
    const own = process.cpuUsage(own0);
    m.benchCpuShare = (own.user + own.system) / 1000 / m.wallMs;
    return { result, m };
  } finally {
    workerd.stop();
    wrangler.stop();
    loop.disable();
  }
}

function setKnobs(stack: Stack, personaMsPerChar: number): void {
  const e = stack.sandbox.emulators;
  e.twilio.knobs.set({ ringMs: 500, dialMs: 100, answerDelayMs: 0, frameJitterMs: 0, restLatencyMs: 0, restJitterMs: 0, callbackDelayMs: 0, speechMsPerChar: CALLEE_MS_PER_CHAR });
  e.deepgram.knobs.set({ resultLatencyMs: 0, endpointingDelayMs: 0, jitterMs: 0 });
  for (const llm of [e.llm, e.openai]) llm.knobs.set({ firstTokenMs: INJECTED.llmFirstTokenMs, tokensPerSecond: INJECTED.llmTokensPerSecond, jitterMs: 0 });
  e.elevenlabs.knobs.set({ firstByteMs: INJECTED.ttsFirstByteMs, jitterMs: 0, msPerChar: personaMsPerChar });
}

/** The Worker's last warn/error log lines (e.g. why a placement failed), newest last. */
const serverProblems: string[] = [];
function keepServerProblem(line: string): void {
  if (!/"level":"(warn|error)"|Error|error:/.test(line)) return;
  serverProblems.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
  if (serverProblems.length > 20) serverProblems.shift();
}

async function bootStack(label: string, speculation: boolean, runtime: StackRuntime = RUNTIME): Promise<Stack> {
  log(`[${elapsed()}] starting stack ${label} on ${runtime} (speculation ${speculation ? "on" : "off"})…`);
  // --data-dir puts Postgres and wrangler's Durable Object storage there (e.g. /dev/shm to take disk out of the picture).
  // Postgres (PGlite, synchronous WASM queries) runs in a worker thread, off the loop that times media frames.
  const dataDir = flags["data-dir"] ? `${flags["data-dir"]}/${label}` : undefined;
  const stack = await startStack({ vars: { PIPELINE_CONFIG_JSON: JSON.stringify({ speculation }) }, dataDir, fresh: dataDir !== undefined, runtime, pgThread: flags["pg-main-thread"] !== true, log: keepServerProblem });
  const t = stack.timings;
  log(`[${elapsed()}] stack up at ${stack.baseUrl} (sandbox ${t.sandboxMs.toFixed(0)} ms, migrate ${t.migrateMs.toFixed(0)}, seed ${t.seedMs.toFixed(0)}, SPA build ${t.buildMs.toFixed(0)}, ${runtime} ${t.wranglerMs.toFixed(0)})`);
  return stack;
}

async function users(stack: Stack, n: number, prefix: string): Promise<BenchUser[]> {
  const env = stack.sandbox.workerEnv;
  return provisionUsers({ baseUrl: stack.baseUrl, databaseUrl: env.DATABASE_URL as string, neonFetchEndpoint: env.NEON_FETCH_ENDPOINT as string }, n, prefix);
}

// ------------------------------------------------------------------ per-run extraction

interface LatencyResult {
  v2v: number[];
  /** Caller utterances that never got a voiced reply frame. */
  unanswered: number;
  greeting: number[];
  callMinutes: number;
  failed: string[];
  breakdown: Record<string, number[]>;
  speculativeHits: number;
  speculativeTurns: number;
}

function extractLatency(runs: CallRun[]): LatencyResult {
  const r: LatencyResult = { v2v: [], unanswered: 0, greeting: [], callMinutes: 0, failed: [], breakdown: {}, speculativeHits: 0, speculativeTurns: 0 };
  for (const run of runs) {
    if (run.error || !run.call) {
      r.failed.push(run.error ?? "no call");
      continue;
    }
    if (run.call.status !== "completed") r.failed.push(`call ended ${run.call.status}${run.call.endReason ? ` (${run.call.endReason})` : ""}`);
    for (const u of run.call.said) {
      if (u.kind !== "say" || u.bargeIn) continue;
      if (u.responseLatencyMs === null) r.unanswered++;
      else r.v2v.push(u.responseLatencyMs);
    }
    const tap = run.tap;
    if (tap?.startSentAtMs != null && tap.firstVoicedAtMs != null) r.greeting.push(tap.firstVoicedAtMs - tap.startSentAtMs);
    r.callMinutes += streamSeconds(run.call) / 60;
  }
  return r;
}

/** Per-turn latency breakdown the app stored (GET /api/calls/:id), for explaining v2v. */
async function fetchBreakdown(baseUrl: string, runs: CallRun[], into: LatencyResult): Promise<void> {
  for (const run of runs) {
    if (!run.callId) continue;
    try {
      const res = await fetch(`${baseUrl}/api/calls/${run.callId}`, { headers: { authorization: `Bearer ${run.user.token}` } });
      if (!res.ok) continue;
      const body = (await res.json()) as { turns?: { speaker: string; latency: Record<string, unknown> | null }[] };
      for (const t of body.turns ?? []) {
        if (t.speaker !== "assistant" || !t.latency) continue;
        for (const [k, v] of Object.entries(t.latency)) {
          if (typeof v === "number") (into.breakdown[k] ??= []).push(v);
        }
        if (t.latency.speculative === true) into.speculativeHits++;
        into.speculativeTurns++;
      }
    } catch {
      // breakdown is explanatory only
    }
  }
}

function breakdownLine(b: Record<string, number[]>): string {
  const keys = ["endOfSpeechToFinalMs", "llmFirstTokenMs", "ttsFirstByteMs", "firstAudioSentMs", "firstMarkHeardMs"];
  return keys
    .filter((k) => b[k]?.length)
    .map((k) => `${k} p50=${percentile(b[k] ?? [], 50)} p95=${percentile(b[k] ?? [], 95)}`)
    .join("; ");
}

// ------------------------------------------------------------------ phases

async function latencyPhase(stack: Stack, us: BenchUser[], personaId: string, label: string) {
  setKnobs(stack, 20);
  log(`[${elapsed()}] ${label}: ${us.length} calls × ${CFG.turnsPerCall} caller turns (persona voice 20 ms/char to keep turns short)…`);
  const { result: runs, m } = await measured(() =>
    runCalls({ baseUrl: stack.baseUrl, twilio: stack.sandbox.emulators.twilio, personaId, users: us, scenarioFor: (i) => latencyScenario(CFG.turnsPerCall, i), staggerMs: 2000 }),
  );
  const r = extractLatency(runs);
  await fetchBreakdown(stack.baseUrl, runs, r);
  log(`  v2v ${formatSummary(summarize(r.v2v))}; unanswered ${r.unanswered}; failed calls ${r.failed.length}${r.failed.length ? ` (${[...new Set(r.failed)].slice(0, 3).join(" | ")})` : ""}`);
  log(`  greeting ${formatSummary(summarize(r.greeting))}`);
  if (Object.keys(r.breakdown).length) log(`  app breakdown: ${breakdownLine(r.breakdown)}; speculative hits ${r.speculativeHits}/${r.speculativeTurns}`);
  log(`  workerd CPU ${m.workerdCpuMs.toFixed(0)} ms over ${r.callMinutes.toFixed(2)} call-min = ${(m.workerdCpuMs / Math.max(1e-9, r.callMinutes)).toFixed(0)} ms/call-min${m.workerdRestarts ? ` (workerd restarted ${m.workerdRestarts}× during the phase)` : ""}; wrangler node ${m.wranglerCpuMs.toFixed(0)} ms; bench process (emulators + Postgres) ${(m.benchCpuShare * 100).toFixed(0)}% of a core, loop delay p99 ${m.loopDelayP99Ms.toFixed(1)} ms (max ${m.loopDelayMaxMs.toFixed(0)}); workerd ${((m.workerdCpuMs / m.wallMs) * 100).toFixed(0)}% of a core; load ${(loadavg()[0] ?? 0).toFixed(1)}; wall ${(m.wallMs / 1000).toFixed(1)} s`);
  return { r, m };
}

async function bargeInPhase(stack: Stack, us: BenchUser[], personaId: string) {
  setKnobs(stack, 60);
  log(`[${elapsed()}] barge-in: ${us.length} calls × ${CFG.bargeRounds} interruptions ("Sorry, can I stop you there?" ~600 ms into a reply)…`);
  const { result: runs, m } = await measured(() =>
    runCalls({ baseUrl: stack.baseUrl, twilio: stack.sandbox.emulators.twilio, personaId, users: us, scenarioFor: (i) => bargeInScenario(CFG.bargeRounds, 600, i), staggerMs: 2000 }),
  );
  const clear: number[] = [];
  const afterGate: number[] = [];
  let noClear = 0;
  let notOverlapping = 0;
  let cutHeard = 0;
  for (const run of runs) {
    if (!run.call) continue;
    for (const u of run.call.said) {
      if (u.kind !== "say" || !u.text.startsWith("Sorry, can I stop")) continue;
      if (!u.bargeIn) {
        notOverlapping++;
        continue;
      }
      if (u.clearLatencyMs === null) {
        noClear++;
        continue;
      }
      clear.push(u.clearLatencyMs);
      const gate = gateReadyMs(u.text, CALLEE_MS_PER_CHAR, BARGE_MIN_VOICED_MS);
      if (gate !== null) afterGate.push(u.clearLatencyMs - gate);
    }
    cutHeard += run.call.heard.filter((h) => h.cut).length;
  }
  log(`  speech start → clear ${formatSummary(summarize(clear))}; interruptions without clear ${noClear}; persona already quiet ${notOverlapping}`);
  log(`  clear after the gate could first fire (first non-backchannel character, ≥ ${BARGE_MIN_VOICED_MS} ms voiced) ${formatSummary(summarize(afterGate))}; heard segments cut ${cutHeard}`);
  return { clear, afterGate, noClear, notOverlapping, m };
}

/** Backchannels over the persona's answers: every `clear` in these calls is a false interruption. */
async function backchannelPhase(stack: Stack, us: BenchUser[], personaId: string) {
  setKnobs(stack, 60);
  log(`[${elapsed()}] backchannels: ${us.length} calls × ${CFG.bargeRounds} answers × 2 ("uh-huh", "yeah", "okay", "mm-hmm", "right" ~700 ms apart)…`);
  const { result: runs, m } = await measured(() =>
    runCalls({ baseUrl: stack.baseUrl, twilio: stack.sandbox.emulators.twilio, personaId, users: us, scenarioFor: (i) => backchannelScenario(CFG.bargeRounds, 2, 700, i), staggerMs: 2000 }),
  );
  let overlapping = 0;
  let falseInterruptions = 0;
  let interruptedTurns = 0;
  for (const run of runs) {
    if (!run.call) continue;
    overlapping += run.call.said.filter((u) => u.kind === "backchannel" && u.bargeIn).length;
    falseInterruptions += run.call.clears.length;
    interruptedTurns += run.call.heard.filter((h) => h.cut).length;
  }
  log(`  backchannels over the persona ${overlapping}; false interruptions (clear) ${falseInterruptions}; heard segments cut ${interruptedTurns}`);
  return { overlapping, falseInterruptions, m };
}

async function concurrencyPhase(stack: Stack, us: BenchUser[], personaId: string) {
  setKnobs(stack, 60);
  // Real traffic does not place every call in the same millisecond: an even ramp, ≥ 5 s in all.
  const rampMs = Math.max(5000, us.length * CFG.rampMsPerCall);
  log(`[${elapsed()}] concurrency (${stack.runtime}): ${us.length} simultaneous calls placed over ${(rampMs / 1000).toFixed(1)} s × ${CFG.concurrencyTurns} caller turns (persona voice 60 ms/char)…`);
  const twilio = stack.sandbox.emulators.twilio;
  const phones = new Set(us.map((u) => u.phone));
  let maxLive = 0;
  const sampler = setInterval(() => {
    let live = 0;
    for (const c of twilio.calls()) if (phones.has(c.params.to) && c.streams.some((s) => s.endedMs === null)) live++;
    maxLive = Math.max(maxLive, live);
  }, 100);
  const { result: runs, m } = await measured(() =>
    runCalls({ baseUrl: stack.baseUrl, twilio, personaId, users: us, scenarioFor: (i) => latencyScenario(CFG.concurrencyTurns, i), staggerMs: rampMs, timeoutMs: 300_000 }),
  );
  clearInterval(sampler);
  const r = extractLatency(runs);
  let dropped = 0;
  let underruns = 0;
  let frames = 0;
  let maxLead = 0;
  const deviation: number[] = [];
  for (const run of runs) {
    if (!run.tap) continue;
    const a = analysePlayback(run.tap.events, LEAD_MS);
    dropped += a.droppedFrames;
    underruns += a.underruns;
    frames += a.frames;
    maxLead = Math.max(maxLead, a.maxLeadMs);
    deviation.push(...a.pacingDeviationMs);
  }
  const jitter = summarize(deviation);
  // Placement failed = POST /api/calls did not answer 2xx (the emulator never saw the call).
  const placementFailed = runs.filter((x) => x.callId === null).length;
  if (placementFailed > 0) for (const line of serverProblems.slice(-3)) log(`  worker said: ${line}`);
  log(`  live streams at once (max) ${maxLive}; failed placements ${placementFailed}; failed calls ${r.failed.length}${r.failed.length ? ` (${[...new Set(r.failed)].slice(0, 3).join(" | ")})` : ""}; unanswered turns ${r.unanswered}`);
  log(`  frames ${frames}; underruns ${underruns}; dropped frames ${dropped}; pacing deviation ${formatSummary(jitter)}; max lead ${maxLead.toFixed(0)} ms`);
  log(`  v2v under load ${formatSummary(summarize(r.v2v))}; greeting under load ${formatSummary(summarize(r.greeting))}`);
  log(`  workerd CPU ${m.workerdCpuMs.toFixed(0)} ms over ${r.callMinutes.toFixed(2)} call-min = ${(m.workerdCpuMs / Math.max(1e-9, r.callMinutes)).toFixed(0)} ms/call-min${m.workerdRestarts ? ` (workerd restarted ${m.workerdRestarts}× during the phase)` : ""}; wrangler node ${m.wranglerCpuMs.toFixed(0)} ms; bench process (emulators + Postgres) ${(m.benchCpuShare * 100).toFixed(0)}% of a core, loop delay p99 ${m.loopDelayP99Ms.toFixed(1)} ms (max ${m.loopDelayMaxMs.toFixed(0)}); workerd ${((m.workerdCpuMs / m.wallMs) * 100).toFixed(0)}% of a core; load ${(loadavg()[0] ?? 0).toFixed(1)}; wall ${(m.wallMs / 1000).toFixed(1)} s`);
  return { calls: us.length, runtime: stack.runtime, loadAvg1m: round(loadavg()[0] ?? 0, 1), rampMs, placementFailed, r, m, maxLive, dropped, underruns, frames, jitter, maxLead, completed: runs.filter((x) => x.call?.status === "completed").length };
}

// ------------------------------------------------------------------ main

/** Waits (≤ 60 s) until none of the users has a live call in the app (GET /api/calls lists them). */
async function settled(baseUrl: string, us: BenchUser[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  const live = async (u: BenchUser): Promise<boolean> => {
    const res = await fetch(`${baseUrl}/api/calls?pageSize=5`, { headers: { authorization: `Bearer ${u.token}` } }).catch(() => null);
    if (!res?.ok) return false;
    const body = (await res.json()) as { calls?: { status?: string }[] };
    return (body.calls ?? []).some((c) => ["queued", "initiated", "ringing", "in_progress"].includes(c.status ?? ""));
  };
  while (Date.now() < deadline) {
    const busy = (await Promise.all(us.map(live))).filter(Boolean).length;
    if (busy === 0) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  log(`  (some calls still live after 60 s; continuing)`);
}

function p(xs: number[], q: number): number | null {
  return round(percentile(xs, q));
}

function cpuPerMinute(m: PhaseMeasure, minutes: number): number | null {
  return minutes > 0 ? round(m.workerdCpuMs / minutes) : null;
}

async function main(): Promise<void> {
  log(`bench: injected endpointing ${INJECTED.endpointingMs} ms, LLM first token ${INJECTED.llmFirstTokenMs} ms at ${INJECTED.llmTokensPerSecond} tok/s, TTS first byte ${INJECTED.ttsFirstByteMs} ms, zero jitter (sum ${INJECTED_SUM_MS} ms)`);
  const out: Record<string, unknown> = { injected_sum_ms: INJECTED_SUM_MS, runtime: RUNTIME };
  const load0 = loadavg()[0] ?? 0;
  log(`machine: ${cpus().length} CPUs, load average (1 min) ${load0.toFixed(1)} at start`);
  let stack: Stack | undefined;
  try {
    // ---- A: speculation off
    stack = await bootStack("A", false);
    const personaA = await personaIdBySlug(stack.baseUrl, "brad");
    const usersA = await users(stack, Math.max(CFG.latencyCalls, CFG.bargeCalls), "bench-a");
    const off = await latencyPhase(stack, usersA.slice(0, CFG.latencyCalls), personaA, "latency, speculation OFF");
    const barge = await bargeInPhase(stack, usersA.slice(0, CFG.bargeCalls), personaA);
    await settled(stack.baseUrl, usersA.slice(0, CFG.bargeCalls));
    const backchannel = await backchannelPhase(stack, usersA.slice(0, CFG.bargeCalls), personaA);
    await stack.close();
    stack = undefined;

    // ---- B: speculation on (default)
    stack = await bootStack("B", true);
    const personaB = await personaIdBySlug(stack.baseUrl, "brad");
    const usersB = await users(stack, Math.max(CFG.latencyCalls, ...CFG.concurrency), "bench-b");
    const on = await latencyPhase(stack, usersB.slice(0, CFG.latencyCalls), personaB, "latency, speculation ON");
    const levels: Awaited<ReturnType<typeof concurrencyPhase>>[] = [];
    for (const n of CFG.concurrency) {
      await settled(stack.baseUrl, usersB); // one live call per user: the previous level's calls must have ended
      levels.push(await concurrencyPhase(stack, usersB.slice(0, n), personaB));
    }
    const conc = levels.at(-1) ?? null;
    await stack.close();
    stack = undefined;

    // ---- C: the first concurrency level again on the comparison runtime (CPU per call-minute on both)
    let compare: Awaited<ReturnType<typeof concurrencyPhase>> | null = null;
    const firstLevel = CFG.concurrency[0];
    if (COMPARE_RUNTIME && COMPARE_RUNTIME !== RUNTIME && firstLevel) {
      stack = await bootStack("C", true, COMPARE_RUNTIME);
      const personaC = await personaIdBySlug(stack.baseUrl, "brad");
      compare = await concurrencyPhase(stack, await users(stack, firstLevel, "bench-c"), personaC);
      await stack.close();
      stack = undefined;
    }
    // ---- F: the runtime's floor at the first level's call count (workerd carrying the messages, no application)
    const floorCalls = firstLevel ?? 10;
    const floorS = quick ? 8 : 20;
    log(`[${elapsed()}] runtime floor: ${floorCalls} sockets × 50 media messages/s into Durable Objects on Miniflare (JSON.parse + atob only), ${floorS} s, then with 60 ms messages back…`);
    const floorIn = await measureRuntimeFloor({ calls: floorCalls, seconds: floorS, outbound: false });
    const floorOut = await measureRuntimeFloor({ calls: floorCalls, seconds: floorS, outbound: true });
    log(`  floor: ${floorIn.cpuMsPerCallMin} ms/call-min inbound only, ${floorOut.cpuMsPerCallMin} with outbound`);
    const levelJson = (l: Awaited<ReturnType<typeof concurrencyPhase>>): Record<string, unknown> => ({
      runtime: l.runtime,
      calls: l.calls,
      ramp_ms: l.rampMs,
      live_max: l.maxLive,
      completed: l.completed,
      failed_placements: l.placementFailed,
      greeting_p95_ms: p(l.r.greeting, 95),
      dropped_frames: l.dropped,
      pacing_jitter_p99_ms: round(l.jitter.p99, 1),
      v2v_p95_ms: p(l.r.v2v, 95),
      unanswered: l.r.unanswered,
      cpu_ms_per_call_minute: cpuPerMinute(l.m, l.r.callMinutes),
      workerd_cpu_share: round(l.m.workerdCpuMs / l.m.wallMs, 2),
      wrangler_node_cpu_share: round(l.m.wranglerCpuMs / l.m.wallMs, 2),
      bench_cpu_share: round(l.m.benchCpuShare, 2),
      bench_loop_delay_p99_ms: round(l.m.loopDelayP99Ms, 1),
      bench_loop_delay_max_ms: round(l.m.loopDelayMaxMs),
      loadavg_1m: l.loadAvg1m,
    });
    const cpuByRuntime: Partial<Record<StackRuntime, number | null>> = {};
    for (const l of [levels[0], compare]) if (l) cpuByRuntime[l.runtime] = cpuPerMinute(l.m, l.r.callMinutes);
    if (compare) log(`CPU per call-minute at ${compare.calls} calls: ${Object.entries(cpuByRuntime).map(([k, v]) => `${k} ${v ?? "n/a"} ms`).join(", ")}`);

    const overhead = off.r.v2v.map((v) => v - INJECTED_SUM_MS);
    const pathOverhead = off.r.v2v.map((v) => v - PATH_SUM_MS);
    const greeting = [...off.r.greeting, ...on.r.greeting];
    Object.assign(out, {
      turns: off.r.v2v.length,
      v2v_p50_ms: p(off.r.v2v, 50),
      v2v_p95_ms: p(off.r.v2v, 95),
      overhead_p95_ms: p(overhead, 95),
      path_sum_ms: PATH_SUM_MS,
      path_overhead_p50_ms: p(pathOverhead, 50),
      path_overhead_p95_ms: p(pathOverhead, 95),
      speculative_turns: on.r.v2v.length,
      speculative_v2v_p50_ms: p(on.r.v2v, 50),
      speculative_v2v_p95_ms: p(on.r.v2v, 95),
      bargein_samples: barge.clear.length,
      bargein_clear_p95_ms: p(barge.clear, 95),
      bargein_clear_after_gate_p95_ms: p(barge.afterGate, 95),
      backchannel_samples: backchannel.overlapping,
      backchannel_false_interruptions: backchannel.falseInterruptions,
      greeting_samples: greeting.length,
      greeting_p95_ms: p(greeting, 95),
      // Headline: the first concurrency level (natural persona speaking rate, workerd not saturated).
      cpu_ms_per_call_minute: levels[0] ? cpuPerMinute(levels[0].m, levels[0].r.callMinutes) : cpuPerMinute(off.m, off.r.callMinutes),
      cpu_ms_per_call_minute_latency_phase: cpuPerMinute(off.m, off.r.callMinutes),
      concurrent_calls: conc ? conc.maxLive : 0,
      concurrency_calls_completed: conc ? conc.completed : 0,
      dropped_frames: conc ? conc.dropped : null,
      pacing_jitter_p99_ms: conc ? round(conc.jitter.p99, 1) : null,
      concurrency_v2v_p95_ms: conc ? p(conc.r.v2v, 95) : null,
      concurrency_failed_placements: conc ? conc.placementFailed : null,
      concurrency_greeting_p95_ms: conc ? p(conc.r.greeting, 95) : null,
      concurrency_levels: levels.map(levelJson),
      // The first concurrency level on each runtime (the main one, then the comparison stack C).
      cpu_ms_per_call_minute_by_runtime: cpuByRuntime,
      compare_level: compare ? levelJson(compare) : null,
      // What workerd costs to carry the calls' WebSocket messages alone (bench/lib/floor.ts).
      runtime_floor_cpu_ms_per_call_minute: { calls: floorCalls, inbound_only: floorIn.cpuMsPerCallMin, with_outbound_60ms: floorOut.cpuMsPerCallMin },
      unanswered_turns: off.r.unanswered + on.r.unanswered + levels.reduce((a, l) => a + l.r.unanswered, 0),
      failed_calls: off.r.failed.length + on.r.failed.length + levels.reduce((a, l) => a + l.r.failed.length, 0),
      bench_loop_delay_p99_ms: round(Math.max(off.m.loopDelayP99Ms, on.m.loopDelayP99Ms, ...levels.map((l) => l.m.loopDelayP99Ms)), 1),
      workerd_restarts: off.m.workerdRestarts + on.m.workerdRestarts + barge.m.workerdRestarts + backchannel.m.workerdRestarts + levels.reduce((a, l) => a + l.m.workerdRestarts, 0),
      wall_s: round((performance.now() - t0) / 1000),
      cpus: cpus().length,
      loadavg_1m_start: round(load0, 1),
      loadavg_1m_end: round(loadavg()[0] ?? 0, 1),
    });
    const targets: [string, boolean | null][] = [
      ["overhead p95 ≤ 15 ms (v2v − injected sum)", out.overhead_p95_ms === null ? null : (out.overhead_p95_ms as number) <= 15],
      ["overhead p95 ≤ 15 ms (v2v − (VAD stop + LLM + TTS))", out.path_overhead_p95_ms === null ? null : (out.path_overhead_p95_ms as number) <= 15],
      ["speculative v2v p50 < injected sum", out.speculative_v2v_p50_ms === null ? null : (out.speculative_v2v_p50_ms as number) < INJECTED_SUM_MS],
      ["speculative v2v p50 ≥ 100 ms below non-speculative p50", out.speculative_v2v_p50_ms === null || out.v2v_p50_ms === null ? null : (out.speculative_v2v_p50_ms as number) <= (out.v2v_p50_ms as number) - 100],
      ["barge-in p95 ≤ 250 ms (from caller speech start)", out.bargein_clear_p95_ms === null ? null : (out.bargein_clear_p95_ms as number) <= 250],
      ["0 false interruptions by backchannels", backchannel.overlapping === 0 ? null : backchannel.falseInterruptions === 0],
      ["barge-in p95 ≤ 100 ms (after the gate could first fire)", out.bargein_clear_after_gate_p95_ms === null ? null : (out.bargein_clear_after_gate_p95_ms as number) <= 100],
      ["greeting p95 ≤ 1000 ms", out.greeting_p95_ms === null ? null : (out.greeting_p95_ms as number) <= 1000],
      [`CPU ≤ 300 ms per call-minute (${RUNTIME})`, out.cpu_ms_per_call_minute === null ? null : (out.cpu_ms_per_call_minute as number) <= 300],
      [`${conc?.calls ?? 0} concurrent calls, 0 dropped frames`, conc ? conc.maxLive >= conc.calls && conc.dropped === 0 : null],
      [`${conc?.calls ?? 0} calls: 0 failed placements, greeting p95 ≤ 1000 ms`, conc ? conc.placementFailed === 0 && (percentile(conc.r.greeting, 95) ?? Infinity) <= 1000 : null],
      ["pacing jitter p99 ≤ 40 ms", out.pacing_jitter_p99_ms === null ? null : (out.pacing_jitter_p99_ms as number) <= 40],
    ];
    log("targets:");
    for (const [name, ok] of targets) log(`  ${ok === null ? "n/a " : ok ? "MET " : "MISS"} ${name}`);
  } catch (err) {
    out.error = err instanceof Error ? err.message.split("\n")[0] : String(err);
    log(`bench failed: ${String(out.error)}`);
    process.exitCode = 1;
  } finally {
    await stack?.close().catch(() => undefined);
  }
  console.log(JSON.stringify(out));
}

await main();
