/**
 * Plays 8 kHz μ-law frames through Web Audio in real time. Frames arrive from the playback
 * buffer once per 20 ms and are scheduled back to back a short jitter margin ahead of the
 * AudioContext clock; `flush()` (on `clear`) stops everything already scheduled so a barge-in
 * silences the persona at once. Works without a user gesture only where autoplay allows it;
 * `resume()` from a click otherwise.
 */
import { mulawToLinear, SAMPLE_RATE } from "./codec";

/** Where played frames go (Web Audio in the browser; nothing in tests). */
export interface Speaker {
  play(frame: Uint8Array): void;
  /** Stops audio already scheduled (barge-in). */
  flush(): void;
  close(): void;
}

/** μ-law bytes → float samples in [-1, 1). */
export function mulawToFloat(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = mulawToLinear(bytes[i] ?? 0xff) / 32768;
  return out;
}

/** A Web Audio speaker; null when the browser has no AudioContext. */
export function createWebAudioSpeaker(jitterMs = 60): (Speaker & { context: AudioContext; resume: () => Promise<void> }) | null {
  const Ctx = globalThis.AudioContext;
  if (typeof Ctx !== "function") return null;
  let context: AudioContext;
  try {
    context = new Ctx();
  } catch {
    return null;
  }
  let playHead = 0;
  const live = new Set<AudioBufferSourceNode>();
  return {
    context,
    resume: () => context.resume(),
    play(frame) {
      if (context.state !== "running") return;
      const buffer = context.createBuffer(1, frame.length, SAMPLE_RATE);
      buffer.getChannelData(0).set(mulawToFloat(frame));
      const src = context.createBufferSource();
      src.buffer = buffer;
      src.connect(context.destination);
      const now = context.currentTime;
      if (playHead < now + 0.01) playHead = now + jitterMs / 1000;
      src.start(playHead);
      playHead += frame.length / SAMPLE_RATE;
      live.add(src);
      src.onended = () => live.delete(src);
    },
    flush() {
      for (const src of live) {
        try {
          src.stop();
        } catch {
          // already stopped
        }
      }
      live.clear();
      playHead = 0;
    },
    close() {
      this.flush();
      void context.close().catch(() => undefined);
    },
  };
}
