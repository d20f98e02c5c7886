/**
 * Audio helpers for the browser transport: the shared μ-law codec and sandbox voice (from
 * sandbox/codec, pure TS), base64 for Media Streams payloads, and a byte queue that hands out
 * fixed 20 ms (160-byte) frames. No Web Audio here, so it runs in unit tests as is.
 */
export { decodeMulaw, encodeMulaw, mulawToLinear, MULAW_SILENCE } from "../../../sandbox/codec/mulaw";
export { decodeSpeech, encodeSpeech, SpeechDecoder, FRAME_BYTES, FRAME_MS, SAMPLE_RATE } from "../../../sandbox/codec/speech-codec";
import { MULAW_SILENCE } from "../../../sandbox/codec/mulaw";
import { FRAME_BYTES } from "../../../sandbox/codec/speech-codec";

/** Base64 of raw bytes (Media Streams `media.payload`). */
export function bytesToBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/** Raw bytes of a base64 payload; an invalid payload decodes to no bytes. */
export function base64ToBytes(b64: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    return new Uint8Array(0);
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** One frame of μ-law digital silence. */
export function silentFrame(): Uint8Array {
  return new Uint8Array(FRAME_BYTES).fill(MULAW_SILENCE);
}

/**
 * FIFO of μ-law bytes read back as whole 160-byte frames. A partial tail is padded with silence
 * when it is the last audio queued, so nothing written is ever held back.
 */
export class FrameQueue {
  private chunks: Uint8Array[] = [];
  private offset = 0;
  private size = 0;

  /** Bytes waiting. */
  get length(): number {
    return this.size;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  /** The next frame, or null when empty. */
  nextFrame(): Uint8Array | null {
    if (this.size === 0) return null;
    const out = silentFrame();
    let filled = 0;
    while (filled < FRAME_BYTES && this.chunks.length > 0) {
      const head = this.chunks[0]!;
      const n = Math.min(FRAME_BYTES - filled, head.length - this.offset);
      out.set(head.subarray(this.offset, this.offset + n), filled);
      filled += n;
      this.offset += n;
      this.size -= n;
      if (this.offset >= head.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.offset = 0;
    this.size = 0;
  }
}
