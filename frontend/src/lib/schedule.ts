/** Display helpers for scheduled calls: recurrence in words, an instant in the schedule's zone and in the viewer's. */
import type { ScheduledCall } from "../../../contracts/schedules";

export const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"] as const;

/** "Every weekday at 07:00", "Once", "Every Tuesday at 18:30". */
export function recurrenceLabel(s: Pick<ScheduledCall, "recurrence" | "localTime" | "weekday">): string {
  switch (s.recurrence) {
    case "daily":
      return `Every day at ${s.localTime}`;
    case "weekdays":
      return `Every weekday at ${s.localTime}`;
    case "weekly":
      return `Every ${WEEKDAYS[s.weekday ?? 0]} at ${s.localTime}`;
    default:
      return "Once";
  }
}

/** "Tue, Nov 24, 07:00" in `timeZone`. */
export function formatInZone(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(iso));
}

/** Today's date (YYYY-MM-DD) in `timeZone`, for the date picker's default and minimum. */
export function todayIn(timeZone: string, now = new Date()): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(now);
}

export const SCHEDULE_STATUS_LABELS: Record<ScheduledCall["status"], string> = {
  pending: "Scheduled",
  claimed: "Calling",
  completed: "Completed",
  failed: "Failed",
  missed: "Missed",
  canceled: "Canceled",
};
