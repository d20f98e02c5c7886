/** Recurrence: local wall time in IANA zones across DST switches, and next occurrences. */
import { describe, expect, it } from "vitest";
import { firstOccurrence, localParts, nextOccurrence, zonedTimeToUtc } from "./recurrence";

const NY = "America/New_York";

describe("zonedTimeToUtc", () => {
  it("converts standard and daylight time", () => {
    expect(zonedTimeToUtc({ year: 2026, month: 1, day: 15 }, 7, 0, NY).toISOString()).toBe("2026-01-15T12:00:00.000Z");
    expect(zonedTimeToUtc({ year: 2026, month: 7, day: 15 }, 7, 0, NY).toISOString()).toBe("2026-07-15T11:00:00.000Z");
    expect(zonedTimeToUtc({ year: 2026, month: 7, day: 15 }, 7, 0, "Asia/Kolkata").toISOString()).toBe("2026-07-15T01:30:00.000Z");
    expect(zonedTimeToUtc({ year: 2026, month: 7, day: 15 }, 7, 0, "UTC").toISOString()).toBe("2026-07-15T07:00:00.000Z");
  });

  it("moves a time inside the spring-forward gap forward by the gap", () => {
    // 2026-03-08 02:30 does not exist in New York; 03:30 EDT does.
    const at = zonedTimeToUtc({ year: 2026, month: 3, day: 8 }, 2, 30, NY);
    expect(at.toISOString()).toBe("2026-03-08T07:30:00.000Z");
    expect(localParts(at, NY)).toMatchObject({ hour: 3, minute: 30 });
  });

  it("takes the first of two instants in the fall-back overlap", () => {
    // 2026-11-01 01:30 happens twice in New York: 05:30Z (EDT) and 06:30Z (EST).
    expect(zonedTimeToUtc({ year: 2026, month: 11, day: 1 }, 1, 30, NY).toISOString()).toBe("2026-11-01T05:30:00.000Z");
  });
});

describe("nextOccurrence", () => {
  it("a daily 07:00 New York schedule fires at 07:00 local on both sides of the spring DST switch", () => {
    const rule = { recurrence: "daily" as const, localTime: "07:00", timezone: NY };
    let at = firstOccurrence(rule, new Date("2026-03-06T00:00:00Z"))!;
    const fired: string[] = [];
    for (let i = 0; i < 4; i++) {
      fired.push(at.toISOString());
      expect(localParts(at, NY)).toMatchObject({ hour: 7, minute: 0 });
      at = nextOccurrence(rule, at)!;
    }
    expect(fired).toEqual([
      "2026-03-06T12:00:00.000Z",
      "2026-03-07T12:00:00.000Z",
      "2026-03-08T11:00:00.000Z", // EDT from here on
      "2026-03-09T11:00:00.000Z",
    ]);
  });

  it("a daily schedule across the autumn switch in Europe keeps its local time", () => {
    const rule = { recurrence: "daily" as const, localTime: "08:15", timezone: "Europe/Berlin" };
    const a = nextOccurrence(rule, new Date("2026-10-24T07:00:00Z"))!;
    const b = nextOccurrence(rule, a)!;
    expect(a.toISOString()).toBe("2026-10-25T07:15:00.000Z"); // CET (+1) after the switch at 01:00Z
    expect(b.toISOString()).toBe("2026-10-26T07:15:00.000Z");
    expect(nextOccurrence(rule, new Date("2026-10-24T06:00:00Z"))!.toISOString()).toBe("2026-10-24T06:15:00.000Z"); // CEST (+2)
  });

  it("weekdays skip Saturday and Sunday; weekly picks the weekday", () => {
    const friday = new Date("2026-11-20T20:00:00Z"); // Friday 15:00 New York
    const weekdays = nextOccurrence({ recurrence: "weekdays", localTime: "07:00", timezone: NY }, friday)!;
    expect(weekdays.toISOString()).toBe("2026-11-23T12:00:00.000Z"); // Monday
    const weekly = nextOccurrence({ recurrence: "weekly", localTime: "18:30", timezone: NY, weekday: 3 }, friday)!;
    expect(weekly.toISOString()).toBe("2026-11-25T23:30:00.000Z"); // Wednesday
    expect(() => nextOccurrence({ recurrence: "weekly", localTime: "18:30", timezone: NY }, friday)).toThrow(RangeError);
  });

  it("uses the local date, not the UTC date, near midnight", () => {
    // 23:30 on Monday in Los Angeles is already Tuesday in UTC.
    const after = new Date("2026-06-02T06:30:00Z");
    const next = nextOccurrence({ recurrence: "daily", localTime: "23:45", timezone: "America/Los_Angeles" }, after)!;
    expect(next.toISOString()).toBe("2026-06-02T06:45:00.000Z");
  });

  it("one-off schedules have no next occurrence and need a valid local date", () => {
    const rule = { recurrence: "once" as const, localTime: "09:00", timezone: "Asia/Tokyo" };
    expect(nextOccurrence(rule, new Date())).toBeNull();
    expect(firstOccurrence(rule, new Date(), "2026-12-24")!.toISOString()).toBe("2026-12-24T00:00:00.000Z");
    expect(() => firstOccurrence(rule, new Date(), "2026-02-30")).toThrow(RangeError);
    expect(() => firstOccurrence(rule, new Date())).toThrow(RangeError);
  });
});
