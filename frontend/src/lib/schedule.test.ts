/** Schedule display helpers. */
import { describe, expect, it } from "vitest";
import { formatInZone, recurrenceLabel, todayIn } from "./schedule";

describe("schedule helpers", () => {
  it("describes recurrences", () => {
    expect(recurrenceLabel({ recurrence: "weekdays", localTime: "07:00", weekday: null })).toBe("Every weekday at 07:00");
    expect(recurrenceLabel({ recurrence: "weekly", localTime: "18:30", weekday: 2 })).toBe("Every Tuesday at 18:30");
    expect(recurrenceLabel({ recurrence: "once", localTime: "09:00", weekday: null })).toBe("Once");
  });
  it("formats instants in the schedule's zone", () => {
    expect(formatInZone("2026-03-08T11:00:00Z", "America/New_York")).toBe("Sun, Mar 8, 07:00");
    expect(todayIn("Asia/Tokyo", new Date("2026-11-22T20:00:00Z"))).toBe("2026-11-23");
  });
});
