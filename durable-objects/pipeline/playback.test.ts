/** Playback: multi-frame media messages, pacing within the lead, immediate first audio, exact marks. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { realClock } from "../providers/types";
import { base64ToBytes } from "./audio";
import { Playback } from "./playback";

interface Sent {
  at: number;
  event: string;
  bytes?: Uint8Array;
  name?: string;
}

function setup(opts: { leadMs?: number; tickMs?: number } = {}) {
  const sent: Sent[] = [];
  const playback = new Playback({
    clock: realClock,
    ...opts,
    send: (json) => {
      const m = JSON.parse(json) as { event: string; media?: { payload: string }; mark?: { name: string } };
      sent.push({ at: Date.now(), event: m.event, bytes: m.media ? base64ToBytes(m.media.payload) : undefined, name: m.mark?.name });
    },
  });
  playback.setStreamSid("MZ1");
  const media = () => sent.filter((s) => s.event === "media");
  const sentMs = () => media().reduce((n, s) => n + (s.bytes?.length ?? 0) / 8, 0);
  return { playback, sent, media, sentMs };
}

const audio = (ms: number, seed = 0) => new Uint8Array(ms * 8).map((_, i) => (i * 7 + seed) & 0x7f);

describe("Playback", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sends a turn's first audio at once, without waiting for a tick or a full message", () => {
    const { playback, media } = setup();
    playback.beginTurn(1);
    playback.pushAudio(1, audio(20), null);
    expect(media().map((m) => m.bytes?.length)).toEqual([160]);
    // More audio within the lead also goes out at once, in messages of up to 60 ms.
    playback.pushAudio(1, audio(100), null);
    expect(media().map((m) => m.bytes?.length)).toEqual([160, 480, 320]);
    playback.stop();
  });

  it("paces 60 ms messages 60 ms apart, never more than 200 ms ahead, bytes unchanged", () => {
    const { playback, media, sentMs, sent } = setup();
    playback.beginTurn(1);
    // Chunks that do not divide into frames: frames straddle chunks.
    const chunks = [audio(330, 1), audio(410, 2), audio(260, 3)];
    for (const c of chunks) playback.pushAudio(1, c, null);
    playback.endTurn(1);
    const start = Date.now();
    expect(sentMs()).toBe(180);
    for (let t = 0; t < 1500; t += 5) {
      vi.advanceTimersByTime(5);
      const played = Date.now() - start;
      expect(sentMs() - played).toBeLessThanOrEqual(200);
    }
    expect(sentMs()).toBe(1000);
    expect(playback.maxLeadObservedMs).toBeLessThanOrEqual(200);
    // After the first 180 ms, each message leaves the moment it fits (140 ms still buffered), 60 ms apart.
    expect(media().slice(3, 6).map((m) => m.at - start)).toEqual([40, 100, 160]);
    const sizes = media().map((m) => m.bytes?.length ?? 0);
    // Every message but the turn's last is a full 60 ms; the last holds what remained (1000 = 16 × 60 + 40).
    expect(sizes.slice(0, -1).every((n) => n === 480)).toBe(true);
    expect(sizes.at(-1)).toBe(320);
    expect(Buffer.concat(media().map((m) => m.bytes!))).toEqual(Buffer.concat(chunks));
    // The end mark follows the last message at once.
    const last = sent.findIndex((s) => s.event === "mark" && s.name === "t1-end");
    expect(last).toBe(sent.length - 1);
    expect(sent[last - 1]?.event).toBe("media");
    expect(sent[last]?.at).toBe(sent[last - 1]?.at);
    playback.stop();
  });

  it("sends a turn's last partial message without waiting for more audio", () => {
    const { playback, media } = setup();
    playback.beginTurn(1);
    playback.pushAudio(1, audio(70), null);
    // 60 ms sent, the 10 ms remainder is a partial frame until the turn ends.
    expect(media().map((m) => m.bytes?.length)).toEqual([480]);
    playback.endTurn(1);
    expect(media().map((m) => m.bytes?.length)).toEqual([480, 160]);
    const padded = media()[1]!.bytes!;
    expect(padded.subarray(80).every((b) => b === 0xff)).toBe(true);
    playback.stop();
  });

  it("cuts a message at a segment mark so the mark follows the frame holding the segment's last character", () => {
    const { playback, sent } = setup();
    playback.beginTurn(1);
    playback.addSegmentEnd(1, 0, 2);
    // Two characters, the second ending at 90 ms: the mark belongs after frame 5 (100 ms).
    playback.pushAudio(1, audio(160), { chars: ["H", "i"], charStartTimesMs: [0, 50], charsDurationsMs: [50, 40] });
    playback.endTurn(1);
    vi.advanceTimersByTime(1000);
    const order = sent.map((s) => (s.event === "media" ? (s.bytes?.length ?? 0) / 8 : s.name));
    expect(order).toEqual([60, 40, "t1-s0", 60, "t1-end"]);
    playback.stop();
  });

  it("with tickMs 20 sends one frame per message", () => {
    const { playback, media } = setup({ tickMs: 20 });
    playback.beginTurn(1);
    playback.pushAudio(1, audio(400), null);
    playback.endTurn(1);
    vi.advanceTimersByTime(500);
    expect(media().length).toBe(20);
    expect(media().every((m) => m.bytes?.length === 160)).toBe(true);
    expect(playback.maxLeadObservedMs).toBeLessThanOrEqual(200);
    playback.stop();
  });
});
