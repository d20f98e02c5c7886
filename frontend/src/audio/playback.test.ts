/** The browser plays the persona's audio like Twilio does: marks only after the audio before them, `clear` drops and returns marks. */
import { describe, expect, it } from "vitest";
import { decodeSpeech, encodeSpeech } from "./codec";
import { PlaybackBuffer } from "./playback";

function setup() {
  const marks: string[] = [];
  const played: Uint8Array[] = [];
  const clears: number[] = [];
  const buf = new PlaybackBuffer({ onMark: (n) => marks.push(n), onPlay: (f, voiced) => voiced && played.push(f), onClear: (ms) => clears.push(ms) });
  return { buf, marks, played, clears };
}

describe("PlaybackBuffer", () => {
  it("echoes a mark only once the audio queued before it has played, 20 ms per frame", () => {
    const { buf, marks } = setup();
    buf.enqueueMedia(new Uint8Array(480).fill(0x10)); // 60 ms
    buf.enqueueMark("t1-s0");
    expect(buf.bufferedMs).toBe(60);
    buf.playFrame();
    buf.playFrame();
    expect(marks).toEqual([]);
    buf.playFrame();
    expect(marks).toEqual(["t1-s0"]);
    expect(buf.playing).toBe(false);
  });

  it("echoes a mark at once when nothing is queued", () => {
    const { buf, marks } = setup();
    buf.enqueueMark("t0-end");
    expect(marks).toEqual(["t0-end"]);
  });

  it("clear drops the queued audio and returns every outstanding mark", () => {
    const { buf, marks, played, clears } = setup();
    const speech = encodeSpeech("Hello there, how are you today?");
    buf.enqueueMedia(speech.audio.subarray(0, speech.audio.length / 2));
    buf.enqueueMark("a");
    buf.enqueueMedia(speech.audio.subarray(speech.audio.length / 2));
    buf.enqueueMark("b");
    for (let i = 0; i < 10; i++) buf.playFrame();
    buf.clear();
    expect(marks).toEqual(["a", "b"]);
    expect(clears[0]).toBe(speech.durationMs - 200);
    expect(buf.bufferedMs).toBe(0);
    // Only what played (10 frames = 200 ms = the first 3 characters + part of the 4th) was heard.
    const heard = decodeSpeech(new Uint8Array(played.flatMap((f) => [...f])));
    expect("Hello there".startsWith(heard)).toBe(true);
    expect(heard.length).toBeGreaterThan(0);
    expect(heard.length).toBeLessThan(6);
  });

  it("plays silence when idle and pads a partial frame with silence", () => {
    const { buf, played } = setup();
    expect(buf.playFrame().every((b) => b === 0xff)).toBe(true);
    buf.enqueueMedia(new Uint8Array(100).fill(0x20));
    const f = buf.playFrame();
    expect(f.length).toBe(160);
    expect(f[99]).toBe(0x20);
    expect(f[100]).toBe(0xff);
    expect(played).toHaveLength(1);
  });
});
