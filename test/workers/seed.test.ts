/** The seed is idempotent and writes the documented system personas, price list and local accounts. */
import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import { creditLedger, personas, servicePricing, users } from "../../worker/db/schema";
import { DEMO_USER, seed } from "../../worker/db/seed";
import { parseEnv } from "../../worker/env";

describe("seed", () => {
  it("can run again without duplicating anything", async () => {
    const db = createDb(parseEnv(env));
    const first = await seed(db, { local: true });
    const second = await seed(db, { local: true });
    expect(second).toEqual(first);

    const system = await db.select({ slug: personas.slug }).from(personas).where(eq(personas.isSystem, true));
    expect(system.map((p) => p.slug).sort()).toEqual(["alex", "brad", "sarah"]);

    const [demo] = await db.select().from(users).where(eq(users.email, DEMO_USER.email));
    expect(demo).toMatchObject({ name: "Demo User", phone: "+15555550100", role: "user" });
    expect(demo!.phoneVerifiedAt).not.toBeNull();
    const [grants] = await db
      .select({ n: sql<string>`count(*)::text`, total: sql<string>`sum(${creditLedger.amountMicros})::text` })
      .from(creditLedger)
      .where(and(eq(creditLedger.userId, demo!.id), eq(creditLedger.kind, "grant")));
    expect(grants).toEqual({ n: "1", total: "100000000" });
  });

  it("prices the vendors from 2025-01-01 in micro-dollars per unit", async () => {
    const db = createDb(parseEnv(env));
    const rows = await db
      .select({ service: servicePricing.service, operation: servicePricing.operation, model: servicePricing.model, rate: servicePricing.rateMicros, from: servicePricing.effectiveFrom })
      .from(servicePricing)
      .where(eq(servicePricing.source, "seed"));
    const rate = (service: string, operation: string) => Number(rows.find((r) => r.service === service && r.operation === operation)?.rate);
    expect(rate("twilio", "outbound_minute")).toBe(14_000);
    expect(rate("deepgram", "stream_minute")).toBe(5_900);
    expect(rate("cerebras", "input_token")).toBe(0.1);
    expect(rate("cerebras", "output_token")).toBe(0.1);
    expect(rate("openai", "input_token")).toBe(10);
    expect(rate("openai", "output_token")).toBe(30);
    expect(rate("elevenlabs", "character")).toBe(150);
    expect(rate("platform", "per_call")).toBe(20_000);
    expect(rows.find((r) => r.service === "cerebras")?.model).toBe("gpt-oss-120b");
    expect(rows.every((r) => r.from.toISOString() === "2025-01-01T00:00:00.000Z")).toBe(true);
    expect(rows).toHaveLength(8);
  });
});
