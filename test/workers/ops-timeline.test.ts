/**
 * The timeline writer the call loop uses (`recordEvent` / `recordEvents`): re-sending an event key
 * is a no-op, text is redacted before storage while numeric usage data is kept, and events written
 * in the same millisecond come back in their producer sequence (`seq:N`, numerically).
 */
import { describe, expect, it } from "vitest";
import { getCallTimeline, recordEvent, recordEvents, searchEvents } from "../../worker/services/timeline";
import { seedFinishedCall, testDb } from "./ops-fixtures";

describe("call timeline writer", () => {
  it("is idempotent per event key, redacts text, keeps usage numbers, orders same-ms events by sequence", async () => {
    const db = testDb();
    const fx = await seedFinishedCall({ startedAt: new Date(Math.floor(Date.now() / 60_000) * 60_000 - 4 * 86_400_000 + 5_000) });
    const at = new Date(fx.startedAt.getTime() + 70_000);
    const batch = [
      { callId: fx.callId, eventKey: "seq:10", at, type: "usage", service: "cerebras", message: "llm usage", data: { inputTokens: 900, outputTokens: 12 } },
      { callId: fx.callId, eventKey: "seq:9", at, type: "turn", service: "pipeline", message: "caller: call me at +15555550188 or ada@example.com", data: { apiKey: "sk-live-should-not-be-stored", to: "+15555550188" } },
      { callId: fx.callId, eventKey: "seq:2", at, type: "barge_in", service: "pipeline", message: "caller interrupted" },
    ];
    expect(await recordEvents(db, batch)).toBe(3);
    expect(await recordEvents(db, batch)).toBe(0);
    expect(await recordEvent(db, batch[0]!)).toBe(false);

    const timeline = await getCallTimeline(db, fx.callId);
    const sameMs = timeline!.events.filter((e) => e.at === at.toISOString());
    expect(sameMs.map((e) => e.type)).toEqual(["barge_in", "turn", "usage"]);
    const turn = sameMs[1]!;
    expect(turn.message).toBe("caller: call me at ***0188 or a***@example.com");
    expect(turn.data).toEqual({ to: "***0188" });
    expect(sameMs[2]!.data).toEqual({ inputTokens: 900, outputTokens: 12 });

    const found = await searchEvents(db, { callId: fx.callId, text: "0188" });
    expect(found.map((e) => e.type)).toEqual(["turn"]);
    expect(await searchEvents(db, { callId: fx.callId, text: "5555550188" })).toEqual([]);
  });
});
