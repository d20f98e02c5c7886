/**
 * Per-frame CPU of the call loop's hot path, in isolation (Node's V8, same engine as workerd):
 * what one inbound Twilio `media` message (50 per second per call) costs to parse and decode,
 * and what one outbound frame costs to encode, next to cheaper equivalents. Evidence for the
 * CPU findings in docs/benchmarks.md. Run: `npx tsx bench/micro.ts`.
 */
import { base64ToBytes, bytesToBase64, EnergyVad } from "../durable-objects/pipeline/audio";
import { mediaMessage, parseTwilioMessage } from "../durable-objects/twilio/protocol";
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

/** Parse without zod: JSON.parse + the checks the pipeline relies on (event, payload string). */
function fastMedia(text: string): string | null {
  const m = JSON.parse(text) as { event?: unknown; media?: { payload?: unknown } };
  return m.event === "media" && typeof m.media?.payload === "string" ? m.media.payload : null;
}

function atobBytes(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

console.log("inbound media message (one per 20 ms per call):");
const zod = perCallUs("parseTwilioMessage (JSON.parse + zod discriminated union)", () => parseTwilioMessage(inbound));
const json = perCallUs("JSON.parse + typeof checks", () => fastMedia(inbound));
const b64 = perCallUs("base64ToBytes (pipeline, pure JS)", () => base64ToBytes(payload));
const atobUs = perCallUs("atob + charCodeAt loop", () => atobBytes(payload));
const vad = new EnergyVad();
const vadUs = perCallUs("EnergyVad.push (μ-law RMS)", () => vad.push(frame));
console.log("outbound frame:");
const enc = perCallUs("bytesToBase64 + mediaMessage", () => mediaMessage("MZ0123456789abcdef0123456789abcdef", bytesToBase64(frame)));
const perMinuteMs = (us: number): number => (us * 50 * 60) / 1000;
console.log(
  `per call-minute (3000 frames each way): now ≈ ${perMinuteMs(zod + b64 + vadUs + enc).toFixed(0)} ms; with JSON-only parse + atob ≈ ${perMinuteMs(json + atobUs + vadUs + enc).toFixed(0)} ms`,
);
