/**
 * Local Stripe emulator: the `/v1` subset Call Me Back uses (customers, payment methods, setup
 * and payment intents with manual capture, refunds, Checkout Sessions for credit packs, events,
 * webhook endpoints), spoken exactly as the official `stripe` SDK expects it: form-encoded bodies
 * with bracket notation and `expand[]`, Bearer or Basic secret-key auth, `Idempotency-Key`
 * replays, `{object:"list"}` envelopes and `{error:{type,code,message,param}}` errors with
 * Stripe's statuses. It also serves the hosted Checkout page and delivers signed webhooks.
 * Sandbox controls: `/__sandbox/{knobs,bill,reset}` plus webhook endpoints, the delivery log,
 * Checkout completion and 3-D Secure outcomes (see README.md).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { renderCheckoutPage } from "./checkout-page";
import { StripeApiError, invalidRequest, resourceMissing } from "./errors";
import { type FormObject, type FormValue, optString, optStringArray, parseForm, reqString, allowOnly, mergeMetadata } from "./form";
import { newId, nowS, stripeFeeCents } from "./objects";
import { API_VERSION, AUTOMATIC, paginate, type RequestContext, StripeState } from "./state";
import {
  DEFAULT_WEBHOOK_KNOBS,
  type DeliveryAttempt,
  newWebhookSecret,
  WebhookDispatcher,
  type WebhookEndpoint,
  type WebhookKnobs,
} from "./webhooks";
import {
  closeServer,
  createEmulatorServer,
  type EmulatorHandle,
  handleControl,
  jittered,
  Knobs,
  listen,
  readBody,
  sendJson,
  sleep,
} from "../shared/emulator";

export interface StripeKnobs extends WebhookKnobs {
  /** Added before every `/v1` response. @default 0 */
  latencyMs: number;
  /** ± random spread on `latencyMs`. @default 0 */
  jitterMs: number;
  /** The next N `/v1` requests fail with `failStatus` (not stored for idempotency, so a retry succeeds). @default 0 */
  failNextRequests: number;
  /** Status for `failNextRequests`. @default 500 */
  failStatus: number;
  /** The next N PaymentIntent/SetupIntent confirmations decline with `card_declined` whatever the card. @default 0 */
  declineNextConfirm: number;
  /** Uncaptured authorizations are canceled (reason `automatic`) after this long; 0 = never (Stripe: 7 days). @default 0 */
  authorizationExpiryMs: number;
}

export const DEFAULT_STRIPE_KNOBS: StripeKnobs = {
  ...DEFAULT_WEBHOOK_KNOBS,
  latencyMs: 0,
  jitterMs: 0,
  failNextRequests: 0,
  failStatus: 500,
  declineNextConfirm: 0,
  authorizationExpiryMs: 0,
};

export interface StripeEmulatorOptions {
  /** 0 = any free port. @default 0 */
  port?: number;
  /** The only secret key accepted (`sk_test_…`). */
  secretKey: string;
  /** Signing secret for the option/sandbox-configured endpoints (`whsec_…`). */
  webhookSecret: string;
  /** Where to deliver every event (e.g. the Worker's `/stripe/webhook`). */
  webhookUrl?: string;
}

export interface StripeEmulatorHandle extends EmulatorHandle {
  /** Points the option-configured webhook endpoint somewhere else (null stops it). */
  setWebhookUrl(url: string | null): void;
  /** Every webhook delivery attempt so far. */
  deliveries(): DeliveryAttempt[];
  /** Resolves when no webhook delivery is queued, held, in flight or awaiting a retry. */
  webhooksIdle(): Promise<void>;
  /** Releases held (out-of-order) deliveries now; returns how many. */
  flushWebhooks(): number;
  knobs: Knobs<StripeKnobs>;
  /** The emulated account, for assertions (read-only use). */
  state: StripeState;
}

type Json = Record<string, unknown>;
type RouteResult = { status?: number; body: unknown };
type Handler = (m: RegExpMatchArray, p: FormObject, ctx: RequestContext) => RouteResult | unknown;

interface IdempotencyEntry {
  fingerprint: string;
  status: number;
  body: unknown;
  at: number;
  /** `request-id` of the request that ran; replays name it in `original-request`. */
  requestId: string;
}

/** Stripe keeps idempotency keys for 24 hours; the emulator also caps how many it remembers. */
const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
const IDEMPOTENCY_MAX_KEYS = 10_000;

const ID = "([A-Za-z0-9_]+)";

function mask(key: string): string {
  return `${key.slice(0, 8)}${"*".repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;
}

/** Replaces id strings at `path` (dot-separated; `data.` walks lists) with the stored objects. */
function expandPath(value: unknown, segs: string[], lookup: (id: string) => unknown): unknown {
  if (segs.length === 0 || value === null || typeof value !== "object") return value;
  const [head, ...rest] = segs as [string, ...string[]];
  if (Array.isArray(value)) return value.map((v) => expandPath(v, segs, lookup));
  const obj = value as Json;
  let child = obj[head];
  if (typeof child === "string") {
    const found = lookup(child);
    if (found !== undefined) child = structuredClone(found);
  }
  obj[head] = rest.length > 0 ? expandPath(child, rest, lookup) : child;
  return obj;
}

export async function startStripeEmulator(opts: StripeEmulatorOptions): Promise<StripeEmulatorHandle> {
  const knobs = new Knobs<StripeKnobs>(DEFAULT_STRIPE_KNOBS);
  const webhooks = new WebhookDispatcher(() => knobs.value);
  let baseUrl = "";
  const state = new StripeState({
    baseUrl: () => baseUrl,
    onEvent: (event) => webhooks.enqueue(event),
    takeForcedDecline: () => {
      if (knobs.value.declineNextConfirm <= 0) return false;
      knobs.set({ declineNextConfirm: knobs.value.declineNextConfirm - 1 });
      return true;
    },
    authorizationExpiryMs: () => knobs.value.authorizationExpiryMs,
  });
  const idempotency = new Map<string, IdempotencyEntry>();

  const OPTION_ENDPOINT = "we_option";
  const setWebhookUrl = (url: string | null): void => {
    if (url === null) webhooks.endpoints.delete(OPTION_ENDPOINT);
    else
      webhooks.endpoints.set(OPTION_ENDPOINT, {
        id: OPTION_ENDPOINT,
        url,
        secret: opts.webhookSecret,
        enabledEvents: ["*"],
        status: "enabled",
        source: "option",
        description: "configured by the emulator option",
        metadata: {},
        created: nowS(),
      });
  };
  if (opts.webhookUrl) setWebhookUrl(opts.webhookUrl);

  // ------------------------------------------------------------ /v1 routes

  const endpointJson = (e: WebhookEndpoint, withSecret: boolean): Json => ({
    id: e.id,
    object: "webhook_endpoint",
    api_version: null,
    application: null,
    created: e.created,
    description: e.description,
    enabled_events: e.enabledEvents,
    livemode: false,
    metadata: e.metadata,
    ...(withSecret ? { secret: e.secret } : {}),
    status: e.status,
    url: e.url,
  });
  const getEndpoint = (id: string): WebhookEndpoint => {
    const e = webhooks.endpoints.get(id);
    if (!e || e.source !== "api") throw resourceMissing(id);
    return e;
  };
  const paginateEndpoints = (q: FormObject): unknown => {
    const list = [...webhooks.endpoints.values()].filter((e) => e.source === "api").map((e) => ({ ...endpointJson(e, false), id: e.id }));
    return paginate(list, q, "/v1/webhook_endpoints");
  };

  const routes: Array<[string, RegExp, Handler]> = [
    ["POST", /^\/v1\/customers$/, (_m, p, ctx) => state.createCustomer(p, ctx)],
    ["GET", /^\/v1\/customers$/, (_m, p) => state.listCustomers(p)],
    ["GET", new RegExp(`^/v1/customers/${ID}$`), (m) => state.retrieveCustomer(m[1] as string)],
    ["POST", new RegExp(`^/v1/customers/${ID}$`), (m, p, ctx) => state.updateCustomer(m[1] as string, p, ctx)],
    ["DELETE", new RegExp(`^/v1/customers/${ID}$`), (m, _p, ctx) => state.deleteCustomer(m[1] as string, ctx)],
    [
      "GET",
      new RegExp(`^/v1/customers/${ID}/payment_methods$`),
      (m, p) => state.listPaymentMethods(m[1] as string, p, `/v1/customers/${m[1]}/payment_methods`),
    ],
    [
      "GET",
      new RegExp(`^/v1/customers/${ID}/payment_methods/${ID}$`),
      (m) => {
        const pm = state.retrievePaymentMethod(m[2] as string);
        if (pm.customer !== m[1]) throw resourceMissing(m[2] as string);
        return pm;
      },
    ],
    ["POST", /^\/v1\/payment_methods$/, (_m, p) => state.createPaymentMethod(p)],
    ["GET", /^\/v1\/payment_methods$/, (_m, p) => state.listPaymentMethods(optString(p, "customer"), p, "/v1/payment_methods")],
    ["GET", new RegExp(`^/v1/payment_methods/${ID}$`), (m) => state.retrievePaymentMethod(m[1] as string)],
    [
      "POST",
      new RegExp(`^/v1/payment_methods/${ID}$`),
      (m, p) => {
        allowOnly(p, ["metadata", "billing_details", "allow_redisplay"]);
        const pm = state.retrievePaymentMethod(m[1] as string);
        pm.metadata = mergeMetadata(pm.metadata, p);
        return pm;
      },
    ],
    ["POST", new RegExp(`^/v1/payment_methods/${ID}/attach$`), (m, p, ctx) => state.attachPaymentMethod(m[1] as string, p, ctx)],
    ["POST", new RegExp(`^/v1/payment_methods/${ID}/detach$`), (m, _p, ctx) => state.detachPaymentMethod(m[1] as string, ctx)],
    ["POST", /^\/v1\/setup_intents$/, (_m, p, ctx) => state.createSetupIntent(p, ctx)],
    [
      "GET",
      /^\/v1\/setup_intents$/,
      (_m, p) => {
        const customer = optString(p, "customer");
        return paginate([...state.setupIntents.values()].filter((s) => customer === undefined || s.customer === customer), p, "/v1/setup_intents");
      },
    ],
    ["GET", new RegExp(`^/v1/setup_intents/${ID}$`), (m) => state.retrieveSetupIntent(m[1] as string)],
    ["POST", new RegExp(`^/v1/setup_intents/${ID}/confirm$`), (m, p, ctx) => state.confirmSetupIntent(m[1] as string, p, ctx)],
    ["POST", new RegExp(`^/v1/setup_intents/${ID}/cancel$`), (m, p, ctx) => state.cancelSetupIntent(m[1] as string, p, ctx)],
    ["POST", /^\/v1\/payment_intents$/, (_m, p, ctx) => state.createPaymentIntent(p, ctx)],
    ["GET", /^\/v1\/payment_intents$/, (_m, p) => state.listPaymentIntents(p)],
    ["GET", new RegExp(`^/v1/payment_intents/${ID}$`), (m) => state.retrievePaymentIntent(m[1] as string)],
    ["POST", new RegExp(`^/v1/payment_intents/${ID}$`), (m, p) => state.updatePaymentIntent(m[1] as string, p)],
    ["POST", new RegExp(`^/v1/payment_intents/${ID}/confirm$`), (m, p, ctx) => state.confirmPaymentIntent(m[1] as string, p, ctx)],
    ["POST", new RegExp(`^/v1/payment_intents/${ID}/capture$`), (m, p, ctx) => state.capturePaymentIntent(m[1] as string, p, ctx)],
    ["POST", new RegExp(`^/v1/payment_intents/${ID}/cancel$`), (m, p, ctx) => state.cancelPaymentIntent(m[1] as string, p, ctx)],
    ["GET", /^\/v1\/charges$/, (_m, p) => state.listCharges(p)],
    ["GET", new RegExp(`^/v1/charges/${ID}$`), (m) => state.retrieveCharge(m[1] as string)],
    ["GET", new RegExp(`^/v1/balance_transactions/${ID}$`), (m) => state.retrieveBalanceTransaction(m[1] as string)],
    ["POST", /^\/v1\/refunds$/, (_m, p, ctx) => state.createRefund(p, ctx)],
    ["GET", /^\/v1\/refunds$/, (_m, p) => state.listRefunds(p)],
    ["GET", new RegExp(`^/v1/refunds/${ID}$`), (m) => state.retrieveRefund(m[1] as string)],
    ["POST", /^\/v1\/checkout\/sessions$/, (_m, p, ctx) => state.createCheckoutSession(p, ctx)],
    ["GET", /^\/v1\/checkout\/sessions$/, (_m, p) => state.listCheckoutSessions(p)],
    ["GET", new RegExp(`^/v1/checkout/sessions/${ID}$`), (m) => state.retrieveCheckoutSession(m[1] as string)],
    ["POST", new RegExp(`^/v1/checkout/sessions/${ID}/expire$`), (m, _p, ctx) => state.expireCheckoutSession(m[1] as string, ctx)],
    ["GET", new RegExp(`^/v1/checkout/sessions/${ID}/line_items$`), (m, p) => state.listLineItems(m[1] as string, p)],
    ["GET", /^\/v1\/events$/, (_m, p) => state.listEvents(p)],
    ["GET", new RegExp(`^/v1/events/${ID}$`), (m) => state.retrieveEvent(m[1] as string)],
    [
      "POST",
      /^\/v1\/webhook_endpoints$/,
      (_m, p) => {
        allowOnly(p, ["url", "enabled_events", "description", "metadata", "api_version", "connect"]);
        const url = reqString(p, "url");
        const events = optStringArray(p, "enabled_events");
        if (!events || events.length === 0) throw invalidRequest("Missing required param: enabled_events.", "parameter_missing", "enabled_events");
        const e: WebhookEndpoint = {
          id: newId("we"),
          url,
          secret: newWebhookSecret(),
          enabledEvents: events,
          status: "enabled",
          source: "api",
          description: optString(p, "description") ?? null,
          metadata: mergeMetadata({}, p),
          created: nowS(),
        };
        webhooks.endpoints.set(e.id, e);
        return endpointJson(e, true);
      },
    ],
    ["GET", /^\/v1\/webhook_endpoints$/, (_m, p) => paginateEndpoints(p)],
    ["GET", new RegExp(`^/v1/webhook_endpoints/${ID}$`), (m) => endpointJson(getEndpoint(m[1] as string), false)],
    [
      "POST",
      new RegExp(`^/v1/webhook_endpoints/${ID}$`),
      (m, p) => {
        allowOnly(p, ["url", "enabled_events", "description", "metadata", "disabled"]);
        const e = getEndpoint(m[1] as string);
        e.url = optString(p, "url") ?? e.url;
        e.enabledEvents = optStringArray(p, "enabled_events") ?? e.enabledEvents;
        const disabled = optString(p, "disabled");
        if (disabled !== undefined) e.status = disabled === "true" ? "disabled" : "enabled";
        e.description = optString(p, "description") ?? e.description;
        e.metadata = mergeMetadata(e.metadata, p);
        return endpointJson(e, false);
      },
    ],
    [
      "DELETE",
      new RegExp(`^/v1/webhook_endpoints/${ID}$`),
      (m) => {
        const e = getEndpoint(m[1] as string);
        webhooks.endpoints.delete(e.id);
        return { id: e.id, object: "webhook_endpoint", deleted: true };
      },
    ],
  ];

  // --------------------------------------------------------------- helpers

  const authenticate = (req: IncomingMessage): StripeApiError | null => {
    const header = req.headers.authorization ?? "";
    let key = "";
    if (header.startsWith("Bearer ")) key = header.slice(7).trim();
    else if (header.startsWith("Basic ")) key = Buffer.from(header.slice(6), "base64").toString("utf8").split(":")[0] ?? "";
    if (!key)
      return new StripeApiError(401, {
        type: "invalid_request_error",
        message:
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
      });
    if (key !== opts.secretKey) return new StripeApiError(401, { type: "invalid_request_error", code: "api_key_invalid", message: `Invalid API Key provided: ${mask(key)}` });
    return null;
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void => {
    sendJson(res, status, body, headers);
  };

  const runRoute = (method: string, path: string, params: FormObject, ctx: RequestContext): { status: number; body: unknown } => {
    let pathMatched = false;
    for (const [m, re, handler] of routes) {
      const match = path.match(re);
      if (!match) continue;
      pathMatched = true;
      if (m !== method) continue;
      try {
        const out = handler(match, params, ctx);
        const expand = optStringArray(params, "expand") ?? [];
        const body = structuredClone(out);
        for (const e of expand) expandPath(body, e.split("."), (id) => state.lookup(id));
        return { status: 200, body };
      } catch (err) {
        if (err instanceof StripeApiError) return { status: err.status, body: err.toJSON() };
        throw err;
      }
    }
    return {
      status: 404,
      body: {
        error: {
          type: "invalid_request_error",
          message: pathMatched
            ? `Unrecognized request URL (${method}: ${path}). The emulator does not support this method on this path.`
            : `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
        },
      },
    };
  };

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? "GET";
    const requestId = newId("req", 14);
    const headers: Record<string, string> = {
      "request-id": requestId,
      "stripe-version": (req.headers["stripe-version"] as string | undefined) ?? API_VERSION,
    };
    const k = knobs.value;
    if (k.latencyMs > 0 || k.jitterMs > 0) await sleep(jittered(k.latencyMs, k.jitterMs));
    const raw = (await readBody(req)).toString("utf8");
    const authErr = authenticate(req);
    if (authErr) return send(res, authErr.status, authErr.toJSON(), headers);
    if (knobs.value.failNextRequests > 0) {
      knobs.set({ failNextRequests: knobs.value.failNextRequests - 1 });
      const status = knobs.value.failStatus;
      const type = status === 429 ? "invalid_request_error" : "api_error";
      return send(res, status, { error: { type, ...(status === 429 ? { code: "rate_limit" } : {}), message: `Injected failure (sandbox knob failNextRequests): HTTP ${status}.` } }, headers);
    }
    state.sweepExpiredAuthorizations();
    const params = method === "POST" ? parseForm(raw) : parseForm(url.search.slice(1));
    const idemKey = method === "POST" ? ((req.headers["idempotency-key"] as string | undefined) ?? null) : null;
    const ctx: RequestContext = { requestId, idempotencyKey: idemKey };
    if (idemKey) {
      headers["idempotency-key"] = idemKey;
      const fingerprint = `${method} ${url.pathname} ${canonical(params)}`;
      let existing = idempotency.get(idemKey);
      if (existing && Date.now() - existing.at > IDEMPOTENCY_TTL_MS) {
        idempotency.delete(idemKey);
        existing = undefined;
      }
      if (existing) {
        if (existing.fingerprint !== fingerprint)
          return send(
            res,
            400,
            {
              error: {
                type: "idempotency_error",
                message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idemKey}' if you meant to execute a different request.`,
              },
            },
            headers,
          );
        return send(res, existing.status, existing.body, { ...headers, "idempotent-replayed": "true", "original-request": existing.requestId });
      }
      // Routes run synchronously, so two requests with one key can never interleave here.
      const out = runRoute(method, url.pathname, params, ctx);
      // Stripe stores results once the endpoint ran: successes and card declines (402).
      if (out.status < 400 || out.status === 402) {
        idempotency.set(idemKey, { fingerprint, status: out.status, body: out.body, at: Date.now(), requestId });
        while (idempotency.size > IDEMPOTENCY_MAX_KEYS) idempotency.delete(idempotency.keys().next().value as string);
      }
      return send(res, out.status, out.body, headers);
    }
    const out = runRoute(method, url.pathname, params, ctx);
    return send(res, out.status, out.body, headers);
  }

  // ------------------------------------------------------- hosted checkout

  async function handleCheckoutPage(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const m = url.pathname.match(/^\/checkout\/([A-Za-z0-9_]+)(\/pay|\/cancel)?$/);
    if (!m) return false;
    const id = m[1] as string;
    const session = state.sessions.get(id);
    const html = (status: number, body: string): void => {
      res.writeHead(status, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(body) });
      res.end(body);
    };
    if (!session) {
      html(404, "<!doctype html><title>Not found</title><h1>Checkout session not found</h1>");
      return true;
    }
    const fresh = state.retrieveCheckoutSession(id);
    const items = state.lineItems.get(id) ?? [];
    const customerEmail = fresh.customer_email ?? (fresh.customer ? (state.customers.get(fresh.customer)?.email ?? "") : "");
    if (req.method === "GET" && !m[2]) {
      html(200, renderCheckoutPage(fresh, items, customerEmail));
      return true;
    }
    if (req.method === "GET" && m[2] === "/cancel") {
      res.writeHead(303, { location: fresh.cancel_url ?? `/checkout/${id}` });
      res.end();
      return true;
    }
    if (req.method === "POST" && m[2] === "/pay") {
      const form = parseForm((await readBody(req)).toString("utf8"));
      try {
        const done = state.completeCheckoutSession(
          id,
          { card: optString(form, "card") ?? "visa", email: optString(form, "email") ?? customerEmail },
          { requestId: null, idempotencyKey: null },
        );
        res.writeHead(303, { location: done.success_url.replaceAll("{CHECKOUT_SESSION_ID}", done.id) });
        res.end();
      } catch (err) {
        if (!(err instanceof StripeApiError)) throw err;
        html(err.status, renderCheckoutPage(state.retrieveCheckoutSession(id), items, optString(form, "email") ?? customerEmail, err.message));
      }
      return true;
    }
    return false;
  }

  // -------------------------------------------------------- sandbox extras

  async function readJson(req: IncomingMessage): Promise<Json> {
    const text = (await readBody(req)).toString("utf8");
    if (!text) return {};
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {};
  }

  async function handleSandboxExtras(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const route = `${req.method} ${url.pathname}`;
    const apiError = (err: unknown): void => {
      if (err instanceof StripeApiError) sendJson(res, err.status, err.toJSON());
      else throw err;
    };
    let m: RegExpMatchArray | null;
    if (route === "GET /__sandbox/webhook-endpoints") {
      sendJson(res, 200, [...webhooks.endpoints.values()].map((e) => ({ id: e.id, url: e.url, enabledEvents: e.enabledEvents, source: e.source, status: e.status })));
    } else if (route === "POST /__sandbox/webhook-endpoints") {
      const body = await readJson(req);
      if (typeof body.url !== "string") {
        sendJson(res, 400, { error: "url (string) is required" });
        return true;
      }
      const e: WebhookEndpoint = {
        id: newId("we"),
        url: body.url,
        secret: typeof body.secret === "string" ? body.secret : opts.webhookSecret,
        enabledEvents: Array.isArray(body.enabledEvents) ? body.enabledEvents.filter((x): x is string => typeof x === "string") : ["*"],
        status: "enabled",
        source: "sandbox",
        description: null,
        metadata: {},
        created: nowS(),
      };
      webhooks.endpoints.set(e.id, e);
      sendJson(res, 200, { id: e.id, url: e.url, secret: e.secret, enabledEvents: e.enabledEvents });
    } else if (req.method === "DELETE" && (m = url.pathname.match(/^\/__sandbox\/webhook-endpoints\/([A-Za-z0-9_]+)$/))) {
      sendJson(res, 200, { deleted: webhooks.endpoints.delete(m[1] as string) });
    } else if (route === "GET /__sandbox/webhooks/deliveries") {
      sendJson(res, 200, webhooks.log);
    } else if (route === "POST /__sandbox/webhooks/flush") {
      sendJson(res, 200, { flushed: webhooks.flush() });
    } else if (req.method === "POST" && (m = url.pathname.match(/^\/__sandbox\/checkout\/([A-Za-z0-9_]+)\/complete$/))) {
      const body = await readJson(req);
      try {
        const s = state.completeCheckoutSession(
          m[1] as string,
          {
            ...(typeof body.card === "string" ? { card: body.card } : {}),
            ...(typeof body.email === "string" ? { email: body.email } : {}),
            ...(typeof body.name === "string" ? { name: body.name } : {}),
          },
          AUTOMATIC,
        );
        sendJson(res, 200, s);
      } catch (err) {
        apiError(err);
      }
    } else if (req.method === "POST" && (m = url.pathname.match(/^\/__sandbox\/intents\/([A-Za-z0-9_]+)\/authenticate$/))) {
      const body = await readJson(req);
      try {
        sendJson(res, 200, state.authenticate(m[1] as string, body.succeed !== false, AUTOMATIC));
      } catch (err) {
        apiError(err);
      }
    } else if (req.method === "POST" && (m = url.pathname.match(/^\/__sandbox\/payment_intents\/([A-Za-z0-9_]+)\/expire_authorization$/))) {
      try {
        sendJson(res, 200, state.expireAuthorization(m[1] as string));
      } catch (err) {
        apiError(err);
      }
    } else return false;
    return true;
  }

  const bill = (q: URLSearchParams): unknown => {
    const customer = q.get("customer");
    const charges = [...state.charges.values()].filter((c) => c.captured && (customer === null || c.customer === customer));
    const lines = charges.map((c) => ({
      charge: c.id,
      paymentIntent: c.payment_intent,
      customer: c.customer,
      currency: c.currency,
      amountCapturedCents: c.amount_captured,
      amountRefundedCents: c.amount_refunded - (c.amount - c.amount_captured),
      feeCents: stripeFeeCents(c.amount_captured),
    }));
    const sum = (f: (l: (typeof lines)[number]) => number): number => lines.reduce((s, l) => s + f(l), 0);
    return {
      vendor: "stripe",
      pricing: "2.9% + 30¢ per captured charge; fees are not returned on refunds",
      charges: lines,
      totals: {
        capturedCharges: lines.length,
        amountCapturedCents: sum((l) => l.amountCapturedCents),
        amountRefundedCents: sum((l) => l.amountRefundedCents),
        feeCents: sum((l) => l.feeCents),
        netCents: sum((l) => l.amountCapturedCents - l.amountRefundedCents - l.feeCents),
      },
    };
  };

  const server = createEmulatorServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://sandbox");
    if (url.pathname.startsWith("/__sandbox/")) {
      if (await handleSandboxExtras(req, res, url)) return;
      const handled = await handleControl(req, res, {
        knobs: knobs as unknown as Knobs<object>,
        bill,
        reset: () => {
          state.clear();
          webhooks.clear();
          idempotency.clear();
        },
      });
      if (!handled) sendJson(res, 404, { error: `unknown sandbox route ${req.method} ${url.pathname}` });
      return;
    }
    if (url.pathname.startsWith("/v1/")) return handleApi(req, res, url);
    if (await handleCheckoutPage(req, res, url)) return;
    if (url.pathname === "/") {
      sendJson(res, 200, { emulator: "stripe", apiVersion: API_VERSION });
      return;
    }
    sendJson(res, 404, { error: { type: "invalid_request_error", message: `Unrecognized request URL (${req.method}: ${url.pathname}).` } });
  }, "stripe");

  const port = await listen(server, opts.port ?? 0);
  baseUrl = `http://127.0.0.1:${port}`;
  return {
    url: baseUrl,
    port,
    knobs,
    state,
    setWebhookUrl,
    deliveries: () => [...webhooks.log],
    webhooksIdle: () => webhooks.idle(),
    flushWebhooks: () => webhooks.flush(),
    close: async () => {
      webhooks.close();
      await closeServer(server);
    },
  };
}

/** Order-insensitive rendering of parsed params, for idempotency fingerprints. */
function canonical(v: FormValue): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(v[k] as FormValue)}`)
    .join(",")}}`;
}
