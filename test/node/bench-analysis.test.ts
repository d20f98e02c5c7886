/**
 * The benchmark's pure analysis: nearest-rank percentiles, the playback model that turns frame
 * arrival times into dropped frames / pacing deviation, /proc stat parsing and the barge-in
 * gate's earliest firing time. These decide the numbers `npm run bench` reports.
 */
import { describe, expect, it } from "vitest";
import { parseStat } from "../../bench/lib/cpu";
import { analysePlayback, type OutboundEvent } from "../../bench/lib/frames";
import { backchannelScenario, gateReadyMs, latencyScenario, bargeInScenario } from "../../bench/lib/scenarios";
import { percentile, summarize } from "../../bench/lib/stats";
import { base64Bytes, isVoicedMulaw } from "../../bench/lib/tap";
import { encodeSpeech } from "../../sandbox/codec/speech-codec";

const media = (atMs: number, bytes = 160): OutboundEvent => ({ kind: "media", atMs, bytes, voiced: true });
const mark = (atMs: number, name: string): OutboundEvent => ({ kind: "mark", atMs, name });

/** A turn paced ideally: the first `leadMs` of audio at once, then each frame as soon as it fits under the lead. */
function pacedTurn(startMs: number, frames: number, leadMs: number, lateness: (i: number) => number = () => 0): OutboundEvent[] {
  const burst = leadMs / 20;
  return Array.from({ length: frames }, (_, i) => media(startMs + Math.max(0, (i - burst + 1) * 20) + lateness(i)));
}

describe("percentiles", () => {
  it("uses nearest rank and ignores non-finite samples", () => {
    expect(percentile([4, 1, 3, 2], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 100)).toBe(4);
    const two_hundred = Array.from({ length: 200 }, (_, i) => i + 1);
    expect(percentile(two_hundred, 95)).toBe(190);
    expect(percentile([Number.NaN, 5], 50)).toBe(5);
    expect(percentile([], 50)).toBeNull();
    expect(summarize([3, 1, 2])).toMatchObject({ n: 3, min: 1, p50: 2, max: 3, mean: 2 });
  });
});

describe("playback analysis", () => {
  it("a well-paced turn has no dropped frames and no deviation, and stays within the lead", () => {
    const a = analysePlayback([...pacedTurn(1000, 100, 200), mark(3000, "t1-end")], 200);
    expect(a.turns).toHaveLength(1);
    expect(a.frames).toBe(100);
    expect(a.droppedFrames).toBe(0);
    expect(Math.max(...a.pacingDeviationMs)).toBe(0);
    expect(a.maxLeadMs).toBe(200);
  });

  it("a stall longer than the buffered lead leaves a gap counted in 20 ms frames", () => {
    // Frames from index 50 on arrive 250 ms late: frame 49 finishes playing 70 ms before frame 50 comes.
    const a = analysePlayback(pacedTurn(0, 100, 200, (i) => (i >= 50 ? 250 : 0)), 200);
    expect(a.underruns).toBe(1);
    expect(a.droppedFrames).toBe(4);
    expect(Math.max(...a.pacingDeviationMs)).toBe(250);
  });

  it("a stall shorter than the lead drops nothing but shows as pacing deviation; sending early shows too", () => {
    const a = analysePlayback(pacedTurn(0, 60, 200, (i) => (i === 30 ? 35 : 0)), 200);
    expect(a.droppedFrames).toBe(0);
    expect(Math.max(...a.pacingDeviationMs)).toBe(35);
    const early = analysePlayback(pacedTurn(0, 30, 240), 200);
    expect(early.maxLeadMs).toBe(240);
    expect(Math.max(...early.pacingDeviationMs)).toBe(40);
  });

  it("60 ms media messages are timed by their payload: paced well they drop nothing, a gap still counts 20 ms frames", () => {
    // 480-byte (60 ms) messages, the first 180 ms sent at once, then one every 60 ms.
    const sent = (lateMs: (i: number) => number): OutboundEvent[] =>
      Array.from({ length: 30 }, (_, i) => media(Math.max(0, i * 60 - 140) + lateMs(i), 480));
    const ok = analysePlayback(sent(() => 0), 200);
    expect(ok.droppedFrames).toBe(0);
    expect(ok.turns[0]?.audioMs).toBe(1800);
    expect(Math.max(...ok.pacingDeviationMs)).toBe(0);
    // From message 20 on, 250 ms late: message 19 finishes playing at 1,200 ms, message 20 arrives at 1,310: 110 ms = 6 frames.
    const late = analysePlayback(sent((i) => (i >= 20 ? 250 : 0)), 200);
    expect(late.underruns).toBe(1);
    expect(late.droppedFrames).toBe(6);
  });

  it("silence between turns is not an underrun; a clear ends a turn", () => {
    const events = [...pacedTurn(0, 20, 200), mark(400, "t1-s1"), mark(400, "t1-end"), ...pacedTurn(5000, 30, 200), { kind: "clear", atMs: 5300 } as const, ...pacedTurn(9000, 10, 200)];
    const a = analysePlayback(events, 200);
    expect(a.turns.map((t) => [t.frames, t.cleared])).toEqual([
      [20, false],
      [30, true],
      [10, false],
    ]);
    expect(a.droppedFrames).toBe(0);
  });

  it("sentence marks inside a turn do not split it", () => {
    const a = analysePlayback([...pacedTurn(0, 20, 200), mark(300, "t2-s1"), ...pacedTurn(300, 10, 0).map((e) => ({ ...e, atMs: e.atMs + 300 }))], 200);
    expect(a.turns).toHaveLength(1);
    expect(a.turns[0]?.frames).toBe(30);
  });
});

describe("helpers", () => {
  it("parses /proc/<pid>/stat with spaces and parentheses in the command name", () => {
    const line = "4242 (work (er) d) S 17 4242 4242 0 -1 4194560 100 0 0 0 350 45 0 0 20 0 12 0 555 0 0";
    expect(parseStat(line)).toEqual({ pid: 4242, ppid: 17, comm: "work (er) d", ticks: 395 });
    expect(parseStat("garbage")).toBeNull();
  });

  it("the barge-in gate can fire at the first character that rules out a backchannel, after the voiced minimum", () => {
    // "S" may be "sure"; "So" cannot: 2 characters = 120 ms, raised to the 160 ms voiced minimum.
    expect(gateReadyMs("Sorry, can I stop you there?", 60, 160)).toBe(160);
    // "H" may be "huh"/"hmm"; "He" is a prefix of no backchannel word.
    expect(gateReadyMs("Hey you there", 60, 100)).toBe(120);
    // "Okay so": "Okay s" may still be "okay sure"; "Okay so" (7 characters) cannot.
    expect(gateReadyMs("Okay so listen", 60, 160)).toBe(420);
    // Backchannels never leave the list: the gate never fires.
    for (const t of ["uh-huh", "yeah", "okay", "mm-hmm", "right"]) expect(gateReadyMs(t, 60, 160), t).toBeNull();
  });

  it("backchannel rounds say one-word acknowledgements over each long answer", () => {
    const steps = backchannelScenario(2, 2, 700).steps ?? [];
    const bc = steps.flatMap((st) => ("backchannel" in st ? [st.backchannel] : []));
    expect(bc).toEqual(["uh-huh", "yeah", "okay", "mm-hmm"]);
    expect(steps.filter((st) => "say" in st)).toHaveLength(2);
    expect(steps.at(-1)).toMatchObject({ hangup: true });
  });

  it("a media payload's length comes from its base64 length (20, 40 and 60 ms messages)", () => {
    for (const n of [160, 320, 480, 1, 2, 3]) expect(base64Bytes(Buffer.alloc(n).toString("base64"))).toBe(n);
    expect(base64Bytes("")).toBe(0);
  });

  it("sandbox speech is voiced and μ-law silence is not", () => {
    expect(isVoicedMulaw(encodeSpeech("hi", 60).audio.subarray(0, 160))).toBe(true);
    expect(isVoicedMulaw(new Uint8Array(160).fill(0xff))).toBe(false);
  });

  it("latency and barge-in scenarios end with a hang-up and wait for the persona", () => {
    const s = latencyScenario(3);
    expect(s.steps).toHaveLength(4);
    expect(s.steps?.at(-1)).toMatchObject({ hangup: true });
    expect(s.steps?.[0]).toMatchObject({ personaSilentMs: 400 });
    const b = bargeInScenario(2, 600);
    expect(b.steps?.filter((x) => "personaSpeakingMs" in x)).toHaveLength(2);
  });
});
