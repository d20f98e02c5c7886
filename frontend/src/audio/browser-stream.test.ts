/**
 * The browser transport speaks Twilio's Media Streams protocol: connected/start, a media frame
 * per 20 ms tick with sequence numbers / chunks / timestamps, typed text as recoverable sandbox
 * voice, marks echoed after playback, clear honoured, stop on hang-up.
 */
import { describe, expect, it } from "vitest";
import { BrowserStream } from "./browser-stream";
import { base64ToBytes, bytesToBase64, decodeSpeech, encodeSpeech } from "./codec";

interface Sent {
  event: string;
  sequenceNumber?: string;
  streamSid?: string;
  start?: { callSid: string; accountSid: string; tracks: string[]; customParameters: Record<string, string>; mediaFormat: { encoding: string; sampleRate: number; channels: number } };
  media?: { track: string; chunk: string; timestamp: string; payload: string };
  mark?: { name: string };
}

function fakeSocket() {
  const sent: Sent[] = [];
  let closed: { code?: number; reason?: string } | null = null;
  return {
    sent,
    get closed() {
      return closed;
    },
    socket: {
      readyState: 1,
      send: (d: string) => sent.push(JSON.parse(d) as Sent),
      close: (code?: number, reason?: string) => {
        closed = { code, reason };
      },
    },
  };
}

function setup(events: ConstructorParameters<typeof BrowserStream>[1] = {}) {
  const s = fakeSocket();
  let frame: () => void = () => undefined;
  const stream = new BrowserStream(
    {
      socket: s.socket,
      callSid: "call-123",
      customParameters: { callId: "call-123" },
      clock: (onFrame) => {
        frame = onFrame;
        return { startClock: () => undefined, stop: () => undefined };
      },
    },
    events,
  );
  return { ...s, stream, tick: (n = 1) => Array.from({ length: n }, () => frame()) };
}

describe("BrowserStream", () => {
  it("opens with connected + start and then sends one 160-byte media frame per tick", () => {
    const { sent, tick, stream } = setup();
    expect(sent[0]).toMatchObject({ event: "connected" });
    expect(sent[1]).toMatchObject({
      event: "start",
      sequenceNumber: "1",
      streamSid: stream.streamSid,
      start: { callSid: "call-123", tracks: ["inbound"], customParameters: { callId: "call-123" }, mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 } },
    });
    expect(stream.streamSid).toMatch(/^MZ[0-9a-f]{32}$/);
    tick(3);
    const media = sent.filter((m) => m.event === "media");
    expect(media.map((m) => [m.sequenceNumber, m.media?.chunk, m.media?.timestamp, m.media?.track])).toEqual([
      ["2", "1", "0", "inbound"],
      ["3", "2", "20", "inbound"],
      ["4", "3", "40", "inbound"],
    ]);
    for (const m of media) {
      const bytes = base64ToBytes(m.media?.payload ?? "");
      expect(bytes.length).toBe(160);
      expect(bytes.every((b) => b === 0xff)).toBe(true);
    }
  });

  it("typed text goes out as sandbox voice that decodes back to the same words", () => {
    const { sent, tick, stream } = setup();
    const ms = stream.say("  Can we talk about my run?  ");
    expect(ms).toBe(encodeSpeech("Can we talk about my run?").durationMs);
    tick(ms / 20 + 5);
    const audio = sent.filter((m) => m.event === "media").flatMap((m) => [...base64ToBytes(m.media?.payload ?? "")]);
    expect(decodeSpeech(new Uint8Array(audio))).toBe("Can we talk about my run?");
  });

  it("plays received media in real time, decodes the persona's words and echoes marks after playback", () => {
    const text: string[] = [];
    const audible: boolean[] = [];
    const { sent, tick, stream } = setup({ personaText: (t) => text.push(t), personaAudible: (a) => audible.push(a) });
    const speech = encodeSpeech("Hi!");
    stream.handleMessage(JSON.stringify({ event: "media", streamSid: "x", media: { payload: bytesToBase64(speech.audio) } }));
    stream.handleMessage(JSON.stringify({ event: "mark", streamSid: "x", mark: { name: "t0-s0" } }));
    const frames = speech.durationMs / 20;
    tick(frames - 1);
    expect(sent.some((m) => m.event === "mark")).toBe(false);
    tick(1);
    const mark = sent.find((m) => m.event === "mark");
    expect(mark).toMatchObject({ streamSid: stream.streamSid, mark: { name: "t0-s0" } });
    expect(Number(mark?.sequenceNumber)).toBeGreaterThan(frames);
    expect(text.join("")).toBe("Hi!");
    tick(20);
    expect(audible).toEqual([true, false]);
  });

  it("clear drops the persona's queued audio and returns the outstanding mark", () => {
    const text: string[] = [];
    let cleared = 0;
    const { sent, tick, stream } = setup({ personaText: (t) => text.push(t), cleared: () => cleared++ });
    const speech = encodeSpeech("This is a long sentence that gets interrupted.");
    stream.handleMessage(JSON.stringify({ event: "media", streamSid: "x", media: { payload: bytesToBase64(speech.audio) } }));
    stream.handleMessage(JSON.stringify({ event: "mark", streamSid: "x", mark: { name: "t1-s0" } }));
    tick(15); // 300 ms = 5 characters
    stream.handleMessage(JSON.stringify({ event: "clear", streamSid: "x" }));
    expect(cleared).toBe(1);
    expect(sent.filter((m) => m.event === "mark").map((m) => m.mark?.name)).toEqual(["t1-s0"]);
    tick(50);
    expect(text.join("")).toBe("This ");
    expect(stream.bufferedMs).toBe(0);
  });

  it("stop sends stop and closes the socket; ignores garbage from the server", () => {
    const { sent, stream, tick } = setup();
    stream.handleMessage("not json");
    stream.handleMessage(JSON.stringify({ event: "media", media: { payload: "%%%" } }));
    tick(1);
    stream.stop();
    expect(sent.at(-1)).toMatchObject({ event: "stop", streamSid: stream.streamSid, stop: { callSid: "call-123" } });
    const count = sent.length;
    tick(5);
    expect(sent.length).toBe(count);
  });
});
