/**
 * Timestamps what the app sends on a call's media stream, as the Twilio emulator receives it.
 *
 * The emulator (sandbox/twilio/call.ts) runs in the benchmark's own process (startStack starts the
 * sandbox in-process) and records per-utterance latencies itself, but keeps outbound media only as
 * collapsed runs. For playback gaps and pacing we need every frame's arrival time, so `tapCall`
 * wraps two methods of the emulator's `Call` instance: the handler of each text frame from the app
 * (`onAppMessage`) and its own sender (`sendWs`, to see when `start` went out). The wrappers call the
 * originals unchanged in the same event-loop turn, so the timestamps are the emulator's own view.
 * Install the tap before the stream opens (right after the call is created: it rings first).
 * Each media event carries its payload length (bytes / 8 = its duration in ms, whatever size the
 * app's messages are); `voiced` is tested only until the call's first voiced frame (for the
 * greeting) and is false after it, so the tap decodes almost no audio.
 */
import type { Call } from "../../sandbox/twilio/call";
import { mulawToLinear } from "../../sandbox/codec/mulaw";
import type { OutboundEvent } from "./frames";

export interface CallTap {
  /** performance.now() when the emulator sent the stream's `start`. */
  startSentAtMs: number | null;
  /** performance.now() of the first voiced media frame received after `start`. */
  firstVoicedAtMs: number | null;
  events: OutboundEvent[];
}

/** Same threshold as the emulator's own "non-silent frame" test. */
const VOICED_THRESHOLD = 400;

export function isVoicedMulaw(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    const v = mulawToLinear(b);
    if (v > VOICED_THRESHOLD || v < -VOICED_THRESHOLD) return true;
  }
  return false;
}

/** Decoded length of a base64 string, from its length and padding (no decoding). */
export function base64Bytes(b64: string): number {
  const pad = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
  return Math.max(0, Math.floor((b64.length * 3) / 4) - pad);
}

/**
 * One message from the app. Only the payload's length is needed for the playback model, so media
 * is decoded (to test for voice) only while `wantVoiced` — until the call's first voiced frame.
 */
function parseOutbound(text: string, atMs: number, wantVoiced: boolean): OutboundEvent | null {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof msg !== "object" || msg === null) return null;
  const m = msg as { event?: unknown; media?: { payload?: unknown }; mark?: { name?: unknown } };
  if (m.event === "media") {
    const payload = typeof m.media?.payload === "string" ? m.media.payload : "";
    const voiced = wantVoiced && isVoicedMulaw(new Uint8Array(Buffer.from(payload, "base64")));
    return { kind: "media", atMs, bytes: base64Bytes(payload), voiced };
  }
  if (m.event === "mark") return { kind: "mark", atMs, name: typeof m.mark?.name === "string" ? m.mark.name : "" };
  if (m.event === "clear") return { kind: "clear", atMs };
  return null;
}

type Method = (...args: unknown[]) => unknown;

function wrap(target: object, name: string, before: (args: unknown[]) => void): void {
  const original: unknown = Reflect.get(target, name);
  if (typeof original !== "function") throw new Error(`Twilio emulator Call has no ${name}() to tap (sandbox/twilio/call.ts changed?)`);
  const fn = original as Method;
  Reflect.set(target, name, (...args: unknown[]) => {
    before(args);
    return fn.apply(target, args);
  });
}

export function tapCall(call: Call): CallTap {
  const tap: CallTap = { startSentAtMs: null, firstVoicedAtMs: null, events: [] };
  wrap(call, "onAppMessage", (args) => {
    const atMs = performance.now();
    const text = args[0];
    if (typeof text !== "string") return;
    const ev = parseOutbound(text, atMs, tap.firstVoicedAtMs === null);
    if (!ev) return;
    tap.events.push(ev);
    if (ev.kind === "media" && ev.voiced && tap.startSentAtMs !== null && tap.firstVoicedAtMs === null) tap.firstVoicedAtMs = atMs;
  });
  wrap(call, "sendWs", (args) => {
    if (args[1] === "start" && tap.startSentAtMs === null) tap.startSentAtMs = performance.now();
  });
  return tap;
}
