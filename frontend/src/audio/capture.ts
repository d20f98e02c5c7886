/**
 * Microphone capture for the browser call: getUserMedia → Web Audio → mono float PCM at the
 * context's rate → `Downsampler` (averaging low-pass + fractional resampling to 8 kHz) → μ-law.
 * The μ-law bytes go to a callback; the call's frame clock cuts them into 20 ms frames.
 * `Downsampler` is pure and unit-tested; `startMicrophone` needs a real browser.
 */
import { encodeMulaw, SAMPLE_RATE } from "./codec";

/** Streaming resampler from `inRate` to 8 kHz (box-filter average over each output period). */
export class Downsampler {
  private readonly ratio: number;
  /** Position of the next output sample, in input samples, relative to the current chunk. */
  private pos = 0;
  private acc = 0;
  private count = 0;

  constructor(readonly inRate: number) {
    if (!(inRate >= SAMPLE_RATE)) throw new Error(`cannot downsample from ${inRate} Hz`);
    this.ratio = inRate / SAMPLE_RATE;
  }

  /** Float samples in [-1, 1] at `inRate` → 16-bit PCM at 8 kHz. */
  push(input: Float32Array): Int16Array {
    const out: number[] = [];
    for (let i = 0; i < input.length; i++) {
      this.acc += input[i] ?? 0;
      this.count++;
      if (i + 1 >= this.pos + this.ratio) {
        const v = this.acc / this.count;
        out.push(Math.max(-32768, Math.min(32767, Math.round(v * 32767))));
        this.acc = 0;
        this.count = 0;
        this.pos += this.ratio;
      }
    }
    this.pos -= input.length;
    return Int16Array.from(out);
  }
}

/** Float PCM at `inRate` → μ-law at 8 kHz, streaming. */
export function createMulawEncoder(inRate: number): (input: Float32Array) => Uint8Array {
  const ds = new Downsampler(inRate);
  return (input) => encodeMulaw(ds.push(input));
}

export interface Microphone {
  stop(): void;
}

/** Opens the microphone and streams μ-law to `onAudio`; rejects when access is denied or absent. */
export async function startMicrophone(onAudio: (mulaw: Uint8Array) => void): Promise<Microphone> {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error("This browser can't use a microphone here.");
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  // ScriptProcessor keeps this self-contained (no worklet module to serve); 1024 samples ≈ 21 ms at 48 kHz.
  const processor = context.createScriptProcessor(1024, 1, 1);
  const encode = createMulawEncoder(context.sampleRate);
  processor.onaudioprocess = (ev) => onAudio(encode(ev.inputBuffer.getChannelData(0)));
  const sink = context.createGain();
  sink.gain.value = 0;
  source.connect(processor);
  processor.connect(sink);
  sink.connect(context.destination);
  return {
    stop() {
      processor.onaudioprocess = null;
      source.disconnect();
      processor.disconnect();
      for (const t of stream.getTracks()) t.stop();
      void context.close().catch(() => undefined);
    },
  };
}
