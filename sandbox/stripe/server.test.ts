/**
 * Drives the Stripe emulator with the official `stripe` SDK (pointed at it by host/port/protocol
 * only, Node and fetch HTTP clients) and receives its webhooks on a local server verified with
 * the SDK's `constructEventAsync`.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { startStripeEmulator, type StripeEmulatorHandle } from "./server";

const SECRET_KEY = "sk_test_emulator_0123456789abcdef";
const WEBHOOK_SECRET = "whsec_emulator_test_secret";

interface Received {
  body: string;
  signature: string;
}

/** A webhook receiver whose answer per request is chosen by `respond`. */
async function startReceiver(): Promise<{ url: string; received: Received[]; respond: (n: number) => number; setRespond(f: (n: number) => number): void; close(): Promise<void> }> {
  const received: Received[] = [];
  let respond = (_n: number): number => 200;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ body: Buffer.concat(chunks).toString("utf8"), signature: String(req.headers["stripe-signature"] ?? "") });
      res.writeHead(respond(received.length));
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/stripe/webhook`,
    received,
    respond: (n) => respond(n),
    setRespond(f) {
      respond = f;
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let emu: StripeEmulatorHandle;
let stripe: Stripe;

function sdk(extra: Partial<Stripe.StripeConfig> = {}): Stripe {
  return new Stripe(SECRET_KEY, { host: "127.0.0.1", port: emu.port, protocol: "http", ...extra });
}

beforeAll(async () => {
  emu = await startStripeEmulator({ secretKey: SECRET_KEY, webhookSecret: WEBHOOK_SECRET });
  stripe = sdk({ maxNetworkRetries: 0 });
});
afterAll(async () => {
  await emu.close();
});
afterEach(async () => {
  emu.setWebhookUrl(null);
  await fetch(`${emu.url}/__sandbox/reset`, { method: "POST" });
});

describe("Stripe emulator: customers and saved cards", () => {
  it("creates a customer, saves a card through a SetupIntent, sets it as default, lists and detaches it", async () => {
    const customer = await stripe.customers.create({ email: "ada@example.com", name: "Ada", metadata: { userId: "u_1" } });
    expect(customer.id).toMatch(/^cus_/);
    expect(customer.metadata).toEqual({ userId: "u_1" });

    const si = await stripe.setupIntents.create({ customer: customer.id, allowed_payment_method_types: ["card"], usage: "off_session" });
    expect(si.id).toMatch(/^seti_/);
    expect(si.status).toBe("requires_payment_method");
    const confirmed = await stripe.setupIntents.confirm(si.id, { payment_method: "pm_card_visa" });
    expect(confirmed.status).toBe("succeeded");
    const pmId = confirmed.payment_method as string;
    expect(pmId).toMatch(/^pm_/);
    expect(pmId).not.toBe("pm_card_visa");

    const pm = await stripe.paymentMethods.retrieve(pmId);
    expect(pm.customer).toBe(customer.id);
    expect(pm.card?.last4).toBe("4242");
    expect(pm.card?.brand).toBe("visa");

    const updated = await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pmId } });
    expect(updated.invoice_settings.default_payment_method).toBe(pmId);

    const mc = await stripe.paymentMethods.attach("pm_card_mastercard", { customer: customer.id });
    const list = await stripe.customers.listPaymentMethods(customer.id);
    expect(list.object).toBe("list");
    expect(list.url).toBe(`/v1/customers/${customer.id}/payment_methods`);
    expect(list.data.map((p) => p.id).sort()).toEqual([pmId, mc.id].sort());
    const list2 = await stripe.paymentMethods.list({ customer: customer.id, type: "card" });
    expect(list2.data).toHaveLength(2);

    const detached = await stripe.paymentMethods.detach(pmId);
    expect(detached.customer).toBeNull();
    const after = await stripe.customers.retrieve(customer.id, { expand: ["invoice_settings.default_payment_method"] });
    expect((after as Stripe.Customer).invoice_settings.default_payment_method).toBeNull();
    expect((await stripe.customers.listPaymentMethods(customer.id)).data.map((p) => p.id)).toEqual([mc.id]);

    const byEmail = await stripe.customers.list({ email: "ada@example.com" });
    expect(byEmail.data.map((c) => c.id)).toEqual([customer.id]);
  });

  it("refuses a default payment method that is not attached to the customer", async () => {
    const customer = await stripe.customers.create({ email: "b@example.com" });
    const loose = await stripe.paymentMethods.create({ type: "card", card: { token: "tok_visa" } });
    await expect(stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: loose.id } })).rejects.toMatchObject({
      type: "StripeInvalidRequestError",
      param: "invoice_settings[default_payment_method]",
    });
  });

  it("answers unknown ids with 404 resource_missing and unknown params with parameter_unknown", async () => {
    await expect(stripe.customers.retrieve("cus_nope")).rejects.toMatchObject({ type: "StripeInvalidRequestError", statusCode: 404, code: "resource_missing" });
    await expect(stripe.customers.create({ emial: "typo@example.com" } as unknown as Stripe.CustomerCreateParams)).rejects.toMatchObject({
      code: "parameter_unknown",
      param: "emial",
    });
  });

  it("rejects a wrong secret key with StripeAuthenticationError and accepts Basic auth", async () => {
    const wrong = new Stripe("sk_test_wrong_key_000000", { host: "127.0.0.1", port: emu.port, protocol: "http", maxNetworkRetries: 0 });
    await expect(wrong.customers.list()).rejects.toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    const res = await fetch(`${emu.url}/v1/customers?limit=1`, { headers: { authorization: `Basic ${Buffer.from(`${SECRET_KEY}:`).toString("base64")}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ object: "list", data: [], has_more: false, url: "/v1/customers" });
  });

  it("decodes raw bracket notation and expand[] the way curl users send it", async () => {
    const body = "amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true&metadata[callId]=c_9&expand[]=latest_charge";
    const res = await fetch(`${emu.url}/v1/payment_intents`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET_KEY}`, "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    const pi = (await res.json()) as { status: string; metadata: Record<string, string>; latest_charge: { object: string; amount_captured: number } };
    expect(res.headers.get("request-id")).toMatch(/^req_/);
    expect(pi.status).toBe("succeeded");
    expect(pi.metadata).toEqual({ callId: "c_9" });
    expect(pi.latest_charge.object).toBe("charge");
    expect(pi.latest_charge.amount_captured).toBe(2000);
  });
});

describe("Stripe emulator: payment intents", () => {
  it("authorizes a hold and captures a smaller exact amount; the rest is released and the fee billed", async () => {
    const customer = await stripe.customers.create({ email: "c@example.com" });
    const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
    const pi = await stripe.paymentIntents.create({
      amount: 1000,
      currency: "usd",
      customer: customer.id,
      payment_method: pm.id,
      capture_method: "manual",
      confirm: true,
      off_session: true,
      metadata: { callId: "call_1" },
    });
    expect(pi.id).toMatch(/^pi_/);
    expect(pi.status).toBe("requires_capture");
    expect(pi.amount_capturable).toBe(1000);

    await expect(stripe.paymentIntents.capture(pi.id, { amount_to_capture: 1001 })).rejects.toMatchObject({ code: "amount_too_large" });
    const captured = await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 437, expand: ["latest_charge"] });
    expect(captured.status).toBe("succeeded");
    expect(captured.amount_received).toBe(437);
    expect(captured.amount_capturable).toBe(0);
    const charge = captured.latest_charge as Stripe.Charge;
    expect(charge.id).toMatch(/^ch_/);
    expect(charge.amount).toBe(1000);
    expect(charge.amount_captured).toBe(437);
    expect(charge.amount_refunded).toBe(563);
    expect(charge.captured).toBe(true);

    const txn = await stripe.balanceTransactions.retrieve(charge.balance_transaction as string);
    expect(txn.fee).toBe(43); // 2.9% of 437 = 12.67 → 13, + 30
    const bill = (await (await fetch(`${emu.url}/__sandbox/bill`)).json()) as { totals: { feeCents: number; amountCapturedCents: number; capturedCharges: number } };
    expect(bill.totals).toMatchObject({ capturedCharges: 1, amountCapturedCents: 437, feeCents: 43 });

    await expect(stripe.paymentIntents.capture(pi.id)).rejects.toMatchObject({ code: "payment_intent_unexpected_state" });
    const listed = await stripe.paymentIntents.list({ customer: customer.id });
    expect(listed.data.map((p) => p.id)).toEqual([pi.id]);
  });

  it("cancels an uncaptured hold with a reason and refuses to capture it afterwards", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 500, currency: "usd", payment_method: "pm_card_visa", capture_method: "manual", confirm: true });
    expect(pi.status).toBe("requires_capture");
    const canceled = await stripe.paymentIntents.cancel(pi.id, { cancellation_reason: "abandoned" });
    expect(canceled.status).toBe("canceled");
    expect(canceled.cancellation_reason).toBe("abandoned");
    const charge = await stripe.charges.retrieve(canceled.latest_charge as string);
    expect(charge.amount_captured).toBe(0);
    expect(charge.refunded).toBe(true);
    await expect(stripe.paymentIntents.capture(pi.id)).rejects.toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);

    const open = await stripe.paymentIntents.create({ amount: 500, currency: "usd" });
    expect((await stripe.paymentIntents.cancel(open.id)).status).toBe("canceled");
  });

  it("expires holds when the authorizationExpiryMs knob says so", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 800, currency: "usd", payment_method: "pm_card_visa", capture_method: "manual", confirm: true });
    await fetch(`${emu.url}/__sandbox/knobs`, { method: "POST", body: JSON.stringify({ authorizationExpiryMs: 1 }) });
    await new Promise((r) => setTimeout(r, 5));
    const after = await stripe.paymentIntents.retrieve(pi.id);
    expect(after.status).toBe("canceled");
    expect(after.cancellation_reason).toBe("automatic");
  });

  it("refunds partially then fully, and refuses to refund more than is left", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 2500, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    expect(pi.status).toBe("succeeded");
    const r1 = await stripe.refunds.create({ payment_intent: pi.id, amount: 1000, reason: "requested_by_customer" });
    expect(r1.id).toMatch(/^re_/);
    expect(r1.status).toBe("succeeded");
    expect(r1.amount).toBe(1000);
    await expect(stripe.refunds.create({ payment_intent: pi.id, amount: 1501 })).rejects.toMatchObject({ code: "amount_too_large" });
    const r2 = await stripe.refunds.create({ charge: pi.latest_charge as string });
    expect(r2.amount).toBe(1500);
    expect((await stripe.refunds.retrieve(r2.id)).charge).toBe(pi.latest_charge);
    const charge = await stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge.amount_refunded).toBe(2500);
    expect(charge.refunded).toBe(true);
    await expect(stripe.refunds.create({ payment_intent: pi.id })).rejects.toMatchObject({ code: "charge_already_refunded" });
  });

  it("declines pm_card_chargeDeclined with a StripeCardError carrying the PaymentIntent", async () => {
    const err: unknown = await stripe.paymentIntents
      .create({ amount: 999, currency: "usd", payment_method: "pm_card_chargeDeclined", confirm: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    const cardErr = err as Stripe.errors.StripeCardError;
    expect(cardErr.statusCode).toBe(402);
    expect(cardErr.code).toBe("card_declined");
    expect(cardErr.decline_code).toBe("generic_decline");
    expect(cardErr.payment_intent?.status).toBe("requires_payment_method");
    expect(cardErr.charge).toMatch(/^ch_/);
    // The customer can retry the same PaymentIntent with another card.
    const retried = await stripe.paymentIntents.confirm(cardErr.payment_intent?.id as string, { payment_method: "pm_card_visa" });
    expect(retried.status).toBe("succeeded");
  });

  it("declines the next confirm on demand (declineNextConfirm knob), then recovers", async () => {
    await fetch(`${emu.url}/__sandbox/knobs`, { method: "POST", body: JSON.stringify({ declineNextConfirm: 1 }) });
    await expect(stripe.paymentIntents.create({ amount: 700, currency: "usd", payment_method: "pm_card_visa", confirm: true })).rejects.toMatchObject({
      type: "StripeCardError",
      code: "card_declined",
    });
    const ok = await stripe.paymentIntents.create({ amount: 700, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    expect(ok.status).toBe("succeeded");
  });

  it("needs 3-D Secure for pm_card_authenticationRequired: off-session fails, on-session waits for authentication", async () => {
    const customer = await stripe.customers.create({});
    const pm = await stripe.paymentMethods.attach("pm_card_authenticationRequired", { customer: customer.id });
    await expect(
      stripe.paymentIntents.create({ amount: 600, currency: "usd", customer: customer.id, payment_method: pm.id, confirm: true, off_session: true }),
    ).rejects.toMatchObject({ type: "StripeCardError", code: "authentication_required" });

    const pi = await stripe.paymentIntents.create({ amount: 600, currency: "usd", customer: customer.id, payment_method: pm.id, confirm: true });
    expect(pi.status).toBe("requires_action");
    expect(pi.next_action?.type).toBe("use_stripe_sdk");
    const res = await fetch(`${emu.url}/__sandbox/intents/${pi.id}/authenticate`, { method: "POST", body: JSON.stringify({ succeed: true }) });
    expect(((await res.json()) as { status: string }).status).toBe("succeeded");
  });
});

describe("Stripe emulator: idempotency", () => {
  it("replays the first response for a repeated Idempotency-Key and rejects a key reused with other params", async () => {
    const key = "idem-test-1";
    const a = await stripe.customers.create({ email: "same@example.com" }, { idempotencyKey: key });
    const b = await stripe.customers.create({ email: "same@example.com" }, { idempotencyKey: key });
    expect(b.id).toBe(a.id);
    expect((await stripe.customers.list({ email: "same@example.com" })).data).toHaveLength(1);
    await expect(stripe.customers.create({ email: "other@example.com" }, { idempotencyKey: key })).rejects.toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
  });

  it("marks replays with Idempotent-Replayed and replays card declines too", async () => {
    const post = (key: string, body: string): Promise<Response> =>
      fetch(`${emu.url}/v1/payment_intents`, {
        method: "POST",
        headers: { authorization: `Bearer ${SECRET_KEY}`, "content-type": "application/x-www-form-urlencoded", "idempotency-key": key },
        body,
      });
    const body = "amount=1000&currency=usd&payment_method=pm_card_chargeDeclined&confirm=true";
    const first = await post("decline-1", body);
    const second = await post("decline-1", body);
    expect([first.status, second.status]).toEqual([402, 402]);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.headers.get("original-request")).toBe(first.headers.get("request-id"));
    const [a, b] = (await Promise.all([first.json(), second.json()])) as Array<{ error: { charge: string } }>;
    expect(b?.error.charge).toBe(a?.error.charge);
    expect((await stripe.charges.list({ limit: 100 })).data).toHaveLength(1);
  });

  it("lets the SDK retry an injected 500 with its automatic key and creates the object once", async () => {
    const retrying = sdk({ maxNetworkRetries: 2 });
    await fetch(`${emu.url}/__sandbox/knobs`, { method: "POST", body: JSON.stringify({ failNextRequests: 1, failStatus: 500 }) });
    const c = await retrying.customers.create({ email: "retry@example.com" });
    expect(c.id).toMatch(/^cus_/);
    expect((await stripe.customers.list({ email: "retry@example.com" })).data).toHaveLength(1);
    await fetch(`${emu.url}/__sandbox/knobs`, { method: "POST", body: JSON.stringify({ failNextRequests: 1, failStatus: 503 }) });
    await expect(stripe.customers.list()).rejects.toBeInstanceOf(Stripe.errors.StripeAPIError);
  });
});

describe("Stripe emulator: Checkout for credit packs", () => {
  it("serves a hosted page; paying redirects to success_url and completes the session", async () => {
    const customer = await stripe.customers.create({ email: "buyer@example.com" });
    const session = await stripe.checkout.sessions.create({
      mode: "payment",
      customer: customer.id,
      client_reference_id: "user_42",
      metadata: { pack: "starter" },
      line_items: [{ price_data: { currency: "usd", unit_amount: 2499, product_data: { name: "Starter pack (5 calls)" } }, quantity: 1 }],
      success_url: "http://app.local/billing/success?session_id={CHECKOUT_SESSION_ID}",
      cancel_url: "http://app.local/billing/cancel",
    });
    expect(session.id).toMatch(/^cs_test_/);
    expect(session.status).toBe("open");
    expect(session.payment_status).toBe("unpaid");
    expect(session.amount_total).toBe(2499);
    expect(session.url).toBe(`${emu.url}/checkout/${session.id}`);

    const page = await fetch(session.url as string);
    const html = await page.text();
    expect(html).toContain("$24.99");
    expect(html).toContain("Starter pack (5 calls)");

    const declined = await fetch(`${session.url}/pay`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "email=buyer%40example.com&card=chargeDeclined",
      redirect: "manual",
    });
    expect(declined.status).toBe(402);
    expect(await declined.text()).toContain("Your card was declined.");

    const paid = await fetch(`${session.url}/pay`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "email=buyer%40example.com&card=visa",
      redirect: "manual",
    });
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe(`http://app.local/billing/success?session_id=${session.id}`);

    const done = await stripe.checkout.sessions.retrieve(session.id, { expand: ["payment_intent", "line_items"] });
    expect(done.status).toBe("complete");
    expect(done.payment_status).toBe("paid");
    expect(done.client_reference_id).toBe("user_42");
    expect(done.metadata).toEqual({ pack: "starter" });
    const pi = done.payment_intent as Stripe.PaymentIntent;
    expect(pi.status).toBe("succeeded");
    expect(pi.amount_received).toBe(2499);
    expect(pi.customer).toBe(customer.id);

    const lineItems = await stripe.checkout.sessions.listLineItems(session.id);
    expect(lineItems.data[0]?.amount_total).toBe(2499);

    const completed = await stripe.events.list({ type: "checkout.session.completed" });
    expect(completed.data).toHaveLength(1);
    expect((completed.data[0]?.data.object as Stripe.Checkout.Session).id).toBe(session.id);
  });

  it("completes a session through the sandbox route and redirects Cancel to cancel_url", async () => {
    const session = await stripe.checkout.sessions.create({
      mode: "payment",
      line_items: [{ price_data: { currency: "usd", unit_amount: 499, product_data: { name: "1 call" } }, quantity: 2 }],
      success_url: "http://app.local/ok",
      cancel_url: "http://app.local/cancel",
    });
    expect(session.amount_total).toBe(998);
    const cancel = await fetch(`${session.url}/cancel`, { redirect: "manual" });
    expect(cancel.headers.get("location")).toBe("http://app.local/cancel");
    const res = await fetch(`${emu.url}/__sandbox/checkout/${session.id}/complete`, { method: "POST", body: JSON.stringify({ email: "x@example.com" }) });
    const body = (await res.json()) as { status: string; customer_details: { email: string } };
    expect(body.status).toBe("complete");
    expect(body.customer_details.email).toBe("x@example.com");
    await expect(stripe.checkout.sessions.expire(session.id)).rejects.toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });
});

describe("Stripe emulator: events", () => {
  it("records every state change as an Event retrievable by id and listable by type", async () => {
    const customer = await stripe.customers.create({ email: "e@example.com" }, { idempotencyKey: "evt-key-1" });
    await stripe.paymentIntents.create({ amount: 1200, currency: "usd", customer: customer.id, payment_method: "pm_card_visa", capture_method: "manual", confirm: true });
    const all = await stripe.events.list({ limit: 100 });
    const types = all.data.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(["customer.created", "payment_intent.created", "charge.succeeded", "payment_intent.amount_capturable_updated"]),
    );
    const created = await stripe.events.list({ type: "customer.created" });
    const evt = await stripe.events.retrieve(created.data[0]?.id as string);
    expect(evt.id).toMatch(/^evt_/);
    expect(evt.request).toEqual({ id: expect.stringMatching(/^req_/), idempotency_key: "evt-key-1" });
    expect((evt.data.object as Stripe.Customer).id).toBe(customer.id);
    const piEvents = await stripe.events.list({ type: "payment_intent.*" });
    expect(piEvents.data.every((e) => e.type.startsWith("payment_intent."))).toBe(true);
    const page1 = await stripe.events.list({ limit: 2 });
    expect(page1.has_more).toBe(true);
    const page2 = await stripe.events.list({ limit: 2, starting_after: page1.data[1]?.id as string });
    expect(page2.data[0]?.id).not.toBe(page1.data[1]?.id);
  });
});

describe("Stripe emulator: webhooks", () => {
  const verify = (r: Received, secret = WEBHOOK_SECRET): Promise<Stripe.Event> =>
    stripe.webhooks.constructEventAsync(r.body, r.signature, secret, undefined, Stripe.createSubtleCryptoProvider());

  it("delivers signed events that the SDK verifies", async () => {
    const rx = await startReceiver();
    try {
      emu.setWebhookUrl(rx.url);
      const c = await stripe.customers.create({ email: "w@example.com" });
      await emu.webhooksIdle();
      expect(rx.received).toHaveLength(1);
      const evt = await verify(rx.received[0] as Received);
      expect(evt.type).toBe("customer.created");
      expect((evt.data.object as Stripe.Customer).id).toBe(c.id);
      expect(rx.received[0]?.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    } finally {
      await rx.close();
    }
  });

  it("retries with backoff after a 500 until the endpoint accepts", async () => {
    const rx = await startReceiver();
    try {
      await fetch(`${emu.url}/__sandbox/knobs`, { method: "POST", body: JSON.stringify({ webhookRetryBaseMs: 10 }) });
      rx.setRespond((n) => (n <= 2 ? 500 : 200));
      await fetch(`${emu.url}/__sandbox/webhook-endpoints`, { method: "POST", body: JSON.stringify({ url: rx.url }) });
      await stripe.customers.create({ email: "r@example.com" });
      await emu.webhooksIdle();
      expect(rx.received).toHaveLength(3);
      const ids = await Promise.all(rx.received.map(async (r) => (await verify(r)).id));
      expect(new Set(ids).size).toBe(1);
      expect(emu.deliveries().map((d) => [d.attempt, d.status])).toEqual([
        [1, 500],
        [2, 500],
        [3, 200],
      ]);
    } finally {
      await rx.close();
    }
  });

  it("delivers duplicates and out-of-order events when the knobs ask for them", async () => {
    const rx = await startReceiver();
    try {
      emu.setWebhookUrl(rx.url);
      await fetch(`${emu.url}/__sandbox/knobs`, { method: "POST", body: JSON.stringify({ webhookCopies: 2 }) });
      await stripe.customers.create({ email: "d@example.com" });
      await emu.webhooksIdle();
      expect(rx.received).toHaveLength(2);
      expect((await verify(rx.received[0] as Received)).id).toBe((await verify(rx.received[1] as Received)).id);

      rx.received.length = 0;
      await fetch(`${emu.url}/__sandbox/knobs`, { method: "POST", body: JSON.stringify({ webhookCopies: 1, webhookOutOfOrder: true, webhookHoldMs: 60_000 }) });
      await stripe.paymentIntents.create({ amount: 1500, currency: "usd", payment_method: "pm_card_visa", confirm: true });
      const emitted = (await stripe.events.list({ limit: 100 })).data.filter((e) => e.type !== "customer.created").map((e) => e.id).reverse();
      expect(rx.received).toHaveLength(0);
      const flushed = (await (await fetch(`${emu.url}/__sandbox/webhooks/flush`, { method: "POST" })).json()) as { flushed: number };
      expect(flushed.flushed).toBe(emitted.length);
      await emu.webhooksIdle();
      const arrived = await Promise.all(rx.received.map(async (r) => (await verify(r)).id));
      expect([...arrived].sort()).toEqual([...emitted].sort());
      expect(arrived).not.toEqual(emitted);
    } finally {
      await rx.close();
    }
  });

  it("signs with a wrong secret when asked, and the SDK refuses the forgery", async () => {
    const rx = await startReceiver();
    try {
      emu.setWebhookUrl(rx.url);
      await fetch(`${emu.url}/__sandbox/knobs`, { method: "POST", body: JSON.stringify({ webhookSignWithWrongSecret: true }) });
      await stripe.customers.create({ email: "f@example.com" });
      await emu.webhooksIdle();
      expect(rx.received).toHaveLength(1);
      await expect(verify(rx.received[0] as Received)).rejects.toBeInstanceOf(Stripe.errors.StripeSignatureVerificationError);
    } finally {
      await rx.close();
    }
  });

  it("creates webhook endpoints through the API with their own signing secret", async () => {
    const rx = await startReceiver();
    try {
      const we = await stripe.webhookEndpoints.create({ url: rx.url, enabled_events: ["payment_intent.succeeded"] });
      expect(we.id).toMatch(/^we_/);
      expect(we.secret).toMatch(/^whsec_/);
      await stripe.paymentIntents.create({ amount: 900, currency: "usd", payment_method: "pm_card_visa", confirm: true });
      await emu.webhooksIdle();
      expect(rx.received).toHaveLength(1);
      const evt = await verify(rx.received[0] as Received, we.secret as string);
      expect(evt.type).toBe("payment_intent.succeeded");
      expect((await stripe.webhookEndpoints.list()).data.map((e) => e.id)).toEqual([we.id]);
    } finally {
      await rx.close();
    }
  });
});

describe("Stripe emulator: Workers-style fetch client", () => {
  it("works with Stripe.createFetchHttpClient()", async () => {
    const viaFetch = sdk({ httpClient: Stripe.createFetchHttpClient(), maxNetworkRetries: 0 });
    const c = await viaFetch.customers.create({ email: "fetch@example.com" });
    const pi = await viaFetch.paymentIntents.create({ amount: 1999, currency: "usd", customer: c.id, payment_method: "pm_card_visa", capture_method: "manual", confirm: true });
    const cap = await viaFetch.paymentIntents.capture(pi.id, { amount_to_capture: 1500 });
    expect(cap.amount_received).toBe(1500);
    await expect(viaFetch.paymentIntents.create({ amount: 10, currency: "usd" })).rejects.toMatchObject({ code: "amount_too_small" });
  });
});

vi.setConfig({ testTimeout: 20_000 });
