/**
 * Budgets: the user's per-call, daily and monthly limits on their own spend (what they are
 * charged, in dollars) and the warn-at percentage. `budgetPlanFor` turns them into the single
 * limit a call is metered against: min(per-call, day limit − spent today, month limit − spent
 * this month), with "today" and "this month" in the user's time zone. Enforcement during the call
 * is the cost meter's job (durable-objects/money/cost-meter.ts).
 */
import { and, eq, gte, ne, sql } from "drizzle-orm";
import type { BudgetSettings, BudgetSettingsResponse, UpdateBudgetSettingsRequest } from "../../contracts/money";
import type { BudgetPlan } from "../../durable-objects/money/cost-meter";
import type { Db } from "../db/client";
import { budgetSettings, calls, users } from "../db/schema";
import { localParts, zonedTimeToUtc } from "./recurrence";

export const DEFAULT_BUDGET: BudgetSettings = {
  perCallLimitMicros: null,
  dailyLimitMicros: null,
  monthlyLimitMicros: null,
  warnAtPercent: 80,
  autoCutoff: true,
};

export async function getBudgetSettings(db: Db, userId: string): Promise<BudgetSettings> {
  const [row] = await db.select().from(budgetSettings).where(eq(budgetSettings.userId, userId)).limit(1);
  if (!row) return { ...DEFAULT_BUDGET };
  return {
    perCallLimitMicros: row.perCallLimitMicros,
    dailyLimitMicros: row.dailyLimitMicros,
    monthlyLimitMicros: row.monthlyLimitMicros,
    warnAtPercent: row.warnAtPercent,
    autoCutoff: row.autoCutoff,
  };
}

/** Merge the given fields into the user's settings (absent fields keep their value; null clears a limit). */
export async function updateBudgetSettings(db: Db, userId: string, patch: UpdateBudgetSettingsRequest): Promise<BudgetSettings> {
  const next = { ...(await getBudgetSettings(db, userId)), ...patch };
  await db
    .insert(budgetSettings)
    .values({ userId, ...next })
    .onConflictDoUpdate({ target: budgetSettings.userId, set: { ...next, updatedAt: new Date() } });
  return next;
}

/** Start of the user's local day and month (UTC instants). */
export function periodStarts(now: Date, timeZone: string): { day: Date; month: Date } {
  const p = localParts(now, timeZone);
  return {
    day: zonedTimeToUtc({ year: p.year, month: p.month, day: p.day }, 0, 0, timeZone),
    month: zonedTimeToUtc({ year: p.year, month: p.month, day: 1 }, 0, 0, timeZone),
  };
}

async function spentSince(db: Db, userId: string, since: Date, excludeCallId?: string): Promise<number> {
  const where = [eq(calls.userId, userId), gte(calls.createdAt, since)];
  if (excludeCallId) where.push(ne(calls.id, excludeCallId));
  const [row] = await db
    .select({ total: sql<string>`coalesce(sum(coalesce(${calls.chargeMicros}, 0)), 0)` })
    .from(calls)
    .where(and(...where));
  return Number(row?.total ?? 0);
}

async function userZone(db: Db, userId: string): Promise<string> {
  const [u] = await db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId)).limit(1);
  return u?.timezone ?? "UTC";
}

/** The user's spend today and this month (their time zone), optionally leaving one call out. */
export async function spendSummary(db: Db, userId: string, now = new Date(), excludeCallId?: string): Promise<{ today: number; month: number }> {
  const starts = periodStarts(now, await userZone(db, userId));
  const [today, month] = await Promise.all([spentSince(db, userId, starts.day, excludeCallId), spentSince(db, userId, starts.month, excludeCallId)]);
  return { today, month };
}

export async function budgetSettingsResponse(db: Db, userId: string, now = new Date()): Promise<BudgetSettingsResponse> {
  const [settings, spent] = await Promise.all([getBudgetSettings(db, userId), spendSummary(db, userId, now)]);
  return { settings, spentTodayMicros: spent.today, spentThisMonthMicros: spent.month };
}

/** The limit one call is metered against (see the module header); null = no limit set. */
export function remainingBudget(settings: BudgetSettings, spent: { today: number; month: number }): number | null {
  const limits: number[] = [];
  if (settings.perCallLimitMicros !== null) limits.push(settings.perCallLimitMicros);
  if (settings.dailyLimitMicros !== null) limits.push(Math.max(0, settings.dailyLimitMicros - spent.today));
  if (settings.monthlyLimitMicros !== null) limits.push(Math.max(0, settings.monthlyLimitMicros - spent.month));
  return limits.length === 0 ? null : Math.min(...limits);
}

/** The budget plan for a call (excluding that call's own charge from the day/month spend). */
export async function budgetPlanFor(db: Db, userId: string, opts: { now?: Date; excludeCallId?: string } = {}): Promise<BudgetPlan> {
  const [settings, spent] = await Promise.all([getBudgetSettings(db, userId), spendSummary(db, userId, opts.now, opts.excludeCallId)]);
  return { limitMicros: remainingBudget(settings, spent), warnAtPercent: settings.warnAtPercent, autoCutoff: settings.autoCutoff };
}
