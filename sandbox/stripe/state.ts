/**
 * The Stripe emulator's in-memory account: customers, payment methods, setup and payment
 * intents, charges, refunds, balance transactions, Checkout Sessions and the Event log, with
 * the state machines Stripe documents (manual capture with a smaller final amount releases the
 * rest, cancel releases a hold, test cards decline or demand 3-D Secure). Every change Stripe
 * reports as an Event appends one and hands it to `onEvent` (webhook delivery lives in
 * webhooks.ts). HTTP,
 * auth and idempotency live in server.ts.
 */
import { cardForMagicPaymentMethod, cardForNumber, cardForToken, TEST_CARDS, type TestCard } from "./cards";
import { invalidParam, invalidRequest, resourceMissing, StripeApiError, unexpectedState } from "./errors";
import {
  allowOnly,
  type FormObject,
  mergeMetadata,
  optArray,
  optBool,
  optInt,
  optObject,
  optString,
  optStringArray,
  reqString,
} from "./form";
import {
  type BalanceTransaction,
  type BillingDetails,
  type Charge,
  type CheckoutSession,
  type Customer,
  type ErrorDetails,
  type LineItem,
  type ListEnvelope,
  newId,
  nowS,
  type PaymentIntent,
  type PaymentMethod,
  type Refund,
  type SetupIntent,
  stripeFeeCents,
  type StripeEvent,
} from "./objects";

export const API_VERSION = "2026-10-28.endive";

/** Who caused a change: copied into `event.request`. */
export interface RequestContext {
  requestId: string | null;
  idempotencyKey: string | null;
}

export const AUTOMATIC: RequestContext = { requestId: null, idempotencyKey: null };

export interface StateOptions {
  /** Base URL of the emulator, for Checkout `url`s. */
  baseUrl: () => string;
  /** Called for every new Event (after it is stored). */
  onEvent: (event: StripeEvent) => void;
  /** Consumes one "decline the next confirm" token; true when the confirm must decline. */
  takeForcedDecline: () => boolean;
  /** Uncaptured authorizations older than this are canceled (0 = never). */
  authorizationExpiryMs: () => number;
}

const DOC = "https://stripe.com/docs/error-codes";

function emptyBilling(): BillingDetails {
  return {
    address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
    email: null,
    name: null,
    phone: null,
    tax_id: null,
  };
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

export class StripeState {
  readonly customers = new Map<string, Customer>();
  readonly paymentMethods = new Map<string, PaymentMethod>();
  readonly setupIntents = new Map<string, SetupIntent>();
  readonly paymentIntents = new Map<string, PaymentIntent>();
  readonly charges = new Map<string, Charge>();
  readonly refunds = new Map<string, Refund>();
  readonly balanceTransactions = new Map<string, BalanceTransaction>();
  readonly sessions = new Map<string, CheckoutSession>();
  readonly lineItems = new Map<string, LineItem[]>();
  readonly events = new Map<string, StripeEvent>();
  /** Test-card behaviour of each PaymentMethod (not part of the API object). */
  private readonly pmCards = new Map<string, TestCard>();
  /** PaymentMethods whose 3-D Secure setup was completed (off-session payments need no auth). */
  private readonly pmAuthenticated = new Set<string>();
  /** When each PaymentIntent's authorization was placed (ms), for hold expiry. */
  private readonly authorizedAt = new Map<string, number>();
  /** PaymentIntents that already passed 3-D Secure for the pending confirmation. */
  private readonly piAuthenticated = new Set<string>();
  /** `payment_intent_data` of each Checkout Session, applied when it is paid. */
  private readonly sessionPaymentIntentData = new Map<string, FormObject>();

  constructor(private readonly opts: StateOptions) {}

  clear(): void {
    for (const m of [
      this.customers,
      this.paymentMethods,
      this.setupIntents,
      this.paymentIntents,
      this.charges,
      this.refunds,
      this.balanceTransactions,
      this.sessions,
      this.lineItems,
      this.events,
      this.pmCards,
      this.authorizedAt,
      this.sessionPaymentIntentData,
    ])
      m.clear();
    this.pmAuthenticated.clear();
    this.piAuthenticated.clear();
  }

  // ---------------------------------------------------------------- events

  emit(type: string, object: unknown, ctx: RequestContext, previous?: Record<string, unknown>): StripeEvent {
    const event: StripeEvent = {
      id: newId("evt"),
      object: "event",
      api_version: API_VERSION,
      created: nowS(),
      data: { object: clone(object), ...(previous ? { previous_attributes: previous } : {}) },
      livemode: false,
      pending_webhooks: 0,
      request: { id: ctx.requestId, idempotency_key: ctx.idempotencyKey },
      type,
    };
    this.events.set(event.id, event);
    this.opts.onEvent(event);
    return event;
  }

  /** Finds any stored object by id (used by `expand[]`). */
  lookup(id: string): unknown {
    for (const m of [
      this.customers,
      this.paymentMethods,
      this.setupIntents,
      this.paymentIntents,
      this.charges,
      this.refunds,
      this.balanceTransactions,
      this.sessions,
      this.events,
    ] as Map<string, unknown>[]) {
      const v = m.get(id);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  // ------------------------------------------------------------- customers

  private getCustomer(id: string, param = "id"): Customer {
    const c = this.customers.get(id);
    if (!c) throw resourceMissing(id, param);
    return c;
  }

  createCustomer(p: FormObject, ctx: RequestContext): Customer {
    allowOnly(p, ["email", "name", "phone", "description", "metadata", "payment_method", "invoice_settings", "preferred_locales", "address", "shipping", "test_clock", "tax_exempt", "balance"]);
    const c: Customer = {
      id: newId("cus", 14),
      object: "customer",
      address: null,
      balance: optInt(p, "balance") ?? 0,
      created: nowS(),
      currency: null,
      default_source: null,
      delinquent: false,
      description: optString(p, "description") ?? null,
      email: optString(p, "email") ?? null,
      invoice_prefix: newId("x", 8).slice(2).toUpperCase(),
      invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
      livemode: false,
      metadata: mergeMetadata({}, p),
      name: optString(p, "name") ?? null,
      phone: optString(p, "phone") ?? null,
      preferred_locales: optStringArray(p, "preferred_locales") ?? [],
      shipping: null,
      tax_exempt: "none",
      test_clock: null,
    };
    this.customers.set(c.id, c);
    this.emit("customer.created", c, ctx);
    const pmId = optString(p, "payment_method");
    if (pmId) this.attachPaymentMethod(pmId, { customer: c.id }, ctx);
    const inv = optObject(p, "invoice_settings");
    if (inv) this.applyInvoiceSettings(c, inv, ctx, false);
    return c;
  }

  retrieveCustomer(id: string): Customer {
    return this.getCustomer(id);
  }

  private applyInvoiceSettings(c: Customer, inv: FormObject, ctx: RequestContext, emitUpdate: boolean): void {
    const dpm = optString(inv, "default_payment_method", "invoice_settings[default_payment_method]");
    if (dpm === undefined) return;
    const before = c.invoice_settings.default_payment_method;
    if (dpm === "") c.invoice_settings.default_payment_method = null;
    else {
      const pm = this.paymentMethods.get(dpm);
      if (!pm || pm.customer !== c.id)
        throw invalidParam(
          "invoice_settings[default_payment_method]",
          `The customer does not have a payment method with the ID ${dpm}. The payment method must be attached to the customer.`,
          "resource_missing",
        );
      c.invoice_settings.default_payment_method = dpm;
    }
    if (emitUpdate && before !== c.invoice_settings.default_payment_method)
      this.emit("customer.updated", c, ctx, { invoice_settings: { default_payment_method: before } });
  }

  updateCustomer(id: string, p: FormObject, ctx: RequestContext): Customer {
    allowOnly(p, ["email", "name", "phone", "description", "metadata", "invoice_settings", "preferred_locales", "address", "shipping", "tax_exempt", "balance"]);
    const c = this.getCustomer(id);
    const previous: Record<string, unknown> = {};
    for (const key of ["email", "name", "phone", "description"] as const) {
      const v = optString(p, key);
      if (v !== undefined && v !== c[key]) {
        previous[key] = c[key];
        c[key] = v === "" ? null : v;
      }
    }
    if (p.metadata !== undefined) {
      previous.metadata = c.metadata;
      c.metadata = mergeMetadata(c.metadata, p);
    }
    const inv = optObject(p, "invoice_settings");
    if (inv) {
      const before = c.invoice_settings.default_payment_method;
      this.applyInvoiceSettings(c, inv, ctx, false);
      if (before !== c.invoice_settings.default_payment_method) previous.invoice_settings = { default_payment_method: before };
    }
    if (Object.keys(previous).length > 0) this.emit("customer.updated", c, ctx, previous);
    return c;
  }

  deleteCustomer(id: string, ctx: RequestContext): { id: string; object: "customer"; deleted: true } {
    const c = this.getCustomer(id);
    this.customers.delete(id);
    for (const pm of this.paymentMethods.values()) if (pm.customer === id) pm.customer = null;
    this.emit("customer.deleted", c, ctx);
    return { id, object: "customer", deleted: true };
  }

  listCustomers(q: FormObject): ListEnvelope<Customer> {
    const email = optString(q, "email");
    return paginate([...this.customers.values()].filter((c) => email === undefined || c.email === email), q, "/v1/customers");
  }

  // ------------------------------------------------------- payment methods

  private materialize(card: TestCard, billing?: BillingDetails): PaymentMethod {
    const year = new Date().getUTCFullYear() + 3;
    const pm: PaymentMethod = {
      id: newId("pm"),
      object: "payment_method",
      allow_redisplay: "unspecified",
      billing_details: billing ?? emptyBilling(),
      card: {
        brand: card.brand,
        checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "pass" },
        country: card.country,
        display_brand: card.brand === "amex" ? "american_express" : card.brand,
        exp_month: 12,
        exp_year: year,
        fingerprint: `fp${card.brand}${card.last4}`,
        funding: card.funding,
        generated_from: null,
        last4: card.last4,
        networks: { available: [card.brand], preferred: null },
        regulated_status: "unregulated",
        three_d_secure_usage: { supported: true },
        wallet: null,
      },
      created: nowS(),
      customer: null,
      livemode: false,
      metadata: {},
      type: "card",
    };
    this.paymentMethods.set(pm.id, pm);
    this.pmCards.set(pm.id, card);
    return pm;
  }

  /** A stored PaymentMethod, or a fresh one cloned from a magic test id like `pm_card_visa`. */
  resolvePaymentMethod(id: string, param = "payment_method"): PaymentMethod {
    const existing = this.paymentMethods.get(id);
    if (existing) return existing;
    const magic = cardForMagicPaymentMethod(id);
    if (magic) return this.materialize(magic.card);
    throw resourceMissing(id, param);
  }

  /** A PaymentMethod from a chosen test card key (`visa`, `chargeDeclined`, …), for the hosted page. */
  paymentMethodFromTestCard(key: string, billing?: BillingDetails): PaymentMethod {
    const card = TEST_CARDS[key];
    if (!card) throw invalidParam("card", `Unknown test card: ${key}`);
    return this.materialize(card, billing);
  }

  createPaymentMethod(p: FormObject): PaymentMethod {
    allowOnly(p, ["type", "card", "billing_details", "metadata", "allow_redisplay", "customer", "payment_method"]);
    const type = reqString(p, "type");
    if (type !== "card") throw invalidParam("type", `The emulator only supports type=card (got ${type}).`);
    const card = optObject(p, "card");
    if (!card) throw invalidParam("card", "Missing required param: card.", "parameter_missing");
    const token = optString(card, "token", "card[token]");
    const number = optString(card, "number", "card[number]");
    const found = token ? cardForToken(token) : number ? cardForNumber(number) : undefined;
    if (!found) {
      if (token) throw resourceMissing(token, "card[token]");
      throw new StripeApiError(402, { type: "card_error", code: "incorrect_number", param: "card[number]", message: "Your card number is incorrect.", doc_url: DOC });
    }
    const billing = emptyBilling();
    const bd = optObject(p, "billing_details");
    if (bd) {
      billing.email = optString(bd, "email", "billing_details[email]") ?? null;
      billing.name = optString(bd, "name", "billing_details[name]") ?? null;
      billing.phone = optString(bd, "phone", "billing_details[phone]") ?? null;
    }
    const pm = this.materialize(found, billing);
    pm.metadata = mergeMetadata({}, p);
    if (number) {
      pm.card.exp_month = optInt(card, "exp_month", "card[exp_month]") ?? pm.card.exp_month;
      pm.card.exp_year = optInt(card, "exp_year", "card[exp_year]") ?? pm.card.exp_year;
    }
    return pm;
  }

  retrievePaymentMethod(id: string): PaymentMethod {
    return this.resolvePaymentMethod(id, "id");
  }

  attachPaymentMethod(id: string, p: FormObject, ctx: RequestContext): PaymentMethod {
    allowOnly(p, ["customer"]);
    const customerId = reqString(p, "customer");
    this.getCustomer(customerId, "customer");
    const pm = this.resolvePaymentMethod(id, "payment_method");
    if (pm.customer === customerId) return pm;
    if (pm.customer !== null)
      throw invalidRequest(`The payment method you provided has already been attached to a customer.`, "payment_method_unexpected_state");
    pm.customer = customerId;
    this.emit("payment_method.attached", pm, ctx);
    return pm;
  }

  detachPaymentMethod(id: string, ctx: RequestContext): PaymentMethod {
    const pm = this.resolvePaymentMethod(id, "payment_method");
    if (pm.customer === null)
      throw invalidRequest(`The payment method you provided is not attached to a customer so detachment is impossible.`, "payment_method_unexpected_state");
    const customer = this.customers.get(pm.customer);
    const previous = { customer: pm.customer };
    pm.customer = null;
    if (customer && customer.invoice_settings.default_payment_method === id) {
      customer.invoice_settings.default_payment_method = null;
      this.emit("customer.updated", customer, ctx, { invoice_settings: { default_payment_method: id } });
    }
    this.emit("payment_method.detached", pm, ctx, previous);
    return pm;
  }

  listPaymentMethods(customerId: string | undefined, q: FormObject, url: string): ListEnvelope<PaymentMethod> {
    if (customerId !== undefined) this.getCustomer(customerId, "customer");
    const type = optString(q, "type");
    if (type !== undefined && type !== "card")
      return paginate([], q, url);
    return paginate([...this.paymentMethods.values()].filter((pm) => customerId === undefined || pm.customer === customerId), q, url);
  }

  // ----------------------------------------------------------- setup intents

  private getSetupIntent(id: string): SetupIntent {
    const si = this.setupIntents.get(id);
    if (!si) throw resourceMissing(id);
    return si;
  }

  createSetupIntent(p: FormObject, ctx: RequestContext): SetupIntent {
    allowOnly(p, ["customer", "payment_method", "payment_method_types", "allowed_payment_method_types", "excluded_payment_method_types", "usage", "confirm", "metadata", "description", "automatic_payment_methods", "return_url", "payment_method_options", "mandate_data", "single_use", "flow_directions", "attach_to_self"]);
    const customer = optString(p, "customer");
    if (customer) this.getCustomer(customer, "customer");
    const usage = optString(p, "usage") ?? "off_session";
    if (usage !== "off_session" && usage !== "on_session") throw invalidParam("usage", `Invalid usage: ${usage}`);
    const pmId = optString(p, "payment_method");
    const pm = pmId ? this.resolvePaymentMethod(pmId) : undefined;
    const id = newId("seti");
    const si: SetupIntent = {
      id,
      object: "setup_intent",
      allowed_payment_method_types: optStringArray(p, "allowed_payment_method_types") ?? null,
      application: null,
      automatic_payment_methods: null,
      cancellation_reason: null,
      client_secret: `${id}_secret_${newId("x", 24).slice(2)}`,
      created: nowS(),
      customer: customer ?? null,
      description: optString(p, "description") ?? null,
      excluded_payment_method_types: optStringArray(p, "excluded_payment_method_types") ?? null,
      flow_directions: null,
      last_setup_error: null,
      latest_attempt: null,
      livemode: false,
      mandate: null,
      metadata: mergeMetadata({}, p),
      next_action: null,
      on_behalf_of: null,
      payment_method: pm?.id ?? null,
      payment_method_configuration_details: null,
      payment_method_options: { card: { mandate_options: null, network: null, request_three_d_secure: "automatic" } },
      payment_method_types: paymentMethodTypes(p),
      single_use_mandate: null,
      status: pm ? "requires_confirmation" : "requires_payment_method",
      usage,
    };
    this.setupIntents.set(si.id, si);
    this.emit("setup_intent.created", si, ctx);
    if (optBool(p, "confirm")) return this.confirmSetupIntent(si.id, {}, ctx);
    return si;
  }

  retrieveSetupIntent(id: string): SetupIntent {
    return this.getSetupIntent(id);
  }

  confirmSetupIntent(id: string, p: FormObject, ctx: RequestContext): SetupIntent {
    allowOnly(p, ["payment_method", "return_url", "mandate_data", "payment_method_options", "use_stripe_sdk", "allowed_payment_method_types", "excluded_payment_method_types"]);
    const si = this.getSetupIntent(id);
    if (!["requires_payment_method", "requires_confirmation", "requires_action"].includes(si.status))
      throw unexpectedState("setup_intent", si.id, "confirmed", si.status, ["requires_payment_method", "requires_confirmation", "requires_action"]);
    const pmId = optString(p, "payment_method");
    if (pmId) si.payment_method = this.resolvePaymentMethod(pmId).id;
    if (!si.payment_method)
      throw invalidParam("payment_method", "You cannot confirm this SetupIntent because it's missing a payment method. Update the SetupIntent with a payment method and then confirm it again.", "setup_intent_unexpected_state");
    const pm = this.resolvePaymentMethod(si.payment_method);
    if (si.customer && pm.customer && pm.customer !== si.customer)
      throw invalidRequest("The provided PaymentMethod was previously attached to a different Customer.", "payment_method_unexpected_state", "payment_method");
    const card = this.pmCards.get(pm.id);
    const forced = this.opts.takeForcedDecline();
    const decline = forced ? { code: "card_declined", declineCode: "generic_decline", message: "Your card was declined." } : card?.decline;
    if (decline) {
      si.status = "requires_payment_method";
      si.last_setup_error = { type: "card_error", code: decline.code, decline_code: decline.declineCode, doc_url: `${DOC}#${decline.code}`, message: decline.message, payment_method: clone(pm) };
      this.emit("setup_intent.setup_failed", si, ctx);
      throw new StripeApiError(402, { ...si.last_setup_error, type: "card_error", setup_intent: clone(si) });
    }
    if ((card?.authAlways || card?.authOnSetup) && si.status !== "requires_action") {
      si.status = "requires_action";
      si.next_action = threeDSecureAction(si.id);
      this.emit("setup_intent.requires_action", si, ctx);
      return si;
    }
    return this.succeedSetup(si, pm, ctx);
  }

  private succeedSetup(si: SetupIntent, pm: PaymentMethod, ctx: RequestContext): SetupIntent {
    si.status = "succeeded";
    si.next_action = null;
    si.last_setup_error = null;
    this.pmAuthenticated.add(pm.id);
    if (si.customer && pm.customer !== si.customer) {
      pm.customer = si.customer;
      this.emit("payment_method.attached", pm, ctx);
    }
    this.emit("setup_intent.succeeded", si, ctx);
    return si;
  }

  cancelSetupIntent(id: string, p: FormObject, ctx: RequestContext): SetupIntent {
    allowOnly(p, ["cancellation_reason"]);
    const si = this.getSetupIntent(id);
    if (si.status === "succeeded" || si.status === "canceled")
      throw unexpectedState("setup_intent", si.id, "canceled", si.status, ["requires_payment_method", "requires_confirmation", "requires_action"]);
    si.status = "canceled";
    si.cancellation_reason = optString(p, "cancellation_reason") ?? null;
    si.next_action = null;
    this.emit("setup_intent.canceled", si, ctx);
    return si;
  }

  // --------------------------------------------------------- payment intents

  private getPaymentIntent(id: string, param = "id"): PaymentIntent {
    const pi = this.paymentIntents.get(id);
    if (!pi) throw resourceMissing(id, param);
    return pi;
  }

  createPaymentIntent(p: FormObject, ctx: RequestContext): PaymentIntent {
    allowOnly(p, [
      "amount", "currency", "customer", "payment_method", "capture_method", "confirm", "off_session", "metadata",
      "description", "payment_method_types", "allowed_payment_method_types", "excluded_payment_method_types", "setup_future_usage", "receipt_email", "statement_descriptor",
      "statement_descriptor_suffix", "return_url", "error_on_requires_action", "automatic_payment_methods",
      "confirmation_method", "payment_method_options", "mandate_data", "use_stripe_sdk",
    ]);
    const amount = optInt(p, "amount");
    if (amount === undefined) throw invalidParam("amount", "Missing required param: amount.", "parameter_missing");
    const currency = reqString(p, "currency").toLowerCase();
    if (amount < 50) throw invalidParam("amount", `Amount must be at least $0.50 ${currency}`, "amount_too_small");
    if (amount > 99_999_999) throw invalidParam("amount", "Amount must be no more than $999,999.99", "amount_too_large");
    const customer = optString(p, "customer");
    if (customer) this.getCustomer(customer, "customer");
    const capture = optString(p, "capture_method") ?? "automatic";
    if (capture !== "automatic" && capture !== "manual" && capture !== "automatic_async")
      throw invalidParam("capture_method", `Invalid capture_method: ${capture}`);
    const sfu = optString(p, "setup_future_usage");
    if (sfu !== undefined && sfu !== "off_session" && sfu !== "on_session") throw invalidParam("setup_future_usage", `Invalid setup_future_usage: ${sfu}`);
    const pmId = optString(p, "payment_method");
    const pm = pmId ? this.resolvePaymentMethod(pmId) : undefined;
    const id = newId("pi");
    const pi: PaymentIntent = {
      id,
      object: "payment_intent",
      allowed_payment_method_types: optStringArray(p, "allowed_payment_method_types") ?? null,
      amount,
      amount_capturable: 0,
      amount_details: { tip: {} },
      amount_received: 0,
      application: null,
      application_fee_amount: null,
      automatic_payment_methods: null,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: capture,
      client_secret: `${id}_secret_${newId("x", 24).slice(2)}`,
      confirmation_method: optString(p, "confirmation_method") === "manual" ? "manual" : "automatic",
      created: nowS(),
      currency,
      customer: customer ?? null,
      description: optString(p, "description") ?? null,
      excluded_payment_method_types: optStringArray(p, "excluded_payment_method_types") ?? null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: mergeMetadata({}, p),
      next_action: null,
      on_behalf_of: null,
      payment_method: pm?.id ?? null,
      payment_method_configuration_details: null,
      payment_method_options: { card: { installments: null, mandate_options: null, network: null, request_three_d_secure: "automatic" } },
      payment_method_types: paymentMethodTypes(p),
      processing: null,
      receipt_email: optString(p, "receipt_email") ?? null,
      review: null,
      setup_future_usage: sfu ?? null,
      shipping: null,
      source: null,
      statement_descriptor: optString(p, "statement_descriptor") ?? null,
      statement_descriptor_suffix: optString(p, "statement_descriptor_suffix") ?? null,
      status: pm ? "requires_confirmation" : "requires_payment_method",
      transfer_data: null,
      transfer_group: null,
    };
    this.paymentIntents.set(pi.id, pi);
    this.emit("payment_intent.created", pi, ctx);
    if (optBool(p, "confirm")) {
      const confirmParams: FormObject = {};
      if (p.off_session !== undefined) confirmParams.off_session = p.off_session;
      if (p.error_on_requires_action !== undefined) confirmParams.error_on_requires_action = p.error_on_requires_action;
      return this.confirmPaymentIntent(pi.id, confirmParams, ctx);
    }
    return pi;
  }

  retrievePaymentIntent(id: string): PaymentIntent {
    return this.getPaymentIntent(id);
  }

  /** Stripe has no `payment_intent.updated` event, so updates emit nothing. */
  updatePaymentIntent(id: string, p: FormObject): PaymentIntent {
    allowOnly(p, ["amount", "currency", "customer", "payment_method", "metadata", "description", "receipt_email", "allowed_payment_method_types", "excluded_payment_method_types", "setup_future_usage", "capture_method", "statement_descriptor", "statement_descriptor_suffix"]);
    const pi = this.getPaymentIntent(id);
    const editable = ["requires_payment_method", "requires_confirmation", "requires_action"].includes(pi.status);
    const touchesMoney = ["amount", "currency", "customer", "payment_method", "capture_method"].some((k) => p[k] !== undefined);
    if (touchesMoney && !editable)
      throw unexpectedState("payment_intent", pi.id, "updated", pi.status, ["requires_payment_method", "requires_confirmation", "requires_action"]);
    const amount = optInt(p, "amount");
    if (amount !== undefined) {
      if (amount < 50) throw invalidParam("amount", `Amount must be at least $0.50 ${pi.currency}`, "amount_too_small");
      pi.amount = amount;
    }
    const currency = optString(p, "currency");
    if (currency) pi.currency = currency.toLowerCase();
    const sfu = optString(p, "setup_future_usage");
    if (sfu === "off_session" || sfu === "on_session") pi.setup_future_usage = sfu;
    else if (sfu === "") pi.setup_future_usage = null;
    const receipt = optString(p, "receipt_email");
    if (receipt !== undefined) pi.receipt_email = receipt || null;
    const customer = optString(p, "customer");
    if (customer) pi.customer = this.getCustomer(customer, "customer").id;
    const capture = optString(p, "capture_method");
    if (capture === "manual" || capture === "automatic" || capture === "automatic_async") pi.capture_method = capture;
    const pmId = optString(p, "payment_method");
    if (pmId) {
      pi.payment_method = this.resolvePaymentMethod(pmId).id;
      pi.status = "requires_confirmation";
    }
    const description = optString(p, "description");
    if (description !== undefined) pi.description = description || null;
    if (p.metadata !== undefined) pi.metadata = mergeMetadata(pi.metadata, p);
    return pi;
  }

  listPaymentIntents(q: FormObject): ListEnvelope<PaymentIntent> {
    const customer = optString(q, "customer");
    return paginate([...this.paymentIntents.values()].filter((pi) => customer === undefined || pi.customer === customer), q, "/v1/payment_intents");
  }

  confirmPaymentIntent(id: string, p: FormObject, ctx: RequestContext): PaymentIntent {
    allowOnly(p, ["payment_method", "off_session", "return_url", "setup_future_usage", "capture_method", "error_on_requires_action", "mandate_data", "payment_method_options", "payment_method_types", "allowed_payment_method_types", "excluded_payment_method_types", "receipt_email", "use_stripe_sdk"]);
    const pi = this.getPaymentIntent(id);
    const confirmable = ["requires_payment_method", "requires_confirmation", "requires_action"];
    if (!confirmable.includes(pi.status)) throw unexpectedState("payment_intent", pi.id, "confirmed", pi.status, confirmable);
    const pmId = optString(p, "payment_method");
    if (pmId) pi.payment_method = this.resolvePaymentMethod(pmId).id;
    const capture = optString(p, "capture_method");
    if (capture === "manual" || capture === "automatic" || capture === "automatic_async") pi.capture_method = capture;
    const sfu = optString(p, "setup_future_usage");
    if (sfu === "off_session" || sfu === "on_session") pi.setup_future_usage = sfu;
    if (!pi.payment_method)
      throw invalidParam(
        "payment_method",
        "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with a customer, you must provide a payment_method.",
        "payment_intent_unexpected_state",
      );
    const pm = this.resolvePaymentMethod(pi.payment_method);
    if (pm.customer && pi.customer !== pm.customer)
      throw invalidRequest(
        pi.customer
          ? "The provided PaymentMethod was previously attached to a different Customer."
          : "The provided PaymentMethod is attached to a Customer, so you must also provide that Customer on the PaymentIntent.",
        "payment_method_unexpected_state",
        "payment_method",
      );
    const offSession = p.off_session === "true" || p.off_session === "one_off" || p.off_session === "recurring";
    return this.attemptPayment(pi, pm, offSession, ctx);
  }

  /** Authorizes (and, for automatic capture, captures) `pi` with `pm`, following the test card's behaviour. */
  private attemptPayment(pi: PaymentIntent, pm: PaymentMethod, offSession: boolean, ctx: RequestContext): PaymentIntent {
    const card = this.pmCards.get(pm.id);
    const forced = this.opts.takeForcedDecline();
    const decline = forced ? { code: "card_declined", declineCode: "generic_decline", message: "Your card was declined." } : card?.decline;
    if (decline) return this.failPayment(pi, pm, decline.code, decline.declineCode, decline.message, ctx, true);
    const needsAuth = !this.piAuthenticated.has(pi.id) && (card?.authAlways === true || (card?.authOnSetup === true && !this.pmAuthenticated.has(pm.id)));
    if (needsAuth) {
      if (offSession)
        return this.failPayment(pi, pm, "authentication_required", "authentication_required", "Your card was declined. This transaction requires authentication.", ctx, false);
      pi.status = "requires_action";
      pi.next_action = threeDSecureAction(pi.id);
      this.emit("payment_intent.requires_action", pi, ctx);
      return pi;
    }
    this.piAuthenticated.delete(pi.id);
    const charge = this.newCharge(pi, pm, "succeeded");
    pi.latest_charge = charge.id;
    pi.last_payment_error = null;
    pi.next_action = null;
    if (pi.capture_method === "manual") {
      pi.status = "requires_capture";
      pi.amount_capturable = pi.amount;
      this.authorizedAt.set(pi.id, Date.now());
      this.emit("charge.succeeded", charge, ctx);
      this.emit("payment_intent.amount_capturable_updated", pi, ctx);
    } else {
      this.captureCharge(charge, pi.amount);
      pi.status = "succeeded";
      pi.amount_received = pi.amount;
      this.emit("charge.succeeded", charge, ctx);
      this.emit("payment_intent.succeeded", pi, ctx);
    }
    if (pi.setup_future_usage && pi.customer && pm.customer !== pi.customer) {
      pm.customer = pi.customer;
      this.pmAuthenticated.add(pm.id);
      this.emit("payment_method.attached", pm, ctx);
    }
    return pi;
  }

  private failPayment(
    pi: PaymentIntent,
    pm: PaymentMethod,
    code: string,
    declineCode: string,
    message: string,
    ctx: RequestContext,
    withCharge: boolean,
  ): never {
    const charge = withCharge ? this.newCharge(pi, pm, "failed", code, message) : undefined;
    if (charge) pi.latest_charge = charge.id;
    pi.status = "requires_payment_method";
    pi.next_action = null;
    const err: ErrorDetails = {
      type: "card_error",
      code,
      decline_code: declineCode,
      doc_url: `${DOC}#${code}`,
      message,
      payment_method: clone(pm),
      ...(charge ? { charge: charge.id } : {}),
    };
    pi.last_payment_error = err;
    if (charge) this.emit("charge.failed", charge, ctx);
    this.emit("payment_intent.payment_failed", pi, ctx);
    throw new StripeApiError(402, { ...err, type: "card_error", payment_intent: clone(pi) });
  }

  private newCharge(pi: PaymentIntent, pm: PaymentMethod, status: "succeeded" | "failed", failureCode?: string, failureMessage?: string): Charge {
    const failed = status === "failed";
    const charge: Charge = {
      id: newId("ch"),
      object: "charge",
      amount: pi.amount,
      amount_captured: 0,
      amount_refunded: 0,
      application: null,
      application_fee: null,
      application_fee_amount: null,
      balance_transaction: null,
      billing_details: clone(pm.billing_details),
      calculated_statement_descriptor: "CALL ME BACK",
      captured: false,
      created: nowS(),
      currency: pi.currency,
      customer: pi.customer,
      description: pi.description,
      disputed: false,
      failure_balance_transaction: null,
      failure_code: failureCode ?? null,
      failure_message: failureMessage ?? null,
      fraud_details: {},
      livemode: false,
      metadata: { ...pi.metadata },
      on_behalf_of: null,
      outcome: {
        advice_code: null,
        network_advice_code: null,
        network_decline_code: null,
        network_status: failed ? "declined_by_network" : "approved_by_network",
        reason: failed ? (this.pmCards.get(pm.id)?.decline?.declineCode ?? "generic_decline") : null,
        risk_level: "normal",
        risk_score: 20,
        seller_message: failed ? "The bank did not return any further details with this decline." : "Payment complete.",
        type: failed ? "issuer_declined" : "authorized",
      },
      paid: !failed,
      payment_intent: pi.id,
      payment_method: pm.id,
      payment_method_details: {
        card: {
          amount_authorized: failed ? 0 : pi.amount,
          brand: pm.card.brand,
          capture_before: nowS() + 7 * 24 * 3600,
          country: pm.card.country,
          exp_month: pm.card.exp_month,
          exp_year: pm.card.exp_year,
          fingerprint: pm.card.fingerprint,
          funding: pm.card.funding,
          last4: pm.card.last4,
          network: pm.card.brand,
        },
        type: "card",
      },
      receipt_email: pi.receipt_email,
      receipt_number: null,
      receipt_url: `${this.opts.baseUrl()}/receipts/${pi.id}`,
      refunded: false,
      review: null,
      shipping: null,
      source: null,
      source_transfer: null,
      statement_descriptor: pi.statement_descriptor,
      statement_descriptor_suffix: pi.statement_descriptor_suffix,
      status,
      transfer_data: null,
      transfer_group: null,
    };
    this.charges.set(charge.id, charge);
    return charge;
  }

  /** Captures `amount` of an authorized charge; the uncaptured rest is released (counted as refunded, as Stripe does). */
  private captureCharge(charge: Charge, amount: number): void {
    charge.captured = true;
    charge.amount_captured = amount;
    charge.amount_refunded = charge.amount - amount;
    charge.refunded = charge.amount_refunded === charge.amount;
    const fee = stripeFeeCents(amount);
    const txn: BalanceTransaction = {
      id: newId("txn"),
      object: "balance_transaction",
      amount,
      available_on: nowS() + 2 * 24 * 3600,
      created: nowS(),
      currency: charge.currency,
      description: charge.description,
      exchange_rate: null,
      fee,
      fee_details: [{ amount: fee, application: null, currency: charge.currency, description: "Stripe processing fees", type: "stripe_fee" }],
      net: amount - fee,
      reporting_category: "charge",
      source: charge.id,
      status: "pending",
      type: "charge",
    };
    this.balanceTransactions.set(txn.id, txn);
    charge.balance_transaction = txn.id;
  }

  capturePaymentIntent(id: string, p: FormObject, ctx: RequestContext): PaymentIntent {
    allowOnly(p, ["amount_to_capture", "metadata", "final_capture", "statement_descriptor", "statement_descriptor_suffix", "application_fee_amount"]);
    this.sweepExpiredAuthorizations();
    const pi = this.getPaymentIntent(id);
    if (pi.status !== "requires_capture") throw unexpectedState("payment_intent", pi.id, "captured", pi.status, ["requires_capture"]);
    const amount = optInt(p, "amount_to_capture") ?? pi.amount_capturable;
    if (amount > pi.amount_capturable)
      throw invalidParam("amount_to_capture", `The amount to capture (${amount}) must be less than or equal to the amount capturable (${pi.amount_capturable}).`, "amount_too_large");
    if (amount < 0) throw invalidParam("amount_to_capture", "amount_to_capture must be positive.", "parameter_invalid_integer");
    if (amount > 0 && amount < 50) throw invalidParam("amount_to_capture", `Amount must be at least $0.50 ${pi.currency}`, "amount_too_small");
    const charge = pi.latest_charge ? this.charges.get(pi.latest_charge) : undefined;
    if (!charge) throw invalidRequest(`PaymentIntent ${pi.id} has no charge to capture.`);
    if (p.metadata !== undefined) pi.metadata = mergeMetadata(pi.metadata, p);
    this.captureCharge(charge, amount);
    pi.status = "succeeded";
    pi.amount_received = amount;
    pi.amount_capturable = 0;
    this.authorizedAt.delete(pi.id);
    this.emit("charge.captured", charge, ctx);
    this.emit("payment_intent.succeeded", pi, ctx);
    return pi;
  }

  cancelPaymentIntent(id: string, p: FormObject, ctx: RequestContext, reason?: string): PaymentIntent {
    allowOnly(p, ["cancellation_reason"]);
    const pi = this.getPaymentIntent(id);
    const cancelable = ["requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing"];
    if (!cancelable.includes(pi.status)) throw unexpectedState("payment_intent", pi.id, "canceled", pi.status, cancelable);
    const r = reason ?? optString(p, "cancellation_reason");
    const allowed = ["duplicate", "fraudulent", "requested_by_customer", "abandoned", "automatic"];
    if (r !== undefined && !allowed.includes(r)) throw invalidParam("cancellation_reason", `Invalid cancellation_reason: must be one of ${allowed.slice(0, 4).join(", ")}`);
    if (pi.status === "requires_capture" && pi.latest_charge) {
      const charge = this.charges.get(pi.latest_charge);
      if (charge) {
        charge.amount_refunded = charge.amount;
        charge.refunded = true;
        this.emit("charge.refunded", charge, ctx);
      }
    }
    pi.status = "canceled";
    pi.canceled_at = nowS();
    pi.cancellation_reason = r ?? null;
    pi.amount_capturable = 0;
    pi.next_action = null;
    this.authorizedAt.delete(pi.id);
    this.piAuthenticated.delete(pi.id);
    this.emit("payment_intent.canceled", pi, ctx);
    return pi;
  }

  /** Cancels uncaptured authorizations older than the `authorizationExpiryMs` knob (reason `automatic`). */
  sweepExpiredAuthorizations(): void {
    const ttl = this.opts.authorizationExpiryMs();
    if (ttl <= 0) return;
    const now = Date.now();
    for (const [id, at] of [...this.authorizedAt]) if (now - at >= ttl) this.expireAuthorization(id);
  }

  /** Lets an authorization hold lapse now, as the card network would after 7 days. */
  expireAuthorization(id: string): PaymentIntent {
    const pi = this.getPaymentIntent(id);
    if (pi.status !== "requires_capture") throw unexpectedState("payment_intent", pi.id, "expired", pi.status, ["requires_capture"]);
    const charge = pi.latest_charge ? this.charges.get(pi.latest_charge) : undefined;
    if (charge) this.emit("charge.expired", charge, AUTOMATIC);
    return this.cancelPaymentIntent(id, {}, AUTOMATIC, "automatic");
  }

  /** Completes (or fails) the 3-D Secure step of a PaymentIntent or SetupIntent in `requires_action`. */
  authenticate(id: string, succeed: boolean, ctx: RequestContext): PaymentIntent | SetupIntent {
    const si = this.setupIntents.get(id);
    if (si) {
      if (si.status !== "requires_action") throw unexpectedState("setup_intent", si.id, "authenticated", si.status, ["requires_action"]);
      const pm = this.resolvePaymentMethod(si.payment_method ?? "");
      if (succeed) return this.succeedSetup(si, pm, ctx);
      si.status = "requires_payment_method";
      si.next_action = null;
      si.last_setup_error = {
        type: "invalid_request_error",
        code: "setup_intent_authentication_failure",
        doc_url: `${DOC}#setup_intent_authentication_failure`,
        message: "The latest attempt to set up the payment method has failed because authentication failed.",
        payment_method: clone(pm),
      };
      this.emit("setup_intent.setup_failed", si, ctx);
      return si;
    }
    const pi = this.getPaymentIntent(id);
    if (pi.status !== "requires_action") throw unexpectedState("payment_intent", pi.id, "authenticated", pi.status, ["requires_action"]);
    const pm = this.resolvePaymentMethod(pi.payment_method ?? "");
    if (succeed) {
      this.piAuthenticated.add(pi.id);
      return this.attemptPayment(pi, pm, false, ctx);
    }
    pi.status = "requires_payment_method";
    pi.next_action = null;
    pi.last_payment_error = {
      type: "invalid_request_error",
      code: "payment_intent_authentication_failure",
      doc_url: `${DOC}#payment_intent_authentication_failure`,
      message: "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
      payment_method: clone(pm),
    };
    this.emit("payment_intent.payment_failed", pi, ctx);
    return pi;
  }

  // ----------------------------------------------------------------- charges

  retrieveCharge(id: string): Charge {
    const c = this.charges.get(id);
    if (!c) throw resourceMissing(id);
    return c;
  }

  listCharges(q: FormObject): ListEnvelope<Charge> {
    const customer = optString(q, "customer");
    const pi = optString(q, "payment_intent");
    return paginate(
      [...this.charges.values()].filter((c) => (customer === undefined || c.customer === customer) && (pi === undefined || c.payment_intent === pi)),
      q,
      "/v1/charges",
    );
  }

  retrieveBalanceTransaction(id: string): BalanceTransaction {
    const t = this.balanceTransactions.get(id);
    if (!t) throw resourceMissing(id);
    return t;
  }

  // ----------------------------------------------------------------- refunds

  createRefund(p: FormObject, ctx: RequestContext): Refund {
    allowOnly(p, ["payment_intent", "charge", "amount", "reason", "metadata", "instructions_email", "origin", "refund_application_fee", "reverse_transfer"]);
    const piId = optString(p, "payment_intent");
    const chId = optString(p, "charge");
    let charge: Charge | undefined;
    if (chId) charge = this.retrieveCharge(chId);
    else if (piId) {
      const pi = this.getPaymentIntent(piId, "payment_intent");
      charge = pi.latest_charge ? this.charges.get(pi.latest_charge) : undefined;
      if (!charge || pi.status !== "succeeded")
        throw invalidRequest(`This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, "charge_not_refundable", "payment_intent");
    } else throw invalidParam("charge", "One of the following params should be provided for this request: payment_intent or charge.", "parameter_missing");
    if (!charge.captured || charge.status !== "succeeded")
      throw invalidRequest(`Charge ${charge.id} has not been captured; cancel the PaymentIntent to release the authorization.`, "charge_not_refundable", "charge");
    const remaining = charge.amount - charge.amount_refunded;
    if (remaining <= 0) throw invalidRequest(`Charge ${charge.id} has already been refunded.`, "charge_already_refunded");
    const amount = optInt(p, "amount") ?? remaining;
    if (amount <= 0) throw invalidParam("amount", "Invalid positive integer", "parameter_invalid_integer");
    if (amount > remaining)
      throw invalidParam(
        "amount",
        `Refund amount ($${(amount / 100).toFixed(2)}) is greater than unrefunded amount on charge ($${(remaining / 100).toFixed(2)})`,
        "amount_too_large",
      );
    const reason = optString(p, "reason") ?? null;
    if (reason !== null && !["duplicate", "fraudulent", "requested_by_customer"].includes(reason)) throw invalidParam("reason", `Invalid reason: ${reason}`);
    const txn: BalanceTransaction = {
      id: newId("txn"),
      object: "balance_transaction",
      amount: -amount,
      available_on: nowS(),
      created: nowS(),
      currency: charge.currency,
      description: "REFUND FOR CHARGE",
      exchange_rate: null,
      fee: 0,
      fee_details: [],
      net: -amount,
      reporting_category: "refund",
      source: "",
      status: "available",
      type: "refund",
    };
    const refund: Refund = {
      id: newId("re"),
      object: "refund",
      amount,
      balance_transaction: txn.id,
      charge: charge.id,
      created: nowS(),
      currency: charge.currency,
      destination_details: { card: { reference_status: "pending", reference_type: "acquirer_reference_number", type: "refund" }, type: "card" },
      metadata: mergeMetadata({}, p),
      payment_intent: charge.payment_intent,
      reason,
      receipt_number: null,
      source_transfer_reversal: null,
      status: "succeeded",
      transfer_reversal: null,
    };
    txn.source = refund.id;
    this.balanceTransactions.set(txn.id, txn);
    this.refunds.set(refund.id, refund);
    const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded === charge.amount;
    this.emit("refund.created", refund, ctx);
    this.emit("charge.refunded", charge, ctx, previous);
    return refund;
  }

  retrieveRefund(id: string): Refund {
    const r = this.refunds.get(id);
    if (!r) throw resourceMissing(id);
    return r;
  }

  listRefunds(q: FormObject): ListEnvelope<Refund> {
    const charge = optString(q, "charge");
    const pi = optString(q, "payment_intent");
    return paginate(
      [...this.refunds.values()].filter((r) => (charge === undefined || r.charge === charge) && (pi === undefined || r.payment_intent === pi)),
      q,
      "/v1/refunds",
    );
  }

  // ---------------------------------------------------------------- checkout

  private getSession(id: string): CheckoutSession {
    const s = this.sessions.get(id);
    if (!s) throw resourceMissing(id);
    if (s.status === "open" && s.expires_at <= nowS()) this.expireSessionNow(s, AUTOMATIC);
    return s;
  }

  createCheckoutSession(p: FormObject, ctx: RequestContext): CheckoutSession {
    allowOnly(p, [
      "mode", "line_items", "success_url", "cancel_url", "customer", "customer_email", "customer_creation", "metadata",
      "client_reference_id", "payment_method_types", "allowed_payment_method_types", "excluded_payment_method_types", "payment_intent_data", "expires_at", "locale", "submit_type",
      "allow_promotion_codes", "billing_address_collection", "ui_mode", "currency",
    ]);
    const mode = optString(p, "mode") ?? "payment";
    if (mode !== "payment") throw invalidParam("mode", `The emulator supports mode=payment only (got ${mode}).`);
    const successUrl = reqString(p, "success_url");
    const customer = optString(p, "customer");
    if (customer) this.getCustomer(customer, "customer");
    const customerEmail = optString(p, "customer_email");
    if (customer && customerEmail) throw invalidParam("customer_email", "You may only specify one of these parameters: customer, customer_email.");
    const rawItems = optArray(p, "line_items");
    if (!rawItems || rawItems.length === 0) throw invalidParam("line_items", "line_items is required in payment mode.", "parameter_missing");
    const created = nowS();
    const items: LineItem[] = rawItems.map((raw, i) => lineItemFrom(raw, i, created));
    const currency = items[0]?.currency ?? "usd";
    if (items.some((li) => li.currency !== currency)) throw invalidParam("line_items", "All line items must use the same currency.");
    const total = items.reduce((s, li) => s + li.amount_total, 0);
    if (total < 50) throw invalidParam("line_items", `The Checkout Session's total amount due must add up to at least $0.50 ${currency}`, "amount_too_small");
    const expiresAt = optInt(p, "expires_at") ?? created + 24 * 3600;
    if (expiresAt < created + 30 * 60 || expiresAt > created + 24 * 3600)
      throw invalidParam("expires_at", "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.");
    const cc = optString(p, "customer_creation");
    if (cc !== undefined && cc !== "always" && cc !== "if_required") throw invalidParam("customer_creation", `Invalid customer_creation: ${cc}`);
    const pid = optObject(p, "payment_intent_data");
    if (pid) allowOnly(pid, ["capture_method", "metadata", "description", "setup_future_usage", "receipt_email", "statement_descriptor", "statement_descriptor_suffix"]);
    const id = newId("cs_test", 58);
    const session: CheckoutSession = {
      id,
      object: "checkout.session",
      after_expiration: null,
      allowed_payment_method_types: optStringArray(p, "allowed_payment_method_types") ?? null,
      allow_promotion_codes: optBool(p, "allow_promotion_codes") ?? null,
      amount_subtotal: total,
      amount_total: total,
      automatic_tax: { enabled: false, liability: null, status: null },
      billing_address_collection: optString(p, "billing_address_collection") ?? null,
      cancel_url: optString(p, "cancel_url") ?? null,
      client_reference_id: optString(p, "client_reference_id") ?? null,
      client_secret: null,
      created,
      currency,
      custom_fields: [],
      custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
      customer: customer ?? null,
      customer_creation: customer ? null : ((cc as "always" | "if_required" | undefined) ?? "if_required"),
      customer_details: null,
      customer_email: customerEmail ?? null,
      expires_at: expiresAt,
      invoice: null,
      livemode: false,
      locale: optString(p, "locale") ?? null,
      metadata: mergeMetadata({}, p),
      mode: "payment",
      payment_intent: null,
      payment_link: null,
      payment_method_collection: "if_required",
      payment_method_types: paymentMethodTypes(p),
      payment_status: "unpaid",
      phone_number_collection: { enabled: false },
      recovered_from: null,
      setup_intent: null,
      shipping_address_collection: null,
      shipping_cost: null,
      status: "open",
      submit_type: optString(p, "submit_type") ?? null,
      subscription: null,
      success_url: successUrl,
      total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
      ui_mode: "hosted",
      url: `${this.opts.baseUrl()}/checkout/${id}`,
    };
    this.sessions.set(id, session);
    this.lineItems.set(id, items);
    this.sessionPaymentIntentData.set(id, pid ?? {});
    return session;
  }

  retrieveCheckoutSession(id: string): CheckoutSession {
    return this.getSession(id);
  }

  listCheckoutSessions(q: FormObject): ListEnvelope<CheckoutSession> {
    const pi = optString(q, "payment_intent");
    const customer = optString(q, "customer");
    const status = optString(q, "status");
    return paginate(
      [...this.sessions.values()].filter(
        (s) => (pi === undefined || s.payment_intent === pi) && (customer === undefined || s.customer === customer) && (status === undefined || s.status === status),
      ),
      q,
      "/v1/checkout/sessions",
    );
  }

  listLineItems(id: string, q: FormObject): ListEnvelope<LineItem> {
    this.getSession(id);
    return paginate([...(this.lineItems.get(id) ?? [])].reverse(), q, `/v1/checkout/sessions/${id}/line_items`);
  }

  private expireSessionNow(s: CheckoutSession, ctx: RequestContext): void {
    s.status = "expired";
    s.url = null;
    this.emit("checkout.session.expired", s, ctx);
  }

  expireCheckoutSession(id: string, ctx: RequestContext): CheckoutSession {
    const s = this.getSession(id);
    if (s.status !== "open") throw invalidRequest(`Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of ${s.status}.`, "checkout_session_unexpected_state");
    this.expireSessionNow(s, ctx);
    return s;
  }

  /**
   * Pays an open session the way the hosted page does: a PaymentMethod from the chosen test card,
   * a PaymentIntent confirmed on-session (3-D Secure is passed, the buyer is present), then
   * `checkout.session.completed`. A declining card throws the 402 card error and leaves the session
   * open; the next attempt reuses its PaymentIntent with the new card, as Stripe does.
   */
  completeCheckoutSession(id: string, opts: { card?: string; email?: string; name?: string }, ctx: RequestContext): CheckoutSession {
    const s = this.getSession(id);
    if (s.status !== "open") throw invalidRequest(`This Checkout Session is ${s.status} and can no longer be paid.`, "checkout_session_unexpected_state");
    const existing = s.customer ? this.customers.get(s.customer) : undefined;
    const email = opts.email || s.customer_email || existing?.email || "buyer@example.com";
    const name = opts.name || existing?.name || null;
    const billing = emptyBilling();
    billing.email = email;
    billing.name = name;
    billing.address.country = "US";
    billing.address.postal_code = "94103";
    const pm = this.paymentMethodFromTestCard(opts.card ?? "visa", billing);
    let customerId = s.customer;
    if (!customerId && s.customer_creation === "always") {
      const c = this.createCustomer({ email, ...(name ? { name } : {}) }, ctx);
      customerId = c.id;
    }
    let pi = s.payment_intent ? this.paymentIntents.get(s.payment_intent) : undefined;
    if (pi && pi.status === "requires_payment_method") {
      pi.payment_method = pm.id;
      if (customerId && !pi.customer) pi.customer = customerId;
    } else {
      const pid = this.sessionPaymentIntentData.get(id) ?? {};
      const piParams: FormObject = { amount: String(s.amount_total), currency: s.currency, payment_method: pm.id };
      if (customerId) piParams.customer = customerId;
      for (const key of ["capture_method", "metadata", "description", "setup_future_usage", "receipt_email", "statement_descriptor", "statement_descriptor_suffix"]) {
        const v = pid[key];
        if (v !== undefined) piParams[key] = v;
      }
      pi = this.createPaymentIntent(piParams, ctx);
      s.payment_intent = pi.id;
    }
    const result = this.confirmPaymentIntent(pi.id, {}, ctx);
    if (result.status === "requires_action") this.authenticate(pi.id, true, ctx);
    s.customer = customerId;
    s.customer_details = { address: null, email, name, phone: null, tax_exempt: "none", tax_ids: [] };
    s.status = "complete";
    s.payment_status = "paid";
    s.url = null;
    this.emit("checkout.session.completed", s, ctx);
    return s;
  }

  // ------------------------------------------------------------------ events

  retrieveEvent(id: string): StripeEvent {
    const e = this.events.get(id);
    if (!e) throw resourceMissing(id);
    return e;
  }

  listEvents(q: FormObject): ListEnvelope<StripeEvent> {
    const type = optString(q, "type");
    const types = optStringArray(q, "types");
    const matches = (t: string): boolean => {
      if (types && !types.includes(t)) return false;
      if (type === undefined) return true;
      if (type.endsWith(".*")) return t.startsWith(type.slice(0, -1));
      return t === type;
    };
    const created = q.created;
    let gte = -Infinity;
    let lte = Infinity;
    if (typeof created === "string") gte = lte = Number(created);
    else if (created && typeof created === "object" && !Array.isArray(created)) {
      if (typeof created.gte === "string") gte = Number(created.gte);
      if (typeof created.gt === "string") gte = Number(created.gt) + 1;
      if (typeof created.lte === "string") lte = Number(created.lte);
      if (typeof created.lt === "string") lte = Number(created.lt) - 1;
    }
    return paginate([...this.events.values()].filter((e) => matches(e.type) && e.created >= gte && e.created <= lte), q, "/v1/events");
  }
}

/** The emulator only has cards: `payment_method_types` is `["card"]` unless the caller excluded or disallowed it. */
function paymentMethodTypes(p: FormObject): string[] {
  const legacy = optStringArray(p, "payment_method_types");
  const allowed = optStringArray(p, "allowed_payment_method_types") ?? legacy;
  const excluded = optStringArray(p, "excluded_payment_method_types") ?? [];
  if ((allowed && !allowed.includes("card")) || excluded.includes("card"))
    throw invalidParam("allowed_payment_method_types", "The emulator supports card payments only.");
  return ["card"];
}

function threeDSecureAction(intentId: string): PaymentIntent["next_action"] {
  return {
    type: "use_stripe_sdk",
    use_stripe_sdk: { type: "three_d_secure_redirect", stripe_js: `/__sandbox/intents/${intentId}/authenticate`, source: `src_${intentId}` },
  };
}

function lineItemFrom(raw: unknown, i: number, created: number): LineItem {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw invalidParam(`line_items[${i}]`, "Invalid line item");
  const li = raw as FormObject;
  const param = (k: string): string => `line_items[${i}][${k}]`;
  const quantity = optInt(li, "quantity", param("quantity")) ?? 1;
  if (quantity < 1) throw invalidParam(param("quantity"), "Quantity must be at least 1.");
  let unitAmount: number | undefined;
  let currency: string | undefined;
  let name: string | undefined;
  const pd = optObject(li, "price_data", param("price_data"));
  if (pd) {
    unitAmount = optInt(pd, "unit_amount", param("price_data][unit_amount"));
    const dec = optString(pd, "unit_amount_decimal", param("price_data][unit_amount_decimal"));
    if (unitAmount === undefined && dec !== undefined) {
      if (!/^\d+$/.test(dec)) throw invalidParam(param("price_data][unit_amount_decimal"), "The emulator accepts whole-cent unit_amount_decimal only.");
      unitAmount = Number(dec);
    }
    currency = optString(pd, "currency", param("price_data][currency"));
    const product = optObject(pd, "product_data", param("price_data][product_data"));
    name = product ? optString(product, "name", param("price_data][product_data][name")) : optString(pd, "product", param("price_data][product"));
  } else if (li.price !== undefined) {
    throw resourceMissing(String(li.price), param("price"));
  } else {
    unitAmount = optInt(li, "amount", param("amount"));
    currency = optString(li, "currency", param("currency"));
    name = optString(li, "name", param("name"));
  }
  if (unitAmount === undefined) throw invalidParam(param("price_data][unit_amount"), "Missing required param: unit_amount.", "parameter_missing");
  if (!currency) throw invalidParam(param("price_data][currency"), "Missing required param: currency.", "parameter_missing");
  if (!name) throw invalidParam(param("price_data][product_data][name"), "Missing required param: name.", "parameter_missing");
  const cur = currency.toLowerCase();
  const total = unitAmount * quantity;
  return {
    id: newId("li"),
    object: "item",
    amount_discount: 0,
    amount_subtotal: total,
    amount_tax: 0,
    amount_total: total,
    currency: cur,
    description: name,
    price: {
      id: newId("price"),
      object: "price",
      active: false,
      billing_scheme: "per_unit",
      created,
      currency: cur,
      livemode: false,
      lookup_key: null,
      metadata: {},
      nickname: null,
      product: newId("prod", 14),
      recurring: null,
      tax_behavior: "unspecified",
      type: "one_time",
      unit_amount: unitAmount,
      unit_amount_decimal: String(unitAmount),
    },
    quantity,
  };
}

/** Newest first, `limit` (1–100, default 10), `starting_after` / `ending_before` cursors. */
export function paginate<T extends { id: string }>(itemsOldestFirst: T[], q: FormObject, url: string): ListEnvelope<T> {
  const items = [...itemsOldestFirst].reverse();
  const limit = optInt(q, "limit") ?? 10;
  if (limit < 1 || limit > 100) throw invalidParam("limit", "This value must be between 1 and 100 (it currently is " + limit + ").");
  const after = optString(q, "starting_after");
  const before = optString(q, "ending_before");
  let start = 0;
  let end = items.length;
  if (after) {
    const i = items.findIndex((x) => x.id === after);
    if (i < 0) throw resourceMissing(after, "starting_after");
    start = i + 1;
  } else if (before) {
    const i = items.findIndex((x) => x.id === before);
    if (i < 0) throw resourceMissing(before, "ending_before");
    end = i;
    start = Math.max(0, end - limit);
  }
  const data = items.slice(start, Math.min(end, start + limit));
  const hasMore = before ? start > 0 : start + limit < end;
  return { object: "list", data, has_more: hasMore, url };
}
