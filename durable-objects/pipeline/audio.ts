/**
 * Per-frame audio helpers for the call pipeline: base64 ⇄ bytes without `Buffer` (the runtime's
 * native decoders where present, a pure-JS fallback otherwise) and a cheap energy VAD over
 * inbound μ-law frames. Everything here runs 50×/s per call, so it avoids allocations beyond the
 * one output buffer a decode needs.
 */
import { mulawRms } from "../../sandbox/codec/mulaw";

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_CODES = new Uint8Array(128).fill(255);
for (let i = 0; i < B64.length; i++) B64_CODES[B64.charCodeAt(i)] = i;
B64_CODES["-".charCodeAt(0)] = 62;
B64_CODES["_".charCodeAt(0)] = 63;

/** The runtime's native `Uint8Array.fromBase64` (TC39 proposal; workerd has it, Node 22 not). */
const nativeFromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;
const hasAtob = typeof atob === "function";
const hasBtoa = typeof btoa === "function";

/**
 * Decodes standard (or URL-safe) base64 into a new Uint8Array; whitespace and padding are skipped.
 * Standard base64 goes through the runtime's native decoder (`Uint8Array.fromBase64`, else `atob`);
 * anything those reject (URL-safe alphabet, stray characters) through the tolerant JS decoder.
 */
export function base64ToBytes(text: string): Uint8Array {
  if (nativeFromBase64) {
    try {
      return nativeFromBase64(text);
    } catch {
      return base64ToBytesJs(text);
    }
  }
  if (hasAtob) {
    let bin: string;
    try {
      bin = atob(text);
    } catch {
      return base64ToBytesJs(text);
    }
    const n = bin.length;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  return base64ToBytesJs(text);
}

function base64ToBytesJs(text: string): Uint8Array {
  let len = text.length;
  while (len > 0 && text.charCodeAt(len - 1) === 61 /* = */) len--;
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? (B64_CODES[c] ?? 255) : 255;
    if (v === 255) continue;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return o === out.length ? out : out.subarray(0, o);
}

/** Bytes per `String.fromCharCode.apply` call (well under engines' argument limits). */
const BINARY_CHUNK = 8192;

/** Encodes bytes `[start, end)` as standard base64 (with padding), via `btoa` over a binary string. */
export function bytesToBase64(bytes: Uint8Array, start = 0, end = bytes.length): string {
  if (!hasBtoa) return bytesToBase64Js(bytes, start, end);
  let bin = "";
  for (let i = start; i < end; i += BINARY_CHUNK) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + BINARY_CHUNK)) as unknown as number[]);
  }
  return btoa(bin);
}

function bytesToBase64Js(bytes: Uint8Array, start: number, end: number): string {
  let out = "";
  let i = start;
  for (; i + 2 < end; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  const rest = end - i;
  if (rest === 1) {
    const n = (bytes[i] ?? 0) << 16;
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + "==";
  } else if (rest === 2) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + "=";
  }
  return out;
}

export interface VadOptions {
  /** Linear RMS above which a frame counts as voiced. @default 600 */
  thresholdRms?: number;
  /** Voiced time needed before speech "starts". @default 60 */
  startMs?: number;
  /** Unvoiced time after speech before it "stops" (Pipecat uses 200 ms). @default 200 */
  stopMs?: number;
}

export type VadTransition = "start" | "stop" | null;

/**
 * Energy VAD with hysteresis. Feed every inbound frame with its duration; it reports transitions
 * and keeps `voicedMs` (voiced time in the current speech run) for the barge-in gate.
 */
export class EnergyVad {
  readonly thresholdRms: number;
  readonly startMs: number;
  readonly stopMs: number;
  /** Whether the caller is currently speaking (after `startMs`, until `stopMs` of quiet). */
  speaking = false;
  /** Voiced milliseconds since the current speech run began (0 when not speaking). */
  voicedMs = 0;
  private runMs = 0;
  private quietMs = 0;

  constructor(opts: VadOptions = {}) {
    this.thresholdRms = opts.thresholdRms ?? 600;
    this.startMs = opts.startMs ?? 60;
    this.stopMs = opts.stopMs ?? 200;
  }

  /** Processes one frame of μ-law audio; returns "start"/"stop" on a transition, else null. */
  push(frame: Uint8Array, frameMs = frame.length / 8): VadTransition {
    const voiced = mulawRms(frame) >= this.thresholdRms;
    if (voiced) {
      this.quietMs = 0;
      this.runMs += frameMs;
      if (this.speaking) this.voicedMs += frameMs;
      else if (this.runMs >= this.startMs) {
        this.speaking = true;
        this.voicedMs = this.runMs;
        return "start";
      }
      return null;
    }
    if (!this.speaking) {
      this.runMs = 0;
      return null;
    }
    this.quietMs += frameMs;
    if (this.quietMs >= this.stopMs) {
      this.speaking = false;
      this.runMs = 0;
      this.voicedMs = 0;
      this.quietMs = 0;
      return "stop";
    }
    return null;
  }

  /** How long the caller has been quiet inside the current run (for "speech ended at"). */
  get trailingQuietMs(): number {
    return this.quietMs;
  }
}
