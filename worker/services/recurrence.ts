/**
 * Wall-clock time in an IANA time zone ↔ UTC instants, and the next occurrence of a schedule
 * (once / daily / weekdays / weekly at "HH:MM" local time). Pure, built on `Intl` only, and
 * DST-correct: a local time that does not exist (spring-forward gap) is moved forward by the gap
 * (02:30 → 03:30), and an ambiguous one (fall-back overlap) resolves to its first occurrence.
 * It does not know about the database.
 */

export type Recurrence = "once" | "daily" | "weekdays" | "weekly";

export interface LocalDateTime {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
}

export interface RecurrenceRule {
  recurrence: Recurrence;
  /** "HH:MM" */
  localTime: string;
  timezone: string;
  /** 0 = Sunday … 6 = Saturday; required for weekly. */
  weekday?: number | null;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      weekday: "short",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** The wall clock in `timeZone` at `instant`. */
export function localParts(instant: Date, timeZone: string): LocalDateTime & { second: number } {
  const out: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(instant)) out[p.type] = p.value;
  return {
    year: Number(out.year),
    month: Number(out.month),
    day: Number(out.day),
    hour: Number(out.hour) % 24,
    minute: Number(out.minute),
    second: Number(out.second),
    weekday: WEEKDAYS[out.weekday ?? "Sun"] ?? 0,
  };
}

/** Offset of `timeZone` from UTC at `instantMs`, in ms (New York in winter: -5 h). */
export function zoneOffsetMs(instantMs: number, timeZone: string): number {
  const p = localParts(new Date(instantMs), timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  const wholeSeconds = Math.floor(instantMs / 1000) * 1000;
  return asUtc - wholeSeconds;
}

/** Parse "HH:MM" → [hour, minute]; throws on anything else. */
export function parseLocalTime(localTime: string): [number, number] {
  const m = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(localTime);
  if (!m) throw new RangeError(`Invalid local time "${localTime}"`);
  return [Number(m[1]), Number(m[2])];
}

/**
 * The UTC instant at which the wall clock in `timeZone` shows `year-month-day hour:minute`.
 * Gap times move forward by the gap; overlapping times take the earlier instant.
 */
export function zonedTimeToUtc(
  date: { year: number; month: number; day: number },
  hour: number,
  minute: number,
  timeZone: string,
): Date {
  const naive = Date.UTC(date.year, date.month - 1, date.day, hour, minute);
  // Candidates from the offsets in force around that wall time (a DST switch is < 1 day away at most).
  const offsets = new Set([zoneOffsetMs(naive - 86_400_000, timeZone), zoneOffsetMs(naive, timeZone), zoneOffsetMs(naive + 86_400_000, timeZone)]);
  const matches: number[] = [];
  for (const off of offsets) {
    const candidate = naive - off;
    if (zoneOffsetMs(candidate, timeZone) === off) matches.push(candidate);
  }
  if (matches.length > 0) return new Date(Math.min(...matches));
  // Nonexistent wall time (gap): shift by the pre-gap offset, which lands after the gap.
  const before = zoneOffsetMs(naive - 86_400_000, timeZone);
  return new Date(naive - before);
}

/** Calendar arithmetic on a local date (no time zone involved). */
export function addDays(date: { year: number; month: number; day: number }, days: number): { year: number; month: number; day: number; weekday: number } {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay() };
}

function matchesDay(rule: RecurrenceRule, weekday: number): boolean {
  switch (rule.recurrence) {
    case "daily":
    case "once":
      return true;
    case "weekdays":
      return weekday >= 1 && weekday <= 5;
    case "weekly":
      return weekday === (rule.weekday ?? -1);
  }
}

/**
 * The first occurrence of a recurring rule strictly after `after`. For "once" rules there is no
 * next occurrence (null). Throws RangeError for a weekly rule without a weekday.
 */
export function nextOccurrence(rule: RecurrenceRule, after: Date): Date | null {
  if (rule.recurrence === "once") return null;
  if (rule.recurrence === "weekly" && (rule.weekday === null || rule.weekday === undefined || rule.weekday < 0 || rule.weekday > 6)) {
    throw new RangeError("A weekly schedule needs a weekday (0–6)");
  }
  const [hour, minute] = parseLocalTime(rule.localTime);
  const today = localParts(after, rule.timezone);
  // Start from the day before (the local date may lag the instant around midnight) and walk forward.
  for (let i = -1; i <= 8; i++) {
    const day = addDays(today, i);
    if (!matchesDay(rule, day.weekday)) continue;
    const at = zonedTimeToUtc(day, hour, minute, rule.timezone);
    if (at.getTime() > after.getTime()) return at;
  }
  return null;
}

/**
 * The first occurrence of a rule at or after `from`: for "once" the given local date's time
 * (`localDate` "YYYY-MM-DD" required), for recurring rules the next matching day.
 */
export function firstOccurrence(rule: RecurrenceRule, from: Date, localDate?: string): Date | null {
  if (rule.recurrence === "once") {
    const m = localDate ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(localDate) : null;
    if (!m) throw new RangeError("A one-off schedule needs a local date (YYYY-MM-DD)");
    const [hour, minute] = parseLocalTime(rule.localTime);
    const date = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
    const check = addDays(date, 0);
    if (check.month !== date.month || check.day !== date.day) throw new RangeError(`Invalid date "${localDate}"`);
    return zonedTimeToUtc(date, hour, minute, rule.timezone);
  }
  return nextOccurrence(rule, new Date(from.getTime() - 1));
}
