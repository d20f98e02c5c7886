/**
 * Operator queries behind the admin endpoints and the MCP tools: `listCalls` (filters, with the
 * per-call response latency from `call_turns`), `aggregateCosts` (vendor cost from `cost_events`
 * grouped by service / persona / UTC day, revenue from what calls were charged, margin) and
 * `listDiscrepancies` (daily reconciliation results). Money stays integer micro-dollars (sums of
 * the fractional `numeric` cost column are rounded in Postgres). Reads only.
 */
import { and, desc, eq, gte, inArray, isNotNull, lt, sql, type SQL } from "drizzle-orm";
import type { AggregateCostsResponse, AdminCall, CostGroupBy, CostRow, Discrepancy } from "../../contracts/ops";
import type { Db } from "../db/client";
import { callTurns, calls, costEvents, personas, reconciliationDiscrepancies, users } from "../db/schema";
import { maskEmail } from "../log";

export interface ListCallsFilter {
  status?: AdminCall["status"];
  userId?: string;
  personaId?: string;
  since?: Date;
  until?: Date;
  limit?: number;
}

/**
 * Response latency of a turn (ms): end of the caller's speech → the reply's first audio frame sent
 * to the phone (`firstAudioSentMs`). `firstMarkHeardMs` is later by design — the echo of the first
 * sentence's end mark, i.e. after that sentence has played — so it is not the response time.
 */
const RESPONSE_MS = sql<number>`(${callTurns.latency}->>'firstAudioSentMs')::float8`;

/** Calls, newest first, with status, cost and latency summary. */
export async function listCalls(db: Db, f: ListCallsFilter = {}): Promise<AdminCall[]> {
  const where: SQL[] = [];
  if (f.status) where.push(eq(calls.status, f.status));
  if (f.userId) where.push(eq(calls.userId, f.userId));
  if (f.personaId) where.push(eq(calls.personaId, f.personaId));
  if (f.since) where.push(gte(calls.createdAt, f.since));
  if (f.until) where.push(lt(calls.createdAt, f.until));
  const rows = await db
    .select({
      id: calls.id,
      userId: calls.userId,
      email: users.email,
      personaId: calls.personaId,
      personaName: personas.name,
      transport: calls.transport,
      status: calls.status,
      endReason: calls.endReason,
      durationS: calls.durationS,
      costMicros: calls.costMicros,
      chargeMicros: calls.chargeMicros,
      createdAt: calls.createdAt,
      endedAt: calls.endedAt,
    })
    .from(calls)
    .innerJoin(users, eq(users.id, calls.userId))
    .innerJoin(personas, eq(personas.id, calls.personaId))
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(calls.createdAt), desc(calls.id))
    .limit(Math.min(Math.max(f.limit ?? 50, 1), 200));
  if (rows.length === 0) return [];
  const latency = await db
    .select({
      callId: callTurns.callId,
      turns: sql<number>`count(${RESPONSE_MS})::int`,
      avgMs: sql<number | null>`round(avg(${RESPONSE_MS}))::int`,
      maxMs: sql<number | null>`round(max(${RESPONSE_MS}))::int`,
    })
    .from(callTurns)
    // replies to caller speech only (a greeting has no end of speech to measure from)
    .where(
      and(
        inArray(callTurns.callId, rows.map((r) => r.id)),
        eq(callTurns.speaker, "assistant"),
        isNotNull(callTurns.latency),
        sql`${callTurns.latency}->>'endOfSpeechToFinalMs' IS NOT NULL`,
      ),
    )
    .groupBy(callTurns.callId);
  const byCall = new Map(latency.map((l) => [l.callId, l]));
  return rows.map((r) => {
    const l = byCall.get(r.id);
    return {
      id: r.id,
      userId: r.userId,
      userEmailMasked: maskEmail(r.email),
      personaId: r.personaId,
      personaName: r.personaName,
      transport: r.transport,
      status: r.status,
      endReason: r.endReason,
      durationS: r.durationS,
      costMicros: Number(r.costMicros),
      chargeMicros: r.chargeMicros === null ? null : Number(r.chargeMicros),
      createdAt: r.createdAt.toISOString(),
      endedAt: r.endedAt?.toISOString() ?? null,
      turns: l ? Number(l.turns) : 0,
      avgLatencyMs: l?.avgMs == null ? null : Number(l.avgMs),
      maxLatencyMs: l?.maxMs == null ? null : Number(l.maxMs),
    };
  });
}

export const DEFAULT_COST_PERIOD_MS = 30 * 24 * 60 * 60 * 1000;

/** Vendor cost per group over [since, until), with revenue and margin where revenue splits that way. */
export async function aggregateCosts(
  db: Db,
  q: { groupBy: CostGroupBy; since?: Date; until?: Date },
): Promise<AggregateCostsResponse> {
  const until = q.until ?? new Date();
  const since = q.since ?? new Date(until.getTime() - DEFAULT_COST_PERIOD_MS);
  const costKey =
    q.groupBy === "service"
      ? sql<string>`${costEvents.service}::text`
      : q.groupBy === "persona"
        ? sql<string>`${personas.name}`
        : sql<string>`to_char(${costEvents.occurredAt} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
  // Revenue: what calls created in the period were charged (free trials and unfinished calls: 0).
  const revenueKey =
    q.groupBy === "persona" ? sql<string>`${personas.name}` : sql<string>`to_char(${calls.createdAt} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
  const costPeriod = and(gte(costEvents.occurredAt, since), lt(costEvents.occurredAt, until));
  const callPeriod = and(gte(calls.createdAt, since), lt(calls.createdAt, until));

  const [costRows, revenueRows, revenueTotalRows] = await db.batch([
    db
      .select({
        key: costKey,
        costMicros: sql<string>`round(coalesce(sum(${costEvents.costMicros}), 0))::bigint`,
        events: sql<number>`count(*)::int`,
      })
      .from(costEvents)
      .innerJoin(calls, eq(calls.id, costEvents.callId))
      .innerJoin(personas, eq(personas.id, calls.personaId))
      .where(costPeriod)
      .groupBy(costKey),
    db
      .select({ key: revenueKey, revenueMicros: sql<string>`coalesce(sum(coalesce(${calls.chargeMicros}, 0)), 0)::bigint` })
      .from(calls)
      .innerJoin(personas, eq(personas.id, calls.personaId))
      .where(callPeriod)
      .groupBy(revenueKey),
    db
      .select({ revenueMicros: sql<string>`coalesce(sum(coalesce(${calls.chargeMicros}, 0)), 0)::bigint` })
      .from(calls)
      .where(callPeriod),
  ]);

  const splitsRevenue = q.groupBy !== "service";
  const revenue = new Map(revenueRows.map((r) => [r.key, Number(r.revenueMicros)]));
  const keys = new Set<string>(costRows.map((r) => r.key));
  if (splitsRevenue) for (const k of revenue.keys()) keys.add(k);
  const costByKey = new Map(costRows.map((r) => [r.key, r]));
  const rows: CostRow[] = [...keys].map((key) => {
    const c = costByKey.get(key);
    const costMicros = c ? Number(c.costMicros) : 0;
    const revenueMicros = splitsRevenue ? (revenue.get(key) ?? 0) : null;
    return {
      key,
      costMicros,
      revenueMicros,
      marginMicros: revenueMicros === null ? null : revenueMicros - costMicros,
      events: c ? Number(c.events) : 0,
    };
  });
  rows.sort((a, b) => (q.groupBy === "day" ? a.key.localeCompare(b.key) : b.costMicros - a.costMicros || a.key.localeCompare(b.key)));

  const costTotal = rows.reduce((s, r) => s + r.costMicros, 0);
  const revenueTotal = Number(revenueTotalRows[0]?.revenueMicros ?? 0);
  const marginTotal = revenueTotal - costTotal;
  return {
    groupBy: q.groupBy,
    since: since.toISOString(),
    until: until.toISOString(),
    rows,
    totals: {
      costMicros: costTotal,
      revenueMicros: revenueTotal,
      marginMicros: marginTotal,
      marginBps: revenueTotal > 0 ? Math.round((marginTotal * 10_000) / revenueTotal) : null,
    },
  };
}

/** Reconciliation discrepancies, unresolved first, newest run first. */
export async function listDiscrepancies(db: Db, opts: { includeResolved?: boolean; limit?: number } = {}): Promise<Discrepancy[]> {
  const rows = await db
    .select()
    .from(reconciliationDiscrepancies)
    .where(opts.includeResolved ? undefined : sql`${reconciliationDiscrepancies.resolvedAt} IS NULL`)
    .orderBy(desc(reconciliationDiscrepancies.runDate), desc(sql`abs(${reconciliationDiscrepancies.diffMicros})`))
    .limit(Math.min(Math.max(opts.limit ?? 100, 1), 500));
  return rows.map((r) => ({
    id: r.id,
    runDate: r.runDate,
    callId: r.callId,
    service: r.service,
    ledgerMicros: Number(r.ledgerMicros),
    vendorMicros: Number(r.vendorMicros),
    diffMicros: Number(r.diffMicros),
    createdAt: r.createdAt.toISOString(),
    resolvedAt: r.resolvedAt?.toISOString() ?? null,
  }));
}

/** `1234567` µ$ → `"$1.2346"` (four decimals; integer arithmetic, no floats). */
export function formatMicros(micros: number): string {
  const sign = micros < 0 ? "-" : "";
  const abs = Math.abs(Math.round(micros));
  const dollars = Math.floor(abs / 1_000_000);
  const frac = Math.round((abs % 1_000_000) / 100);
  if (frac === 10_000) return `${sign}$${dollars + 1}.0000`;
  return `${sign}$${dollars}.${String(frac).padStart(4, "0")}`;
}
