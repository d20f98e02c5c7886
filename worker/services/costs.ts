/**
 * The cost ledger in Postgres: `recordCostEvents` stores priced events from the call's Durable
 * Object (idempotent on (call, event_key), so a batch re-sent after a crash is not counted twice)
 * and refreshes `calls.cost_micros`; `getCallCost` answers `GET /api/calls/:id/cost` with the
 * per-service breakdown; `meteredChatModel` prices LLM work done for a call after it ended (the
 * post-call summary and facts) into the same ledger. Pricing is `durable-objects/money/cost-meter.ts`.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { CallCostResponse, CostService } from "../../contracts/money";
import { llmService, priceQuantity, RateCard, type PricedCost } from "../../durable-objects/money/cost-meter";
import type { ChatDelta, ChatMessage, ChatModel, ChatStreamOptions } from "../../durable-objects/providers/types";
import type { Db } from "../db/client";
import { calls, costEvents } from "../db/schema";
import { notFound } from "../errors";
import { loadRates } from "./pricing";

/** The insert of priced events (duplicates ignored), unexecuted: for a caller that batches it. */
export function insertCostEventsQuery(db: Db, call: { callId: string; userId: string }, events: readonly PricedCost[]) {
  return db
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
}

/** Store priced events (duplicates ignored) and update the call's running total. Returns how many were new. */
export async function recordCostEvents(db: Db, call: { callId: string; userId: string }, events: readonly PricedCost[]): Promise<number> {
  if (events.length === 0) return 0;
  const [inserted] = await db.batch([insertCostEventsQuery(db, call, events), refreshCallCostQuery(db, call.callId)]);
  return inserted.length;
}

/** `UPDATE calls SET cost_micros = …` for one call, unexecuted (see `refreshCallCost`). */
export function refreshCallCostQuery(db: Db, callId: string) {
  return db
    .update(calls)
    .set({ costMicros: sql`(SELECT coalesce(round(sum(${costEvents.costMicros})), 0)::bigint FROM ${costEvents} WHERE ${costEvents.callId} = ${callId})` })
    .where(eq(calls.id, callId));
}

/** `calls.cost_micros` = the rounded sum of the call's cost events. */
export async function refreshCallCost(db: Db, callId: string): Promise<void> {
  await refreshCallCostQuery(db, callId);
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
  // Each service line is rounded to whole micro-dollars; the total is the sum of the lines shown.
  const byService = await callCostByService(db, callId);
  const totalMicros = Object.values(byService).reduce((a, b) => a + b, 0);
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

/** Price one LLM usage report for a call (rate in force now) and store it under `eventKey`. */
export async function recordLlmUsage(
  db: Db,
  callId: string,
  usage: { provider: string; model: string; promptTokens: number; completionTokens: number },
  eventKey: string,
): Promise<void> {
  const [call] = await db.select({ userId: calls.userId }).from(calls).where(eq(calls.id, callId)).limit(1);
  if (!call) return;
  const card = new RateCard(await loadRates(db));
  const service = llmService(usage.provider);
  const at = Date.now();
  const events: PricedCost[] = [];
  for (const [operation, tokens, suffix] of [
    ["input_token", usage.promptTokens, "in"],
    ["output_token", usage.completionTokens, "out"],
  ] as const) {
    if (tokens <= 0) continue;
    const { unpriced: _unpriced, ...event } = priceQuantity(card, { service, operation, model: usage.model, quantity: { base: BigInt(tokens), kind: "count" }, at, eventKey: `${eventKey}:${suffix}` });
    events.push(event);
  }
  await recordCostEvents(db, { callId, userId: call.userId }, events);
}

/**
 * Wraps a ChatModel so each `usage` report it streams is priced and stored as a cost event of
 * `callId` (keys `${keyPrefix}:<n>`), e.g. the post-call memory extraction. Ledger failures are
 * reported to `onError` and never break the wrapped call.
 */
export function meteredChatModel(inner: ChatModel, deps: { db: Db; callId: string; keyPrefix: string; onError?: (err: unknown) => void }): ChatModel {
  let seq = 0;
  return {
    provider: inner.provider,
    model: inner.model,
    async *stream(messages: readonly ChatMessage[], opts?: ChatStreamOptions): AsyncIterable<ChatDelta> {
      for await (const d of inner.stream(messages, opts)) {
        if (d.type === "usage") {
          seq += 1;
          await recordLlmUsage(deps.db, deps.callId, d, `${deps.keyPrefix}:${seq}`).catch((err: unknown) => deps.onError?.(err));
        }
        yield d;
      }
    },
  };
}
