/**
 * Conformance tests for the ElevenLabs TTS emulator.
 *
 * `@elevenlabs/elevenlabs-js` 2.x ships only the TYPES of the stream-input WebSocket messages (no
 * client), so its HTTP client (`textToSpeech.convert/stream/convertWithTimestamps`,
 * `voices.getAll`) is tested against the emulator by `baseUrl`, and the WebSocket protocol is
 * driven with `ws` exactly as documented, typed with the SDK's own message types.
 */
import { createRequire } from "node:module";
import { ElevenLabsClient, ElevenLabsError } from "@elevenlabs/elevenlabs-js";
import type { ElevenLabs } from "@elevenlabs/elevenlabs-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { decodeSpeech } from "../codec/speech-codec";
import { type ElevenLabsEmulatorHandle, startElevenLabsEmulator } from "./server";

const WS = createRequire(import.meta.url)("ws") as typeof import("ws");
type Ws = import("ws").WebSocket;
const KEY = "xi_test_key_abcdef";
const BRAD = "pNInz6obpgDQGcFmaJgB";

let el: ElevenLabsEmulatorHandle;
beforeAll(async () => {
  el = await startElevenLabsEmulator({ apiKey: KEY, knobs: { firstByteMs: 20, generationSpeed: 20 } });
});
afterAll(async () => {
  await el.close();
});
beforeEach(async () => {
  await fetch(`${el.url}/__sandbox/reset`, { method: "POST" });
  await setKnobs({ firstByteMs: 20, generationSpeed: 20 });
});

const setKnobs = (k: object) => fetch(`${el.url}/__sandbox/knobs`, { method: "POST", body: JSON.stringify(k) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wire shape of server messages (snake/camel exactly as ElevenLabs sends them). */
interface ServerMsg {
  audio?: string;
  isFinal?: boolean;
  contextId?: string;
  normalizedAlignment?: { chars: string[]; charStartTimesMs: number[]; charsDurationsMs: number[] };
  alignment?: { chars: string[]; charStartTimesMs: number[]; charsDurationsMs: number[] };
  error?: string;
  message?: string;
  code?: number;
}

interface Session {
  ws: Ws;
  msgs: Array<ServerMsg & { at: number }>;
  closed: Promise<{ code: number; reason: string }>;
  send(m: object): void;
}

function connect(path: string, query: string, headers: Record<string, string> = {}): Promise<Session> {
  return new Promise((resolve, reject) => {
    const ws = new WS.WebSocket(`${el.wsUrl}/v1/text-to-speech/${path}?${query}`, { headers });
    const msgs: Session["msgs"] = [];
    ws.on("message", (d) => msgs.push({ ...(JSON.parse(d.toString()) as ServerMsg), at: Date.now() }));
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on("close", (code, reason) => r({ code, reason: reason.toString() })));
    ws.on("open", () => resolve({ ws, msgs, closed, send: (m) => ws.send(JSON.stringify(m)) }));
    ws.on("error", reject);
  });
}

const audioText = (msgs: ServerMsg[], ctx?: string) =>
  decodeSpeech(new Uint8Array(Buffer.concat(msgs.filter((m) => m.audio && (ctx === undefined || m.contextId === ctx)).map((m) => Buffer.from(m.audio!, "base64")))));
const alignedText = (msgs: ServerMsg[]) => msgs.flatMap((m) => m.normalizedAlignment?.chars ?? []).join("");

async function until<T>(fn: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error("timed out waiting");
    await sleep(5);
  }
}

describe("ElevenLabs HTTP TTS via @elevenlabs/elevenlabs-js", () => {
  const client = () => new ElevenLabsClient({ apiKey: KEY, baseUrl: el.url });

  it("lists voices including the seeds' ids", async () => {
    const res = await client().voices.getAll();
    expect(res.voices.map((v) => v.voiceId)).toEqual(expect.arrayContaining([BRAD, "EXAVITQu4vr4xnSDxMaL"]));
  });

  it("streams ulaw_8000 audio that decodes to the text (stream and convert)", async () => {
    const text = "Hey, it's Brad. Ready for tomorrow?";
    for (const method of ["stream", "convert"] as const) {
      const body = await client().textToSpeech[method](BRAD, { text, modelId: "eleven_flash_v2_5", outputFormat: "ulaw_8000" });
      const parts: Uint8Array[] = [];
      const reader = body.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
      expect(decodeSpeech(new Uint8Array(Buffer.concat(parts)))).toBe(text);
    }
    const bill = (await (await fetch(`${el.url}/__sandbox/bill`)).json()) as { totalCharacters: number };
    expect(bill.totalCharacters).toBe(2 * text.length);
  });

  it("returns character timestamps with convertWithTimestamps", async () => {
    const res = await client().textToSpeech.convertWithTimestamps(BRAD, { text: "Hi there", outputFormat: "ulaw_8000" });
    expect(res.alignment?.characters.join("")).toBe("Hi there");
    expect(res.alignment?.characterStartTimesSeconds[1]).toBeCloseTo(0.06, 5);
    expect(decodeSpeech(new Uint8Array(Buffer.from(res.audioBase64, "base64")))).toBe("Hi there");
  });

  it("surfaces a bad key as the SDK's typed 401 error", async () => {
    const bad = new ElevenLabsClient({ apiKey: "nope", baseUrl: el.url });
    const err = await bad.voices.getAll().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ElevenLabsError);
    expect((err as ElevenLabsError).statusCode).toBe(401);
  });
});

describe("ElevenLabs stream-input WebSocket", () => {
  const Q = "model_id=eleven_flash_v2_5&output_format=ulaw_8000";

  it("BOS with xi_api_key, text + flush → audio and alignment that decode to the text; EOS → isFinal, close 1000", async () => {
    const s = await connect(`${BRAD}/stream-input`, Q);
    const init: ElevenLabs.InitializeConnection = { text: " " };
    s.send({ ...init, voice_settings: { stability: 0.5, similarity_boost: 0.8 }, generation_config: { chunk_length_schedule: [120, 160, 250, 290] }, xi_api_key: KEY });
    s.send({ text: "Hey, it's Brad. " });
    s.send({ text: "Ready for tomorrow? ", flush: true });
    await until(() => audioText(s.msgs) === "Hey, it's Brad. Ready for tomorrow? ");
    expect(alignedText(s.msgs)).toBe("Hey, it's Brad. Ready for tomorrow? ");
    const first = s.msgs[0]!;
    expect(first.isFinal).toBe(false);
    expect(first.alignment!.charStartTimesMs[0]).toBe(0);
    expect(first.alignment!.charsDurationsMs[0]).toBe(60);
    s.send({ text: "" });
    const closed = await s.closed;
    expect(closed.code).toBe(1000);
    expect(s.msgs[s.msgs.length - 1]).toMatchObject({ isFinal: true });
  });

  it("buffers by chunk_length_schedule until the threshold or a flush; auto_mode generates per sentence", async () => {
    const s = await connect(`${BRAD}/stream-input`, Q, { "xi-api-key": KEY });
    s.send({ text: " ", generation_config: { chunk_length_schedule: [50] } });
    s.send({ text: "This is twenty-eight chars. " });
    await sleep(200);
    expect(s.msgs).toHaveLength(0);
    s.send({ text: "And now we pass the fifty mark. " });
    await until(() => audioText(s.msgs) === "This is twenty-eight chars. And now we pass the fifty mark. ");
    s.ws.close();

    const a = await connect(`${BRAD}/stream-input`, `${Q}&auto_mode=true`, { "xi-api-key": KEY });
    a.send({ text: " " });
    a.send({ text: "Short one. And a half" });
    await until(() => audioText(a.msgs) === "Short one. ");
    await sleep(100);
    expect(audioText(a.msgs)).toBe("Short one. ");
    a.send({ text: "", flush: true }); // EOS still flushes the remainder before closing
    await a.closed;
    expect(audioText(a.msgs)).toBe("Short one. And a half");
  });

  it("knobs: firstByteMs delays the first audio; audio arrives faster than real time", async () => {
    await setKnobs({ firstByteMs: 250, generationSpeed: 4, audioChunkMs: 200 });
    const s = await connect(`${BRAD}/stream-input`, Q, { "xi-api-key": KEY });
    s.send({ text: " " });
    const text = "Twenty characters!! ".repeat(2); // 40 chars = 2.4 s of audio
    const t0 = Date.now();
    s.send({ text, flush: true });
    await until(() => audioText(s.msgs) === text);
    const firstAt = s.msgs[0]!.at - t0;
    const lastAt = s.msgs[s.msgs.length - 1]!.at - t0;
    expect(firstAt).toBeGreaterThanOrEqual(240);
    expect(lastAt).toBeGreaterThanOrEqual(240 + 500); // ≈ 2.4 s / 4 after the first byte
    expect(lastAt).toBeLessThan(2400); // faster than real time
    expect(s.msgs.filter((m) => m.audio).length).toBeGreaterThan(5);
    s.ws.close();
  });

  it("closes an idle socket with 1008 and input_timeout_exceeded; a bad key or voice is refused with 1008", async () => {
    await setKnobs({ inactivityTimeoutMs: 300 });
    const s = await connect(`${BRAD}/stream-input`, Q, { "xi-api-key": KEY });
    s.send({ text: " " });
    await sleep(200);
    s.send({ text: " " }); // keepalive resets the timer
    await sleep(200);
    expect(s.ws.readyState).toBe(s.ws.OPEN);
    const closed = await s.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/^Have not received a new text input within the timeout/);
    expect(s.msgs.find((m) => m.error === "input_timeout_exceeded")).toBeDefined();

    const bad = await connect(`${BRAD}/stream-input`, Q, { "xi-api-key": "wrong" });
    expect((await bad.closed).code).toBe(1008);
    const noKey = await connect(`${BRAD}/stream-input`, Q);
    noKey.send({ text: " ", xi_api_key: "wrong" });
    expect((await noKey.closed).code).toBe(1008);
    expect(noKey.msgs[0]!.error).toBe("invalid_api_key");
    const voice = await connect(`not-a-voice/stream-input`, Q, { "xi-api-key": KEY });
    expect((await voice.closed).code).toBe(1008);
    expect(voice.msgs[0]!.error).toBe("voice_not_found");
  });

  it("closeAfterMs drops the socket abnormally", async () => {
    await setKnobs({ closeAfterMs: 100 });
    const s = await connect(`${BRAD}/stream-input`, Q, { "xi-api-key": KEY });
    expect((await s.closed).code).toBe(1006);
  });
});

describe("ElevenLabs multi-stream-input WebSocket", () => {
  const Q = "model_id=eleven_flash_v2_5&output_format=ulaw_8000";

  it("keeps contexts apart, tags audio with contextId and closes 1008 on a 6th simultaneous context", async () => {
    const s = await connect(`${BRAD}/multi-stream-input`, Q, { "xi-api-key": KEY });
    for (let i = 1; i <= 5; i++) s.send({ text: " ", context_id: `t${i}` });
    s.send({ text: "Turn one. ", context_id: "t1", flush: true });
    s.send({ text: "Turn two. ", context_id: "t2", flush: true });
    await until(() => audioText(s.msgs, "t1") === "Turn one. " && audioText(s.msgs, "t2") === "Turn two. ");
    s.send({ text: "", context_id: "t3" }); // keepalive
    s.send({ text: " ", context_id: "t6" });
    const closed = await s.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/^Maximum simultaneous contexts per WebSocket connection exceeded \(5\)/);
    expect(s.msgs[s.msgs.length - 1]).toMatchObject({ error: "max_active_conversations", code: 1008 });
  });

  it("close_context drops unsent audio and bills only synthesised characters; close_socket finishes the rest", async () => {
    await setKnobs({ generationSpeed: 1, audioChunkMs: 100 });
    const s = await connect(`${BRAD}/multi-stream-input`, Q, { "xi-api-key": KEY });
    s.send({ text: " ", context_id: "a" });
    s.send({ text: "Never spoken because it stays under the schedule. ", context_id: "a" });
    s.send({ text: " ", context_id: "b" });
    const long = "This reply gets interrupted halfway through. ";
    s.send({ text: long, context_id: "b", flush: true });
    await until(() => s.msgs.some((m) => m.contextId === "b" && m.audio));
    s.send({ context_id: "a", close_context: true });
    s.send({ context_id: "b", close_context: true });
    await until(() => s.msgs.filter((m) => m.isFinal).length === 2);
    const heard = audioText(s.msgs, "b");
    expect(heard.length).toBeGreaterThan(0);
    expect(long.startsWith(heard)).toBe(true);
    expect(heard.length).toBeLessThan(long.length);
    const countB = s.msgs.filter((m) => m.contextId === "b").length;
    await sleep(300);
    expect(s.msgs.filter((m) => m.contextId === "b").length).toBe(countB); // nothing after close_context

    await setKnobs({ generationSpeed: 50 });
    s.send({ text: " ", context_id: "c" });
    s.send({ text: "Goodbye now. ", context_id: "c" });
    s.send({ close_socket: true });
    expect((await s.closed).code).toBe(1000);
    expect(audioText(s.msgs, "c")).toBe("Goodbye now. ");
    expect(s.msgs[s.msgs.length - 1]).toEqual({ isFinal: true, contextId: "c", at: expect.any(Number) });

    const bill = (await (await fetch(`${el.url}/__sandbox/bill`)).json()) as { totalCharacters: number; connections: Array<{ contexts: Record<string, number> }> };
    expect(bill.connections[0]!.contexts).toEqual({ b: long.length, c: "Goodbye now. ".length });
    expect(bill.totalCharacters).toBe(long.length + "Goodbye now. ".length);
  });
});
