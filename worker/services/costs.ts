/**
 * The cost ledger in Postgres: `recordCostEvents` stores priced events from the call's Durable
 * Object (idempotent on (call, event_key), so a batch re-sent after a crash is not counted twice)
 * and refreshes `calls.cost_micros`; `getCallCost` answers `GET /api/calls/:id/cost` with the
 * per-service breakdown. Pricing happens in `durable-objects/money/cost-meter.ts`, not here.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { CallCostResponse, CostService } from "../../contracts/money";
import type { PricedCost } from "../../durable-objects/money/cost-meter";
import type { Db } from "../db/client";
import { calls, costEvents } from "../db/schema";
import { notFound } from "../errors";

/** Store priced events (duplicates ignored) and update the call's running total. Returns how many were new. */
export async function recordCostEvents(db: Db, call: { callId: string; userId: string }, events: readonly PricedCost[]): Promise<number> {
  if (events.length === 0) return 0;
  const inserted = await db
    .insert(costEvents)
    .values(
      events.map((e) => ({
        callId: call.callId,
        userId: call.userId,
        eventKey: e.eventKey,
        service: e.service,
        operation: e.operation,
        model: e.model,
        usageAmount: e.usageAmount,
        usageUnit: e.usageUnit,
        rateMicros: e.rateMicros,
        costMicros: e.costMicros,
        pricingId: e.pricingId,
        providerRequestId: e.providerRequestId,
        occurredAt: new Date(e.occurredAt),
        estimated: e.estimated,
      })),
    )
    .onConflictDoNothing({ target: [costEvents.callId, costEvents.eventKey] })
    .returning({ id: costEvents.id });
  await refreshCallCost(db, call.callId);
  return inserted.length;
}

/** `calls.cost_micros` = the rounded sum of the call's cost events. */
export async function refreshCallCost(db: Db, callId: string): Promise<void> {
  await db
    .update(calls)
    .set({ costMicros: sql`(SELECT coalesce(round(sum(${costEvents.costMicros})), 0)::bigint FROM ${costEvents} WHERE ${costEvents.callId} = ${callId})` })
    .where(eq(calls.id, callId));
}

/** Per-service totals of a call in whole micro-dollars. */
export async function callCostByService(db: Db, callId: string): Promise<Record<string, number>> {
  const rows = await db
    .select({ service: costEvents.service, total: sql<string>`round(sum(${costEvents.costMicros}))` })
    .from(costEvents)
    .where(eq(costEvents.callId, callId))
    .groupBy(costEvents.service);
  return Object.fromEntries(rows.map((r) => [r.service, Number(r.total)]));
}

/** The cost breakdown of one of the user's calls (404 for someone else's call). */
export async function getCallCost(db: Db, userId: string, callId: string): Promise<CallCostResponse> {
  const [call] = await db
    .select({ id: calls.id, priceMicros: calls.priceMicros, chargeMicros: calls.chargeMicros })
    .from(calls)
    .where(and(eq(calls.id, callId), eq(calls.userId, userId)))
    .limit(1);
  if (!call) throw notFound("Call");
  const rows = await db.select().from(costEvents).where(eq(costEvents.callId, callId)).orderBy(asc(costEvents.occurredAt), asc(costEvents.createdAt));
  const byService: Record<string, number> = {};
  let totalMicros = 0;
  const [sumRow] = await db
    .select({ total: sql<string>`coalesce(round(sum(${costEvents.costMicros})), 0)` })
    .from(costEvents)
    .where(eq(costEvents.callId, callId));
  totalMicros = Number(sumRow?.total ?? 0);
  Object.assign(byService, await callCostByService(db, callId));
  return {
    callId: call.id,
    totalMicros,
    byService,
    chargeMicros: call.chargeMicros,
    priceMicros: call.priceMicros,
    events: rows.map((r) => ({
      eventKey: r.eventKey,
      service: r.service as CostService,
      operation: r.operation,
      model: r.model,
      usageAmount: r.usageAmount,
      usageUnit: r.usageUnit,
      rateMicros: r.rateMicros,
      costMicros: r.costMicros,
      occurredAt: r.occurredAt.toISOString(),
      estimated: r.estimated,
    })),
  };
}
