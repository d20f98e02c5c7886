/**
 * `finalizeCall(deps, callId, outcome?)`: the one place a call's end is booked. It runs exactly
 * once per call — the guard is an atomic `UPDATE calls … WHERE ended_at IS NULL RETURNING` — and
 * then, for the call that won the guard only: updates the user↔persona relationship stats (answered
 * calls), and writes a `call.finalized` timeline event. Money (capture/cancel payment, credit
 * charge) and memory (summary + facts) hook in here as plain function calls by their owners.
 * Callers: the CallSession Durable Object (after its last flush), and the Twilio status webhook
 * as a fallback when the Durable Object cannot be reached.
 */
import { eq, sql } from "drizzle-orm";
import type { CallEndReason, CallStatus } from "../../contracts/calls";
import type { Db } from "../db/client";
import { calls, userPersonaRelationships } from "../db/schema";
import type { Config } from "../env";
import type { Logger } from "../log";
import { settleCallPayment } from "./billing";
import type { ChatModel } from "../../durable-objects/providers/types";
import { processCallMemory } from "./memory-extraction";
import { recordScheduledCallOutcome } from "./schedules";
import { recordEvent } from "./timeline";

export interface FinalizeDeps {
  db: Db;
  log?: Logger;
  /** Needed to settle the call's payment (Stripe capture/cancel, credit refund); without it nothing is charged. */
  config?: Config;
  /** Post-call memory (summary + facts) with this LLM; `defer` runs it in the background (waitUntil). */
  memory?: { llm: ChatModel; defer?: (work: Promise<unknown>) => void };
}

export interface CallOutcome {
  /** Terminal status to set if the row is still active (e.g. the browser hung up). */
  status?: CallStatus;
  /** End reason if none was recorded yet. */
  endReason?: CallEndReason;
  /** Talk time in seconds (Twilio's CallDuration); else answered → now. */
  durationS?: number;
  error?: string;
}

export type FinalizedCall = typeof calls.$inferSelect;

/** The end reason a terminal status implies when nothing more specific was recorded. */
export function defaultEndReason(status: CallStatus): CallEndReason {
  switch (status) {
    case "busy":
    case "no_answer":
      return "not_answered";
    case "failed":
      return "error";
    case "canceled":
      return "user_ended";
    default:
      return "caller_hung_up";
  }
}

/**
 * Books the end of a call once. Returns the finalized row for the first caller, null for every
 * later one (already finalized) or an unknown call.
 */
export async function finalizeCall(deps: FinalizeDeps, callId: string, outcome: CallOutcome = {}): Promise<FinalizedCall | null> {
  const { db } = deps;
  const terminal = outcome.status ?? "completed";
  const fallbackReason = outcome.endReason ?? defaultEndReason(terminal);
  const duration =
    outcome.durationS !== undefined
      ? sql`${Math.max(0, Math.round(outcome.durationS))}::int`
      : sql`CASE WHEN ${calls.answeredAt} IS NULL THEN 0 ELSE GREATEST(0, ROUND(EXTRACT(EPOCH FROM (now() - ${calls.answeredAt}))))::int END`;
  const rows = await db
    .update(calls)
    .set({
      status: sql`CASE WHEN ${calls.status} IN ('queued', 'initiated', 'ringing', 'in_progress') THEN ${terminal}::call_status ELSE ${calls.status} END`,
      endReason: sql`COALESCE(${calls.endReason}, ${fallbackReason}::call_end_reason)`,
      durationS: sql`COALESCE(${calls.durationS}, ${duration})`,
      error: outcome.error ? sql`COALESCE(${calls.error}, ${outcome.error})` : calls.error,
      endedAt: sql`now()`,
      updatedAt: sql`now()`,
    })
    .where(sql`${calls.id} = ${callId} AND ${calls.endedAt} IS NULL`)
    .returning();
  const call = rows[0];
  if (!call) return null;

  if (call.answeredAt) {
    const d = call.durationS ?? 0;
    await db
      .insert(userPersonaRelationships)
      .values({ userId: call.userId, personaId: call.personaId, totalCalls: 1, totalDurationS: d, lastCallAt: call.endedAt ?? new Date() })
      .onConflictDoUpdate({
        target: [userPersonaRelationships.userId, userPersonaRelationships.personaId],
        set: {
          totalCalls: sql`${userPersonaRelationships.totalCalls} + 1`,
          totalDurationS: sql`${userPersonaRelationships.totalDurationS} + ${d}`,
          lastCallAt: call.endedAt ?? new Date(),
          updatedAt: new Date(),
        },
      });
  }

  // Money and memory hooks are added here by their owners (plain awaited calls, each guarded).
  if (deps.config) {
    await settleCallPayment({ db, config: deps.config }, call.id).catch((err: unknown) => deps.log?.error("call payment settlement failed", { callId, err }));
  } else {
    deps.log?.warn("call finalized without config: payment not settled", { callId });
  }
  if (call.scheduledCallId) {
    await recordScheduledCallOutcome(db, call.id).catch((err: unknown) => deps.log?.error("scheduled call outcome failed", { callId, err }));
  }
  if (deps.memory) {
    const work = processCallMemory({ db, llm: deps.memory.llm, log: deps.log }, call.id).catch((err: unknown) =>
      deps.log?.error("call memory failed", { callId, err }),
    );
    if (deps.memory.defer) deps.memory.defer(work);
    else await work;
  }

  await recordEvent(db, {
    callId,
    eventKey: "call.finalized",
    type: "call.finalized",
    service: "worker",
    message: `call ended: ${call.status} (${call.endReason ?? "unknown"})`,
    data: { status: call.status, endReason: call.endReason, durationS: call.durationS },
  }).catch((err: unknown) => deps.log?.warn("timeline write failed", { callId, err }));
  deps.log?.info("call finalized", { callId, status: call.status, endReason: call.endReason, durationS: call.durationS });
  return call;
}

/** Records why a call is ending (first reason wins), before the terminal status arrives. */
export async function recordEndReason(db: Db, callId: string, reason: CallEndReason): Promise<void> {
  await db
    .update(calls)
    .set({ endReason: sql`COALESCE(${calls.endReason}, ${reason}::call_end_reason)` })
    .where(eq(calls.id, callId));
}
