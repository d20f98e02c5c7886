/**
 * Usage and cost analytics over calls, cost_events and payments: the user's usage and spend
 * (`usageSummary`), what their calls cost to run by service and day (`costSummary`) and by persona
 * (`costsByPersona`), and the admin margin view (`marginReport`: revenue − vendor cost − Stripe
 * fee per call, per service and per day). Days are calendar days in the user's time zone (UTC for
 * the admin view). Read-only.
 */
import { and, desc, eq, gte, inArray, sql } from "drizzle-orm";
import type { CostsByPersonaResponse, CostSummaryResponse, MarginResponse, UsageResponse } from "../../contracts/money";
import type { Db } from "../db/client";
import { calls, costEvents, payments, personas, users } from "../db/schema";

const DAY_MS = 86_400_000;

/** Stripe's US card fee (2.9 % + 30¢) on a captured amount, in micro-dollars. */
export function stripeFeeMicros(capturedCents: number): number {
  if (capturedCents <= 0) return 0;
  return (Math.round((capturedCents * 29) / 1000) + 30) * 10_000;
}

async function zoneOf(db: Db, userId: string): Promise<string> {
  const [u] = await db.select({ tz: users.timezone }).from(users).where(eq(users.id, userId)).limit(1);
  return u?.tz ?? "UTC";
}

export async function usageSummary(db: Db, userId: string, days: number, now = new Date()): Promise<UsageResponse> {
  const tz = await zoneOf(db, userId);
  const since = new Date(now.getTime() - days * DAY_MS);
  const day = sql<string>`to_char(${calls.createdAt} AT TIME ZONE ${tz}, 'YYYY-MM-DD')`;
  const rows = await db
    .select({
      day,
      calls: sql<string>`count(*)`,
      connected: sql<string>`count(${calls.answeredAt})`,
      seconds: sql<string>`coalesce(sum(${calls.durationS}), 0)`,
      spent: sql<string>`coalesce(sum(${calls.chargeMicros}), 0)`,
    })
    .from(calls)
    .where(and(eq(calls.userId, userId), gte(calls.createdAt, since)))
    // by position: the zone is a bound parameter, so the expression itself cannot be repeated
    .groupBy(sql`1`)
    .orderBy(sql`1`);
  const daily = rows.map((r) => ({ day: r.day, calls: Number(r.calls), minutes: Math.round(Number(r.seconds) / 6) / 10, spentMicros: Number(r.spent) }));
  return {
    days,
    calls: daily.reduce((a, d) => a + d.calls, 0),
    connectedCalls: rows.reduce((a, r) => a + Number(r.connected), 0),
    minutes: Math.round(rows.reduce((a, r) => a + Number(r.seconds), 0) / 6) / 10,
    spentMicros: daily.reduce((a, d) => a + d.spentMicros, 0),
    daily,
  };
}

export async function costSummary(db: Db, userId: string, days: number, now = new Date()): Promise<CostSummaryResponse> {
  const tz = await zoneOf(db, userId);
  const since = new Date(now.getTime() - days * DAY_MS);
  const byServiceRows = await db
    .select({ service: costEvents.service, total: sql<string>`round(sum(${costEvents.costMicros}))` })
    .from(costEvents)
    .where(and(eq(costEvents.userId, userId), gte(costEvents.occurredAt, since)))
    .groupBy(costEvents.service);
  const costDay = sql<string>`to_char(${costEvents.occurredAt} AT TIME ZONE ${tz}, 'YYYY-MM-DD')`;
  const costDays = await db
    .select({ day: costDay, total: sql<string>`round(sum(${costEvents.costMicros}))` })
    .from(costEvents)
    .where(and(eq(costEvents.userId, userId), gte(costEvents.occurredAt, since)))
    .groupBy(sql`1`);
  const usage = await usageSummary(db, userId, days, now);
  const map = new Map<string, { costMicros: number; spentMicros: number }>();
  for (const d of costDays) map.set(d.day, { costMicros: Number(d.total), spentMicros: 0 });
  for (const d of usage.daily) map.set(d.day, { costMicros: map.get(d.day)?.costMicros ?? 0, spentMicros: d.spentMicros });
  const byService = Object.fromEntries(byServiceRows.map((r) => [r.service, Number(r.total)]));
  return {
    days,
    totalMicros: Object.values(byService).reduce((a, b) => a + b, 0),
    spentMicros: usage.spentMicros,
    byService,
    daily: [...map.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([day, v]) => ({ day, ...v })),
  };
}

export async function costsByPersona(db: Db, userId: string, days: number, now = new Date()): Promise<CostsByPersonaResponse> {
  const since = new Date(now.getTime() - days * DAY_MS);
  const rows = await db
    .select({
      personaId: calls.personaId,
      personaName: personas.name,
      calls: sql<string>`count(*)`,
      seconds: sql<string>`coalesce(sum(${calls.durationS}), 0)`,
      cost: sql<string>`coalesce(sum(${calls.costMicros}), 0)`,
      spent: sql<string>`coalesce(sum(${calls.chargeMicros}), 0)`,
    })
    .from(calls)
    .innerJoin(personas, eq(personas.id, calls.personaId))
    .where(and(eq(calls.userId, userId), gte(calls.createdAt, since)))
    .groupBy(calls.personaId, personas.name)
    .orderBy(desc(sql`coalesce(sum(${calls.chargeMicros}), 0)`));
  return {
    personas: rows.map((r) => ({
      personaId: r.personaId,
      personaName: r.personaName,
      calls: Number(r.calls),
      minutes: Math.round(Number(r.seconds) / 6) / 10,
      costMicros: Number(r.cost),
      spentMicros: Number(r.spent),
    })),
  };
}

function marginRow(revenue: number, vendor: number, fee: number) {
  const margin = revenue - vendor - fee;
  return {
    revenueMicros: revenue,
    vendorCostMicros: vendor,
    stripeFeeMicros: fee,
    marginMicros: margin,
    marginPercent: revenue > 0 ? Math.round((margin / revenue) * 1000) / 10 : null,
  };
}

/**
 * Margin per call (revenue = what the user was charged; vendor cost = the call's cost ledger;
 * Stripe fee = 2.9 % + 30¢ of each card payment captured for the call), per day (UTC; credit-pack
 * fees count on the day they were captured) and per service.
 */
export async function marginReport(db: Db, days: number, now = new Date(), limit = 200): Promise<MarginResponse> {
  const since = new Date(now.getTime() - days * DAY_MS);
  const callRows = await db
    .select({ id: calls.id, createdAt: calls.createdAt, durationS: calls.durationS, isFreeTrial: calls.isFreeTrial, charge: calls.chargeMicros, cost: calls.costMicros })
    .from(calls)
    .where(gte(calls.createdAt, since))
    .orderBy(desc(calls.createdAt));
  const payRows = await db
    .select({ callId: payments.callId, kind: payments.kind, captured: payments.amountCapturedCents, createdAt: payments.createdAt })
    .from(payments)
    .where(and(gte(payments.createdAt, since), inArray(payments.status, ["succeeded", "partially_refunded", "refunded"])));
  const feeByCall = new Map<string, number>();
  const packFeeByDay = new Map<string, number>();
  for (const p of payRows) {
    const fee = stripeFeeMicros(p.captured);
    if (p.callId) feeByCall.set(p.callId, (feeByCall.get(p.callId) ?? 0) + fee);
    else {
      const d = p.createdAt.toISOString().slice(0, 10);
      packFeeByDay.set(d, (packFeeByDay.get(d) ?? 0) + fee);
    }
  }
  const byDayAcc = new Map<string, { revenue: number; vendor: number; fee: number }>();
  const byCall = callRows.map((c) => {
    const fee = feeByCall.get(c.id) ?? 0;
    const d = c.createdAt.toISOString().slice(0, 10);
    const acc = byDayAcc.get(d) ?? { revenue: 0, vendor: 0, fee: 0 };
    acc.revenue += c.charge ?? 0;
    acc.vendor += c.cost;
    acc.fee += fee;
    byDayAcc.set(d, acc);
    return { callId: c.id, createdAt: c.createdAt.toISOString(), durationS: c.durationS, isFreeTrial: c.isFreeTrial, ...marginRow(c.charge ?? 0, c.cost, fee) };
  });
  for (const [d, fee] of packFeeByDay) {
    const acc = byDayAcc.get(d) ?? { revenue: 0, vendor: 0, fee: 0 };
    acc.fee += fee;
    byDayAcc.set(d, acc);
  }
  const svcRows = await db
    .select({ service: costEvents.service, total: sql<string>`round(sum(${costEvents.costMicros}))` })
    .from(costEvents)
    .where(gte(costEvents.occurredAt, since))
    .groupBy(costEvents.service);
  const byService: Record<string, number> = Object.fromEntries(svcRows.map((r) => [r.service, Number(r.total)]));
  let totalFee = 0;
  for (const v of feeByCall.values()) totalFee += v;
  for (const v of packFeeByDay.values()) totalFee += v;
  byService.stripe = (byService.stripe ?? 0) + totalFee;
  const totals = [...byDayAcc.values()].reduce((a, v) => ({ revenue: a.revenue + v.revenue, vendor: a.vendor + v.vendor, fee: a.fee + v.fee }), { revenue: 0, vendor: 0, fee: 0 });
  return {
    days,
    total: marginRow(totals.revenue, totals.vendor, totals.fee),
    byService,
    byDay: [...byDayAcc.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([day, v]) => ({ day, ...marginRow(v.revenue, v.vendor, v.fee) })),
    byCall: byCall.slice(0, limit),
  };
}
