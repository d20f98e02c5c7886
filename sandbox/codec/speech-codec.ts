/**
 * The sandbox "voice": text carried recoverably inside real 8 kHz μ-law audio, so the local
 * vendor emulators can stand in for speech without any speech model.
 *
 * - Each character is "spoken" for `msPerChar` (a multiple of 20 ms, default 60 ms ≈ 16 chars/s,
 *   a natural speaking rate) as 20 ms frames of an audible tone whose pitch follows the character.
 * - The first frame of a character begins with a 4-byte sync marker (full-scale alternating
 *   samples no tone can produce), a kind byte, the code point in three bytes and a checksum.
 *   Later frames of the same character carry a continuation marker. Silence is μ-law 0xFF.
 * - The decoder scans a continuous byte stream for markers at any offset, so re-chunking the
 *   audio (Twilio's 20 ms frames, ElevenLabs' arbitrary chunks, a pacer's re-framing, a `clear`
 *   that drops buffered frames) never corrupts what is recovered: whatever bytes were actually
 *   played decode to exactly the characters whose first frame was played.
 *
 * Used by the Twilio emulator (callee speech in, what the callee heard out), the Deepgram
 * emulator (transcripts aligned to the audio), the ElevenLabs emulator (audio + alignment for
 * text) and the browser (sandbox phone, keyless browser call).
 */
import { linearToMulaw } from "./mulaw";

export const SAMPLE_RATE = 8000;
/** Bytes in one 20 ms μ-law frame at 8 kHz. */
export const FRAME_BYTES = 160;
export const FRAME_MS = 20;
/** Default speaking rate of the sandbox voice. */
export const DEFAULT_MS_PER_CHAR = 60;

const SYNC = [0x00, 0x80, 0x00, 0x80] as const;
const KIND_CHAR = 0x01;
const KIND_CONT = 0x02;
const HEADER_BYTES = 9;

export interface EncodedSpeech {
  /** μ-law audio, a whole number of 20 ms frames. */
  audio: Uint8Array;
  /** ElevenLabs-style alignment: one entry per character. */
  alignment: { chars: string[]; charStartTimesMs: number[]; charsDurationsMs: number[] };
  durationMs: number;
}

/** Encoded frames by (code point, frame index, kind): synthesis computes each distinct frame once. */
const frameCache = new Map<number, Uint8Array>();

function cachedFrame(codePoint: number, frameIndexInChar: number, kind: number): Uint8Array {
  const key = (codePoint * 64 + Math.min(frameIndexInChar, 31)) * 4 + kind;
  let frame = frameCache.get(key);
  if (!frame) {
    frame = toneFrame(codePoint, frameIndexInChar);
    writeHeader(frame, kind, codePoint);
    if (frameCache.size < 20_000) frameCache.set(key, frame);
  }
  return frame;
}

function toneFrame(codePoint: number, frameIndexInChar: number): Uint8Array {
  const frame = new Uint8Array(FRAME_BYTES);
  // Pitch 180–420 Hz depending on the character; amplitude well above any noise floor.
  const freq = 180 + ((codePoint * 37) % 240);
  const amp = 6000;
  for (let i = 0; i < FRAME_BYTES; i++) {
    const t = (frameIndexInChar * FRAME_BYTES + i) / SAMPLE_RATE;
    frame[i] = linearToMulaw(amp * Math.sin(2 * Math.PI * freq * t));
  }
  return frame;
}

function writeHeader(frame: Uint8Array, kind: number, codePoint: number): void {
  frame.set(SYNC, 0);
  const b1 = (codePoint >> 16) & 0xff;
  const b2 = (codePoint >> 8) & 0xff;
  const b3 = codePoint & 0xff;
  frame[4] = kind;
  frame[5] = b1;
  frame[6] = b2;
  frame[7] = b3;
  frame[8] = (kind + b1 + b2 + b3 + 0x5a) & 0xff;
}

/** Encodes `text` as sandbox speech. `msPerChar` is rounded to whole 20 ms frames (min 1). */
export function encodeSpeech(text: string, msPerChar = DEFAULT_MS_PER_CHAR): EncodedSpeech {
  const chars = Array.from(text);
  const framesPerChar = Math.max(1, Math.round(msPerChar / FRAME_MS));
  const audio = new Uint8Array(chars.length * framesPerChar * FRAME_BYTES);
  const charStartTimesMs: number[] = [];
  const charsDurationsMs: number[] = [];
  chars.forEach((ch, ci) => {
    const cp = ch.codePointAt(0) ?? 0x20;
    for (let f = 0; f < framesPerChar; f++) {
      audio.set(cachedFrame(cp, f, f === 0 ? KIND_CHAR : KIND_CONT), (ci * framesPerChar + f) * FRAME_BYTES);
    }
    charStartTimesMs.push(ci * framesPerChar * FRAME_MS);
    charsDurationsMs.push(framesPerChar * FRAME_MS);
  });
  return {
    audio,
    alignment: { chars, charStartTimesMs, charsDurationsMs },
    durationMs: chars.length * framesPerChar * FRAME_MS,
  };
}

/** `ms` of μ-law digital silence (whole frames). */
export function silence(ms: number): Uint8Array {
  return new Uint8Array(Math.max(0, Math.round(ms / FRAME_MS)) * FRAME_BYTES).fill(0xff);
}

export interface DecodedChar {
  char: string;
  /** Position of the character's first frame in the decoded stream, in ms (bytes / 8). */
  atMs: number;
}

export interface DecodedChunk {
  /** Characters whose first frame completed in this chunk. */
  chars: DecodedChar[];
  /** Whether any sandbox-voice frame (start or continuation) ended in this chunk. */
  voiced: boolean;
  /** Stream time (ms) at the end of this chunk. */
  endMs: number;
}

/**
 * Streaming decoder: push any chunking of a μ-law stream, get back the characters it carries.
 * Keeps at most one header's worth of bytes between pushes.
 */
export class SpeechDecoder {
  private carry = new Uint8Array(0);
  /** Total bytes consumed before `carry`. */
  private consumed = 0;

  push(bytes: Uint8Array): DecodedChunk {
    const buf = new Uint8Array(this.carry.length + bytes.length);
    buf.set(this.carry, 0);
    buf.set(bytes, this.carry.length);
    const chars: DecodedChar[] = [];
    let voiced = false;
    let i = 0;
    const limit = buf.length - HEADER_BYTES;
    while (i <= limit) {
      if (buf[i] === SYNC[0] && buf[i + 1] === SYNC[1] && buf[i + 2] === SYNC[2] && buf[i + 3] === SYNC[3]) {
        const kind = buf[i + 4] ?? 0;
        const b1 = buf[i + 5] ?? 0;
        const b2 = buf[i + 6] ?? 0;
        const b3 = buf[i + 7] ?? 0;
        if ((kind === KIND_CHAR || kind === KIND_CONT) && buf[i + 8] === ((kind + b1 + b2 + b3 + 0x5a) & 0xff)) {
          voiced = true;
          if (kind === KIND_CHAR) {
            chars.push({ char: String.fromCodePoint((b1 << 16) | (b2 << 8) | b3), atMs: (this.consumed + i) / 8 });
          }
          i += HEADER_BYTES;
          continue;
        }
      }
      i++;
    }
    const keepFrom = Math.max(i, buf.length - (HEADER_BYTES - 1));
    this.consumed += keepFrom;
    this.carry = buf.slice(keepFrom);
    return { chars, voiced, endMs: (this.consumed + this.carry.length) / 8 };
  }
}

/** Decodes a whole buffer to its text. */
export function decodeSpeech(audio: Uint8Array): string {
  return new SpeechDecoder()
    .push(audio)
    .chars.map((c) => c.char)
    .join("");
}
