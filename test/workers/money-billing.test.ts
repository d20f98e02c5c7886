/**
 * Money through the Worker, Postgres and the Stripe emulator (official SDK): quotes, budgets,
 * saved cards, the free trial → paid (exact capture) → never-connected (cancelled) sequence,
 * credits (debit up front, unused time refunded), extensions, credit packs via Checkout, and
 * webhooks (verified, exactly once, out-of-order safe, forged refused).
 */
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import { calls, creditLedger, payments, personas, processedWebhookEvents, users } from "../../worker/db/schema";
import { parseEnv } from "../../worker/env";
import { authorizeCallPayment, chargeExtension, settleCallPayment } from "../../worker/services/billing";
import { appendCredit, creditBalance } from "../../worker/services/credits";
import { stripeClient } from "../../worker/services/stripe";
import { api, expectEnvelope, newAccount, type Account } from "./helpers";

const config = parseEnv(env);
const db = createDb(config);
const deps = { db, config };
const stripe = stripeClient(config);

async function bradId(): Promise<string> {
  const [p] = await db.select({ id: personas.id }).from(personas).where(eq(personas.slug, "brad"));
  return p!.id;
}

/** A call row as placeCall inserts it (queued, not yet dialled). */
async function queuedCall(userId: string, minutes = 5): Promise<string> {
  const [row] = await db
    .insert(calls)
    .values({ userId, personaId: await bradId(), transport: "phone", toPhone: "+15555550100", status: "queued", durationLimitS: minutes * 60 })
    .returning({ id: calls.id });
  return row!.id;
}

/** The call ends: answered and talked for `durationS`, or never answered. */
async function endCall(callId: string, durationS: number | null, endReason: "caller_hung_up" | "not_answered" | "budget_limit" = "caller_hung_up") {
  const now = Date.now();
  await db
    .update(calls)
    .set(
      durationS === null
        ? { status: "no_answer", endReason: "not_answered", durationS: 0, endedAt: new Date(now) }
        : { status: "completed", endReason, durationS, answeredAt: new Date(now - durationS * 1000), endedAt: new Date(now) },
    )
    .where(eq(calls.id, callId));
}

async function addCard(acct: Account, card = "pm_card_visa") {
  const res = await api<{ paymentMethods: { id: string; isDefault: boolean; last4: string }[] }>("POST", "/api/user/payment-method", {
    token: acct.token,
    body: { paymentMethodId: card, makeDefault: true },
  });
  expect(res.status).toBe(201);
  return res.body.paymentMethods;
}

async function paymentFor(callId: string, kind: "call" | "extension" = "call") {
  const [p] = await db.select().from(payments).where(and(eq(payments.callId, callId), eq(payments.kind, kind)));
  return p;
}

/** Sign a payload the way Stripe does, with the Worker's webhook secret (or another one). */
async function signed(payload: string, secret = env.STRIPE_WEBHOOK_SECRET): Promise<string> {
  return stripe.webhooks.generateTestHeaderStringAsync({ payload, secret, cryptoProvider: Stripe.createSubtleCryptoProvider() });
}

async function deliver(event: unknown, secret?: string) {
  const payload = JSON.stringify(event, null, 2);
  return api<{ received?: boolean; outcome?: string }>("POST", "/stripe/webhook", {
    raw: payload,
    headers: { "Content-Type": "application/json", "Stripe-Signature": await signed(payload, secret) },
  });
}

async function eventsFor(objectId: string) {
  const list = await stripe.events.list({ limit: 100 });
  return list.data.filter((e) => (e.data.object as { id?: string; payment_intent?: string }).id === objectId || (e.data.object as { payment_intent?: string }).payment_intent === objectId);
}

describe("quotes and budgets", () => {
  it("a new user's first 5-minute call is the free trial; the quote shows price, per-minute spend and the extension", async () => {
    const acct = await newAccount();
    const q = await api<Record<string, unknown>>("GET", "/api/billing/quote?minutes=5", { token: acct.token });
    expect(q.status).toBe(200);
    expect(q.body).toMatchObject({ minutes: 5, freeTrial: true, paidWith: "free_trial", priceMicros: 0, refusal: null, extension: { minutes: 5, priceMicros: 2_990_000 } });
    const ten = await api<Record<string, unknown>>("GET", "/api/billing/quote?minutes=10", { token: acct.token });
    expect(ten.body).toMatchObject({ freeTrial: false, priceMicros: 7_990_000, perMinuteMicros: 790_000, paidWith: "none" });
    expect(ten.body.refusal).toMatch(/payment method/);
    expectEnvelope(await api("GET", "/api/billing/quote?minutes=7", { token: acct.token }), 400, "validation_failed");
    expectEnvelope(await api("GET", "/api/billing/quote"), 401, "unauthorized");
  });

  it("budget settings: defaults, partial update, null clears, validation", async () => {
    const acct = await newAccount();
    const get = await api<{ settings: Record<string, unknown>; spentTodayMicros: number }>("GET", "/api/user/budget-settings", { token: acct.token });
    expect(get.body).toEqual({
      settings: { perCallLimitMicros: null, dailyLimitMicros: null, monthlyLimitMicros: null, warnAtPercent: 80, autoCutoff: true },
      spentTodayMicros: 0,
      spentThisMonthMicros: 0,
    });
    const put = await api<{ settings: Record<string, unknown> }>("PUT", "/api/user/budget-settings", { token: acct.token, body: { perCallLimitMicros: 2_500_000, warnAtPercent: 50 } });
    expect(put.status).toBe(200);
    expect(put.body.settings).toMatchObject({ perCallLimitMicros: 2_500_000, warnAtPercent: 50, dailyLimitMicros: null });
    const q = await api<Record<string, unknown>>("GET", "/api/billing/quote?minutes=10", { token: acct.token });
    expect(q.body).toMatchObject({ budgetRemainingMicros: 2_500_000, budgetMinutes: 3 });
    const cleared = await api<{ settings: Record<string, unknown> }>("PUT", "/api/user/budget-settings", { token: acct.token, body: { perCallLimitMicros: null } });
    expect(cleared.body.settings).toMatchObject({ perCallLimitMicros: null, warnAtPercent: 50 });
    expectEnvelope(await api("PUT", "/api/user/budget-settings", { token: acct.token, body: { warnAtPercent: 0 } }), 400, "validation_failed");
    expectEnvelope(await api("PUT", "/api/user/budget-settings", { token: acct.token, body: { dailyLimitMicros: -1 } }), 400, "validation_failed");
  });
});

describe("saved cards", () => {
  it("add (SetupIntent or test card), list, set default, remove; another user's card is 404", async () => {
    const acct = await newAccount();
    const setup = await api<{ setupIntentId: string; clientSecret: string; customerId: string }>("POST", "/api/user/payment-method/setup-intent", { token: acct.token });
    expect(setup.status).toBe(201);
    expect(setup.body.customerId).toMatch(/^cus_/);
    // the client confirms the SetupIntent with a card (Stripe.js in the browser)
    await stripe.setupIntents.confirm(setup.body.setupIntentId, { payment_method: "pm_card_mastercard" });
    const fromSetup = await api<{ paymentMethods: { id: string; brand: string; isDefault: boolean }[] }>("POST", "/api/user/payment-method", {
      token: acct.token,
      body: { setupIntentId: setup.body.setupIntentId },
    });
    expect(fromSetup.status).toBe(201);
    expect(fromSetup.body.paymentMethods).toMatchObject([{ brand: "mastercard", isDefault: true }]);
    const both = await addCard(acct, "pm_card_visa");
    expect(both).toHaveLength(2);
    expect(both[0]).toMatchObject({ last4: "4242", isDefault: true });
    const master = fromSetup.body.paymentMethods[0]!.id;
    const def = await api<{ paymentMethods: { id: string; isDefault: boolean }[] }>("PUT", `/api/user/payment-method/${master}/default`, { token: acct.token });
    expect(def.body.paymentMethods[0]).toMatchObject({ id: master, isDefault: true });
    const other = await newAccount();
    expectEnvelope(await api("DELETE", `/api/user/payment-method/${master}`, { token: other.token }), 404, "not_found");
    const removed = await api<{ paymentMethods: { id: string; isDefault: boolean }[] }>("DELETE", `/api/user/payment-method/${master}`, { token: acct.token });
    expect(removed.body.paymentMethods).toHaveLength(1);
    expect(removed.body.paymentMethods[0]!.isDefault).toBe(true);
    const billing = await api<{ paymentMethods: unknown[]; freeTrialAvailable: boolean }>("GET", "/api/user/billing", { token: acct.token });
    expect(billing.body).toMatchObject({ freeTrialAvailable: true, creditBalanceMicros: 0 });
    expect(billing.body.paymentMethods).toHaveLength(1);
  });

  it("another user's card or SetupIntent is 404 for attach, default and remove, and the owner's cards stay exactly as they were", async () => {
    const a = await newAccount();
    const b = await newAccount();
    const aCards = await addCard(a, "pm_card_visa");
    const aPm = aCards[0]!.id;
    const aSetup = await api<{ setupIntentId: string; customerId: string }>("POST", "/api/user/payment-method/setup-intent", { token: a.token });
    await stripe.setupIntents.confirm(aSetup.body.setupIntentId, { payment_method: "pm_card_mastercard" });
    const before = (await api("GET", "/api/user/payment-method", { token: a.token })).body;
    const aCustomerBefore = await stripe.customers.retrieve(aSetup.body.customerId);

    expectEnvelope(await api("POST", "/api/user/payment-method", { token: b.token, body: { paymentMethodId: aPm } }), 404, "not_found");
    expectEnvelope(await api("POST", "/api/user/payment-method", { token: b.token, body: { paymentMethodId: aPm, makeDefault: true } }), 404, "not_found");
    expectEnvelope(await api("POST", "/api/user/payment-method", { token: b.token, body: { setupIntentId: aSetup.body.setupIntentId } }), 404, "not_found");
    expectEnvelope(await api("PUT", `/api/user/payment-method/${aPm}/default`, { token: b.token }), 404, "not_found");
    expectEnvelope(await api("DELETE", `/api/user/payment-method/${aPm}`, { token: b.token }), 404, "not_found");
    // Ids Stripe does not know are 404 too, never a 5xx; a declined test token is 402.
    expectEnvelope(await api("POST", "/api/user/payment-method", { token: b.token, body: { paymentMethodId: "pm_doesnotexist" } }), 404, "not_found");
    expectEnvelope(await api("POST", "/api/user/payment-method", { token: b.token, body: { setupIntentId: "seti_doesnotexist" } }), 404, "not_found");
    expectEnvelope(await api("POST", "/api/user/payment-method", { token: b.token, body: { paymentMethodId: "tok_doesnotexist" } }), 404, "not_found");
    expectEnvelope(await api("PUT", "/api/user/payment-method/pm_doesnotexist/default", { token: b.token }), 404, "not_found");
    expectEnvelope(await api("POST", "/api/user/payment-method", { token: b.token, body: { paymentMethodId: `pm_${"x".repeat(300)}` } }), 400, "validation_failed");

    // A's cards, in our database and at Stripe, are unchanged; B has none.
    expect((await api("GET", "/api/user/payment-method", { token: a.token })).body).toEqual(before);
    const pmAtStripe = await stripe.paymentMethods.retrieve(aPm);
    expect(pmAtStripe.customer).toBe(aSetup.body.customerId);
    const aCustomerAfter = await stripe.customers.retrieve(aSetup.body.customerId);
    expect("deleted" in aCustomerAfter ? null : aCustomerAfter.invoice_settings.default_payment_method).toBe(
      "deleted" in aCustomerBefore ? null : aCustomerBefore.invoice_settings.default_payment_method,
    );
    expect((await api<{ paymentMethods: unknown[] }>("GET", "/api/user/payment-method", { token: b.token })).body.paymentMethods).toEqual([]);
    // A can still use everything.
    expect((await api("POST", "/api/user/payment-method", { token: a.token, body: { setupIntentId: aSetup.body.setupIntentId, makeDefault: false } })).status).toBe(201);
    expect((await api("DELETE", `/api/user/payment-method/${aPm}`, { token: a.token })).status).toBe(200);
  });

  it("removing a card Stripe already detached just forgets it", async () => {
    const acct = await newAccount();
    const [card] = await addCard(acct, "pm_card_visa");
    await stripe.paymentMethods.detach(card!.id);
    const removed = await api<{ paymentMethods: unknown[] }>("DELETE", `/api/user/payment-method/${card!.id}`, { token: acct.token });
    expect(removed.status).toBe(200);
    expect(removed.body.paymentMethods).toEqual([]);
  });
});

describe("paying for calls", () => {
  it("free trial, then a paid call captured for the exact amount, then a call that never connects is cancelled", async () => {
    const acct = await newAccount();
    await addCard(acct);
    const userId = acct.user.id;

    // 1. the free trial: nothing authorised, nothing charged
    const trial = await queuedCall(userId);
    expect(await authorizeCallPayment(deps, { callId: trial, userId, minutes: 5 })).toMatchObject({ paidWith: "free_trial", priceMicros: 0 });
    await endCall(trial, 300);
    expect(await settleCallPayment(deps, trial)).toMatchObject({ connected: true, chargeMicros: 0, paidWith: "free_trial" });
    expect(await paymentFor(trial)).toBeUndefined();

    // 2. a paid 5-minute call: $4.99 held before dialling, captured for exactly $4.99
    const paid = await queuedCall(userId);
    expect(await authorizeCallPayment(deps, { callId: paid, userId, minutes: 5 })).toMatchObject({ paidWith: "card", priceMicros: 4_990_000 });
    const held = await paymentFor(paid);
    expect(held).toMatchObject({ status: "requires_capture", amountCents: 499 });
    expect((await stripe.paymentIntents.retrieve(held!.stripePaymentIntentId!)).status).toBe("requires_capture");
    await endCall(paid, 298);
    expect(await settleCallPayment(deps, paid)).toMatchObject({ connected: true, chargeMicros: 4_990_000, paidWith: "card" });
    const pi = await stripe.paymentIntents.retrieve(held!.stripePaymentIntentId!);
    expect(pi).toMatchObject({ status: "succeeded", amount_received: 499 });
    expect(await paymentFor(paid)).toMatchObject({ status: "succeeded", amountCapturedCents: 499 });
    const [paidRow] = await db.select().from(calls).where(eq(calls.id, paid));
    expect(paidRow!.chargeMicros).toBe(4_990_000);
    // settling again changes nothing
    expect(await settleCallPayment(deps, paid)).toMatchObject({ chargeMicros: 4_990_000 });
    expect((await stripe.paymentIntents.retrieve(held!.stripePaymentIntentId!)).amount_received).toBe(499);

    // 3. a call that never connects: the hold is cancelled, nothing charged
    const missed = await queuedCall(userId, 10);
    await authorizeCallPayment(deps, { callId: missed, userId, minutes: 10 });
    const missedHold = await paymentFor(missed);
    expect(missedHold).toMatchObject({ status: "requires_capture", amountCents: 799 });
    await endCall(missed, null);
    expect(await settleCallPayment(deps, missed)).toMatchObject({ connected: false, chargeMicros: 0, paidWith: "card" });
    expect((await stripe.paymentIntents.retrieve(missedHold!.stripePaymentIntentId!)).status).toBe("canceled");
    expect(await paymentFor(missed)).toMatchObject({ status: "canceled", amountCapturedCents: 0 });

    const history = await api<{ payments: { kind: string; status: string; amountCapturedCents: number }[] }>("GET", "/api/user/payments", { token: acct.token });
    expect(history.body.payments.map((p) => [p.kind, p.status, p.amountCapturedCents])).toEqual([
      ["call", "canceled", 0],
      ["call", "succeeded", 499],
    ]);
  });

  it("a call that ends early pays its started minutes; a trial that never connects is given back", async () => {
    const acct = await newAccount();
    await addCard(acct);
    const userId = acct.user.id;
    const trial = await queuedCall(userId);
    await authorizeCallPayment(deps, { callId: trial, userId, minutes: 5 });
    await endCall(trial, null);
    await settleCallPayment(deps, trial);
    const again = await queuedCall(userId);
    expect(await authorizeCallPayment(deps, { callId: again, userId, minutes: 3 })).toMatchObject({ paidWith: "free_trial" });
    await endCall(again, 100);
    await settleCallPayment(deps, again);

    const short = await queuedCall(userId, 10);
    await authorizeCallPayment(deps, { callId: short, userId, minutes: 10 });
    await endCall(short, 130);
    // 3 started minutes of a $7.99 / 10-minute call: $2.39 (whole cents, rounded down)
    expect(await settleCallPayment(deps, short)).toMatchObject({ chargeMicros: 2_390_000 });
    const pi = await stripe.paymentIntents.retrieve((await paymentFor(short))!.stripePaymentIntentId!);
    expect(pi).toMatchObject({ status: "succeeded", amount_received: 239 });
  });

  it("credits pay when they cover the price: debited before dialling, unused time refunded, balance derived from the ledger", async () => {
    const acct = await newAccount();
    const userId = acct.user.id;
    await db.update(users).set({ freeTrialUsedAt: new Date() }).where(eq(users.id, userId));
    await appendCredit(db, { userId, kind: "grant", amountMicros: 10_000_000, idempotencyKey: `test:${userId}:grant`, description: "test grant" });
    const call = await queuedCall(userId);
    expect(await authorizeCallPayment(deps, { callId: call, userId, minutes: 5 })).toMatchObject({ paidWith: "credits" });
    expect(await creditBalance(db, userId)).toBe(5_010_000);
    await endCall(call, 61);
    expect(await settleCallPayment(deps, call)).toMatchObject({ chargeMicros: 1_990_000, paidWith: "credits" });
    await settleCallPayment(deps, call);
    expect(await creditBalance(db, userId)).toBe(8_010_000);
    const ledger = await db.select().from(creditLedger).where(eq(creditLedger.userId, userId));
    expect(ledger.map((e) => [e.kind, e.amountMicros]).sort()).toEqual(
      [
        ["call_charge", -4_990_000],
        ["grant", 10_000_000],
        ["refund", 3_000_000],
      ].sort(),
    );
    // an accepted extension is paid from credits and lengthens the call
    const ext = await queuedCall(userId, 3);
    await authorizeCallPayment(deps, { callId: ext, userId, minutes: 3 });
    expect(await chargeExtension(deps, ext)).toEqual({ durationLimitS: 480, extensions: 1 });
    expect(await creditBalance(db, userId)).toBe(8_010_000 - 3_990_000 - 2_990_000);
    await endCall(ext, 470);
    expect(await settleCallPayment(deps, ext)).toMatchObject({ chargeMicros: 3_990_000 + 2_990_000, extensionsMicros: 2_990_000 });
  });

  it("refuses up front when the budget cannot cover the first minute, or there is no way to pay, or the card declines", async () => {
    const acct = await newAccount();
    const userId = acct.user.id;
    const trial = await queuedCall(userId);
    await authorizeCallPayment(deps, { callId: trial, userId, minutes: 5 });
    await endCall(trial, 60);
    await settleCallPayment(deps, trial);

    const noCard = await queuedCall(userId);
    await expect(authorizeCallPayment(deps, { callId: noCard, userId, minutes: 5 })).rejects.toMatchObject({ status: 402, details: { reason: "payment_method_required" } });
    await endCall(noCard, null);

    await addCard(acct, "pm_card_chargeDeclined");
    const declined = await queuedCall(userId);
    await expect(authorizeCallPayment(deps, { callId: declined, userId, minutes: 5 })).rejects.toMatchObject({ status: 402, details: { reason: "card_declined" } });
    await endCall(declined, null);

    await addCard(acct, "pm_card_visa");
    await api("PUT", "/api/user/budget-settings", { token: acct.token, body: { dailyLimitMicros: 500_000 } });
    const overBudget = await queuedCall(userId);
    await expect(authorizeCallPayment(deps, { callId: overBudget, userId, minutes: 5 })).rejects.toMatchObject({ status: 402, details: { reason: "budget_exceeded" } });
    expect(await paymentFor(overBudget)).toBeUndefined();
    await endCall(overBudget, null);
  });

  it("a budget-limited call is never charged more than the limit", async () => {
    const acct = await newAccount();
    await addCard(acct);
    const userId = acct.user.id;
    const trial = await queuedCall(userId);
    await authorizeCallPayment(deps, { callId: trial, userId, minutes: 5 });
    await endCall(trial, 30);
    await settleCallPayment(deps, trial);
    await api("PUT", "/api/user/budget-settings", { token: acct.token, body: { perCallLimitMicros: 2_500_000 } });
    const call = await queuedCall(userId);
    await authorizeCallPayment(deps, { callId: call, userId, minutes: 5 });
    // the meter said goodbye before minute 3; hanging up took the call 5 s into it
    await endCall(call, 125, "budget_limit");
    const s = await settleCallPayment(deps, call);
    expect(s.chargeMicros).toBeLessThanOrEqual(2_500_000);
    expect(s.chargeMicros).toBe(2_500_000);
  });
});

describe("webhooks", () => {
  it("duplicate and out-of-order deliveries (×3) change nothing after the first; forged ones are refused", async () => {
    const acct = await newAccount();
    await addCard(acct);
    const userId = acct.user.id;
    const trial = await queuedCall(userId);
    await authorizeCallPayment(deps, { callId: trial, userId, minutes: 5 });
    await endCall(trial, 10);
    await settleCallPayment(deps, trial);
    const call = await queuedCall(userId);
    await authorizeCallPayment(deps, { callId: call, userId, minutes: 5 });
    await endCall(call, 300);
    await settleCallPayment(deps, call);
    const piId = (await paymentFor(call))!.stripePaymentIntentId!;
    const events = (await eventsFor(piId)).filter((e) => e.type.startsWith("payment_intent."));
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(["payment_intent.amount_capturable_updated", "payment_intent.succeeded"]));
    const before = await paymentFor(call);
    expect(before).toMatchObject({ status: "succeeded", amountCapturedCents: 499 });

    // oldest last, each three times
    const order = [...events].sort((a, b) => b.created - a.created);
    const outcomes: string[] = [];
    for (let copy = 0; copy < 3; copy++) for (const e of order) outcomes.push((await deliver(e)).body.outcome ?? "");
    expect(outcomes.slice(order.length).every((o) => o === "duplicate")).toBe(true);
    expect(await paymentFor(call)).toMatchObject({ status: "succeeded", amountCapturedCents: 499 });
    const processed = await db.select().from(processedWebhookEvents).where(eq(processedWebhookEvents.id, order[0]!.id));
    expect(processed).toHaveLength(1);

    const forged = await deliver(order[0], "whsec_not_the_secret");
    expectEnvelope(forged, 400, "bad_request");
    const unsigned = await api("POST", "/stripe/webhook", { raw: JSON.stringify(order[0]), headers: { "Content-Type": "application/json" } });
    expectEnvelope(unsigned, 400, "bad_request");
    const tampered = JSON.stringify({ ...order[0], id: "evt_tampered" });
    const res = await api("POST", "/stripe/webhook", { raw: tampered, headers: { "Content-Type": "application/json", "Stripe-Signature": await signed(JSON.stringify(order[0])) } });
    expectEnvelope(res, 400, "bad_request");
  });

  it("a credit pack bought through Checkout is credited exactly once, whatever the deliveries", async () => {
    const acct = await newAccount();
    const checkout = await api<{ url: string; sessionId: string }>("POST", "/api/user/credits/checkout", { token: acct.token, body: { packId: "pack_25" } });
    expect(checkout.status).toBe(201);
    expect(checkout.body.url).toContain(`/checkout/${checkout.body.sessionId}`);
    const pay = await fetch(`${env.STRIPE_BASE_URL}/__sandbox/checkout/${checkout.body.sessionId}/complete`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ card: "visa" }),
    });
    expect(pay.status).toBe(200);
    const events = await stripe.events.list({ type: "checkout.session.completed", limit: 100 });
    const completed = events.data.find((e) => (e.data.object as { id: string }).id === checkout.body.sessionId);
    expect(completed).toBeDefined();
    for (let i = 0; i < 3; i++) await deliver(completed);
    const billing = await api<{ creditBalanceMicros: number; ledger: { kind: string; amountMicros: number }[] }>("GET", "/api/user/billing", { token: acct.token });
    expect(billing.body.creditBalanceMicros).toBe(26_000_000);
    expect(billing.body.ledger).toMatchObject([{ kind: "purchase", amountMicros: 26_000_000 }]);
    const history = await api<{ payments: { kind: string; status: string; amountCapturedCents: number }[] }>("GET", "/api/user/payments", { token: acct.token });
    expect(history.body.payments).toMatchObject([{ kind: "credit_pack", status: "succeeded", amountCapturedCents: 2500 }]);
  });
});
