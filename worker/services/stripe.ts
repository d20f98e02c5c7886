/**
 * The Stripe client for the Worker: the official SDK with the fetch HTTP client, pointed at
 * `STRIPE_BASE_URL` (api.stripe.com in production, the local emulator keylessly), and webhook
 * verification with Web Crypto (`constructEventAsync`), and `fromStripeError`, which turns a Stripe
 * error caused by what a client sent into a 4xx AppError (everything else into a ProviderError,
 * answered 502). Nothing here logs keys or payloads.
 */
import Stripe from "stripe";
import { ProviderError } from "../../durable-objects/providers/types";
import type { Config } from "../env";
import { AppError, notFound } from "../errors";

const clients = new Map<string, Stripe>();

/** One SDK client per (base URL, key) per isolate. */
export function stripeClient(config: Pick<Config, "baseUrls" | "keys">): Stripe {
  const key = `${config.baseUrls.stripe}\n${config.keys.stripeSecret}`;
  let client = clients.get(key);
  if (!client) {
    const url = new URL(config.baseUrls.stripe);
    const protocol = url.protocol === "http:" ? "http" : "https";
    client = new Stripe(config.keys.stripeSecret || "sk_unset", {
      httpClient: Stripe.createFetchHttpClient(),
      host: url.hostname,
      port: url.port ? Number(url.port) : protocol === "http" ? 80 : 443,
      protocol,
      maxNetworkRetries: 2,
      telemetry: false,
    });
    clients.set(key, client);
  }
  return client;
}

export type StripeEvent = Awaited<ReturnType<Stripe["webhooks"]["constructEventAsync"]>>;

const crypto = Stripe.createSubtleCryptoProvider();

/** Verify a webhook delivery (raw body + `Stripe-Signature`); throws when forged, stale or malformed. */
export async function verifyStripeWebhook(config: Pick<Config, "baseUrls" | "keys">, rawBody: string, signature: string): Promise<StripeEvent> {
  if (!config.keys.stripeWebhookSecret) throw new Error("STRIPE_WEBHOOK_SECRET is not configured");
  return stripeClient(config).webhooks.constructEventAsync(rawBody, signature, config.keys.stripeWebhookSecret, undefined, crypto);
}

/** True for the SDK's error classes (card declines, invalid requests…). */
export function isStripeError(err: unknown): err is { type: string; code?: string; message: string; statusCode?: number; decline_code?: string } {
  return typeof err === "object" && err !== null && "type" in err && typeof (err as { type: unknown }).type === "string" && String((err as { type: string }).type).startsWith("Stripe");
}

/** Stripe `invalid_request_error` codes that mean "this id is not something you may use". */
const NOT_YOURS = new Set(["resource_missing", "payment_method_unexpected_state", "setup_intent_unexpected_state"]);

/**
 * A Stripe error from a request shaped by what the client sent (an id), as the error to answer
 * with. An unknown id, or an object in a state this customer cannot use (e.g. a payment method
 * attached to another customer) → 404 "`what` not found", so another customer's objects look the
 * same as missing ones; any other invalid request → 400; a declined card → 402 (`card_declined`);
 * an idempotency clash → 409. Stripe's own trouble (authentication, rate limit, 5xx, network) →
 * ProviderError (502). Errors that are not Stripe's are returned unchanged.
 */
export function fromStripeError(err: unknown, what: string): unknown {
  if (!isStripeError(err)) return err;
  if (err.type === "StripeCardError") {
    return new AppError("bad_request", `The card was declined: ${err.message}`, { status: 402, details: { reason: "card_declined" } });
  }
  if (err.type === "StripeIdempotencyError") return new AppError("conflict", "The request clashed with an earlier one; try again");
  if (err.type === "StripeInvalidRequestError") {
    if (err.statusCode === 404 || NOT_YOURS.has(err.code ?? "")) return notFound(what);
    if (err.statusCode === 400) return new AppError("bad_request", `The payment provider refused this ${what.toLowerCase()}`);
  }
  return new ProviderError("stripe", err.message, { ...(err.statusCode !== undefined ? { status: err.statusCode } : {}), cause: err });
}

/** `promise`, with a Stripe failure mapped by `fromStripeError`. */
export function stripeCall<T>(what: string, promise: Promise<T>): Promise<T> {
  return promise.catch((err: unknown) => {
    throw fromStripeError(err, what);
  });
}
