import { describe, expect, it } from "vitest";
import { decodeMulaw, encodeMulaw, linearToMulaw, mulawRms, mulawToLinear } from "./mulaw";
import { decodeSpeech, encodeSpeech, FRAME_BYTES, silence, SpeechDecoder } from "./speech-codec";

describe("μ-law", () => {
  it("round-trips linear samples within μ-law quantisation", () => {
    for (const s of [0, 1, -1, 100, -100, 1000, -1000, 12345, -12345, 32000, -32000]) {
      const back = mulawToLinear(linearToMulaw(s));
      expect(Math.abs(back - s)).toBeLessThanOrEqual(Math.max(8, Math.abs(s) * 0.07));
    }
    const pcm = new Int16Array([0, 500, -500, 20000]);
    expect(decodeMulaw(encodeMulaw(pcm)).length).toBe(4);
  });
  it("measures silence as zero and speech as loud", () => {
    expect(mulawRms(silence(20))).toBe(0);
    expect(mulawRms(encodeSpeech("hi").audio.subarray(0, FRAME_BYTES))).toBeGreaterThan(2000);
  });
});

describe("sandbox speech codec", () => {
  it("recovers text, including punctuation and non-ASCII", () => {
    const text = "Hey, it's Brad! Ready for São Paulo? 🏃";
    expect(decodeSpeech(encodeSpeech(text).audio)).toBe(text);
  });

  it("survives arbitrary re-chunking and misalignment", () => {
    const text = "I'm training for the Boston marathon.";
    const audio = encodeSpeech(text).audio;
    const stream = new Uint8Array(37 + audio.length);
    stream.fill(0xff, 0, 37);
    stream.set(audio, 37);
    const dec = new SpeechDecoder();
    let out = "";
    for (let i = 0; i < stream.length; ) {
      const n = 1 + ((i * 7919) % 301);
      out += dec.push(stream.subarray(i, i + n)).chars.map((c) => c.char).join("");
      i += n;
    }
    expect(out).toBe(text);
  });

  it("recovers exactly the characters whose audio was played when playback is cut", () => {
    const { audio, alignment } = encodeSpeech("one two three", 60);
    const cutMs = alignment.charStartTimesMs[4]!; // cut as "t" of "two" starts
    expect(decodeSpeech(audio.subarray(0, (cutMs / 20) * FRAME_BYTES))).toBe("one ");
    expect(decodeSpeech(audio.subarray(0, (cutMs / 20 + 1) * FRAME_BYTES))).toBe("one t");
  });

  it("reports character timing in stream milliseconds", () => {
    const dec = new SpeechDecoder();
    dec.push(silence(100));
    const { chars } = dec.push(encodeSpeech("ab", 60).audio);
    expect(chars.map((c) => c.atMs)).toEqual([100, 160]);
  });
});
