/** StreamGate: nothing before a verified `start`, the token stripped from what passes, refusals once. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { StreamGate, type StreamVerdict } from "./stream-gate";
import type { TwilioStart } from "./protocol";

const start = (customParameters: Record<string, string>) =>
  JSON.stringify({ event: "start", sequenceNumber: "1", streamSid: "MZ1", start: { accountSid: "AC", callSid: "CA1", customParameters } });
const media = JSON.stringify({ event: "media", sequenceNumber: "2", streamSid: "MZ1", media: { payload: "//8=" } });

function setup(verify: (p: Record<string, string>) => Promise<StreamVerdict>, timeoutMs = 1_000) {
  const accepted: TwilioStart[] = [];
  const refused: string[] = [];
  const seen: Record<string, string>[] = [];
  const gate = new StreamGate({
    verify: (p) => {
      seen.push(p);
      return verify(p);
    },
    accept: (s) => accepted.push(s),
    refuse: (r) => refused.push(r),
    timeoutMs,
  });
  return { gate, accepted, refused, seen };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => {
  vi.useRealTimers();
});

describe("StreamGate", () => {
  it("ignores everything before a start, checks the start once, passes it on without the token", async () => {
    const t = setup(async (p) => (p.token === "good" ? { ok: true } : { ok: false, reason: "invalid token" }));
    t.gate.offer(media);
    t.gate.offer("not json");
    t.gate.offer(JSON.stringify({ event: "connected" }));
    expect(t.seen).toEqual([]);
    t.gate.offer(start({ callId: "c1", token: "good" }));
    t.gate.offer(media); // while checking: ignored
    t.gate.offer(start({ token: "other" })); // a second start while checking: ignored
    await flush();
    expect(t.seen).toEqual([{ callId: "c1", token: "good" }]);
    expect(t.gate.state).toBe("open");
    expect(t.accepted).toHaveLength(1);
    expect(t.accepted[0]!.start.customParameters).toEqual({ callId: "c1" });
    expect(JSON.stringify(t.accepted)).not.toContain("good");
    expect(t.refused).toEqual([]);
  });

  it("refuses a bad or missing token once, and a verify that throws", async () => {
    const bad = setup(async (p) => (p.token ? { ok: false, reason: "invalid token" } : { ok: false, reason: "missing token" }));
    bad.gate.offer(start({}));
    await flush();
    bad.gate.offer(start({ token: "x" }));
    await flush();
    expect(bad.refused).toEqual(["missing token"]);
    expect(bad.accepted).toEqual([]);
    expect(bad.gate.state).toBe("refused");

    const throws = setup(async () => {
      throw new Error("crypto broke with eyJsecret");
    });
    throws.gate.offer(start({ token: "eyJsecret" }));
    await flush();
    expect(throws.refused).toEqual(["token check failed"]);
  });

  it("refuses a socket that sends no start in time; a closed socket gets no verdict", async () => {
    vi.useFakeTimers();
    const slow = setup(async () => ({ ok: true }), 5_000);
    slow.gate.offer(media);
    vi.advanceTimersByTime(5_001);
    expect(slow.refused).toEqual(["no start message in time"]);

    const closed = setup(() => new Promise<StreamVerdict>((resolve) => setTimeout(() => resolve({ ok: true }), 100)), 5_000);
    closed.gate.offer(start({ token: "good" }));
    closed.gate.close();
    await vi.advanceTimersByTimeAsync(6_000);
    expect(closed.accepted).toEqual([]);
    expect(closed.refused).toEqual([]);
    expect(closed.gate.state).toBe("closed");
  });
});
