/**
 * Billing routes. Under /api/user (the seed's paths): `GET /billing` (balance, free trial, cards,
 * ledger, packs), payment methods (`GET/POST /payment-method`, `POST /payment-method/setup-intent`,
 * `PUT /payment-method/:id/default`, `DELETE /payment-method/:id`), `POST /credits/checkout`
 * and `GET /payments`. Under /api/billing: `GET /quote?minutes=` (price and how the call would be
 * paid, shown before placing it). Handlers are thin; the rules live in services/billing.ts.
 */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { CallMinutes, DEFAULT_CALL_MINUTES } from "../../contracts/calls";
import {
  AddPaymentMethodRequest,
  BillingResponse,
  CheckoutRequest,
  CheckoutResponse,
  CREDIT_PACKS,
  PaymentMethodsResponse,
  PaymentsResponse,
  QuoteResponse,
  SetupIntentResponse,
} from "../../contracts/money";
import { users } from "../db/schema";
import { authOf, requireAuth } from "../middleware/auth";
import { describeRoute } from "../openapi";
import {
  addPaymentMethod,
  createCreditCheckout,
  createSetupIntent,
  listPaymentMethods,
  listPayments,
  quoteCall,
  removePaymentMethod,
  setDefaultPaymentMethod,
} from "../services/billing";
import { creditBalance, listLedger } from "../services/credits";
import type { AppEnv } from "../types";
import { validate } from "../validation";

const PmParam = z.object({ id: z.string().max(255).regex(/^pm_[A-Za-z0-9_]+$/) });
const QuoteQuery = z.object({ minutes: z.coerce.number().pipe(CallMinutes).default(DEFAULT_CALL_MINUTES) });

describeRoute({ method: "get", path: "/api/user/billing", tag: "billing", summary: "Credit balance, free trial, saved cards, credit ledger and packs", auth: "required", responses: { 200: BillingResponse } });
describeRoute({ method: "get", path: "/api/user/payment-method", tag: "billing", summary: "Saved cards (default first)", auth: "required", responses: { 200: PaymentMethodsResponse } });
describeRoute({ method: "post", path: "/api/user/payment-method/setup-intent", tag: "billing", summary: "Start saving a card: a SetupIntent for the client to confirm", auth: "required", responses: { 201: SetupIntentResponse } });
describeRoute({ method: "post", path: "/api/user/payment-method", tag: "billing", summary: "Save a card from a confirmed SetupIntent (or a test payment method locally); unknown or another user's ids are 404", auth: "required", body: AddPaymentMethodRequest, responses: { 201: PaymentMethodsResponse }, errors: [400, 402, 404, 409, 502] });
describeRoute({ method: "put", path: "/api/user/payment-method/:id/default", tag: "billing", summary: "Make a saved card the default", auth: "required", responses: { 200: PaymentMethodsResponse }, errors: [404, 502] });
describeRoute({ method: "delete", path: "/api/user/payment-method/:id", tag: "billing", summary: "Remove a saved card", auth: "required", responses: { 200: PaymentMethodsResponse }, errors: [404, 502] });
describeRoute({ method: "post", path: "/api/user/credits/checkout", tag: "billing", summary: "Buy a credit pack through Stripe Checkout", auth: "required", body: CheckoutRequest, responses: { 201: CheckoutResponse } });
describeRoute({ method: "get", path: "/api/user/payments", tag: "billing", summary: "Payment history", auth: "required", responses: { 200: PaymentsResponse } });
describeRoute({ method: "get", path: "/api/billing/quote", tag: "billing", summary: "Price of a call and how it would be paid, before placing it", auth: "required", query: QuoteQuery, responses: { 200: QuoteResponse } });

const deps = (c: { var: AppEnv["Variables"] }) => ({ db: c.var.db, config: c.var.config });

/** Mounted at /api/user. */
export const userBilling = new Hono<AppEnv>()
  .get("/billing", requireAuth, async (c) => {
    const userId = authOf(c).userId;
    const [balance, methods, ledger, user] = await Promise.all([
      creditBalance(c.var.db, userId),
      listPaymentMethods(c.var.db, userId),
      listLedger(c.var.db, userId),
      c.var.db.select({ trial: users.freeTrialUsedAt }).from(users).where(eq(users.id, userId)).limit(1),
    ]);
    return c.json(
      {
        creditBalanceMicros: balance,
        freeTrialAvailable: user[0]?.trial === null,
        paymentMethods: methods,
        ledger,
        packs: CREDIT_PACKS.map((p) => ({ ...p })),
      },
      200,
    );
  })
  .get("/payment-method", requireAuth, async (c) => c.json({ paymentMethods: await listPaymentMethods(c.var.db, authOf(c).userId) }, 200))
  .post("/payment-method/setup-intent", requireAuth, async (c) => c.json(await createSetupIntent(deps(c), authOf(c).userId), 201))
  .post("/payment-method", requireAuth, validate("json", AddPaymentMethodRequest), async (c) =>
    c.json({ paymentMethods: await addPaymentMethod(deps(c), authOf(c).userId, c.req.valid("json")) }, 201),
  )
  .put("/payment-method/:id/default", requireAuth, validate("param", PmParam), async (c) =>
    c.json({ paymentMethods: await setDefaultPaymentMethod(deps(c), authOf(c).userId, c.req.valid("param").id) }, 200),
  )
  .delete("/payment-method/:id", requireAuth, validate("param", PmParam), async (c) =>
    c.json({ paymentMethods: await removePaymentMethod(deps(c), authOf(c).userId, c.req.valid("param").id) }, 200),
  )
  .post("/credits/checkout", requireAuth, validate("json", CheckoutRequest), async (c) =>
    c.json(await createCreditCheckout(deps(c), authOf(c).userId, c.req.valid("json").packId), 201),
  )
  .get("/payments", requireAuth, async (c) => c.json({ payments: await listPayments(c.var.db, authOf(c).userId) }, 200));

/** Mounted at /api/billing. */
export const billing = new Hono<AppEnv>().get("/quote", requireAuth, validate("query", QuoteQuery), async (c) =>
  c.json(await quoteCall(deps(c), authOf(c).userId, c.req.valid("query").minutes), 200),
);
