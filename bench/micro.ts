/**
 * Per-frame CPU of the call loop's hot path, in isolation (Node's V8, same engine as workerd):
 * what one inbound Twilio `media` message (50 per second per call) costs to parse and decode,
 * and what an outbound message costs to encode (20 ms vs the 60 ms messages Playback sends),
 * next to the implementations they replaced. Evidence for the
 * CPU findings in docs/benchmarks.md. Run: `npx tsx bench/micro.ts`.
 */
import { base64ToBytes, bytesToBase64, EnergyVad } from "../durable-objects/pipeline/audio";
import { TwilioInbound, mediaMessage, parseTwilioMessage } from "../durable-objects/twilio/protocol";
import { encodeSpeech } from "../sandbox/codec/speech-codec";

const frame = encodeSpeech("hello there", 60).audio.subarray(0, 160);
const payload = Buffer.from(frame).toString("base64");
const inbound = JSON.stringify({
  event: "media",
  sequenceNumber: "1234",
  streamSid: "MZ0123456789abcdef0123456789abcdef",
  media: { track: "inbound", chunk: "1233", timestamp: "24660", payload },
});

function perCallUs(label: string, fn: () => unknown, iterations = 100_000): number {
  for (let i = 0; i < 5_000; i++) fn();
  const t = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  const us = ((performance.now() - t) * 1000) / iterations;
  console.log(`${us.toFixed(2).padStart(8)} µs  ${label}`);
  return us;
}

/** Parsing every message through the zod union (what `parseTwilioMessage` did for media too). */
function zodParse(text: string): unknown {
  return TwilioInbound.safeParse(JSON.parse(text));
}

/** The per-triplet string-concatenation encoder `bytesToBase64` used before it moved to `btoa`. */
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
function concatBase64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) out += B64[((bytes[i] ?? 0) >> 2) & 63]! + B64[((bytes[i] ?? 0) << 4) & 63]! + "==";
  else if (rest === 2) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + "=";
  }
  return out;
}

const sid = "MZ0123456789abcdef0123456789abcdef";
const three = new Uint8Array(480);
three.set(frame, 0);
three.set(frame, 160);
three.set(frame, 320);

console.log("inbound media message (one per 20 ms per call):");
const zod = perCallUs("JSON.parse + zod discriminated union", () => zodParse(inbound));
const parse = perCallUs("parseTwilioMessage (JSON.parse + hand-checked media fast path)", () => parseTwilioMessage(inbound));
const b64 = perCallUs("base64ToBytes (Uint8Array.fromBase64 if present, else atob + loop)", () => base64ToBytes(payload));
const vad = new EnergyVad();
const vadUs = perCallUs("EnergyVad.push (μ-law RMS)", () => vad.push(frame));
console.log("outbound audio:");
const encOld = perCallUs("20 ms message, string-concatenation base64", () => mediaMessage(sid, concatBase64(frame)));
const enc1 = perCallUs("20 ms message, bytesToBase64 (btoa)", () => mediaMessage(sid, bytesToBase64(frame)));
const enc3 = perCallUs("60 ms message, bytesToBase64 (btoa)", () => mediaMessage(sid, bytesToBase64(three)));
const perMinuteMs = (us: number, perSecond: number): number => (us * perSecond * 60) / 1000;
console.log(
  `JS per call-minute (3000 inbound frames, 3000 outbound frames): zod + concatenated base64 in 20 ms messages ≈ ${(perMinuteMs(zod + b64 + vadUs, 50) + perMinuteMs(encOld, 50)).toFixed(0)} ms; ` +
    `fast path + btoa in 60 ms messages ≈ ${(perMinuteMs(parse + b64 + vadUs, 50) + perMinuteMs(enc3, 50 / 3)).toFixed(0)} ms — either way a few ms of the workerd CPU per call-minute: the rest is per-message I/O`,
);
