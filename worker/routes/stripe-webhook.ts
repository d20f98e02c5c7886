/**
 * `POST /stripe/webhook`: Stripe's event deliveries. Outside /api (no JSON body rules, no
 * bearer auth): the raw body is verified with the signing secret (`constructEventAsync`, Web
 * Crypto); a forged, stale or unsigned delivery is 400. Verified events go to
 * `handleStripeEvent`, which applies each event id exactly once and ignores stale states, so
 * duplicates and out-of-order deliveries change nothing after the first.
 */
import { Hono } from "hono";
import { createDb } from "../db/client";
import { parseEnv } from "../env";
import { envelope } from "../errors";
import { handleStripeEvent } from "../services/billing";
import { verifyStripeWebhook } from "../services/stripe";
import type { AppEnv } from "../types";

/** Largest webhook body accepted. */
const MAX_BODY_BYTES = 512 * 1024;

export const stripeWebhook = new Hono<AppEnv>().post("/webhook", async (c) => {
  const config = parseEnv(c.env);
  const signature = c.req.header("Stripe-Signature");
  const raw = await c.req.text();
  if (!signature || raw.length > MAX_BODY_BYTES) return c.json(envelope("bad_request", "Missing or oversized signed payload"), 400);
  let event: Awaited<ReturnType<typeof verifyStripeWebhook>>;
  try {
    event = await verifyStripeWebhook(config, raw, signature);
  } catch {
    c.var.log.warn("stripe webhook refused: bad signature");
    return c.json(envelope("bad_request", "Invalid Stripe signature"), 400);
  }
  const outcome = await handleStripeEvent(createDb(config), event);
  c.var.log.info("stripe webhook", { eventId: event.id, type: event.type, outcome });
  return c.json({ received: true, outcome }, 200);
});
