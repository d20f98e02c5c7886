/** Scheduled calls over the API: create (one-off / recurring, local time in a zone), validation, list, update, cancel, isolation. */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import { users } from "../../worker/db/schema";
import { parseEnv } from "../../worker/env";
import { api, expectEnvelope, newAccount, type Account } from "./helpers";

interface Schedule {
  id: string;
  personaId: string;
  personaName: string;
  recurrence: string;
  localTime: string;
  timezone: string;
  weekday: number | null;
  scheduledFor: string;
  status: string;
  seriesId: string | null;
  durationMinutes: number;
  topic: string | null;
}

const db = () => createDb(parseEnv(env));

async function verifiedAccount(): Promise<Account> {
  const acct = await newAccount("Scheduler");
  await db().update(users).set({ phone: "+15555550123", phoneVerifiedAt: new Date() }).where(eq(users.id, acct.user.id));
  return acct;
}

async function bradId(): Promise<string> {
  const res = await api<{ personas: Array<{ id: string; slug: string | null }> }>("GET", "/api/personas?scope=system");
  return res.body.personas.find((p) => p.slug === "brad")!.id;
}

/** Local date (YYYY-MM-DD) `days` from now in `tz`. */
function localDate(days: number, tz: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(Date.now() + days * 86_400_000));
}

describe("scheduled calls API", () => {
  it("creates a one-off call at a local time in the chosen zone and lists it as upcoming", async () => {
    const acct = await verifiedAccount();
    const personaId = await bradId();
    const date = localDate(3, "America/New_York");
    const res = await api<{ schedule: Schedule }>("POST", "/api/calls/schedule", {
      token: acct.token,
      body: { personaId, localDate: date, localTime: "07:00", timezone: "America/New_York", durationMinutes: 10, topic: "Marathon check-in", maxAttempts: 2 },
    });
    expect(res.status).toBe(201);
    const s = res.body.schedule;
    expect(s).toMatchObject({ personaName: "Brad", recurrence: "once", localTime: "07:00", timezone: "America/New_York", status: "pending", durationMinutes: 10, seriesId: null, maxAttempts: 2 });
    const local = new Intl.DateTimeFormat("en-CA", { timeZone: "America/New_York", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(s.scheduledFor));
    expect(local).toBe(`${date}, 07:00`);

    const list = await api<{ schedules: Schedule[] }>("GET", "/api/calls/schedule", { token: acct.token });
    expect(list.status).toBe(200);
    expect(list.body.schedules.map((x) => x.id)).toEqual([s.id]);
    const one = await api<{ schedule: Schedule }>("GET", `/api/calls/schedule/${s.id}`, { token: acct.token });
    expect(one.body.schedule.id).toBe(s.id);
  });

  it("recurring schedules start at the next matching local time and form a series; the profile zone is the default", async () => {
    const acct = await verifiedAccount();
    expect((await api("PUT", "/api/user/profile", { token: acct.token, body: { timezone: "Europe/Berlin" } })).status).toBe(200);
    const personaId = await bradId();
    const res = await api<{ schedule: Schedule }>("POST", "/api/calls/schedule", {
      token: acct.token,
      body: { personaId, recurrence: "weekly", weekday: 2, localTime: "18:30" },
    });
    expect(res.status).toBe(201);
    const s = res.body.schedule;
    expect(s.timezone).toBe("Europe/Berlin");
    expect(s.seriesId).toBe(s.id);
    const at = new Date(s.scheduledFor);
    expect(at.getTime()).toBeGreaterThan(Date.now());
    expect(at.getTime() - Date.now()).toBeLessThanOrEqual(7 * 86_400_000);
    const parts = new Intl.DateTimeFormat("en-US", { timeZone: "Europe/Berlin", weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(at);
    expect(parts).toBe("Tue 18:30");
  });

  it("refuses past times, missing dates/weekdays, unknown zones and an unverified phone", async () => {
    const acct = await verifiedAccount();
    const personaId = await bradId();
    const post = (body: Record<string, unknown>, token = acct.token) => api("POST", "/api/calls/schedule", { token, body: { personaId, ...body } });
    expectEnvelope(await post({ localDate: "2020-01-01", localTime: "07:00", timezone: "UTC" }), 400, "validation_failed");
    expectEnvelope(await post({ localTime: "07:00" }), 400, "validation_failed");
    expectEnvelope(await post({ recurrence: "weekly", localTime: "07:00" }), 400, "validation_failed");
    expectEnvelope(await post({ recurrence: "daily", localTime: "25:00" }), 400, "validation_failed");
    expectEnvelope(await post({ recurrence: "daily", localTime: "07:00", timezone: "Mars/Olympus" }), 400, "validation_failed");
    expectEnvelope(await post({ recurrence: "daily", localTime: "07:00", durationMinutes: 7 }), 400, "validation_failed");
    const unverified = await newAccount("No Phone");
    const err = expectEnvelope(await post({ recurrence: "daily", localTime: "07:00" }, unverified.token), 400, "validation_failed");
    expect(err.message).toMatch(/verify your phone/i);
    expectEnvelope(await api("POST", "/api/calls/schedule", { body: { personaId, recurrence: "daily", localTime: "07:00" } }), 401);
    expectEnvelope(await post({ personaId: crypto.randomUUID(), recurrence: "daily", localTime: "07:00" }), 404);
  });

  it("updates a pending call's time and cancels it; a canceled call cannot be changed", async () => {
    const acct = await verifiedAccount();
    const personaId = await bradId();
    const created = await api<{ schedule: Schedule }>("POST", "/api/calls/schedule", {
      token: acct.token,
      body: { personaId, localDate: localDate(2, "UTC"), localTime: "09:00", timezone: "UTC" },
    });
    const id = created.body.schedule.id;
    const moved = await api<{ schedule: Schedule }>("PUT", `/api/calls/schedule/${id}`, { token: acct.token, body: { localTime: "10:15", topic: "Race plan" } });
    expect(moved.status).toBe(200);
    expect(moved.body.schedule).toMatchObject({ localTime: "10:15", topic: "Race plan" });
    expect(new Date(moved.body.schedule.scheduledFor).getTime() - new Date(created.body.schedule.scheduledFor).getTime()).toBe(75 * 60_000);

    const canceled = await api<{ schedule: Schedule }>("DELETE", `/api/calls/schedule/${id}`, { token: acct.token });
    expect(canceled.status).toBe(200);
    expect(canceled.body.schedule.status).toBe("canceled");
    expectEnvelope(await api("PUT", `/api/calls/schedule/${id}`, { token: acct.token, body: { localTime: "11:00" } }), 409, "conflict");
    const upcoming = await api<{ schedules: Schedule[] }>("GET", "/api/calls/schedule", { token: acct.token });
    expect(upcoming.body.schedules).toEqual([]);
    const past = await api<{ schedules: Schedule[] }>("GET", "/api/calls/schedule?view=past", { token: acct.token });
    expect(past.body.schedules.map((s) => s.id)).toEqual([id]);
  });

  it("another user's scheduled call is not found", async () => {
    const owner = await verifiedAccount();
    const other = await verifiedAccount();
    const personaId = await bradId();
    const created = await api<{ schedule: Schedule }>("POST", "/api/calls/schedule", {
      token: owner.token,
      body: { personaId, recurrence: "daily", localTime: "06:45", timezone: "UTC" },
    });
    const id = created.body.schedule.id;
    expectEnvelope(await api("GET", `/api/calls/schedule/${id}`, { token: other.token }), 404);
    expectEnvelope(await api("DELETE", `/api/calls/schedule/${id}`, { token: other.token }), 404);
    expectEnvelope(await api("PUT", `/api/calls/schedule/${id}`, { token: other.token, body: { localTime: "07:00" } }), 404);
    const list = await api<{ schedules: Schedule[] }>("GET", "/api/calls/schedule?view=all", { token: other.token });
    expect(list.body.schedules).toEqual([]);
  });
});
