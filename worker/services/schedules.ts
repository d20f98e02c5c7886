/**
 * Scheduled calls: create / list / get / update / cancel for a user, and the cron side —
 * `runDueSchedules` claims due rows ATOMICALLY (one `UPDATE … FROM (SELECT … FOR UPDATE SKIP
 * LOCKED) … RETURNING`, so overlapping cron runs never claim the same row), places each claimed
 * call through the injected placer (the "Call me now" path), marks rows more than `lateAfterMs`
 * late as missed instead of calling at the wrong time, and creates the next occurrence of a
 * recurring schedule (unique `(series_id, scheduled_for)` makes that idempotent). A claim whose
 * run died before placing anything is failed after STALE_CLAIM_MS.
 * `recordScheduledCallOutcome` runs when the placed call ends: completed → completed; busy /
 * no-answer → retried with backoff up to `max_attempts`, then failed.
 * It does not dial anything itself.
 */
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import type { CreateScheduleRequest, ScheduledCall, UpdateScheduleRequest } from "../../contracts/schedules";
import { CALL_OPTIONS } from "../../contracts/calls";
import type { Db } from "../db/client";
import { budgetSettings, calls, creditLedger, paymentMethods, personas, scheduledCalls, users } from "../db/schema";
import { AppError, notFound } from "../errors";
import type { Logger } from "../log";
import { log as rootLog } from "../log";
import { getPersona } from "./personas";
import { firstOccurrence, nextOccurrence, type Recurrence } from "./recurrence";

type ScheduleRow = typeof scheduledCalls.$inferSelect;

/** A scheduled call is "missed" when the cron reaches it later than this after it was due. */
export const LATE_AFTER_MS = 5 * 60_000;
/** Retry backoff after busy / no-answer / a transient placement error: 2, 4, 8 … minutes. */
export const RETRY_BASE_MS = 2 * 60_000;
/** A one-off call must be at least this far in the future when created. */
export const MIN_LEAD_MS = 60_000;

export const retryDelayMs = (attempts: number): number => RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1);

const iso = (d: Date) => d.toISOString();

function toDto(row: ScheduleRow, personaName: string): ScheduledCall {
  return {
    id: row.id,
    personaId: row.personaId,
    personaName,
    recurrence: row.recurrence,
    localTime: row.localTime,
    timezone: row.timezone,
    weekday: row.weekday,
    scheduledFor: iso(row.scheduledFor),
    nextAttemptAt: iso(row.nextAttemptAt),
    durationMinutes: row.durationMinutes,
    topic: row.topic,
    status: row.status,
    attempts: row.attempts,
    maxAttempts: row.maxAttempts,
    lastCallId: row.lastCallId,
    lastError: row.lastError,
    seriesId: row.seriesId,
    createdAt: iso(row.createdAt),
  };
}

const invalid = (path: string, message: string) =>
  new AppError("validation_failed", message, { details: { issues: [{ path, message }] } });

/**
 * Who may be called when: a verified phone on file, and money for the call (enough credits, a
 * saved card, or the free trial), within the per-call budget limit.
 */
export async function assertCanSchedule(db: Db, userId: string, durationMinutes: number): Promise<{ timezone: string }> {
  const option = CALL_OPTIONS.find((o) => o.minutes === durationMinutes);
  if (!option) throw invalid("durationMinutes", "Unsupported call length");
  const [row] = await db
    .select({
      phone: users.phone,
      phoneVerifiedAt: users.phoneVerifiedAt,
      timezone: users.timezone,
      freeTrialUsedAt: users.freeTrialUsedAt,
      balance: sql<string>`(SELECT COALESCE(SUM(${creditLedger.amountMicros}), 0)::text FROM ${creditLedger} WHERE ${creditLedger.userId} = ${users.id})`,
      cards: sql<number>`(SELECT count(*)::int FROM ${paymentMethods} WHERE ${paymentMethods.userId} = ${users.id})`,
      perCallLimit: budgetSettings.perCallLimitMicros,
    })
    .from(users)
    .leftJoin(budgetSettings, eq(budgetSettings.userId, users.id))
    .where(eq(users.id, userId))
    .limit(1);
  if (!row) throw notFound("User");
  if (!row.phone || !row.phoneVerifiedAt) throw invalid("phone", "Verify your phone number before scheduling a call");
  if (row.perCallLimit !== null && option.priceMicros > row.perCallLimit) {
    throw invalid("durationMinutes", "This call is above your per-call budget limit");
  }
  const hasMoney = Number(row.balance) >= option.priceMicros || Number(row.cards) > 0 || row.freeTrialUsedAt === null;
  if (!hasMoney) throw invalid("durationMinutes", "Not enough credits for this call: buy credits or add a card");
  return { timezone: row.timezone };
}

interface Timing {
  recurrence: Recurrence;
  localDate?: string;
  localTime: string;
  timezone: string;
  weekday: number | null;
}

/** The UTC instant of the first occurrence, checked to be in the future. */
function firstDue(t: Timing, now: Date): Date {
  let at: Date | null;
  try {
    at = firstOccurrence({ recurrence: t.recurrence, localTime: t.localTime, timezone: t.timezone, weekday: t.weekday }, now, t.localDate);
  } catch (err) {
    throw invalid(t.recurrence === "weekly" ? "weekday" : "localDate", err instanceof Error ? err.message : "Invalid schedule");
  }
  if (!at) throw invalid("localTime", "No upcoming time matches this schedule");
  if (at.getTime() < now.getTime() + MIN_LEAD_MS) throw invalid("localDate", "Pick a time in the future");
  return at;
}

async function withPersonaName(db: Db, rows: ScheduleRow[]): Promise<ScheduledCall[]> {
  if (rows.length === 0) return [];
  const ids = [...new Set(rows.map((r) => r.personaId))];
  const names = await db.select({ id: personas.id, name: personas.name }).from(personas).where(inArray(personas.id, ids));
  const byId = new Map(names.map((n) => [n.id, n.name]));
  return rows.map((r) => toDto(r, byId.get(r.personaId) ?? "Unknown"));
}

export async function createSchedule(db: Db, userId: string, input: CreateScheduleRequest, now = new Date()): Promise<ScheduledCall> {
  await getPersona(db, userId, input.personaId);
  const { timezone: profileZone } = await assertCanSchedule(db, userId, input.durationMinutes);
  const timing: Timing = {
    recurrence: input.recurrence,
    localDate: input.localDate,
    localTime: input.localTime,
    timezone: input.timezone ?? profileZone,
    weekday: input.recurrence === "weekly" ? (input.weekday ?? null) : null,
  };
  const at = firstDue(timing, now);
  const id = crypto.randomUUID();
  const [row] = await db
    .insert(scheduledCalls)
    .values({
      id,
      userId,
      personaId: input.personaId,
      recurrence: timing.recurrence,
      localTime: timing.localTime,
      timezone: timing.timezone,
      weekday: timing.weekday,
      scheduledFor: at,
      nextAttemptAt: at,
      durationMinutes: input.durationMinutes,
      topic: input.topic ?? null,
      ...(input.maxAttempts !== undefined ? { maxAttempts: input.maxAttempts } : {}),
      seriesId: timing.recurrence === "once" ? null : id,
    })
    .returning();
  return (await withPersonaName(db, [row!]))[0]!;
}

export async function listSchedules(db: Db, userId: string, view: "upcoming" | "past" | "all"): Promise<ScheduledCall[]> {
  const upcoming = inArray(scheduledCalls.status, ["pending", "claimed"]);
  const filter =
    view === "upcoming"
      ? and(eq(scheduledCalls.userId, userId), upcoming)
      : view === "past"
        ? and(eq(scheduledCalls.userId, userId), sql`${scheduledCalls.status} NOT IN ('pending', 'claimed')`)
        : eq(scheduledCalls.userId, userId);
  const rows = await db
    .select()
    .from(scheduledCalls)
    .where(filter)
    .orderBy(view === "upcoming" ? asc(scheduledCalls.scheduledFor) : desc(scheduledCalls.scheduledFor))
    .limit(200);
  return withPersonaName(db, rows);
}

async function ownRow(db: Db, userId: string, id: string): Promise<ScheduleRow> {
  const [row] = await db
    .select()
    .from(scheduledCalls)
    .where(and(eq(scheduledCalls.id, id), eq(scheduledCalls.userId, userId)))
    .limit(1);
  if (!row) throw notFound("Scheduled call");
  return row;
}

export async function getSchedule(db: Db, userId: string, id: string): Promise<ScheduledCall> {
  return (await withPersonaName(db, [await ownRow(db, userId, id)]))[0]!;
}

/** Change a pending schedule (time, recurrence, length, topic); 409 once it is being placed or done. */
export async function updateSchedule(db: Db, userId: string, id: string, input: UpdateScheduleRequest, now = new Date()): Promise<ScheduledCall> {
  const row = await ownRow(db, userId, id);
  if (row.status !== "pending") throw new AppError("conflict", `This call is ${row.status} and can no longer be changed`);
  const durationMinutes = input.durationMinutes ?? row.durationMinutes;
  if (input.durationMinutes !== undefined) await assertCanSchedule(db, userId, durationMinutes);
  const recurrence = input.recurrence ?? row.recurrence;
  const timingChanged =
    input.recurrence !== undefined || input.localDate !== undefined || input.localTime !== undefined || input.timezone !== undefined || input.weekday !== undefined;
  const patch: Partial<typeof scheduledCalls.$inferInsert> = { durationMinutes, updatedAt: now };
  if (input.topic !== undefined) patch.topic = input.topic;
  if (timingChanged) {
    const timezone = input.timezone ?? row.timezone;
    let localDate = input.localDate;
    if (recurrence === "once" && !localDate) {
      const p = new Intl.DateTimeFormat("en-CA", { timeZone: timezone, year: "numeric", month: "2-digit", day: "2-digit" }).format(row.scheduledFor);
      localDate = p;
    }
    const weekday = recurrence === "weekly" ? (input.weekday ?? row.weekday) : null;
    if (recurrence === "weekly" && weekday === null) throw invalid("weekday", "A weekly call needs a weekday");
    const at = firstDue({ recurrence, localDate, localTime: input.localTime ?? row.localTime, timezone, weekday }, now);
    Object.assign(patch, {
      recurrence,
      localTime: input.localTime ?? row.localTime,
      timezone,
      weekday,
      scheduledFor: at,
      nextAttemptAt: at,
      attempts: 0,
      seriesId: recurrence === "once" ? null : (row.seriesId ?? row.id),
    });
  }
  const updated = await db
    .update(scheduledCalls)
    .set(patch)
    .where(and(eq(scheduledCalls.id, id), eq(scheduledCalls.userId, userId), eq(scheduledCalls.status, "pending")))
    .returning();
  if (!updated[0]) throw new AppError("conflict", "This call is already being placed and can no longer be changed");
  return (await withPersonaName(db, updated))[0]!;
}

/**
 * Cancel a pending occurrence. A recurring series has at most one pending occurrence (the next
 * one is created only when the current one is claimed), so this also ends the series.
 */
export async function cancelSchedule(db: Db, userId: string, id: string, now = new Date()): Promise<ScheduledCall> {
  const row = await ownRow(db, userId, id);
  if (row.status === "canceled") return (await withPersonaName(db, [row]))[0]!;
  const updated = await db
    .update(scheduledCalls)
    .set({ status: "canceled", updatedAt: now })
    .where(and(eq(scheduledCalls.id, id), eq(scheduledCalls.userId, userId), eq(scheduledCalls.status, "pending")))
    .returning();
  if (!updated[0]) throw new AppError("conflict", `This call is ${row.status} and can no longer be canceled`);
  return (await withPersonaName(db, updated))[0]!;
}

// ── cron ────────────────────────────────────────────────────────────────────────────────────

/** A row the cron run now owns (status `claimed`, attempts already counted). */
export interface ClaimedSchedule {
  id: string;
  userId: string;
  personaId: string;
  durationMinutes: number;
  topic: string | null;
  scheduledFor: Date;
  attempts: number;
  maxAttempts: number;
}

/**
 * Places one claimed scheduled call through the "Call me now" path and returns the call id.
 * Throw `AppError` with code `conflict` or `rate_limited` (or `ScheduleRetryable`) for
 * transient refusals that should be retried; anything else fails the occurrence.
 */
export type ScheduledCallPlacer = (s: ClaimedSchedule) => Promise<{ callId: string }>;

/** A placement failure worth retrying later (e.g. the user is on another call). */
export class ScheduleRetryable extends Error {
  override readonly name = "ScheduleRetryable";
}

export interface CronDeps {
  db: Db;
  place: ScheduledCallPlacer;
  /** @default () => new Date() */
  now?: () => Date;
  log?: Logger;
  /** Rows claimed per UPDATE. @default 200 */
  batchSize?: number;
  /** Placements in flight at once. @default 8 */
  concurrency?: number;
  /** @default LATE_AFTER_MS */
  lateAfterMs?: number;
  /** Stop claiming new batches after this long (the next minute's run continues). @default 45_000 */
  budgetMs?: number;
}

export interface CronResult {
  claimed: number;
  placed: number;
  retried: number;
  failed: number;
  missed: number;
}

type RawRow = {
  id: string;
  user_id: string;
  persona_id: string;
  recurrence: Recurrence;
  local_time: string;
  timezone: string;
  weekday: number | null;
  scheduled_for: string | Date;
  duration_minutes: number;
  topic: string | null;
  attempts: number;
  max_attempts: number;
  series_id: string | null;
};

const asDate = (v: string | Date) => (v instanceof Date ? v : new Date(v));

/**
 * Insert the next occurrence of a recurring row after `after` (default: the row's own time) —
 * a no-op for one-offs or when that occurrence already exists.
 */
async function createNextOccurrence(db: Db, r: RawRow, after?: Date): Promise<void> {
  if (r.recurrence === "once") return;
  const from = asDate(r.scheduled_for);
  const next = nextOccurrence(
    { recurrence: r.recurrence, localTime: r.local_time, timezone: r.timezone, weekday: r.weekday },
    after && after > from ? after : from,
  );
  if (!next) return;
  await db
    .insert(scheduledCalls)
    .values({
      userId: r.user_id,
      personaId: r.persona_id,
      recurrence: r.recurrence,
      localTime: r.local_time,
      timezone: r.timezone,
      weekday: r.weekday,
      scheduledFor: next,
      nextAttemptAt: next,
      durationMinutes: r.duration_minutes,
      topic: r.topic,
      maxAttempts: r.max_attempts,
      seriesId: r.series_id ?? r.id,
    })
    .onConflictDoNothing();
}

/** Pending rows due more than `lateAfterMs` ago → missed (atomic); their series continue. */
async function markMissed(db: Db, now: Date, lateAfterMs: number): Promise<RawRow[]> {
  const cutoff = new Date(now.getTime() - lateAfterMs);
  const res = await db.execute<RawRow>(sql`
    UPDATE scheduled_calls
       SET status = 'missed', last_error = 'Not placed within 5 minutes of its time', updated_at = ${now}
     WHERE status = 'pending' AND next_attempt_at < ${cutoff}
     RETURNING id, user_id, persona_id, recurrence, local_time, timezone, weekday, scheduled_for,
               duration_minutes, topic, attempts, max_attempts, series_id`);
  return res.rows;
}

/** A claim older than this with no call placed means the run that claimed it died. */
export const STALE_CLAIM_MS = 10 * 60_000;

/** Claimed rows whose run died before placing a call → failed (it is too late to call now). */
async function failStaleClaims(db: Db, now: Date): Promise<number> {
  const res = await db.execute<{ id: string }>(sql`
    UPDATE scheduled_calls
       SET status = 'failed', last_error = 'The call could not be placed in time', updated_at = ${now}
     WHERE status = 'claimed' AND last_call_id IS NULL AND claimed_at < ${new Date(now.getTime() - STALE_CLAIM_MS)}
     RETURNING id`);
  return res.rows.length;
}

/** Claim up to `limit` due rows for this run; a row is returned to exactly one caller. */
export async function claimDue(db: Db, now: Date, limit: number): Promise<RawRow[]> {
  const res = await db.execute<RawRow>(sql`
    UPDATE scheduled_calls s
       SET status = 'claimed', claimed_at = ${now}, attempts = s.attempts + 1, updated_at = ${now}
      FROM (SELECT id FROM scheduled_calls
             WHERE status = 'pending' AND next_attempt_at <= ${now}
             ORDER BY next_attempt_at
             LIMIT ${limit}
             FOR UPDATE SKIP LOCKED) due
     WHERE s.id = due.id AND s.status = 'pending'
     RETURNING s.id, s.user_id, s.persona_id, s.recurrence, s.local_time, s.timezone, s.weekday, s.scheduled_for,
               s.duration_minutes, s.topic, s.attempts, s.max_attempts, s.series_id`);
  return res.rows;
}

function isRetryable(err: unknown): boolean {
  if (err instanceof ScheduleRetryable) return true;
  return err instanceof AppError && (err.code === "conflict" || err.code === "rate_limited" || err.status >= 500);
}

/** Retry later (pending with backoff) while attempts remain, else failed. Only from `claimed`. */
async function retryOrFail(db: Db, id: string, attempts: number, maxAttempts: number, reason: string, now: Date): Promise<"retried" | "failed"> {
  if (attempts < maxAttempts) {
    await db
      .update(scheduledCalls)
      .set({ status: "pending", nextAttemptAt: new Date(now.getTime() + retryDelayMs(attempts)), lastError: reason, updatedAt: now })
      .where(and(eq(scheduledCalls.id, id), eq(scheduledCalls.status, "claimed")));
    return "retried";
  }
  await db
    .update(scheduledCalls)
    .set({ status: "failed", lastError: reason, updatedAt: now })
    .where(and(eq(scheduledCalls.id, id), eq(scheduledCalls.status, "claimed")));
  return "failed";
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

/** One cron tick: mark missed rows, then claim and place due rows batch by batch. */
export async function runDueSchedules(deps: CronDeps): Promise<CronResult> {
  const { db, place } = deps;
  const clock = deps.now ?? (() => new Date());
  const logger = deps.log ?? rootLog;
  const batchSize = deps.batchSize ?? 200;
  const started = Date.now();
  const result: CronResult = { claimed: 0, placed: 0, retried: 0, failed: 0, missed: 0 };

  const missedAt = clock();
  const missed = await markMissed(db, missedAt, deps.lateAfterMs ?? LATE_AFTER_MS);
  result.missed = missed.length;
  // A missed series resumes at its next time after now (no burst of stale occurrences).
  for (const r of missed) await createNextOccurrence(db, r, missedAt);
  if (missed.length) logger.warn("scheduled calls missed", { count: missed.length });
  const stale = await failStaleClaims(db, missedAt);
  result.failed += stale;
  if (stale) logger.warn("stale scheduled-call claims failed", { count: stale });

  while (Date.now() - started < (deps.budgetMs ?? 45_000)) {
    const now = clock();
    const batch = await claimDue(db, now, batchSize);
    if (batch.length === 0) break;
    result.claimed += batch.length;
    await mapLimit(batch, deps.concurrency ?? 8, async (r) => {
      try {
        await createNextOccurrence(db, r);
      } catch (err) {
        logger.error("could not create the next occurrence", { scheduleId: r.id, err });
      }
      const claimed: ClaimedSchedule = {
        id: r.id,
        userId: r.user_id,
        personaId: r.persona_id,
        durationMinutes: r.duration_minutes,
        topic: r.topic,
        scheduledFor: asDate(r.scheduled_for),
        attempts: r.attempts,
        maxAttempts: r.max_attempts,
      };
      try {
        const { callId } = await place(claimed);
        // The outcome (finalizeCall → recordScheduledCallOutcome) may already have been recorded.
        await db.update(scheduledCalls).set({ lastCallId: callId, updatedAt: clock() }).where(eq(scheduledCalls.id, r.id));
        result.placed++;
      } catch (err) {
        const reason = err instanceof AppError || err instanceof ScheduleRetryable ? err.message : "Could not place the call";
        if (!(err instanceof AppError)) logger.error("scheduled call placement failed", { scheduleId: r.id, err });
        const outcome = isRetryable(err)
          ? await retryOrFail(db, r.id, r.attempts, r.max_attempts, reason, clock())
          : await retryOrFail(db, r.id, r.max_attempts, r.max_attempts, reason, clock());
        result[outcome]++;
      }
    });
    if (batch.length < batchSize) break;
  }
  if (result.claimed) logger.info("scheduled calls processed", { ...result });
  return result;
}

/**
 * Record how a call placed for a schedule ended (call `finalizeCall` → here). Completed →
 * completed; busy / no-answer → retry with backoff while attempts remain, else failed; other
 * failures → failed; canceled → canceled. Idempotent: only a `claimed` row for this call moves.
 */
export async function recordScheduledCallOutcome(db: Db, callId: string, now = new Date()): Promise<void> {
  const [row] = await db
    .select({ status: calls.status, error: calls.error, schedule: scheduledCalls })
    .from(calls)
    .innerJoin(scheduledCalls, eq(scheduledCalls.id, calls.scheduledCallId))
    .where(eq(calls.id, callId))
    .limit(1);
  if (!row || row.schedule.status !== "claimed") return;
  const s = row.schedule;
  const mine = and(eq(scheduledCalls.id, s.id), eq(scheduledCalls.status, "claimed"));
  switch (row.status) {
    case "completed":
      await db.update(scheduledCalls).set({ status: "completed", lastCallId: callId, lastError: null, updatedAt: now }).where(mine);
      return;
    case "busy":
    case "no_answer":
      await retryOrFail(db, s.id, s.attempts, s.maxAttempts, row.status === "busy" ? "Line busy" : "No answer", now);
      return;
    case "canceled":
      await db.update(scheduledCalls).set({ status: "canceled", lastCallId: callId, updatedAt: now }).where(mine);
      return;
    case "failed":
      await db.update(scheduledCalls).set({ status: "failed", lastCallId: callId, lastError: row.error ?? "Call failed", updatedAt: now }).where(mine);
      return;
    default:
      return; // still live
  }
}
