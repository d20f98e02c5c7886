/**
 * The cron side of scheduled calls against real Postgres: atomic claiming under overlapping runs
 * (1,000 due rows, two concurrent runs, each placed exactly once), recurring series across a DST
 * switch, missed calls, retries with backoff after busy / no-answer, and placement refusals.
 * Placement is a counting stand-in for the "Call me now" path.
 */
import { env } from "cloudflare:workers";
import { and, eq, inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import { calls, personas, scheduledCalls, users } from "../../worker/db/schema";
import { parseEnv } from "../../worker/env";
import { AppError } from "../../worker/errors";
import {
  recordScheduledCallOutcome,
  runDueSchedules,
  type ClaimedSchedule,
  type ScheduledCallPlacer,
} from "../../worker/services/schedules";
import { newAccount } from "./helpers";

const db = () => createDb(parseEnv(env));

async function fixture(): Promise<{ userId: string; personaId: string }> {
  const acct = await newAccount("Cron");
  await db().update(users).set({ phone: "+15555550177", phoneVerifiedAt: new Date() }).where(eq(users.id, acct.user.id));
  const [brad] = await db().select({ id: personas.id }).from(personas).where(eq(personas.slug, "brad"));
  return { userId: acct.user.id, personaId: brad!.id };
}

function counting(): { place: ScheduledCallPlacer; placed: ClaimedSchedule[] } {
  const placed: ClaimedSchedule[] = [];
  return {
    placed,
    place: async (s) => {
      placed.push(s);
      await new Promise((r) => setTimeout(r, 0));
      return { callId: crypto.randomUUID() };
    },
  };
}

async function rows(ids: string[]) {
  return db().select().from(scheduledCalls).where(inArray(scheduledCalls.id, ids));
}

describe("cron: due scheduled calls", () => {
  it("two overlapping runs over 1,000 due calls place each exactly once", async () => {
    const { userId, personaId } = await fixture();
    const now = new Date();
    const due = new Date(now.getTime() - 60_000);
    const values = Array.from({ length: 1000 }, () => ({
      id: crypto.randomUUID(),
      userId,
      personaId,
      localTime: "07:00",
      timezone: "UTC",
      scheduledFor: due,
      nextAttemptAt: due,
    }));
    for (let i = 0; i < values.length; i += 250) await db().insert(scheduledCalls).values(values.slice(i, i + 250));
    const ids = new Set(values.map((v) => v.id));

    const a = counting();
    const b = counting();
    const [ra, rb] = await Promise.all([
      runDueSchedules({ db: db(), place: a.place, now: () => now, batchSize: 100 }),
      runDueSchedules({ db: db(), place: b.place, now: () => now, batchSize: 100 }),
    ]);
    const mine = [...a.placed, ...b.placed].filter((s) => ids.has(s.id));
    expect(mine.length).toBe(1000);
    expect(new Set(mine.map((s) => s.id)).size).toBe(1000);
    expect(ra.claimed + rb.claimed).toBeGreaterThanOrEqual(1000);

    const after = await db()
      .select({ status: scheduledCalls.status, n: sql<number>`count(*)::int`, attempts: sql<number>`max(${scheduledCalls.attempts})::int` })
      .from(scheduledCalls)
      .where(eq(scheduledCalls.userId, userId))
      .groupBy(scheduledCalls.status);
    expect(after).toEqual([{ status: "claimed", n: 1000, attempts: 1 }]);

    // A third run finds nothing left to place.
    const c = counting();
    await runDueSchedules({ db: db(), place: c.place, now: () => now });
    expect(c.placed.filter((s) => ids.has(s.id))).toEqual([]);
  });

  it("a daily 07:00 New York series fires at 07:00 local before and after the spring DST switch", async () => {
    const { userId, personaId } = await fixture();
    const first = new Date("2027-03-13T12:00:00Z"); // Saturday 07:00 EST; DST starts Sunday 2027-03-14
    const id = crypto.randomUUID();
    await db().insert(scheduledCalls).values({ id, userId, personaId, recurrence: "daily", localTime: "07:00", timezone: "America/New_York", scheduledFor: first, nextAttemptAt: first, seriesId: id });

    const fired: string[] = [];
    const place: ScheduledCallPlacer = async (s) => {
      if (s.userId === userId) fired.push(s.scheduledFor.toISOString());
      return { callId: crypto.randomUUID() };
    };
    // Minute ticks around each expected time: nothing fires early, each fires on its minute.
    for (const tick of ["2027-03-13T11:59:00Z", "2027-03-13T12:00:00Z", "2027-03-14T10:59:00Z", "2027-03-14T11:00:00Z", "2027-03-15T11:00:30Z"]) {
      await runDueSchedules({ db: db(), place, now: () => new Date(tick) });
    }
    expect(fired).toEqual(["2027-03-13T12:00:00.000Z", "2027-03-14T11:00:00.000Z", "2027-03-15T11:00:00.000Z"]);
    const series = await db().select().from(scheduledCalls).where(eq(scheduledCalls.seriesId, id));
    expect(series.map((r) => r.scheduledFor.toISOString()).sort()).toEqual([
      "2027-03-13T12:00:00.000Z",
      "2027-03-14T11:00:00.000Z",
      "2027-03-15T11:00:00.000Z",
      "2027-03-16T11:00:00.000Z",
    ]);
    expect(series.filter((r) => r.status === "pending").map((r) => r.scheduledFor.toISOString())).toEqual(["2027-03-16T11:00:00.000Z"]);
  });

  it("marks a call more than 5 minutes late as missed instead of calling, and keeps the series going", async () => {
    const { userId, personaId } = await fixture();
    const at = new Date("2027-06-01T09:00:00Z");
    const once = crypto.randomUUID();
    const daily = crypto.randomUUID();
    await db().insert(scheduledCalls).values([
      { id: once, userId, personaId, localTime: "09:00", timezone: "UTC", scheduledFor: at, nextAttemptAt: at },
      { id: daily, userId, personaId, recurrence: "daily", localTime: "09:00", timezone: "UTC", scheduledFor: at, nextAttemptAt: at, seriesId: daily },
    ]);
    const c = counting();
    await runDueSchedules({ db: db(), place: c.place, now: () => new Date("2027-06-01T09:06:00Z") });
    expect(c.placed.filter((s) => s.userId === userId)).toEqual([]);
    const r = await rows([once, daily]);
    expect(r.map((x) => x.status)).toEqual(["missed", "missed"]);
    const next = await db().select().from(scheduledCalls).where(and(eq(scheduledCalls.seriesId, daily), eq(scheduledCalls.status, "pending")));
    expect(next.map((x) => x.scheduledFor.toISOString())).toEqual(["2027-06-02T09:00:00.000Z"]);
    // 4 minutes late is still placed.
    const late = crypto.randomUUID();
    await db().insert(scheduledCalls).values({ id: late, userId, personaId, localTime: "10:00", timezone: "UTC", scheduledFor: new Date("2027-06-01T10:00:00Z"), nextAttemptAt: new Date("2027-06-01T10:00:00Z") });
    await runDueSchedules({ db: db(), place: c.place, now: () => new Date("2027-06-01T10:04:00Z") });
    expect(c.placed.map((s) => s.id)).toContain(late);
  });

  it("retries busy / no-answer with backoff up to max attempts, then fails; completed calls complete", async () => {
    const { userId, personaId } = await fixture();
    const t0 = new Date("2027-07-01T08:00:00Z");
    const id = crypto.randomUUID();
    await db().insert(scheduledCalls).values({ id, userId, personaId, localTime: "08:00", timezone: "UTC", scheduledFor: t0, nextAttemptAt: t0, maxAttempts: 3 });
    const callIds: string[] = [];
    const place: ScheduledCallPlacer = async (s) => {
      const [call] = await db()
        .insert(calls)
        .values({ userId: s.userId, personaId: s.personaId, scheduledCallId: s.id, durationLimitS: s.durationMinutes * 60, status: "no_answer", endReason: "not_answered" })
        .returning({ id: calls.id });
      callIds.push(call!.id);
      return { callId: call!.id };
    };
    let now = t0;
    const attemptTimes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const [before] = await rows([id]);
      now = before!.nextAttemptAt;
      attemptTimes.push(now.toISOString());
      await runDueSchedules({ db: db(), place, now: () => now });
      await recordScheduledCallOutcome(db(), callIds.at(-1)!, now);
      await recordScheduledCallOutcome(db(), callIds.at(-1)!, now); // idempotent
    }
    expect(attemptTimes).toEqual(["2027-07-01T08:00:00.000Z", "2027-07-01T08:02:00.000Z", "2027-07-01T08:06:00.000Z"]);
    const [done] = await rows([id]);
    expect(done).toMatchObject({ status: "failed", attempts: 3, lastError: "No answer", lastCallId: callIds[2] });
    expect(callIds.length).toBe(3);

    const ok = crypto.randomUUID();
    await db().insert(scheduledCalls).values({ id: ok, userId, personaId, localTime: "08:00", timezone: "UTC", scheduledFor: t0, nextAttemptAt: new Date("2027-07-02T08:00:00Z") });
    const completedPlace: ScheduledCallPlacer = async (s) => {
      const [call] = await db()
        .insert(calls)
        .values({ userId: s.userId, personaId: s.personaId, scheduledCallId: s.id, durationLimitS: 300, status: "completed" })
        .returning({ id: calls.id });
      return { callId: call!.id };
    };
    await runDueSchedules({ db: db(), place: completedPlace, now: () => new Date("2027-07-02T08:00:00Z") });
    const [placed] = await rows([ok]);
    await recordScheduledCallOutcome(db(), placed!.lastCallId!, new Date("2027-07-02T08:10:00Z"));
    expect((await rows([ok]))[0]).toMatchObject({ status: "completed", attempts: 1 });
  });

  it("a transient refusal (user on another call) is retried; a permanent one fails the occurrence", async () => {
    const { userId, personaId } = await fixture();
    const t = new Date("2027-08-01T12:00:00Z");
    const busyId = crypto.randomUUID();
    const badId = crypto.randomUUID();
    await db().insert(scheduledCalls).values([
      { id: busyId, userId, personaId, localTime: "12:00", timezone: "UTC", scheduledFor: t, nextAttemptAt: t },
      { id: badId, userId, personaId, localTime: "12:00", timezone: "UTC", scheduledFor: t, nextAttemptAt: t },
    ]);
    const place: ScheduledCallPlacer = async (s) => {
      if (s.id === busyId) throw new AppError("conflict", "You are already on a call");
      if (s.id === badId) throw new AppError("validation_failed", "Verify your phone number first");
      return { callId: crypto.randomUUID() };
    };
    await runDueSchedules({ db: db(), place, now: () => t });
    const byId = new Map((await rows([busyId, badId])).map((r) => [r.id, r]));
    expect(byId.get(busyId)).toMatchObject({ status: "pending", attempts: 1, lastError: "You are already on a call" });
    expect(byId.get(busyId)!.nextAttemptAt.toISOString()).toBe("2027-08-01T12:02:00.000Z");
    expect(byId.get(badId)).toMatchObject({ status: "failed", attempts: 1, lastError: "Verify your phone number first" });
  });

  it("a claim whose run died before placing the call is failed, not left claimed forever", async () => {
    const { userId, personaId } = await fixture();
    const t = new Date("2027-09-01T07:00:00Z");
    const id = crypto.randomUUID();
    await db().insert(scheduledCalls).values({ id, userId, personaId, localTime: "07:00", timezone: "UTC", scheduledFor: t, nextAttemptAt: t, status: "claimed", attempts: 1, claimedAt: t });
    await runDueSchedules({ db: db(), place: counting().place, now: () => new Date("2027-09-01T07:05:00Z") });
    expect((await rows([id]))[0]!.status).toBe("claimed");
    const r = await runDueSchedules({ db: db(), place: counting().place, now: () => new Date("2027-09-01T07:11:00Z") });
    expect(r.failed).toBeGreaterThanOrEqual(1);
    expect((await rows([id]))[0]).toMatchObject({ status: "failed", lastError: "The call could not be placed in time" });
  });
});
