/**
 * The call loop end to end, keyless: wrangler dev (Worker + CallSession Durable Object) against the
 * vendor emulators, with the Twilio emulator's scripted callee on the demo user's phone. Each test
 * places a real call through `POST /api/calls`, follows it (SSE or polling) to the end and checks
 * what was stored (turns, latency, end reason) and what the callee actually heard (the emulator's
 * call record: heard audio decoded, clears, marks). Also: a forged media-stream upgrade is refused,
 * and finished turns survive a Durable Object restart mid-call.
 */
import { createRequire } from "node:module";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../../scripts/stack";
import { demoLogin, runScriptedCall, type ScriptedCallResult } from "../../scripts/call-sim";

const WS = createRequire(import.meta.url)("ws") as typeof import("ws").WebSocket;

const friendly = {
  name: "friendly",
  rings: 1,
  steps: [
    { say: "Hello?", pauseMs: 400 },
    { say: "Oh hi! Yes, I have a minute.", personaSilentMs: 700 },
    { say: "That sounds good to me.", personaSilentMs: 700 },
    { hangup: true, personaSilentMs: 1200, timeoutMs: 5000 },
  ],
};

describe("call loop on the local stack", () => {
  let stack: Stack;

  const knobs = async (service: "twilio" | "deepgram" | "llm" | "openai" | "elevenlabs", body: Record<string, unknown>): Promise<void> => {
    const res = await fetch(`${stack.sandbox.urls[service]}/__sandbox/knobs`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(res.ok).toBe(true);
  };

  const call = (scenario: Record<string, unknown>, extra: Partial<Parameters<typeof runScriptedCall>[0]> = {}): Promise<ScriptedCallResult> =>
    runScriptedCall({ baseUrl: stack.baseUrl, twilioUrl: stack.sandbox.urls.twilio, persona: "brad", scenario, timeoutMs: 90_000, ...extra });

  const replies = (r: ScriptedCallResult) => r.turns.filter((t) => t.speaker === "assistant");
  const callerTexts = (r: ScriptedCallResult) => r.turns.filter((t) => t.speaker === "user").map((t) => t.text);

  beforeAll(async () => {
    stack = await startStack({ port: 0, fresh: true });
  });

  afterAll(async () => {
    await stack?.close();
  });

  beforeEach(async () => {
    for (const s of ["twilio", "deepgram", "llm", "openai", "elevenlabs"] as const) {
      await fetch(`${stack.sandbox.urls[s]}/__sandbox/reset`, { method: "POST" });
    }
    await knobs("twilio", { ringMs: 300, dialMs: 200 });
  });

  it("holds a multi-turn conversation: greeting, replies with per-turn latency, live events, stored transcript", async () => {
    const r = await call(friendly);
    expect(r.call.status).toBe("completed");
    expect(r.call.endReason).toBe("caller_hung_up");
    expect(r.events[0]?.type).toBe("snapshot");
    expect(r.events[r.events.length - 1]?.type).toBe("ended");
    expect(r.events.some((e) => e.type === "turn")).toBe(true);
    expect(callerTexts(r)).toEqual(["Hello?", "Oh hi! Yes, I have a minute.", "That sounds good to me."]);
    const out = replies(r);
    expect(out.length).toBeGreaterThanOrEqual(3);
    // Greeting first, then every caller turn is answered, each with a latency breakdown.
    expect(r.turns[0]?.speaker).toBe("assistant");
    for (const reply of out.slice(1)) {
      expect(reply.latency?.firstAudioSentMs).toEqual(expect.any(Number));
      expect(reply.latency?.llmFirstTokenMs).toEqual(expect.any(Number));
    }
    // What the callee heard is what we stored for uninterrupted replies.
    // The emulator joins heard segments (one per TTS chunk) with a space after each chunk's own trailing space.
    const heard = (r.record?.heardText ?? "").replace(/\s+/g, " ");
    for (const reply of out.filter((t) => !t.interrupted)) expect(heard).toContain(reply.text.slice(0, 20));
    // The greeting started within 1 s of the stream starting.
    expect(r.turns[0]?.latency?.firstAudioSentMs ?? Infinity).toBeLessThan(1000);
  });

  it("barge-in: the callee hears `clear` and the stored persona turn is cut to what was heard", async () => {
    const r = await call({
      name: "barge-in",
      rings: 1,
      steps: [
        { say: "Hello? Tell me everything about your week.", pauseMs: 300 },
        { say: "Sorry, can I stop you there?", personaSpeakingMs: 1500 },
        { say: "Just the short version please.", personaSilentMs: 600 },
        { hangup: true, personaSilentMs: 1200, timeoutMs: 5000 },
      ],
    });
    expect((r.record?.clears as unknown[] | undefined)?.length ?? 0).toBeGreaterThanOrEqual(1);
    const cut = replies(r).filter((t) => t.interrupted);
    expect(cut.length).toBeGreaterThanOrEqual(1);
    // The stored text of a cut turn is what the callee heard of it, not the whole reply.
    // The emulator joins heard segments (one per TTS chunk) with a space after each chunk's own trailing space.
    const heard = (r.record?.heardText ?? "").replace(/\s+/g, " ");
    for (const t of cut) if (t.text) expect(heard).toContain(t.text.slice(0, 15));
    expect(callerTexts(r)).toContain("Sorry, can I stop you there?");
  });

  it("ignores one-word backchannels while the persona speaks", async () => {
    const r = await call({
      name: "backchannel",
      rings: 1,
      steps: [
        { say: "Hi, who is this? Tell me about yourself.", personaSilentMs: 500 },
        { backchannel: "uh-huh", personaSpeakingMs: 1200 },
        { say: "Okay, got it, thanks.", personaSilentMs: 700 },
        { hangup: true, personaSilentMs: 1200, timeoutMs: 5000 },
      ],
    });
    // The backchannel came while a reply was playing; nothing was cleared or cut.
    const said = r.record?.said ?? [];
    expect(said.some((s) => s.kind === "backchannel")).toBe(true);
    expect((r.record?.clears as unknown[] | undefined)?.length ?? 0).toBe(0);
    expect(replies(r).slice(1).every((t) => !t.interrupted)).toBe(true);
    expect(r.call.status).toBe("completed");
  });

  it("LLM 5xx: the reply comes from the fallback model", async () => {
    await knobs("llm", { failNext: 50, failStatus: 500 });
    const r = await call(friendly);
    const out = replies(r).slice(1);
    expect(out.length).toBeGreaterThanOrEqual(1);
    expect(out.some((t) => t.latency?.fallback === true)).toBe(true);
    expect(out.every((t) => t.text.length > 0)).toBe(true);
  });

  it("Deepgram drops mid-call: the socket reconnects and no caller words are lost", async () => {
    await knobs("deepgram", { closeAfterMs: 5000 });
    const r = await call(friendly);
    expect(callerTexts(r)).toEqual(["Hello?", "Oh hi! Yes, I have a minute.", "That sounds good to me."]);
    expect(r.call.status).toBe("completed");
  });

  it("a late speech_final never stalls a turn (Finalize / timeout fallback ends it)", async () => {
    await knobs("deepgram", { endpointingDelayMs: 5000 });
    const r = await call(friendly);
    const out = replies(r).slice(1);
    expect(out.length).toBeGreaterThanOrEqual(2);
    for (const t of out) expect(t.latency?.firstAudioSentMs ?? Infinity).toBeLessThan(3000);
  });

  it("voicemail: leaves a short message, hangs up, and the call is marked so", async () => {
    const r = await call({
      name: "voicemail",
      answer: "voicemail",
      rings: 1,
      greeting: "Hi, you've reached Sam. I can't take your call right now, please leave a message after the beep.",
      voicemailSilenceMs: 8000,
    });
    expect(r.call.endReason).toBe("voicemail");
    expect((r.record?.heardText ?? "").toLowerCase()).toContain("sorry i missed you");
  });

  // The warning needs a limit over twice the 30 s warning lead, so this call lasts ~65 s.
  it("duration limit: spoken warning, polite goodbye, hang-up via Twilio REST", { timeout: 150_000 }, async () => {
    await knobs("twilio", { ringMs: 300, dialMs: 1500 });
    const r = await call(
      { name: "long", rings: 1, steps: [{ say: "Hello?", pauseMs: 300 }], hangupAfterSilenceMs: 0 },
      {
        onPlaced: async ({ callId, token }) => {
          const res = await fetch(`${stack.baseUrl}/api/calls/${callId}/debug/limit`, {
            method: "POST",
            headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
            body: JSON.stringify({ seconds: 65 }),
          });
          expect(((await res.json()) as { applied: boolean }).applied).toBe(true);
        },
      },
    );
    expect(r.call.endReason).toBe("duration_limit");
    const heard = (r.record?.heardText ?? "").toLowerCase();
    expect(heard).toContain("thirty seconds left");
    expect(heard).toContain("that's our time");
    expect(r.call.durationS ?? 0).toBeGreaterThanOrEqual(60);
    expect(r.call.durationS ?? 0).toBeLessThan(75);
  });

  it("refuses a forged media stream upgrade before any Durable Object is touched", async () => {
    const wsBase = stack.baseUrl.replace(/^http/, "ws");
    const id = "00000000-0000-4000-8000-000000000001";
    const statusOf = (url: string, headers: Record<string, string> = {}): Promise<number> =>
      new Promise((resolve) => {
        const ws = new WS(url, { headers });
        ws.on("unexpected-response", (_req: unknown, res: { statusCode?: number }) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on("open", () => {
          resolve(101);
          ws.close();
        });
        ws.on("error", () => resolve(-1));
      });
    // The stream URL names only the call; without Twilio's signature over it the upgrade is refused.
    expect(await statusOf(`${wsBase}/twilio/stream/${id}`)).toBe(403);
    expect(await statusOf(`${wsBase}/twilio/stream/${id}`, { "X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" })).toBe(403);
    // The old shape with a token in the path is no stream URL of ours.
    expect(await statusOf(`${wsBase}/twilio/stream/${id}/not-a-token`)).toBe(403);
    expect(await statusOf(`${wsBase}/twilio/stream/${id}/not-a-token`, { "X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" })).toBe(403);
    // A browser socket only reaches a live browser call (its ticket is then checked at start).
    expect(await statusOf(`${wsBase}/api/calls/${id}/browser`)).toBe(404);
    expect(await statusOf(`${wsBase}/api/calls/${id}/browser?ticket=forged`)).toBe(404);
    // Unsigned status callbacks are refused.
    const cb = await fetch(`${stack.baseUrl}/twilio/status/${id}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "CallStatus=completed",
    });
    expect(cb.status).toBe(403);
  });

  it("finished turns survive a Durable Object restart mid-call", async () => {
    let turnsBefore: string[] = [];
    const r = await call(
      {
        name: "restart",
        rings: 1,
        steps: [
          { say: "Hello?", pauseMs: 300 },
          { say: "Oh hi! Yes, I have a minute.", personaSilentMs: 700 },
          { wait: 1500 },
          { hangup: true, personaSilentMs: 1000, timeoutMs: 4000 },
        ],
      },
      {
        follow: "poll",
        onPlaced: async ({ callId, token }) => {
          const auth = { Authorization: `Bearer ${token}` };
          // Wait for three finished turns (greeting, caller, reply), then restart the object.
          for (let i = 0; i < 120; i++) {
            const d = (await (await fetch(`${stack.baseUrl}/api/calls/${callId}`, { headers: auth })).json()) as {
              turns: { text: string }[];
            };
            if (d.turns.length >= 3) {
              turnsBefore = d.turns.map((t) => t.text);
              break;
            }
            await new Promise((res) => setTimeout(res, 250));
          }
          const res = await fetch(`${stack.baseUrl}/api/calls/${callId}/debug/restart`, { method: "POST", headers: auth });
          expect(res.status).toBe(200);
        },
      },
    );
    expect(turnsBefore.length).toBeGreaterThanOrEqual(3);
    const after = r.turns.map((t) => t.text);
    expect(after.slice(0, turnsBefore.length)).toEqual(turnsBefore);
    expect(r.call.endedAt).not.toBeNull();
  });

  it("demo login works for the scripts (sanity)", async () => {
    expect(typeof (await demoLogin(stack.baseUrl))).toBe("string");
  });
});
