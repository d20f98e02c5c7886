/** Microphone audio is resampled to 8 kHz without changing its pitch, whatever the device rate. */
import { describe, expect, it } from "vitest";
import { createMulawEncoder, Downsampler } from "./capture";
import { decodeMulaw } from "./codec";

function sine(rate: number, hz: number, seconds: number): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / rate));
}

function zeroCrossings(pcm: Int16Array): number {
  let n = 0;
  for (let i = 1; i < pcm.length; i++) if ((pcm[i - 1]! < 0) !== (pcm[i]! < 0)) n++;
  return n;
}

describe("Downsampler", () => {
  for (const rate of [48_000, 44_100, 16_000, 8_000]) {
    it(`${rate} Hz → 8 kHz keeps length and pitch across odd-sized chunks`, () => {
      const ds = new Downsampler(rate);
      const input = sine(rate, 300, 1);
      const parts: Int16Array[] = [];
      for (let i = 0; i < input.length; i += 1023) parts.push(ds.push(input.subarray(i, i + 1023)));
      const out = Int16Array.from(parts.flatMap((p) => [...p]));
      expect(Math.abs(out.length - 8000)).toBeLessThanOrEqual(1);
      // 300 Hz for 1 s ≈ 600 zero crossings.
      expect(Math.abs(zeroCrossings(out) - 600)).toBeLessThanOrEqual(4);
      expect(Math.max(...out)).toBeGreaterThan(12_000);
    });
  }

  it("encodes to μ-law bytes that decode back near the input level", () => {
    const enc = createMulawEncoder(48_000);
    const bytes = enc(sine(48_000, 200, 0.1));
    expect(bytes.length).toBe(800);
    const back = decodeMulaw(bytes);
    expect(Math.max(...back)).toBeGreaterThan(14_000);
    expect(Math.max(...back)).toBeLessThan(18_000);
  });

  it("refuses rates below 8 kHz", () => {
    expect(() => new Downsampler(4000)).toThrow();
  });
});
