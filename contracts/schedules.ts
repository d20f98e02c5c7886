/**
 * Scheduled calls (`/api/calls/schedule…`): one-off or recurring (daily / weekdays / weekly) at a
 * local wall-clock time in an IANA time zone. The server turns local date + time into the UTC
 * instant (`scheduledFor`); the SPA shows both. Pure zod, shared by the Worker and the SPA.
 */
import { z } from "zod";
import { CallMinutes } from "./calls";
import { Id, IsoDate, SingleLine, TimeZone } from "./common";

export const Recurrence = z.enum(["once", "daily", "weekdays", "weekly"]);
export type Recurrence = z.infer<typeof Recurrence>;

export const ScheduleStatus = z.enum(["pending", "claimed", "completed", "failed", "missed", "canceled"]);
export type ScheduleStatus = z.infer<typeof ScheduleStatus>;

/** "HH:MM", 24-hour. */
export const LocalTime = z.string().trim().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, "Time must be HH:MM (24-hour)");
/** "YYYY-MM-DD". */
export const LocalDate = z.string().trim().regex(/^\d{4}-\d{2}-\d{2}$/, "Date must be YYYY-MM-DD");
/** 0 = Sunday … 6 = Saturday. */
export const Weekday = z.number().int().min(0).max(6);

const scheduleFields = {
  personaId: Id,
  recurrence: Recurrence,
  /** The local date of a one-off call (required for "once"). */
  localDate: LocalDate.optional(),
  localTime: LocalTime,
  /** Defaults to the user's profile time zone. */
  timezone: TimeZone.optional(),
  /** Required for "weekly". */
  weekday: Weekday.optional(),
  durationMinutes: CallMinutes,
  topic: SingleLine.max(200).optional(),
  /** Attempts when the line is busy or nobody answers (retried with backoff). @default 3 */
  maxAttempts: z.number().int().min(1).max(5).optional(),
};

/** `POST /api/calls/schedule` */
export const CreateScheduleRequest = z
  .object({ ...scheduleFields, recurrence: Recurrence.default("once"), durationMinutes: CallMinutes.default(5) })
  .superRefine((v, ctx) => {
    if (v.recurrence === "once" && !v.localDate) ctx.addIssue({ code: "custom", path: ["localDate"], message: "A one-off call needs a date" });
    if (v.recurrence === "weekly" && v.weekday === undefined) ctx.addIssue({ code: "custom", path: ["weekday"], message: "A weekly call needs a weekday" });
  });
export type CreateScheduleRequest = z.infer<typeof CreateScheduleRequest>;

/** `PUT /api/calls/schedule/:id` — only while pending; the missing fields keep their values. */
export const UpdateScheduleRequest = z.object({
  recurrence: Recurrence.optional(),
  localDate: LocalDate.optional(),
  localTime: LocalTime.optional(),
  timezone: TimeZone.optional(),
  weekday: Weekday.optional(),
  durationMinutes: CallMinutes.optional(),
  topic: SingleLine.max(200).nullable().optional(),
});
export type UpdateScheduleRequest = z.infer<typeof UpdateScheduleRequest>;

export const ListSchedulesQuery = z.object({
  /** upcoming = pending or being placed; past = everything else. */
  view: z.enum(["upcoming", "past", "all"]).default("upcoming"),
});
export type ListSchedulesQuery = z.infer<typeof ListSchedulesQuery>;

export const ScheduledCall = z.object({
  id: Id,
  personaId: Id,
  personaName: z.string(),
  recurrence: Recurrence,
  localTime: LocalTime,
  timezone: z.string(),
  weekday: z.number().int().nullable(),
  /** UTC instant of this occurrence. */
  scheduledFor: IsoDate,
  nextAttemptAt: IsoDate,
  durationMinutes: z.number().int(),
  topic: z.string().nullable(),
  status: ScheduleStatus,
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  lastCallId: Id.nullable(),
  lastError: z.string().nullable(),
  /** Shared by every occurrence of one recurring schedule. */
  seriesId: Id.nullable(),
  createdAt: IsoDate,
});
export type ScheduledCall = z.infer<typeof ScheduledCall>;

export const ScheduledCallResponse = z.object({ schedule: ScheduledCall });
export const ScheduledCallListResponse = z.object({ schedules: z.array(ScheduledCall) });
