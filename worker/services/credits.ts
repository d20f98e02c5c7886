/**
 * The credit ledger: append-only entries (grants, purchases, call charges, refunds), each with an
 * idempotency key so a retried request, webhook or settlement never writes twice. The balance is
 * always `SUM(amount_micros)`; nothing is ever updated or deleted.
 */
import { desc, eq, sql } from "drizzle-orm";
import type { CreditEntry } from "../../contracts/money";
import type { Db } from "../db/client";
import { creditLedger } from "../db/schema";

export type CreditKind = "grant" | "purchase" | "call_charge" | "refund";

/** The user's credit balance in micro-dollars. */
export async function creditBalance(db: Db, userId: string): Promise<number> {
  const [row] = await db
    .select({ total: sql<string>`coalesce(sum(${creditLedger.amountMicros}), 0)` })
    .from(creditLedger)
    .where(eq(creditLedger.userId, userId));
  return Number(row?.total ?? 0);
}

/** Newest entries first. */
export async function listLedger(db: Db, userId: string, limit = 100): Promise<CreditEntry[]> {
  const rows = await db.select().from(creditLedger).where(eq(creditLedger.userId, userId)).orderBy(desc(creditLedger.createdAt)).limit(limit);
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    amountMicros: r.amountMicros,
    callId: r.callId,
    description: r.description,
    createdAt: r.createdAt.toISOString(),
  }));
}

/**
 * Append one entry; a second append with the same idempotency key is a no-op. Returns true when
 * this call wrote the entry.
 */
export async function appendCredit(
  db: Db,
  entry: { userId: string; kind: CreditKind; amountMicros: number; idempotencyKey: string; description: string; callId?: string | null; paymentId?: string | null },
): Promise<boolean> {
  const rows = await db
    .insert(creditLedger)
    .values({
      userId: entry.userId,
      kind: entry.kind,
      amountMicros: entry.amountMicros,
      idempotencyKey: entry.idempotencyKey,
      description: entry.description,
      callId: entry.callId ?? null,
      paymentId: entry.paymentId ?? null,
    })
    .onConflictDoNothing({ target: creditLedger.idempotencyKey })
    .returning({ id: creditLedger.id });
  return rows.length > 0;
}

/**
 * Debit `amountMicros` only if the balance covers it (one atomic statement): returns "charged",
 * "duplicate" (this key was already written) or "insufficient".
 */
export async function debitIfCovered(
  db: Db,
  entry: { userId: string; amountMicros: number; idempotencyKey: string; description: string; callId?: string | null },
): Promise<"charged" | "duplicate" | "insufficient"> {
  const existing = await db.select({ id: creditLedger.id }).from(creditLedger).where(eq(creditLedger.idempotencyKey, entry.idempotencyKey)).limit(1);
  if (existing[0]) return "duplicate";
  const result = await db.execute(sql`
    INSERT INTO ${creditLedger} (user_id, kind, amount_micros, idempotency_key, description, call_id)
    SELECT ${entry.userId}, 'call_charge', ${-entry.amountMicros}, ${entry.idempotencyKey}, ${entry.description}, ${entry.callId ?? null}
    WHERE (SELECT coalesce(sum(amount_micros), 0) FROM ${creditLedger} WHERE user_id = ${entry.userId}) >= ${entry.amountMicros}
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id`);
  return result.rows.length > 0 ? "charged" : "insufficient";
}
