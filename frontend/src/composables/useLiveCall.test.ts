/**
 * The live stream: authenticated fetch of /api/calls/:id/events, snapshot first, events applied
 * in order, reconnect with backoff after a drop (the new snapshot replaces the state), stop at
 * `ended`, and no retry when the call isn't the user's.
 */
import { describe, expect, it } from "vitest";
import type { Call, CallTurn, LiveEvent } from "../../../contracts/calls";
import { applyLiveEvent, emptyLiveState, secondsRemaining } from "../lib/live-call";
import type { LiveCallState } from "../lib/live-call";
import { openLiveStream } from "./useLiveCall";
import type { LiveConnection } from "./useLiveCall";

const CALL: Call = {
  id: "33333333-3333-4333-8333-333333333333",
  personaId: "22222222-2222-4222-8222-222222222222",
  personaName: "Brad",
  transport: "phone",
  toPhoneMasked: "•••••••0100",
  status: "ringing",
  endReason: null,
  answeredBy: null,
  durationLimitS: 300,
  durationS: null,
  priceMicros: 4_990_000,
  chargeMicros: null,
  costMicros: 0,
  isFreeTrial: false,
  createdAt: "2026-11-22T04:00:00.000Z",
  answeredAt: null,
  endedAt: null,
};

function turn(seq: number, speaker: "user" | "assistant", text: string): CallTurn {
  return { seq, speaker, text, interrupted: false, startedAt: "2026-11-22T04:00:05.000Z", endedAt: "2026-11-22T04:00:06.000Z", latency: null };
}

function sse(events: LiveEvent[]): string {
  return events.map((e, i) => `id: ${i}\ndata: ${JSON.stringify(e)}\n\n`).join("");
}

function streamingResponse(text: string): Response {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      // Split mid-event to exercise the parser through fetch.
      const mid = Math.floor(text.length / 2);
      c.enqueue(enc.encode(text.slice(0, mid)));
      c.enqueue(enc.encode(text.slice(mid)));
      c.close();
    },
  });
  return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
}

describe("openLiveStream", () => {
  it("applies the snapshot and events, reconnects after a drop with a fresh snapshot, and stops at ended", async () => {
    const requests: { url: string; auth: string | null; lastId: string | null }[] = [];
    const responses = [
      sse([
        { type: "snapshot", call: CALL, turns: [], speaking: "none" },
        { type: "status", status: "in_progress", at: "2026-11-22T04:00:03.000Z" },
        { type: "turn", turn: turn(0, "assistant", "Hey, it's Brad!") },
        { type: "speaking", who: "caller" },
        { type: "interim", text: "I went for a" },
      ]),
      sse([
        { type: "snapshot", call: { ...CALL, status: "in_progress", answeredAt: "2026-11-22T04:00:03.000Z" }, turns: [turn(0, "assistant", "Hey, it's Brad!"), turn(1, "user", "I went for a run.")], speaking: "persona" },
        { type: "cost", totalMicros: 12_345, byService: { twilio: 10_000, llm: 2_345 } },
        { type: "ended", status: "completed", reason: "user_ended", durationS: 42 },
      ]),
    ];
    const states: LiveCallState[] = [];
    const conns: LiveConnection[] = [];
    const waits: number[] = [];
    const stream = openLiveStream(CALL.id, {
      getToken: () => "tok",
      fetch: async (input, init) => {
        const h = new Headers(init?.headers);
        requests.push({ url: String(input), auth: h.get("authorization"), lastId: h.get("last-event-id") });
        const next = responses.shift();
        return next === undefined ? new Response("nope", { status: 500 }) : streamingResponse(next);
      },
      onState: (s) => states.push(s),
      onConnection: (c) => conns.push(c),
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    await stream.done;

    expect(requests).toHaveLength(2);
    expect(requests[0]).toEqual({ url: `/api/calls/${CALL.id}/events`, auth: "Bearer tok", lastId: null });
    expect(requests[1]?.lastId).toBe("4");
    expect(waits).toEqual([500]);
    expect(conns).toEqual(["connecting", "live", "reconnecting", "live", "closed"]);

    const beforeDrop = states[4]!;
    expect(beforeDrop.call?.status).toBe("in_progress");
    expect(beforeDrop.call?.answeredAt).toBe("2026-11-22T04:00:03.000Z");
    expect(beforeDrop.turns.map((t) => t.text)).toEqual(["Hey, it's Brad!"]);
    expect(beforeDrop.speaking).toBe("caller");
    expect(beforeDrop.interim).toBe("I went for a");

    const last = states.at(-1)!;
    expect(last.turns.map((t) => [t.speaker, t.text])).toEqual([
      ["assistant", "Hey, it's Brad!"],
      ["user", "I went for a run."],
    ]);
    expect(last.cost).toEqual({ totalMicros: 12_345, byService: { twilio: 10_000, llm: 2_345 } });
    expect(last.ended).toEqual({ status: "completed", reason: "user_ended", durationS: 42 });
    expect(last.call?.status).toBe("completed");
    expect(last.speaking).toBe("none");
  });

  it("backs off exponentially while the server fails and gives up on 404", async () => {
    const statuses = [503, 503, 503, 404];
    const waits: number[] = [];
    let error: unknown = null;
    const stream = openLiveStream(CALL.id, {
      getToken: () => "tok",
      fetch: async () => new Response(JSON.stringify({ error: { code: statuses[0] === 404 ? "not_found" : "internal", message: "x" } }), { status: statuses.shift() ?? 404 }),
      onState: () => undefined,
      onError: (e) => (error = e),
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    await stream.done;
    expect(waits).toEqual([500, 1000, 2000]);
    expect(error).toMatchObject({ status: 404, code: "not_found" });
  });

  it("stop() ends a stream that is waiting for events", async () => {
    let signal: AbortSignal | undefined;
    const stream = openLiveStream(CALL.id, {
      getToken: () => null,
      fetch: (_input, init) => {
        signal = init?.signal ?? undefined;
        return new Promise<Response>((_resolve, reject) => signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
      },
      onState: () => undefined,
    });
    await new Promise((r) => setTimeout(r, 5));
    stream.stop();
    await stream.done;
    expect(signal?.aborted).toBe(true);
  });
});

describe("live call state", () => {
  it("a turn replaces the caller's interim text and turns stay ordered by seq", () => {
    let s = applyLiveEvent(emptyLiveState(), { type: "snapshot", call: CALL, turns: [turn(2, "assistant", "b")], speaking: "none" });
    s = applyLiveEvent(s, { type: "interim", text: "hel" });
    s = applyLiveEvent(s, { type: "turn", turn: turn(1, "user", "hello") });
    expect(s.interim).toBe("");
    expect(s.turns.map((t) => t.seq)).toEqual([1, 2]);
    s = applyLiveEvent(s, { type: "turn", turn: { ...turn(2, "assistant", "b cut"), interrupted: true } });
    expect(s.turns.map((t) => t.text)).toEqual(["hello", "b cut"]);
  });

  it("time remaining counts down from the answer time", () => {
    const answered = { ...CALL, status: "in_progress" as const, answeredAt: "2026-11-22T04:00:00.000Z" };
    expect(secondsRemaining(CALL, Date.now())).toBeNull();
    expect(secondsRemaining(answered, Date.parse("2026-11-22T04:01:00.000Z"))).toBe(240);
    expect(secondsRemaining(answered, Date.parse("2026-11-22T04:09:00.000Z"))).toBe(0);
  });
});
