/**
 * Admin money views and the user's analytics: versioned pricing (admin only, append-only),
 * reconciliation against the Twilio emulator's call prices (agreeing events marked reconciled,
 * a disagreement above $0.10 recorded), the margin view (revenue − vendor cost − Stripe fee) and
 * the user's usage / cost summary / by-persona endpoints.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { ADMIN_USER } from "../../worker/db/seed";
import { createDb } from "../../worker/db/client";
import { calls, costEvents, personas, reconciliationDiscrepancies } from "../../worker/db/schema";
import { parseEnv } from "../../worker/env";
import { reconcile } from "../../worker/services/reconciliation";
import { api, expectEnvelope, newAccount } from "./helpers";

const config = parseEnv(env);
const db = createDb(config);

async function adminToken(): Promise<string> {
  const res = await api<{ token: string }>("POST", "/api/auth/login", { body: { email: ADMIN_USER.email, password: ADMIN_USER.password } });
  expect(res.status).toBe(200);
  return res.body.token;
}

/** A finished call with the given ledger and charge. */
async function finishedCall(userId: string, opts: { sid?: string; endedAt: Date; charge: number; ledger: Record<string, string> }): Promise<string> {
  const [brad] = await db.select({ id: personas.id }).from(personas).where(eq(personas.slug, "brad"));
  const [row] = await db
    .insert(calls)
    .values({
      userId,
      personaId: brad!.id,
      transport: "phone",
      toPhone: "+15555550177",
      twilioCallSid: opts.sid ?? null,
      status: "completed",
      endReason: "caller_hung_up",
      durationLimitS: 300,
      priceMicros: 4_990_000,
      chargeMicros: opts.charge,
      durationS: 60,
      createdAt: new Date(opts.endedAt.getTime() - 61_000),
      answeredAt: new Date(opts.endedAt.getTime() - 60_000),
      endedAt: opts.endedAt,
    })
    .returning({ id: calls.id });
  const callId = row!.id;
  let n = 0;
  for (const [service, cost] of Object.entries(opts.ledger)) {
    n += 1;
    await db.insert(costEvents).values({
      callId,
      userId,
      eventKey: `test:${n}`,
      service: service as "twilio",
      operation: "test",
      usageAmount: "1",
      usageUnit: "unit",
      rateMicros: cost,
      costMicros: cost,
      occurredAt: opts.endedAt,
    });
  }
  await db.update(calls).set({ costMicros: Object.values(opts.ledger).reduce((a, b) => a + Number(b), 0) }).where(eq(calls.id, callId));
  return callId;
}

/** A short real call on the Twilio emulator (answered, hung up after ~1 s): billed one minute. */
async function twilioCall(to: string): Promise<string> {
  await fetch(`${env.TWILIO_BASE_URL}/__sandbox/phones/${encodeURIComponent(to)}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ answer: "human", rings: 1, steps: [{ wait: 300 }, { hangup: true }] }),
  });
  const auth = `Basic ${btoa(`${env.TWILIO_ACCOUNT_SID}:${env.TWILIO_AUTH_TOKEN}`)}`;
  const res = await fetch(`${env.TWILIO_BASE_URL}/2010-04-01/Accounts/${env.TWILIO_ACCOUNT_SID}/Calls.json`, {
    method: "POST",
    headers: { Authorization: auth, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ To: to, From: env.TWILIO_PHONE_NUMBER, Twiml: "<Response><Pause length=\"5\"/></Response>" }),
  });
  const created = (await res.json()) as { sid: string };
  for (let i = 0; i < 100; i++) {
    const c = (await (await fetch(`${env.TWILIO_BASE_URL}/2010-04-01/Accounts/${env.TWILIO_ACCOUNT_SID}/Calls/${created.sid}.json`, { headers: { Authorization: auth } })).json()) as { status: string; price: string | null };
    if (c.status === "completed" && c.price !== null) return created.sid;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("twilio call did not complete");
}

describe("admin pricing", () => {
  it("lists versions, appends one that closes the current, refuses overlaps and non-admins", async () => {
    const token = await adminToken();
    const list = await api<{ pricing: { service: string; operation: string; rateMicros: string; effectiveTo: string | null }[] }>("GET", "/api/admin/pricing", { token });
    expect(list.status).toBe(200);
    expect(list.body.pricing).toEqual(expect.arrayContaining([expect.objectContaining({ service: "twilio", operation: "outbound_minute", rateMicros: "14000", effectiveTo: null })]));
    const model = `test-model-${crypto.randomUUID().slice(0, 8)}`;
    const first = await api("POST", "/api/admin/pricing", { token, body: { service: "openai", operation: "input_token", model, unit: "token", rateMicros: "2.5", effectiveFrom: "2026-01-01T00:00:00Z" } });
    expect(first.status).toBe(201);
    const second = await api<{ pricing: { rateMicros: string } }>("POST", "/api/admin/pricing", { token, body: { service: "openai", operation: "input_token", model, unit: "token", rateMicros: "2", effectiveFrom: "2026-06-01T00:00:00Z" } });
    expect(second.status).toBe(201);
    expect(second.body.pricing.rateMicros).toBe("2");
    const versions = (await api<{ pricing: { model: string; rateMicros: string; effectiveFrom: string; effectiveTo: string | null }[] }>("GET", "/api/admin/pricing", { token })).body.pricing.filter((p) => p.model === model);
    expect(versions.map((v) => [v.rateMicros, v.effectiveTo])).toEqual([
      ["2.5", "2026-06-01T00:00:00.000Z"],
      ["2", null],
    ]);
    expectEnvelope(await api("POST", "/api/admin/pricing", { token, body: { service: "openai", operation: "input_token", model, unit: "token", rateMicros: "1", effectiveFrom: "2026-03-01T00:00:00Z" } }), 409, "conflict");
    expectEnvelope(await api("POST", "/api/admin/pricing", { token, body: { service: "openai", operation: "input_token", model, unit: "token", rateMicros: "0.123456789" } }), 400, "validation_failed");
    const user = await newAccount();
    expectEnvelope(await api("GET", "/api/admin/pricing", { token: user.token }), 403, "forbidden");
    expectEnvelope(await api("GET", "/api/admin/margin", { token: user.token }), 403, "forbidden");
  });
});

describe("reconciliation", () => {
  it("marks a call that agrees with Twilio reconciled and records one that is off by more than $0.10", async () => {
    const acct = await newAccount();
    const runDate = "2021-03-04";
    const endedAt = new Date(`${runDate}T12:00:00Z`);
    const good = await finishedCall(acct.user.id, { sid: await twilioCall("+15555550171"), endedAt, charge: 990_000, ledger: { twilio: "14000", platform: "20000" } });
    const bad = await finishedCall(acct.user.id, { sid: await twilioCall("+15555550172"), endedAt, charge: 990_000, ledger: { twilio: "214000" } });
    const result = await reconcile({ db, config }, { runDate, now: new Date("2021-03-05T02:00:00Z") });
    expect(result).toMatchObject({ runDate, callsChecked: 2 });
    const goodEvents = await db.select().from(costEvents).where(eq(costEvents.callId, good));
    expect(goodEvents.every((e) => e.reconciledAt !== null)).toBe(true);
    const badEvents = await db.select().from(costEvents).where(eq(costEvents.callId, bad));
    expect(badEvents.every((e) => e.reconciledAt === null)).toBe(true);
    const found = await db.select().from(reconciliationDiscrepancies).where(eq(reconciliationDiscrepancies.callId, bad));
    expect(found).toMatchObject([{ service: "twilio", ledgerMicros: 214_000, vendorMicros: 14_000, diffMicros: -200_000 }]);
    expect(await db.select().from(reconciliationDiscrepancies).where(eq(reconciliationDiscrepancies.callId, good))).toEqual([]);
    // running it again records nothing twice
    await reconcile({ db, config }, { runDate, now: new Date("2021-03-05T02:00:00Z") });
    expect(await db.select().from(reconciliationDiscrepancies).where(eq(reconciliationDiscrepancies.callId, bad))).toHaveLength(1);
    const token = await adminToken();
    const listed = await api<{ discrepancies: { callId: string | null }[] }>("GET", "/api/admin/reconciliation", { token });
    expect(listed.body.discrepancies.some((d) => d.callId === bad)).toBe(true);
  });
});

describe("analytics", () => {
  it("usage, cost summary and by-persona for the user; margin per call for the admin", async () => {
    const acct = await newAccount();
    const endedAt = new Date(Date.now() - 3_600_000);
    const callId = await finishedCall(acct.user.id, { endedAt, charge: 4_990_000, ledger: { twilio: "70000", elevenlabs: "300000", deepgram: "29500", cerebras: "2820", platform: "20000" } });
    const usage = await api<{ calls: number; connectedCalls: number; minutes: number; spentMicros: number; daily: unknown[] }>("GET", "/api/user/usage?days=7", { token: acct.token });
    expect(usage.body).toMatchObject({ calls: 1, connectedCalls: 1, minutes: 1, spentMicros: 4_990_000 });
    expect(usage.body.daily).toHaveLength(1);
    const summary = await api<{ totalMicros: number; byService: Record<string, number>; spentMicros: number }>("GET", "/api/user/costs/summary", { token: acct.token });
    expect(summary.body).toMatchObject({ totalMicros: 422_320, spentMicros: 4_990_000, byService: { elevenlabs: 300_000, twilio: 70_000 } });
    const byPersona = await api<{ personas: { personaName: string; calls: number; costMicros: number; spentMicros: number }[] }>("GET", "/api/user/costs/by-persona", { token: acct.token });
    expect(byPersona.body.personas).toEqual([expect.objectContaining({ personaName: "Brad", calls: 1, costMicros: 422_320, spentMicros: 4_990_000 })]);
    expectEnvelope(await api("GET", "/api/user/usage?days=0", { token: acct.token }), 400, "validation_failed");

    const token = await adminToken();
    const margin = await api<{ byCall: { callId: string; revenueMicros: number; vendorCostMicros: number; stripeFeeMicros: number; marginMicros: number; marginPercent: number }[] }>("GET", "/api/admin/margin?days=2", { token });
    expect(margin.status).toBe(200);
    const row = margin.body.byCall.find((r) => r.callId === callId);
    // paid from credits: no card fee on the call itself
    expect(row).toMatchObject({ revenueMicros: 4_990_000, vendorCostMicros: 422_320, stripeFeeMicros: 0, marginMicros: 4_567_680, marginPercent: 91.5 });
  });
});
