/**
 * G.711 μ-law codec (8-bit μ-law ⇄ 16-bit linear PCM), as Twilio Media Streams and ElevenLabs
 * `ulaw_8000` use it. Pure functions with no platform imports, so the emulators, the Durable
 * Object pipeline and the browser can all share them.
 */

const BIAS = 0x84;
const CLIP = 32635;

/** Encodes one 16-bit linear sample as a μ-law byte. */
export function linearToMulaw(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

const DECODE_TABLE: Int16Array = (() => {
  const table = new Int16Array(256);
  for (let i = 0; i < 256; i++) {
    const u = ~i & 0xff;
    const sign = u & 0x80;
    const exponent = (u >> 4) & 0x07;
    const mantissa = u & 0x0f;
    const magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    table[i] = sign ? -magnitude : magnitude;
  }
  return table;
})();

/** Decodes one μ-law byte to a 16-bit linear sample. */
export function mulawToLinear(byte: number): number {
  return DECODE_TABLE[byte & 0xff] ?? 0;
}

/** Decodes a μ-law buffer to 16-bit PCM. */
export function decodeMulaw(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = DECODE_TABLE[bytes[i] ?? 0xff] ?? 0;
  return out;
}

/** Encodes 16-bit PCM to μ-law. */
export function encodeMulaw(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = linearToMulaw(pcm[i] ?? 0);
  return out;
}

/** The μ-law byte for digital silence (linear 0). */
export const MULAW_SILENCE = 0xff;

/** Root-mean-square level of a μ-law buffer, in linear 16-bit units (0 for digital silence). */
export function mulawRms(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) {
    const v = DECODE_TABLE[bytes[i] ?? 0xff] ?? 0;
    sum += v * v;
  }
  return Math.sqrt(sum / bytes.length);
}
