/**
 * Money contracts: call quotes, per-call cost breakdowns, budgets, credits, payment methods,
 * payments, usage/cost analytics and the admin pricing + margin views. Pure zod, shared by the
 * Worker and the SPA. Amounts are integer micro-dollars (`…Micros`) or Stripe cents (`…Cents`);
 * vendor unit rates are decimal strings (they can be fractions of a micro-dollar).
 */
import { z } from "zod";
import { Id, IsoDate } from "./common";

export const CostService = z.enum(["twilio", "deepgram", "cerebras", "openai", "elevenlabs", "platform", "stripe"]);
export type CostService = z.infer<typeof CostService>;

const Micros = z.number().int();
/** A non-negative dollar amount entered by a user, in micro-dollars, or null for "no limit". */
const LimitMicros = z.number().int().min(0).max(100_000_000_000).nullable();
/** Decimal string with up to 8 fraction digits (micro-dollars per unit). */
export const DecimalString = z.string().trim().regex(/^[0-9]{1,12}(\.[0-9]{1,8})?$/, "Must be a non-negative decimal with at most 8 decimals");

// ── cost ledger ──────────────────────────────────────────────────────────────────────────────
export const CostEvent = z.object({
  eventKey: z.string(),
  service: CostService,
  operation: z.string(),
  model: z.string(),
  usageAmount: z.string(),
  usageUnit: z.string(),
  rateMicros: z.string(),
  costMicros: z.string(),
  occurredAt: IsoDate,
  estimated: z.boolean(),
});
export type CostEvent = z.infer<typeof CostEvent>;

/** `GET /api/calls/:id/cost` */
export const CallCostResponse = z.object({
  callId: Id,
  /** Vendor cost so far, rounded to whole micro-dollars. */
  totalMicros: Micros,
  byService: z.record(z.string(), Micros),
  /** What the user is charged (final once the call ended, the running spend while live). */
  chargeMicros: Micros.nullable(),
  priceMicros: Micros,
  events: z.array(CostEvent),
});
export type CallCostResponse = z.infer<typeof CallCostResponse>;

// ── quotes ───────────────────────────────────────────────────────────────────────────────────
/** `GET /api/billing/quote?minutes=5` — what placing a call would cost and how it would be paid. */
export const QuoteResponse = z.object({
  minutes: z.number().int(),
  priceMicros: Micros,
  /** Spend per started minute (the price spread over the minutes). */
  perMinuteMicros: Micros,
  freeTrial: z.boolean(),
  paidWith: z.enum(["free_trial", "credits", "card", "none"]),
  creditBalanceMicros: Micros,
  /** Remaining budget (min of per-call, day and month), null when no limit is set. */
  budgetRemainingMicros: Micros.nullable(),
  /** Minutes the budget allows (≤ minutes). */
  budgetMinutes: z.number().int(),
  /** Why the call would be refused, if it would. */
  refusal: z.string().nullable(),
  extension: z.object({ minutes: z.number().int(), priceMicros: Micros }),
  options: z.array(z.object({ minutes: z.number().int(), priceMicros: Micros })),
});
export type QuoteResponse = z.infer<typeof QuoteResponse>;

// ── budgets ──────────────────────────────────────────────────────────────────────────────────
export const BudgetSettings = z.object({
  perCallLimitMicros: LimitMicros,
  dailyLimitMicros: LimitMicros,
  monthlyLimitMicros: LimitMicros,
  warnAtPercent: z.number().int().min(1).max(100),
  autoCutoff: z.boolean(),
});
export type BudgetSettings = z.infer<typeof BudgetSettings>;
export const UpdateBudgetSettingsRequest = BudgetSettings.partial();
export type UpdateBudgetSettingsRequest = z.infer<typeof UpdateBudgetSettingsRequest>;
export const BudgetSettingsResponse = z.object({
  settings: BudgetSettings,
  spentTodayMicros: Micros,
  spentThisMonthMicros: Micros,
});
export type BudgetSettingsResponse = z.infer<typeof BudgetSettingsResponse>;

// ── credits, payment methods, payments ───────────────────────────────────────────────────────
export const CreditEntry = z.object({
  id: Id,
  kind: z.enum(["grant", "purchase", "call_charge", "refund"]),
  amountMicros: Micros,
  callId: Id.nullable(),
  description: z.string(),
  createdAt: IsoDate,
});
export type CreditEntry = z.infer<typeof CreditEntry>;

export const PaymentMethod = z.object({
  id: z.string().describe("Stripe payment method id"),
  brand: z.string(),
  last4: z.string(),
  expMonth: z.number().int(),
  expYear: z.number().int(),
  isDefault: z.boolean(),
});
export type PaymentMethod = z.infer<typeof PaymentMethod>;

export const Payment = z.object({
  id: Id,
  kind: z.enum(["call", "extension", "credit_pack"]),
  callId: Id.nullable(),
  status: z.string(),
  amountCents: z.number().int(),
  amountCapturedCents: z.number().int(),
  amountRefundedCents: z.number().int(),
  description: z.string(),
  createdAt: IsoDate,
});
export type Payment = z.infer<typeof Payment>;

/** Credit packs sold through Stripe Checkout (price in cents → credit in micro-dollars). */
export const CREDIT_PACKS = [
  { id: "pack_10", priceCents: 1000, creditMicros: 10_000_000, label: "$10 of call credit" },
  { id: "pack_25", priceCents: 2500, creditMicros: 26_000_000, label: "$26 of call credit for $25" },
  { id: "pack_50", priceCents: 5000, creditMicros: 54_000_000, label: "$54 of call credit for $50" },
] as const;
export const CreditPackId = z.enum(["pack_10", "pack_25", "pack_50"]);

/** `GET /api/user/billing` */
export const BillingResponse = z.object({
  creditBalanceMicros: Micros,
  freeTrialAvailable: z.boolean(),
  paymentMethods: z.array(PaymentMethod),
  ledger: z.array(CreditEntry),
  packs: z.array(z.object({ id: z.string(), priceCents: z.number().int(), creditMicros: Micros, label: z.string() })),
});
export type BillingResponse = z.infer<typeof BillingResponse>;

export const SetupIntentResponse = z.object({ setupIntentId: z.string(), clientSecret: z.string(), customerId: z.string() });
/** `POST /api/user/payment-methods` — attach a confirmed SetupIntent's card (or a test card token locally). */
export const AddPaymentMethodRequest = z.object({
  setupIntentId: z.string().max(255).regex(/^seti_[A-Za-z0-9_]+$/).optional(),
  paymentMethodId: z.string().max(255).regex(/^(pm|tok)_[A-Za-z0-9_]+$/).optional(),
  makeDefault: z.boolean().default(true),
});
export const PaymentMethodsResponse = z.object({ paymentMethods: z.array(PaymentMethod) });
export const CheckoutRequest = z.object({ packId: CreditPackId });
export const CheckoutResponse = z.object({ url: z.string(), sessionId: z.string() });
export const PaymentsResponse = z.object({ payments: z.array(Payment) });

// ── analytics ────────────────────────────────────────────────────────────────────────────────
export const UsageQuery = z.object({ days: z.coerce.number().int().min(1).max(366).default(30) });
/** `GET /api/user/usage` */
export const UsageResponse = z.object({
  days: z.number().int(),
  calls: z.number().int(),
  connectedCalls: z.number().int(),
  minutes: z.number(),
  spentMicros: Micros,
  daily: z.array(z.object({ day: z.string(), calls: z.number().int(), minutes: z.number(), spentMicros: Micros })),
});
export type UsageResponse = z.infer<typeof UsageResponse>;
/** `GET /api/user/costs/summary` — what the user's calls cost to run, by service and day. */
export const CostSummaryResponse = z.object({
  days: z.number().int(),
  totalMicros: Micros,
  spentMicros: Micros,
  byService: z.record(z.string(), Micros),
  daily: z.array(z.object({ day: z.string(), costMicros: Micros, spentMicros: Micros })),
});
export type CostSummaryResponse = z.infer<typeof CostSummaryResponse>;
export const CostsByPersonaResponse = z.object({
  personas: z.array(z.object({ personaId: Id, personaName: z.string(), calls: z.number().int(), minutes: z.number(), costMicros: Micros, spentMicros: Micros })),
});
export type CostsByPersonaResponse = z.infer<typeof CostsByPersonaResponse>;

/** `GET /api/admin/margin` */
export const MarginRow = z.object({
  revenueMicros: Micros,
  vendorCostMicros: Micros,
  stripeFeeMicros: Micros,
  marginMicros: Micros,
  /** margin / revenue × 100, null without revenue. */
  marginPercent: z.number().nullable(),
});
export const MarginResponse = z.object({
  days: z.number().int(),
  total: MarginRow,
  byService: z.record(z.string(), Micros),
  byDay: z.array(MarginRow.extend({ day: z.string() })),
  byCall: z.array(MarginRow.extend({ callId: Id, createdAt: IsoDate, durationS: z.number().int().nullable(), isFreeTrial: z.boolean() })),
});
export type MarginResponse = z.infer<typeof MarginResponse>;

// ── admin pricing ────────────────────────────────────────────────────────────────────────────
export const PricingRow = z.object({
  id: Id,
  service: CostService,
  operation: z.string(),
  model: z.string(),
  unit: z.string(),
  rateMicros: z.string(),
  effectiveFrom: IsoDate,
  effectiveTo: IsoDate.nullable(),
  source: z.string(),
});
export type PricingRow = z.infer<typeof PricingRow>;
export const PricingListResponse = z.object({ pricing: z.array(PricingRow) });
/** `POST /api/admin/pricing` — a new rate version; the previous version ends where this one starts. */
export const NewPricingRequest = z.object({
  service: CostService,
  operation: z.string().trim().min(1).max(64).regex(/^[a-z_]+$/),
  model: z.string().trim().max(128).default(""),
  unit: z.string().trim().min(1).max(32),
  rateMicros: DecimalString,
  effectiveFrom: z.iso.datetime({ offset: true }).optional(),
});
export type NewPricingRequest = z.infer<typeof NewPricingRequest>;
export const PricingResponse = z.object({ pricing: PricingRow });

export const Discrepancy = z.object({
  id: Id,
  runDate: z.string(),
  callId: Id.nullable(),
  service: CostService,
  ledgerMicros: Micros,
  vendorMicros: Micros,
  diffMicros: Micros,
  createdAt: IsoDate,
});
export const DiscrepanciesResponse = z.object({ discrepancies: z.array(Discrepancy) });
export const ReconciliationResult = z.object({
  runDate: z.string(),
  callsChecked: z.number().int(),
  eventsReconciled: z.number().int(),
  discrepancies: z.number().int(),
});
export type ReconciliationResult = z.infer<typeof ReconciliationResult>;
