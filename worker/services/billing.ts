/**
 * Paying for calls (docs/money.md has the product rules):
 * - `quoteCall` — the price, per-minute spend, how the call would be paid and whether the budget
 *   allows it, shown before the call is placed.
 * - `authorizeCallPayment` — before dialling: the one free trial call, else credits (debited up
 *   front if the balance covers the price), else a manual-capture PaymentIntent on the default
 *   card for the price. Refuses when the budget cannot cover the first minute.
 * - `chargeExtension` — the +5 min extension accepted mid-call (credits or an immediate charge).
 * - `settleCallPayment` — after the call: the exact final amount (started minutes at the tier's
 *   per-minute spend, capped at the price and at the budget, plus extensions); capture for that,
 *   refund unused credits, or cancel/refund everything when the call never connected.
 * - Stripe customer, saved payment methods (SetupIntent), credit packs (Checkout), payment history.
 * Every money movement carries an idempotency key (Stripe `Idempotency-Key`, ledger key), so each
 * function can be retried safely.
 */
import { and, desc, eq, isNull, sql } from "drizzle-orm";
import { CALL_OPTIONS, EXTENSION } from "../../contracts/calls";
import { CREDIT_PACKS, type Payment, type PaymentMethod, type QuoteResponse } from "../../contracts/money";
import { spendFor, type SpendPlan } from "../../durable-objects/money/cost-meter";
import type { Db } from "../db/client";
import { calls, creditLedger, paymentMethods, payments, processedWebhookEvents, users } from "../db/schema";
import type { Config } from "../env";
import { AppError, notFound } from "../errors";
import { budgetPlanFor } from "./budgets";
import { appendCredit, creditBalance, debitIfCovered } from "./credits";
import { fromStripeError, isStripeError, stripeCall, stripeClient } from "./stripe";

export interface MoneyDeps {
  db: Db;
  config: Config;
}

/** Free trial calls are at most this long. */
export const FREE_TRIAL_MAX_MINUTES = 5;

const nowS = () => Math.floor(Date.now() / 1000);
const toCents = (micros: number) => Math.floor(micros / 10_000);
const paymentRequired = (message: string, reason: string) => new AppError("bad_request", message, { status: 402, details: { reason } });

function option(minutes: number) {
  const o = CALL_OPTIONS.find((x) => x.minutes === minutes);
  if (!o) throw new AppError("validation_failed", "Call length must be 3, 5, 10 or 15 minutes");
  return o;
}

export function spendPlan(minutes: number, isFreeTrial: boolean): SpendPlan {
  return { minutes, priceMicros: option(minutes).priceMicros, isFreeTrial, extension: EXTENSION };
}

async function loadUser(db: Db, userId: string) {
  const [u] = await db.select().from(users).where(eq(users.id, userId)).limit(1);
  if (!u) throw notFound("User");
  return u;
}

async function defaultPaymentMethod(db: Db, userId: string) {
  const [pm] = await db
    .select()
    .from(paymentMethods)
    .where(eq(paymentMethods.userId, userId))
    .orderBy(desc(paymentMethods.isDefault), desc(paymentMethods.createdAt))
    .limit(1);
  return pm ?? null;
}

// ── quotes ───────────────────────────────────────────────────────────────────────────────────
export async function quoteCall(deps: MoneyDeps, userId: string, minutes: number): Promise<QuoteResponse> {
  const o = option(minutes);
  const [user, balance, budget, pm] = await Promise.all([
    loadUser(deps.db, userId),
    creditBalance(deps.db, userId),
    budgetPlanFor(deps.db, userId),
    defaultPaymentMethod(deps.db, userId),
  ]);
  const freeTrial = user.freeTrialUsedAt === null && minutes <= FREE_TRIAL_MAX_MINUTES;
  const plan = spendPlan(minutes, false);
  const paidWith = freeTrial ? "free_trial" : balance >= o.priceMicros ? "credits" : pm ? "card" : "none";
  let budgetMinutes = minutes;
  if (!freeTrial && budget.limitMicros !== null && budget.autoCutoff) {
    budgetMinutes = 0;
    for (let m = 1; m <= minutes; m++) if (spendFor(plan, m, 0) <= budget.limitMicros) budgetMinutes = m;
  }
  let refusal: string | null = null;
  if (paidWith === "none") refusal = "Add a payment method or buy credits to place this call.";
  else if (!freeTrial && budget.limitMicros !== null && budget.autoCutoff && budgetMinutes === 0) refusal = "Your remaining budget does not cover the first minute of this call.";
  return {
    minutes,
    priceMicros: freeTrial ? 0 : o.priceMicros,
    perMinuteMicros: freeTrial ? 0 : spendFor(plan, 1, 0),
    freeTrial,
    paidWith,
    creditBalanceMicros: balance,
    budgetRemainingMicros: budget.limitMicros,
    budgetMinutes,
    refusal,
    extension: { minutes: EXTENSION.minutes, priceMicros: EXTENSION.priceMicros },
    options: CALL_OPTIONS.map((x) => ({ minutes: x.minutes, priceMicros: x.priceMicros })),
  };
}

// ── call payment ─────────────────────────────────────────────────────────────────────────────
export interface CallAuthorization {
  paidWith: "free_trial" | "credits" | "card";
  isFreeTrial: boolean;
  priceMicros: number;
  paymentId: string | null;
}

/**
 * Authorise payment for an inserted (not yet dialled) call and record the price on it. Throws a
 * 402 AppError (details.reason: budget_exceeded | payment_method_required | card_declined) when
 * the call must not be placed; nothing is held then.
 */
export async function authorizeCallPayment(deps: MoneyDeps, input: { callId: string; userId: string; minutes: number }): Promise<CallAuthorization> {
  const { db } = deps;
  const o = option(input.minutes);
  const budget = await budgetPlanFor(db, input.userId, { excludeCallId: input.callId });

  if (input.minutes <= FREE_TRIAL_MAX_MINUTES) {
    const claimed = await db
      .update(users)
      .set({ freeTrialUsedAt: new Date() })
      .where(and(eq(users.id, input.userId), isNull(users.freeTrialUsedAt)))
      .returning({ id: users.id });
    if (claimed[0]) {
      await db.update(calls).set({ isFreeTrial: true, priceMicros: 0 }).where(eq(calls.id, input.callId));
      return { paidWith: "free_trial", isFreeTrial: true, priceMicros: 0, paymentId: null };
    }
  }

  const firstMinute = spendFor(spendPlan(input.minutes, false), 1, 0);
  if (budget.limitMicros !== null && budget.autoCutoff && budget.limitMicros < firstMinute) {
    throw paymentRequired("Your remaining budget does not cover the first minute of this call.", "budget_exceeded");
  }

  const debit = await debitIfCovered(db, {
    userId: input.userId,
    amountMicros: o.priceMicros,
    idempotencyKey: `call:${input.callId}:charge`,
    description: `${input.minutes}-minute call`,
    callId: input.callId,
  });
  if (debit !== "insufficient") {
    await db.update(calls).set({ priceMicros: o.priceMicros, isFreeTrial: false }).where(eq(calls.id, input.callId));
    return { paidWith: "credits", isFreeTrial: false, priceMicros: o.priceMicros, paymentId: null };
  }

  const pm = await defaultPaymentMethod(db, input.userId);
  if (!pm) throw paymentRequired("Add a payment method or buy credits to place this call.", "payment_method_required");
  const customer = await ensureCustomer(deps, input.userId);
  const stripe = stripeClient(deps.config);
  const amountCents = toCents(o.priceMicros);
  try {
    const pi = await stripe.paymentIntents.create(
      {
        amount: amountCents,
        currency: "usd",
        customer,
        payment_method: pm.stripePaymentMethodId,
        capture_method: "manual",
        confirm: true,
        off_session: true,
        description: `${input.minutes}-minute call`,
        metadata: { callId: input.callId, userId: input.userId, kind: "call" },
      },
      { idempotencyKey: `call:${input.callId}:authorize` },
    );
    if (pi.status !== "requires_capture") {
      if (pi.status !== "canceled") await stripe.paymentIntents.cancel(pi.id).catch(() => undefined);
      throw paymentRequired("Your card could not be authorised for this call.", "card_declined");
    }
    const [row] = await db
      .insert(payments)
      .values({
        userId: input.userId,
        callId: input.callId,
        kind: "call",
        stripePaymentIntentId: pi.id,
        amountCents,
        status: "requires_capture",
        description: `${input.minutes}-minute call`,
        lastEventCreated: nowS(),
      })
      .onConflictDoUpdate({ target: payments.stripePaymentIntentId, set: { updatedAt: new Date() } })
      .returning({ id: payments.id });
    await db.update(calls).set({ priceMicros: o.priceMicros, isFreeTrial: false }).where(eq(calls.id, input.callId));
    return { paidWith: "card", isFreeTrial: false, priceMicros: o.priceMicros, paymentId: row?.id ?? null };
  } catch (err) {
    if (isStripeError(err) && (err.type === "StripeCardError" || err.code === "authentication_required")) {
      throw paymentRequired(`Your card was declined: ${err.message}`, "card_declined");
    }
    throw err;
  }
}

/**
 * Charge an accepted extension (+5 min, $2.99) and lengthen the call. Returns the new duration
 * limit, or null when it could not be paid (the call then ends at its bought time).
 */
export async function chargeExtension(deps: MoneyDeps, callId: string): Promise<{ durationLimitS: number; extensions: number } | null> {
  const { db } = deps;
  const [call] = await db.select().from(calls).where(eq(calls.id, callId)).limit(1);
  if (!call || call.isFreeTrial) return null;
  const n = call.extensions + 1;
  const key = `call:${callId}:extension:${n}`;
  const paidByCredits = await db.select({ id: creditLedger.id }).from(creditLedger).where(eq(creditLedger.idempotencyKey, `call:${callId}:charge`)).limit(1);
  let paid = false;
  if (paidByCredits[0]) {
    paid = (await debitIfCovered(db, { userId: call.userId, amountMicros: EXTENSION.priceMicros, idempotencyKey: key, description: `+${EXTENSION.minutes} min extension`, callId })) !== "insufficient";
  }
  if (!paid) {
    const pm = await defaultPaymentMethod(db, call.userId);
    if (!pm) return null;
    const customer = await ensureCustomer(deps, call.userId);
    try {
      const pi = await stripeClient(deps.config).paymentIntents.create(
        {
          amount: toCents(EXTENSION.priceMicros),
          currency: "usd",
          customer,
          payment_method: pm.stripePaymentMethodId,
          confirm: true,
          off_session: true,
          description: `+${EXTENSION.minutes} min call extension`,
          metadata: { callId, userId: call.userId, kind: "extension" },
        },
        { idempotencyKey: key },
      );
      if (pi.status !== "succeeded") return null;
      await db
        .insert(payments)
        .values({
          userId: call.userId,
          callId,
          kind: "extension",
          stripePaymentIntentId: pi.id,
          amountCents: pi.amount,
          amountCapturedCents: pi.amount_received,
          status: "succeeded",
          description: `+${EXTENSION.minutes} min call extension`,
          lastEventCreated: nowS(),
        })
        .onConflictDoNothing({ target: payments.stripePaymentIntentId });
    } catch (err) {
      if (isStripeError(err)) return null;
      throw err;
    }
  }
  const [updated] = await db
    .update(calls)
    .set({ extensions: n, durationLimitS: sql`${calls.durationLimitS} + ${EXTENSION.minutes * 60}`, updatedAt: new Date() })
    .where(and(eq(calls.id, callId), eq(calls.extensions, n - 1)))
    .returning({ durationLimitS: calls.durationLimitS, extensions: calls.extensions });
  if (updated) return updated;
  const [again] = await db.select({ durationLimitS: calls.durationLimitS, extensions: calls.extensions }).from(calls).where(eq(calls.id, callId));
  return again ?? null;
}

export interface CallSettlement {
  connected: boolean;
  /** What the user pays for this call in total (base + extensions), micro-dollars. */
  chargeMicros: number;
  baseMicros: number;
  extensionsMicros: number;
  paidWith: "free_trial" | "credits" | "card" | "none";
}

/** Minutes of a call a user pays for: every started minute of connected time. */
export function startedMinutes(durationS: number): number {
  return Math.max(1, Math.ceil(durationS / 60));
}

/**
 * Settle a call that reached a terminal state (from `finalizeCall`). Idempotent: the Stripe
 * capture/cancel and the ledger refund carry keys, and the stored charge is the same each time.
 * A call counts as connected when it was answered by a person (voicemail and never-answered calls
 * cost the user nothing).
 */
export async function settleCallPayment(deps: MoneyDeps, callId: string): Promise<CallSettlement> {
  const { db } = deps;
  const [call] = await db.select().from(calls).where(eq(calls.id, callId)).limit(1);
  if (!call) throw notFound("Call");
  const connected = call.answeredAt !== null && (call.durationS ?? 0) > 0 && call.endReason !== "voicemail" && call.endReason !== "not_answered";
  // The tier is named by its price (unique per option); the bought duration is the fallback.
  const tierMinutes = CALL_OPTIONS.find((o) => o.priceMicros === call.priceMicros)?.minutes ?? Math.round((call.durationLimitS - call.extensions * EXTENSION.minutes * 60) / 60);
  const extensionsMicros = call.extensions * EXTENSION.priceMicros;

  let baseMicros = 0;
  if (connected && !call.isFreeTrial && call.priceMicros > 0) {
    const plan: SpendPlan = { minutes: tierMinutes, priceMicros: call.priceMicros, isFreeTrial: false, extension: EXTENSION };
    baseMicros = spendFor(plan, startedMinutes(call.durationS ?? 0), 0);
    const budget = await budgetPlanFor(db, call.userId, { excludeCallId: callId, now: call.createdAt });
    if (budget.limitMicros !== null && budget.autoCutoff) {
      const cap = Math.max(0, budget.limitMicros - extensionsMicros);
      if (baseMicros > cap) baseMicros = Math.floor(cap / 10_000) * 10_000;
    }
  }

  let paidWith: CallSettlement["paidWith"] = "none";
  if (call.isFreeTrial) {
    paidWith = "free_trial";
    if (!connected) await db.update(users).set({ freeTrialUsedAt: null }).where(eq(users.id, call.userId));
  } else {
    const [held] = await db.select().from(creditLedger).where(eq(creditLedger.idempotencyKey, `call:${callId}:charge`)).limit(1);
    if (held) {
      paidWith = "credits";
      const unused = -held.amountMicros - baseMicros;
      if (unused > 0) {
        await appendCredit(db, {
          userId: call.userId,
          kind: "refund",
          amountMicros: unused,
          idempotencyKey: `call:${callId}:settle`,
          description: connected ? "Unused call time" : "Call did not connect",
          callId,
        });
      }
    } else {
      const [payment] = await db.select().from(payments).where(and(eq(payments.callId, callId), eq(payments.kind, "call"))).limit(1);
      if (payment?.stripePaymentIntentId) {
        paidWith = "card";
        await settleCard(deps, payment.id, payment.stripePaymentIntentId, toCents(baseMicros), callId);
      }
    }
  }

  const chargeMicros = baseMicros + extensionsMicros;
  await db.update(calls).set({ chargeMicros, updatedAt: new Date() }).where(eq(calls.id, callId));
  return { connected, chargeMicros, baseMicros, extensionsMicros, paidWith };
}

async function settleCard(deps: MoneyDeps, paymentId: string, piId: string, captureCents: number, callId: string): Promise<void> {
  const stripe = stripeClient(deps.config);
  let pi = await stripe.paymentIntents.retrieve(piId);
  if (pi.status === "requires_capture") {
    pi =
      captureCents > 0
        ? await stripe.paymentIntents.capture(piId, { amount_to_capture: captureCents }, { idempotencyKey: `call:${callId}:capture` })
        : await stripe.paymentIntents.cancel(piId, { cancellation_reason: "abandoned" }, { idempotencyKey: `call:${callId}:cancel` });
  }
  const status = pi.status === "succeeded" ? "succeeded" : pi.status === "canceled" ? "canceled" : "requires_capture";
  await deps.db
    .update(payments)
    .set({ status, amountCapturedCents: pi.amount_received ?? 0, lastEventCreated: nowS(), updatedAt: new Date() })
    .where(eq(payments.id, paymentId));
}

// ── customers and payment methods ────────────────────────────────────────────────────────────
/** The user's Stripe customer id, created on first use (idempotent per user). */
export async function ensureCustomer(deps: MoneyDeps, userId: string): Promise<string> {
  const user = await loadUser(deps.db, userId);
  if (user.stripeCustomerId) return user.stripeCustomerId;
  const customer = await stripeCall(
    "Customer",
    stripeClient(deps.config).customers.create({ email: user.email, name: user.name, metadata: { userId } }, { idempotencyKey: `customer:${userId}` }),
  );
  const [row] = await deps.db
    .update(users)
    .set({ stripeCustomerId: customer.id })
    .where(and(eq(users.id, userId), isNull(users.stripeCustomerId)))
    .returning({ id: users.stripeCustomerId });
  if (row?.id) return row.id;
  return (await loadUser(deps.db, userId)).stripeCustomerId ?? customer.id;
}

export async function listPaymentMethods(db: Db, userId: string): Promise<PaymentMethod[]> {
  const rows = await db.select().from(paymentMethods).where(eq(paymentMethods.userId, userId)).orderBy(desc(paymentMethods.isDefault), desc(paymentMethods.createdAt));
  return rows.map((r) => ({ id: r.stripePaymentMethodId, brand: r.brand, last4: r.last4, expMonth: r.expMonth, expYear: r.expYear, isDefault: r.isDefault }));
}

/** A SetupIntent the SPA confirms with the card (Stripe.js in production). */
export async function createSetupIntent(deps: MoneyDeps, userId: string) {
  const customer = await ensureCustomer(deps, userId);
  const si = await stripeCall("Setup intent", stripeClient(deps.config).setupIntents.create({ customer, usage: "off_session", metadata: { userId } }));
  return { setupIntentId: si.id, clientSecret: si.client_secret ?? "", customerId: customer };
}

/** The saved-card row for a Stripe payment method id, whoever owns it. */
async function savedCard(db: Db, pmId: string) {
  const [row] = await db.select().from(paymentMethods).where(eq(paymentMethods.stripePaymentMethodId, pmId)).limit(1);
  return row;
}

/**
 * Save a card: from a confirmed SetupIntent (the normal path) or a payment method id/test token
 * (attached to the customer directly). The first card, or `makeDefault`, becomes the default.
 * Ids that are unknown to Stripe, or belong to another user or customer, are 404 — checked in
 * our table before Stripe is asked, so another user's card is never touched.
 */
export async function addPaymentMethod(deps: MoneyDeps, userId: string, input: { setupIntentId?: string; paymentMethodId?: string; makeDefault: boolean }): Promise<PaymentMethod[]> {
  const stripe = stripeClient(deps.config);
  let pmId: string;
  if (input.setupIntentId) {
    const customer = await ensureCustomer(deps, userId);
    const si = await stripeCall("Setup intent", stripe.setupIntents.retrieve(input.setupIntentId));
    const siCustomer = typeof si.customer === "string" ? si.customer : si.customer?.id;
    if (siCustomer !== customer) throw notFound("Setup intent");
    if (si.status !== "succeeded" || !si.payment_method) throw new AppError("conflict", "The card setup has not been confirmed yet");
    pmId = typeof si.payment_method === "string" ? si.payment_method : si.payment_method.id;
  } else if (input.paymentMethodId) {
    let id = input.paymentMethodId;
    const known = id.startsWith("pm_") ? await savedCard(deps.db, id) : undefined;
    if (known && known.userId !== userId) throw notFound("Payment method");
    const customer = await ensureCustomer(deps, userId);
    if (id.startsWith("tok_")) id = (await stripeCall("Card token", stripe.paymentMethods.create({ type: "card", card: { token: id } }))).id;
    const attached = await stripeCall("Payment method", stripe.paymentMethods.attach(id, { customer }));
    pmId = attached.id;
  } else {
    throw new AppError("validation_failed", "Give setupIntentId or paymentMethodId");
  }
  const pm = await stripeCall("Payment method", stripe.paymentMethods.retrieve(pmId));
  const card = pm.card;
  if (!card) throw new AppError("bad_request", "Only cards are supported");
  const existing = await listPaymentMethods(deps.db, userId);
  await deps.db
    .insert(paymentMethods)
    .values({ userId, stripePaymentMethodId: pm.id, brand: card.brand, last4: card.last4, expMonth: card.exp_month, expYear: card.exp_year, isDefault: false })
    .onConflictDoNothing({ target: paymentMethods.stripePaymentMethodId });
  if (input.makeDefault || existing.length === 0) await setDefaultPaymentMethod(deps, userId, pm.id);
  return listPaymentMethods(deps.db, userId);
}

export async function setDefaultPaymentMethod(deps: MoneyDeps, userId: string, pmId: string): Promise<PaymentMethod[]> {
  const [own] = await deps.db.select().from(paymentMethods).where(and(eq(paymentMethods.userId, userId), eq(paymentMethods.stripePaymentMethodId, pmId))).limit(1);
  if (!own) throw notFound("Payment method");
  const customer = await ensureCustomer(deps, userId);
  await stripeCall("Payment method", stripeClient(deps.config).customers.update(customer, { invoice_settings: { default_payment_method: pmId } }));
  await deps.db.batch([
    deps.db.update(paymentMethods).set({ isDefault: false }).where(eq(paymentMethods.userId, userId)),
    deps.db.update(paymentMethods).set({ isDefault: true }).where(eq(paymentMethods.id, own.id)),
  ]);
  return listPaymentMethods(deps.db, userId);
}

export async function removePaymentMethod(deps: MoneyDeps, userId: string, pmId: string): Promise<PaymentMethod[]> {
  const [own] = await deps.db.select().from(paymentMethods).where(and(eq(paymentMethods.userId, userId), eq(paymentMethods.stripePaymentMethodId, pmId))).limit(1);
  if (!own) throw notFound("Payment method");
  try {
    await stripeClient(deps.config).paymentMethods.detach(pmId);
  } catch (err) {
    // Already gone from Stripe, or no longer attached to any customer: just forget the row.
    const gone = isStripeError(err) && (err.statusCode === 404 || err.code === "payment_method_unexpected_state");
    if (!gone) throw fromStripeError(err, "Payment method");
  }
  await deps.db.delete(paymentMethods).where(eq(paymentMethods.id, own.id));
  const rest = await listPaymentMethods(deps.db, userId);
  if (own.isDefault && rest[0]) return setDefaultPaymentMethod(deps, userId, rest[0].id);
  return rest;
}

// ── credit packs and history ─────────────────────────────────────────────────────────────────
export async function createCreditCheckout(deps: MoneyDeps, userId: string, packId: string): Promise<{ url: string; sessionId: string }> {
  const pack = CREDIT_PACKS.find((p) => p.id === packId);
  if (!pack) throw new AppError("validation_failed", "Unknown credit pack");
  const customer = await ensureCustomer(deps, userId);
  const base = deps.config.publicBaseUrl;
  const session = await stripeClient(deps.config).checkout.sessions.create({
    mode: "payment",
    customer,
    client_reference_id: userId,
    line_items: [{ quantity: 1, price_data: { currency: "usd", unit_amount: pack.priceCents, product_data: { name: pack.label } } }],
    success_url: `${base}/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
    cancel_url: `${base}/billing?checkout=canceled`,
    metadata: { userId, packId: pack.id, kind: "credit_pack" },
  });
  await deps.db.insert(payments).values({
    userId,
    kind: "credit_pack",
    stripeCheckoutSessionId: session.id,
    amountCents: pack.priceCents,
    status: "requires_payment_method",
    description: pack.label,
  });
  return { url: session.url ?? "", sessionId: session.id };
}

export async function listPayments(db: Db, userId: string, limit = 100): Promise<Payment[]> {
  const rows = await db.select().from(payments).where(eq(payments.userId, userId)).orderBy(desc(payments.createdAt)).limit(limit);
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    callId: r.callId,
    status: r.status,
    amountCents: r.amountCents,
    amountCapturedCents: r.amountCapturedCents,
    amountRefundedCents: r.amountRefundedCents,
    description: r.description,
    createdAt: r.createdAt.toISOString(),
  }));
}

// ── webhooks ─────────────────────────────────────────────────────────────────────────────────
type PaymentStatus = (typeof payments.$inferSelect)["status"];

/** How far along a payment is; a late event never moves a payment backwards. */
const STATUS_RANK: Record<PaymentStatus, number> = {
  requires_payment_method: 0,
  requires_confirmation: 1,
  requires_action: 2,
  processing: 3,
  requires_capture: 4,
  failed: 5,
  canceled: 6,
  succeeded: 6,
  partially_refunded: 7,
  refunded: 8,
};

function piStatus(s: string): PaymentStatus {
  switch (s) {
    case "requires_payment_method":
    case "requires_confirmation":
    case "requires_action":
    case "processing":
    case "requires_capture":
    case "succeeded":
    case "canceled":
      return s;
    default:
      return "processing";
  }
}

/**
 * Apply a payment state from an event of time `created` unless the row already reflects a newer
 * event, or an equally new one that is further along.
 */
async function applyPaymentState(
  db: Db,
  where: { paymentIntentId?: string; checkoutSessionId?: string },
  created: number,
  next: { status: PaymentStatus; amountCapturedCents?: number; amountRefundedCents?: number; paymentIntentId?: string },
): Promise<{ id: string; userId: string } | null> {
  const key = where.paymentIntentId ? eq(payments.stripePaymentIntentId, where.paymentIntentId) : where.checkoutSessionId ? eq(payments.stripeCheckoutSessionId, where.checkoutSessionId) : null;
  if (!key) return null;
  const [row] = await db.select().from(payments).where(key).limit(1);
  if (!row) return null;
  const last = row.lastEventCreated ?? 0;
  const newer = created > last || (created === last && STATUS_RANK[next.status] > STATUS_RANK[row.status]);
  if (!newer || STATUS_RANK[next.status] < STATUS_RANK[row.status]) return { id: row.id, userId: row.userId };
  await db
    .update(payments)
    .set({
      status: next.status,
      lastEventCreated: created,
      updatedAt: new Date(),
      ...(next.amountCapturedCents !== undefined ? { amountCapturedCents: next.amountCapturedCents } : {}),
      ...(next.amountRefundedCents !== undefined ? { amountRefundedCents: next.amountRefundedCents } : {}),
      ...(next.paymentIntentId && !row.stripePaymentIntentId ? { stripePaymentIntentId: next.paymentIntentId } : {}),
    })
    .where(and(eq(payments.id, row.id), sql`coalesce(${payments.lastEventCreated}, 0) <= ${created}`));
  return { id: row.id, userId: row.userId };
}

interface EventLike {
  id: string;
  type: string;
  created: number;
  data: { object: unknown };
}

function field<T>(obj: unknown, name: string): T | undefined {
  return typeof obj === "object" && obj !== null ? ((obj as Record<string, unknown>)[name] as T | undefined) : undefined;
}

/**
 * Apply one verified Stripe event. Each effect is idempotent on its own (payment rows only move
 * forward by event time, ledger entries have keys), and `processed_webhook_events` makes a
 * redelivered event id a no-op. Returns "duplicate" for an event id seen before.
 */
export async function handleStripeEvent(db: Db, event: EventLike): Promise<"applied" | "ignored" | "duplicate"> {
  const seen = await db.select({ id: processedWebhookEvents.id }).from(processedWebhookEvents).where(eq(processedWebhookEvents.id, event.id)).limit(1);
  if (seen[0]) return "duplicate";
  const obj = event.data.object;
  let outcome: "applied" | "ignored" = "applied";
  switch (event.type) {
    case "payment_intent.amount_capturable_updated":
    case "payment_intent.succeeded":
    case "payment_intent.canceled":
    case "payment_intent.payment_failed":
    case "payment_intent.requires_action":
    case "payment_intent.processing": {
      const id = field<string>(obj, "id");
      const status = event.type === "payment_intent.payment_failed" ? "failed" : piStatus(field<string>(obj, "status") ?? "");
      const applied = id ? await applyPaymentState(db, { paymentIntentId: id }, event.created, { status, amountCapturedCents: field<number>(obj, "amount_received") ?? 0 }) : null;
      if (!applied) outcome = "ignored";
      break;
    }
    case "charge.refunded": {
      const pi = field<string>(obj, "payment_intent");
      const captured = field<number>(obj, "amount_captured") ?? 0;
      const amount = field<number>(obj, "amount") ?? 0;
      // A partial capture releases the rest of the hold, which Stripe also reports as refunded.
      const refunded = Math.max(0, (field<number>(obj, "amount_refunded") ?? 0) - (amount - captured));
      if (!pi || refunded === 0) {
        outcome = "ignored";
        break;
      }
      await applyPaymentState(db, { paymentIntentId: pi }, event.created, { status: refunded >= captured ? "refunded" : "partially_refunded", amountRefundedCents: refunded });
      break;
    }
    case "checkout.session.completed": {
      const sessionId = field<string>(obj, "id");
      const metadata = field<Record<string, string>>(obj, "metadata") ?? {};
      const paid = field<string>(obj, "payment_status") === "paid";
      const pi = field<string>(obj, "payment_intent");
      if (!sessionId || !paid) {
        outcome = "ignored";
        break;
      }
      const total = field<number>(obj, "amount_total") ?? 0;
      const row = await applyPaymentState(db, { checkoutSessionId: sessionId }, event.created, { status: "succeeded", amountCapturedCents: total, paymentIntentId: pi });
      const pack = CREDIT_PACKS.find((p) => p.id === metadata.packId);
      const userId = row?.userId ?? metadata.userId;
      if (!pack || !userId) {
        outcome = "ignored";
        break;
      }
      await appendCredit(db, {
        userId,
        kind: "purchase",
        amountMicros: pack.creditMicros,
        idempotencyKey: `stripe:checkout:${sessionId}`,
        description: pack.label,
        paymentId: row?.id ?? null,
      });
      break;
    }
    case "checkout.session.expired": {
      const sessionId = field<string>(obj, "id");
      if (!sessionId || !(await applyPaymentState(db, { checkoutSessionId: sessionId }, event.created, { status: "canceled" }))) outcome = "ignored";
      break;
    }
    case "payment_method.detached": {
      const id = field<string>(obj, "id");
      if (id) await db.delete(paymentMethods).where(eq(paymentMethods.stripePaymentMethodId, id));
      break;
    }
    default:
      outcome = "ignored";
  }
  await db.insert(processedWebhookEvents).values({ id: event.id, source: "stripe", type: event.type }).onConflictDoNothing();
  return outcome;
}
