/**
 * The Stripe client for the Worker: the official SDK with the fetch HTTP client, pointed at
 * `STRIPE_BASE_URL` (api.stripe.com in production, the local emulator keylessly), and webhook
 * verification with Web Crypto (`constructEventAsync`). Nothing here logs keys or payloads.
 */
import Stripe from "stripe";
import type { Config } from "../env";

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
