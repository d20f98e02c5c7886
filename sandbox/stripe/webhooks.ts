/**
 * Webhook delivery as Stripe does it: each Event is POSTed as pretty-printed JSON to every
 * enabled endpoint whose `enabled_events` match, signed with
 * `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>` (re-signed on every
 * attempt), and retried with exponential backoff on non-2xx answers, timeouts and connection
 * errors. Fault knobs: delay, duplicate copies, hold-and-shuffle (out of order) and signing with
 * a wrong secret. It keeps a delivery log for tests and `GET /__sandbox/webhooks/deliveries`.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { StripeEvent } from "./objects";

export interface WebhookKnobs {
  /** Wait before the first attempt of each delivery. @default 0 */
  webhookDelayMs: number;
  /** Deliveries per event and endpoint (2 = every event arrives twice). @default 1 */
  webhookCopies: number;
  /** Hold deliveries for `webhookHoldMs`, then send them in shuffled order. @default false */
  webhookOutOfOrder: boolean;
  /** How long out-of-order mode collects deliveries before shuffling them out. @default 200 */
  webhookHoldMs: number;
  /** Sign with a secret the receiver does not know (forged-signature test). @default false */
  webhookSignWithWrongSecret: boolean;
  /** First retry after this long, doubling each attempt. @default 2000 */
  webhookRetryBaseMs: number;
  /** Attempts per delivery before giving up. @default 5 */
  webhookMaxAttempts: number;
  /** An attempt that takes longer than this counts as failed. @default 10000 */
  webhookTimeoutMs: number;
}

export const DEFAULT_WEBHOOK_KNOBS: WebhookKnobs = {
  webhookDelayMs: 0,
  webhookCopies: 1,
  webhookOutOfOrder: false,
  webhookHoldMs: 200,
  webhookSignWithWrongSecret: false,
  webhookRetryBaseMs: 2000,
  webhookMaxAttempts: 5,
  webhookTimeoutMs: 10_000,
};

export interface WebhookEndpoint {
  id: string;
  url: string;
  secret: string;
  /** `["*"]` or explicit event types. */
  enabledEvents: string[];
  status: "enabled" | "disabled";
  /** Where it was configured: the emulator option, `/__sandbox/webhook-endpoints`, or `POST /v1/webhook_endpoints`. */
  source: "option" | "sandbox" | "api";
  description: string | null;
  metadata: Record<string, string>;
  created: number;
}

export interface DeliveryAttempt {
  eventId: string;
  eventType: string;
  endpointId: string;
  url: string;
  /** 0-based copy number (see `webhookCopies`). */
  copy: number;
  /** 1-based attempt number. */
  attempt: number;
  /** HTTP status, or null when the attempt timed out or could not connect. */
  status: number | null;
  ok: boolean;
  error?: string;
  at: number;
}

interface Job {
  event: StripeEvent;
  payload: string;
  endpoint: WebhookEndpoint;
  copy: number;
  /** Dispatcher generation at enqueue time; a reset bumps it and orphans older jobs. */
  generation: number;
}

/** Signs `payload` the way Stripe does; exported so tests can build headers too. */
export function stripeSignatureHeader(payload: string, secret: string, timestampS = Math.floor(Date.now() / 1000)): string {
  const sig = createHmac("sha256", secret).update(`${timestampS}.${payload}`, "utf8").digest("hex");
  return `t=${timestampS},v1=${sig}`;
}

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString("base64url")}`;
}

export class WebhookDispatcher {
  readonly endpoints = new Map<string, WebhookEndpoint>();
  readonly log: DeliveryAttempt[] = [];
  private held: Job[] = [];
  private holdTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inflight = new Set<AbortController>();
  private pending = 0;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private generation = 0;

  constructor(private readonly knobs: () => WebhookKnobs) {}

  /** Queues deliveries of `event` to every matching endpoint; returns how many endpoints will get it. */
  enqueue(event: StripeEvent): number {
    if (this.closed) return 0;
    const targets = [...this.endpoints.values()].filter(
      (e) => e.status === "enabled" && (e.enabledEvents.includes("*") || e.enabledEvents.includes(event.type)),
    );
    if (targets.length === 0) return 0;
    event.pending_webhooks = targets.length;
    const payload = JSON.stringify(event, null, 2);
    const k = this.knobs();
    const copies = Math.max(1, Math.floor(k.webhookCopies));
    for (const endpoint of targets)
      for (let copy = 0; copy < copies; copy++) {
        const job: Job = { event, payload, endpoint, copy, generation: this.generation };
        this.pending++;
        if (k.webhookOutOfOrder) this.hold(job, k.webhookHoldMs);
        else this.later(() => this.attempt(job, 1), k.webhookDelayMs);
      }
    return targets.length;
  }

  private hold(job: Job, holdMs: number): void {
    this.held.push(job);
    if (this.holdTimer) return;
    this.holdTimer = setTimeout(() => {
      this.holdTimer = undefined;
      this.flush();
    }, holdMs);
  }

  /** Sends every held delivery now, in shuffled order (never the original order when there are two or more). */
  flush(): number {
    if (this.holdTimer) {
      clearTimeout(this.holdTimer);
      this.holdTimer = undefined;
    }
    const jobs = this.held;
    this.held = [];
    const order = jobs.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    if (order.length > 1 && order.every((v, i) => v === i)) order.reverse();
    const delay = this.knobs().webhookDelayMs;
    // Sequential hand-off keeps the shuffled order on the wire.
    const run = async (): Promise<void> => {
      for (const i of order) await this.attempt(jobs[i] as Job, 1);
    };
    this.later(() => run(), delay);
    return jobs.length;
  }

  private later(fn: () => Promise<void>, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn().catch((err: unknown) => console.error("[sandbox:stripe] webhook", err instanceof Error ? err.message : err));
    }, Math.max(0, ms));
    this.timers.add(t);
  }

  private async attempt(job: Job, attempt: number): Promise<void> {
    if (this.closed || job.generation !== this.generation) return;
    const k = this.knobs();
    const secret = k.webhookSignWithWrongSecret ? `${job.endpoint.secret}_forged` : job.endpoint.secret;
    const ac = new AbortController();
    this.inflight.add(ac);
    const timer = setTimeout(() => ac.abort(), k.webhookTimeoutMs);
    const record: DeliveryAttempt = {
      eventId: job.event.id,
      eventType: job.event.type,
      endpointId: job.endpoint.id,
      url: job.endpoint.url,
      copy: job.copy,
      attempt,
      status: null,
      ok: false,
      at: Date.now(),
    };
    try {
      const res = await fetch(job.endpoint.url, {
        method: "POST",
        headers: {
          "content-type": "application/json; charset=utf-8",
          "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
          "stripe-signature": stripeSignatureHeader(job.payload, secret),
        },
        body: job.payload,
        signal: ac.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      record.status = res.status;
      record.ok = res.status >= 200 && res.status < 300;
    } catch (err) {
      record.error = ac.signal.aborted ? "timeout" : err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(timer);
      this.inflight.delete(ac);
    }
    if (this.closed || job.generation !== this.generation) return;
    this.log.push(record);
    if (record.ok) {
      if (job.copy === 0) job.event.pending_webhooks = Math.max(0, job.event.pending_webhooks - 1);
      this.done();
    } else if (attempt < k.webhookMaxAttempts) {
      this.later(() => this.attempt(job, attempt + 1), k.webhookRetryBaseMs * 2 ** (attempt - 1));
    } else this.done();
  }

  private done(): void {
    this.pending = Math.max(0, this.pending - 1);
    if (this.pending === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves once no delivery is queued, held, in flight or waiting for a retry. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops queued deliveries, the log and every endpoint not configured by option. */
  clear(): void {
    this.cancelAll();
    this.log.length = 0;
    for (const [id, e] of this.endpoints) if (e.source !== "option") this.endpoints.delete(id);
  }

  private cancelAll(): void {
    this.generation++;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.held = [];
    for (const ac of this.inflight) ac.abort();
    this.pending = 0;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  close(): void {
    this.closed = true;
    this.cancelAll();
  }
}
