/**
 * Conformance tests for the Deepgram live STT emulator, driven by the official `@deepgram/sdk`
 * (v5 `listen.v1.connect`) pointed at the emulator only by `baseUrl`, plus raw `ws` for the
 * handshake details the SDK hides (401 status, subprotocol auth, idle close code).
 */
import { createRequire } from "node:module";
import { DeepgramClient } from "@deepgram/sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { encodeSpeech, FRAME_BYTES, FRAME_MS, silence } from "../codec/speech-codec";
import { type DeepgramEmulatorHandle, startDeepgramEmulator } from "./server";

const WS = createRequire(import.meta.url)("ws") as typeof import("ws");
const KEY = "dg_test_key_0123456789";

let dg: DeepgramEmulatorHandle;
beforeAll(async () => {
  dg = await startDeepgramEmulator({ apiKey: KEY, knobs: { idleTimeoutMs: 600 } });
});
afterAll(async () => {
  await dg.close();
});
beforeEach(async () => {
  await fetch(`${dg.url}/__sandbox/reset`, { method: "POST" });
});

type Msg = { type: string } & Record<string, unknown>;
interface ResultsMsg extends Msg {
  is_final: boolean;
  speech_final: boolean;
  from_finalize?: boolean;
  start: number;
  duration: number;
  channel: { alternatives: Array<{ transcript: string; words: Array<{ word: string; punctuated_word: string; start: number; end: number; confidence: number }> }> };
  metadata: { request_id: string };
}
const transcriptOf = (m: Msg): string => (m as ResultsMsg).channel.alternatives[0]!.transcript;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Streams `audio` as 20 ms frames; `speed` 1 = real time, 4 = four times faster. */
async function stream(send: (frame: Uint8Array) => void, audio: Uint8Array, speed = 1): Promise<void> {
  const frames = Math.ceil(audio.length / FRAME_BYTES);
  const t0 = Date.now();
  for (let i = 0; i < frames; i++) {
    send(audio.subarray(i * FRAME_BYTES, (i + 1) * FRAME_BYTES));
    const ahead = t0 + ((i + 1) * FRAME_MS) / speed - Date.now();
    if (ahead > 0) await sleep(ahead);
  }
}

function utterance(text: string, leadMs: number, tailMs: number): Uint8Array {
  const speech = encodeSpeech(text).audio;
  const lead = silence(leadMs);
  const tail = silence(tailMs);
  const out = new Uint8Array(lead.length + speech.length + tail.length);
  out.set(lead, 0);
  out.set(speech, lead.length);
  out.set(tail, lead.length + speech.length);
  return out;
}

async function sdkSocket(query: Record<string, unknown>) {
  const client = new DeepgramClient({ apiKey: KEY, baseUrl: dg.wsUrl });
  const socket = await client.listen.v1.connect({ model: "nova-3", encoding: "mulaw", sample_rate: 8000, channels: 1, reconnectAttempts: 0, ...query });
  const messages: Msg[] = [];
  let closed: { code: number; reason: string } | null = null;
  socket.on("message", (m) => messages.push(m as unknown as Msg));
  socket.on("close", (e) => {
    closed = { code: e.code, reason: e.reason };
  });
  socket.connect();
  await socket.waitForOpen();
  return { socket, messages, closed: () => closed };
}

async function until<T>(fn: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error("timed out waiting");
    await sleep(10);
  }
}

describe("Deepgram emulator via @deepgram/sdk", () => {
  it("transcribes real-time sandbox speech: SpeechStarted, interims, speech_final, UtteranceEnd, Metadata on CloseStream", async () => {
    const { socket, messages, closed } = await sdkSocket({
      interim_results: true,
      endpointing: 300,
      utterance_end_ms: 1000,
      vad_events: true,
      smart_format: true,
      punctuate: true,
    });
    await stream((f) => socket.sendMedia(f), utterance("call me back tomorrow, please.", 200, 1300), 1);
    socket.sendCloseStream({ type: "CloseStream" });
    await until(() => closed());
    expect(closed()!.code).toBe(1000);

    const types = messages.map((m) => m.type);
    expect(types[0]).toBe("SpeechStarted");
    expect(messages[0]!.timestamp).toBeCloseTo(0.2, 2);
    const results = messages.filter((m): m is ResultsMsg => m.type === "Results");
    const interims = results.filter((r) => !r.is_final);
    expect(interims.length).toBeGreaterThanOrEqual(3);
    // Interims grow as words accrue.
    expect(transcriptOf(interims[0]!).length).toBeLessThan(transcriptOf(interims[interims.length - 1]!).length);
    const finals = results.filter((r) => r.is_final);
    const speechFinal = finals.find((r) => r.speech_final)!;
    expect(speechFinal).toBeDefined();
    expect(finals.map(transcriptOf).join(" ").trim()).toBe("Call me back tomorrow, please.");
    const words = finals.flatMap((r) => r.channel.alternatives[0]!.words);
    expect(words.map((w) => w.word)).toEqual(["call", "me", "back", "tomorrow", "please"]);
    expect(words[0]!.start).toBeCloseTo(0.2, 2);
    expect(words[1]!.start).toBeGreaterThan(words[0]!.end - 0.001);
    expect(speechFinal.metadata.request_id).toMatch(/^[0-9a-f-]{36}$/);
    // UtteranceEnd follows after 1000 ms without words, carrying the last word's end.
    const ue = messages.find((m) => m.type === "UtteranceEnd")!;
    expect(ue).toBeDefined();
    expect(ue.last_word_end).toBeCloseTo(words[words.length - 1]!.end, 3);
    expect(types.indexOf("UtteranceEnd")).toBeGreaterThan(results.indexOf(speechFinal));
    const meta = messages[messages.length - 1]!;
    expect(meta.type).toBe("Metadata");
    expect(meta.request_id).toBe(speechFinal.metadata.request_id);
    expect(meta.duration).toBeCloseTo((200 + 30 * 60 + 1300) / 1000, 2);

    const bill = (await (await fetch(`${dg.url}/__sandbox/bill`)).json()) as { totalAudioSeconds: number; requests: Array<{ request_id: string; audioSeconds: number }> };
    expect(bill.totalAudioSeconds).toBeCloseTo(3.3, 2);
    expect(bill.requests[0]!.request_id).toBe(meta.request_id);
  });

  it("Finalize flushes the words heard so far with from_finalize: true; KeepAlive keeps an idle socket open", async () => {
    const { socket, messages, closed } = await sdkSocket({ interim_results: false, endpointing: false });
    await stream((f) => socket.sendMedia(f), encodeSpeech("hello there").audio, 8);
    socket.sendFinalize({ type: "Finalize" });
    const fin = await until(() => messages.find((m): m is ResultsMsg => m.type === "Results" && (m as ResultsMsg).from_finalize === true));
    expect(transcriptOf(fin)).toBe("hello there");
    expect(fin.is_final).toBe(true);
    // No endpointing: nothing was finalised before the Finalize.
    expect(messages.filter((m) => m.type === "Results" && (m as ResultsMsg).is_final && !(m as ResultsMsg).from_finalize)).toHaveLength(0);
    // Idle timeout is 600 ms here; KeepAlive every 200 ms holds the socket for 1 s.
    for (let i = 0; i < 5; i++) {
      await sleep(200);
      socket.sendKeepAlive({ type: "KeepAlive" });
    }
    expect(closed()).toBeNull();
    socket.sendCloseStream({ type: "CloseStream" });
    await until(() => closed());
  });

  it("closeAfterMs drops the stream; the SDK's reconnect opens a new request", async () => {
    await fetch(`${dg.url}/__sandbox/knobs`, { method: "POST", body: JSON.stringify({ closeAfterMs: 150 }) });
    const client = new DeepgramClient({ apiKey: KEY, baseUrl: dg.wsUrl });
    const socket = await client.listen.v1.connect({ model: "nova-3", encoding: "mulaw", sample_rate: 8000, reconnectAttempts: 1 });
    let opens = 0;
    socket.on("open", () => opens++);
    socket.connect();
    // The SDK waits 1-5 s (random) before its first reconnect.
    await until(() => opens >= 2, 10_000);
    socket.close();
    expect(dg.bill().requests.length).toBeGreaterThanOrEqual(2);
  });

  it("rejects a wrong API key before the upgrade (the SDK sees the socket fail)", async () => {
    const client = new DeepgramClient({ apiKey: "wrong", baseUrl: dg.wsUrl });
    const socket = await client.listen.v1.connect({ model: "nova-3", encoding: "mulaw", sample_rate: 8000, reconnectAttempts: 0 });
    const outcome = new Promise<string>((resolve) => {
      socket.on("open", () => resolve("open"));
      socket.on("error", () => resolve("error"));
      socket.on("close", () => resolve("close"));
    });
    socket.connect();
    expect(await outcome).not.toBe("open");
    socket.close();
  });
});

describe("Deepgram emulator wire details (raw ws)", () => {
  const url = () => `${dg.wsUrl}/v1/listen?model=nova-3&encoding=mulaw&sample_rate=8000&channels=1`;
  const openWs = (u: string, opts: { headers?: Record<string, string>; protocols?: string[] } = {}) =>
    new Promise<{ ws: import("ws").WebSocket; status?: number }>((resolve) => {
      const ws = new WS.WebSocket(u, opts.protocols ?? [], { headers: opts.headers });
      ws.on("open", () => resolve({ ws }));
      ws.on("unexpected-response", (_req, res) => resolve({ ws, status: res.statusCode }));
      ws.on("error", () => undefined);
    });

  it("answers 401 to a bad key and 400 to unsupported params, like Deepgram", async () => {
    expect((await openWs(url(), { headers: { Authorization: "Token nope" } })).status).toBe(401);
    expect((await openWs(url())).status).toBe(401);
    expect((await openWs(url().replace("encoding=mulaw", "encoding=opus"), { headers: { Authorization: `Token ${KEY}` } })).status).toBe(400);
  });

  it("accepts Sec-WebSocket-Protocol: token, <key> and echoes the token protocol", async () => {
    const { ws, status } = await openWs(url(), { protocols: ["token", KEY] });
    expect(status).toBeUndefined();
    expect(ws.protocol).toBe("token");
    ws.close();
  });

  it("closes an idle socket with 1011 and a NET-0001 reason", async () => {
    const { ws } = await openWs(url(), { headers: { Authorization: `Token ${KEY}` } });
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    expect(closed.code).toBe(1011);
    expect(closed.reason).toContain("net0001");
  });

  it("knobs: rejectConnections, closeAfterMs, resultLatencyMs + endpointingDelayMs, wordConfidence", async () => {
    const setKnobs = (k: object) => fetch(`${dg.url}/__sandbox/knobs`, { method: "POST", body: JSON.stringify(k) });
    await setKnobs({ rejectConnections: 503 });
    expect((await openWs(url(), { headers: { Authorization: `Token ${KEY}` } })).status).toBe(503);

    await setKnobs({ rejectConnections: null, closeAfterMs: 100, idleTimeoutMs: 5000 });
    const dropped = await openWs(url(), { headers: { Authorization: `Token ${KEY}` } });
    const code = await new Promise<number>((resolve) => dropped.ws.on("close", (c) => resolve(c)));
    expect(code).toBe(1006);

    await setKnobs({ closeAfterMs: null, resultLatencyMs: 150, endpointingDelayMs: 300, wordConfidence: 0.8 });
    const { ws } = await openWs(url() + "&endpointing=100", { headers: { Authorization: `Token ${KEY}` } });
    const got: Array<{ at: number; msg: ResultsMsg }> = [];
    ws.on("message", (d) => got.push({ at: Date.now(), msg: JSON.parse(d.toString()) as ResultsMsg }));
    const audio = utterance("hi", 0, 200);
    const sentAt = Date.now();
    ws.send(audio);
    const sf = await until(() => got.find((g) => g.msg.speech_final));
    // Whole utterance sent at once: the speech_final waits ≥ 150 + 300 ms of processing latency.
    expect(sf.at - sentAt).toBeGreaterThanOrEqual(400);
    expect(sf.at - sentAt).toBeLessThan(3000);
    expect(sf.msg.channel.alternatives[0]!.words[0]!.confidence).toBe(0.8);
    ws.close();
  });
});
