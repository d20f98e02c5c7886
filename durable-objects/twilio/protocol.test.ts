/** Twilio Media Streams messages: parsing at the edge and the outbound builders. */
import { describe, expect, it } from "vitest";
import { MediaMessage, clearMessage, markMessage, markName, mediaMessage, parseMarkName, parseTwilioMessage } from "./protocol";

describe("parseTwilioMessage", () => {
  it("parses every inbound event into the discriminated union", () => {
    const start = parseTwilioMessage(
      JSON.stringify({
        event: "start",
        sequenceNumber: "1",
        streamSid: "MZ1",
        start: {
          streamSid: "MZ1",
          accountSid: "AC1",
          callSid: "CA1",
          tracks: ["inbound"],
          customParameters: { callId: "c_123", AnsweredBy: "human" },
          mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
        },
      }),
    );
    expect(start.ok && start.message.event === "start" && start.message.start.customParameters.callId).toBe("c_123");

    const cases = [
      { event: "connected", protocol: "Call", version: "1.0.0" },
      { event: "media", sequenceNumber: "3", streamSid: "MZ1", media: { track: "inbound", chunk: "2", timestamp: "40", payload: "//8=" } },
      { event: "dtmf", sequenceNumber: "9", streamSid: "MZ1", dtmf: { track: "inbound_track", digit: "5" } },
      { event: "mark", sequenceNumber: "12", streamSid: "MZ1", mark: { name: "t7-s3" } },
      { event: "stop", sequenceNumber: "99", streamSid: "MZ1", stop: { accountSid: "AC1", callSid: "CA1" } },
    ];
    for (const c of cases) {
      const r = parseTwilioMessage(JSON.stringify(c));
      expect(r.ok, c.event).toBe(true);
      expect(r.ok && r.message.event).toBe(c.event);
    }
  });

  it("rejects bad JSON, unknown events and malformed payloads without throwing", () => {
    expect(parseTwilioMessage("{nope")).toEqual({ ok: false, error: "invalid JSON" });
    expect(parseTwilioMessage(JSON.stringify({ event: "hello" })).ok).toBe(false);
    const r = parseTwilioMessage(JSON.stringify({ event: "media", streamSid: "MZ1", media: {} }));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain("event=media");
  });
});

describe("parseTwilioMessage: media fast path", () => {
  const valid = { event: "media", sequenceNumber: "3", streamSid: "MZ1", media: { track: "inbound", chunk: "2", timestamp: "40", payload: "//8=" } };

  it("returns the same fields as the zod schema for a valid media message", () => {
    const r = parseTwilioMessage(JSON.stringify(valid));
    expect(r.ok && r.message).toEqual(MediaMessage.parse(valid));
    const minimal = parseTwilioMessage(JSON.stringify({ event: "media", streamSid: "MZ1", media: { payload: "" } }));
    expect(minimal.ok && minimal.message.event === "media" && minimal.message.media.payload).toBe("");
  });

  it("rejects every media message the schema rejects", () => {
    const bad: unknown[] = [
      { ...valid, streamSid: 7 },
      { ...valid, streamSid: undefined },
      { ...valid, sequenceNumber: 3 },
      { ...valid, media: null },
      { ...valid, media: "//8=" },
      { ...valid, media: { ...valid.media, payload: 42 } },
      { ...valid, media: { ...valid.media, payload: undefined } },
      { ...valid, media: { ...valid.media, track: 1 } },
      { ...valid, media: { ...valid.media, chunk: 2 } },
      { ...valid, media: { ...valid.media, timestamp: null } },
    ];
    for (const b of bad) {
      expect(MediaMessage.safeParse(b).success).toBe(false);
      const r = parseTwilioMessage(JSON.stringify(b));
      expect(r.ok, JSON.stringify(b)).toBe(false);
      expect(!r.ok && r.error).toContain("event=media");
    }
    expect(parseTwilioMessage("null").ok).toBe(false);
    expect(parseTwilioMessage('["media"]').ok).toBe(false);
  });
});

describe("outbound builders", () => {
  it("build media, mark and clear exactly as Twilio expects", () => {
    expect(JSON.parse(mediaMessage("MZ1", "AAEC"))).toEqual({ event: "media", streamSid: "MZ1", media: { payload: "AAEC" } });
    expect(JSON.parse(markMessage("MZ1", "t3-s0"))).toEqual({ event: "mark", streamSid: "MZ1", mark: { name: "t3-s0" } });
    expect(JSON.parse(clearMessage("MZ1"))).toEqual({ event: "clear", streamSid: "MZ1" });
  });

  it("encodes turn and segment in mark names", () => {
    expect(markName(7, 3)).toBe("t7-s3");
    expect(markName(7, "end")).toBe("t7-end");
    expect(parseMarkName("t7-s3")).toEqual({ turn: 7, segment: 3 });
    expect(parseMarkName("t12-end")).toEqual({ turn: 12, segment: "end" });
    expect(parseMarkName("greeting")).toBeNull();
  });
});
