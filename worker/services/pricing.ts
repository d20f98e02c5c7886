/**
 * Vendor pricing (`service_pricing`): list the versions, load the rate card the cost meter uses
 * (every version, so usage is priced with the rate in force when it happened), and add a new
 * version. Adding a version ends the open version of the same (service, operation, model) at the
 * new `effectiveFrom`; rows are never edited otherwise, so old cost events keep their rate.
 */
import { and, asc, eq, gt, isNull, lt, or } from "drizzle-orm";
import type { NewPricingRequest, PricingRow } from "../../contracts/money";
import type { RateRow } from "../../durable-objects/money/cost-meter";
import type { Db } from "../db/client";
import { servicePricing } from "../db/schema";
import { conflict } from "../errors";

type PricingRecord = typeof servicePricing.$inferSelect;

/** "14000.00000000" → "14000", "0.10000000" → "0.1" (Postgres numeric keeps its scale). */
export function trimDecimal(v: string): string {
  return v.includes(".") ? v.replace(/0+$/, "").replace(/\.$/, "") : v;
}

function toDto(r: PricingRecord): PricingRow {
  return {
    id: r.id,
    service: r.service,
    operation: r.operation,
    model: r.model,
    unit: r.unit,
    rateMicros: trimDecimal(r.rateMicros),
    effectiveFrom: r.effectiveFrom.toISOString(),
    effectiveTo: r.effectiveTo?.toISOString() ?? null,
    source: r.source,
  };
}

/** Every pricing version, oldest first per (service, operation, model). */
export async function listPricing(db: Db): Promise<PricingRow[]> {
  const rows = await db
    .select()
    .from(servicePricing)
    .orderBy(asc(servicePricing.service), asc(servicePricing.operation), asc(servicePricing.model), asc(servicePricing.effectiveFrom));
  return rows.map(toDto);
}

/** The rate card for the cost meter (all versions; the meter picks the one in force). */
export async function loadRates(db: Db): Promise<RateRow[]> {
  const rows = await db.select().from(servicePricing);
  return rows.map((r) => ({
    id: r.id,
    service: r.service,
    operation: r.operation,
    model: r.model,
    unit: r.unit,
    rateMicros: r.rateMicros,
    effectiveFrom: r.effectiveFrom.getTime(),
    effectiveTo: r.effectiveTo?.getTime() ?? null,
  }));
}

/**
 * Add a rate version effective from `effectiveFrom` (default now). The current open version ends
 * there. A version starting at or before the newest existing one's start is refused (history is
 * append-only: a correction is a new version).
 */
export async function addPricingVersion(db: Db, input: NewPricingRequest, source = "admin", now = new Date()): Promise<PricingRow> {
  const from = input.effectiveFrom ? new Date(input.effectiveFrom) : now;
  const same = and(eq(servicePricing.service, input.service), eq(servicePricing.operation, input.operation), eq(servicePricing.model, input.model));
  const later = await db
    .select({ id: servicePricing.id })
    .from(servicePricing)
    .where(and(same, or(gt(servicePricing.effectiveFrom, from), eq(servicePricing.effectiveFrom, from))))
    .limit(1);
  if (later[0]) throw conflict("A pricing version starting at or after this time already exists; add a later version instead");
  const [, inserted] = await db.batch([
    db
      .update(servicePricing)
      .set({ effectiveTo: from })
      .where(and(same, isNull(servicePricing.effectiveTo), lt(servicePricing.effectiveFrom, from))),
    db
      .insert(servicePricing)
      .values({ service: input.service, operation: input.operation, model: input.model, unit: input.unit, rateMicros: input.rateMicros, effectiveFrom: from, source })
      .returning(),
  ]);
  const row = inserted[0];
  if (!row) throw conflict("Pricing version was not stored");
  return toDto(row);
}
