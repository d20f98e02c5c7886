/**
 * The per-call cost meter (pure: no `cloudflare:` imports, no I/O, time passed in). It prices the
 * pipeline's `usage` records and the telephony/platform units with the rate in force when the
 * usage happened (`RateCard`), keeps running totals by service, meters the user's own spend per
 * started minute, and turns budget thresholds and the end of the bought time into effects for the
 * Durable Object: `warn` (say once), `cutoff` (say goodbye, end via Twilio), `offer-extension`.
 *
 * Money is exact: rates are decimal strings scaled to 1e-8 micro-dollars, costs are bigint
 * pico-dollars (1e-6 micro-dollar) and become `numeric(20,6)` micro-dollar strings in Postgres.
 * The meter's state round-trips through JSON (`toJSON` / `CostMeter.restore`) so a Durable Object
 * can persist it with every batch of events and resume after an eviction without double-billing.
 * It deliberately does not persist, flush or speak anything itself.
 */
import type { UsageRecord } from "../pipeline/events";

export type CostServiceName = "twilio" | "deepgram" | "cerebras" | "openai" | "elevenlabs" | "platform" | "stripe";

/** One version of one vendor rate (a `service_pricing` row). */
export interface RateRow {
  id: string | null;
  service: CostServiceName;
  operation: string;
  /** LLM model id; "" when not model-specific. */
  model: string;
  unit: string;
  /** Micro-dollars per unit, decimal string (e.g. "0.1", "14000"). */
  rateMicros: string;
  effectiveFrom: number;
  effectiveTo: number | null;
}

const RATE_SCALE = 8;
const AMOUNT_SCALE = 6;
const PICOS_PER_MICRO = 1_000_000n;

/** Parse a non-negative decimal string into a bigint scaled by 10^scale (extra digits rounded half up). */
export function parseDecimal(value: string, scale: number): bigint {
  const m = /^\s*([0-9]+)(?:\.([0-9]*))?\s*$/.exec(value);
  if (!m) throw new RangeError(`Not a non-negative decimal: ${JSON.stringify(value)}`);
  const whole = m[1] ?? "0";
  const frac = m[2] ?? "";
  const kept = frac.slice(0, scale).padEnd(scale, "0");
  let result = BigInt(whole) * 10n ** BigInt(scale) + BigInt(kept === "" ? "0" : kept);
  const next = frac.charAt(scale);
  if (next !== "" && Number(next) >= 5) result += 1n;
  return result;
}

/** Format a bigint scaled by 10^scale as a plain decimal string with exactly `scale` decimals. */
export function formatScaled(value: bigint, scale: number): string {
  const neg = value < 0n;
  const abs = neg ? -value : value;
  const base = 10n ** BigInt(scale);
  const whole = abs / base;
  const frac = (abs % base).toString().padStart(scale, "0");
  return `${neg ? "-" : ""}${whole}${scale > 0 ? `.${frac}` : ""}`;
}

/** a / b rounded half up, for non-negative a and positive b. */
function divRound(a: bigint, b: bigint): bigint {
  return (a * 2n + b) / (2n * b);
}

/** Pico-dollars → whole micro-dollars (half up). */
export function picosToMicros(picos: bigint): number {
  return Number(picos >= 0n ? divRound(picos, PICOS_PER_MICRO) : -divRound(-picos, PICOS_PER_MICRO));
}

/** The rates of every service, queried by the instant the usage happened. */
export class RateCard {
  private readonly rows: RateRow[];
  constructor(rows: readonly RateRow[]) {
    this.rows = [...rows].sort((a, b) => b.effectiveFrom - a.effectiveFrom);
  }

  /**
   * The rate in force at `at` for (service, operation, model): the exact model first, then the
   * model-independent row (""), then the service's newest rate for that operation of any model
   * (a new model id priced like its predecessor until an admin adds a rate). Null when none.
   */
  find(service: CostServiceName, operation: string, model: string, at: number): RateRow | null {
    const inForce = (r: RateRow) =>
      r.service === service && r.operation === operation && r.effectiveFrom <= at && (r.effectiveTo === null || at < r.effectiveTo);
    return (
      this.rows.find((r) => inForce(r) && r.model === model) ??
      this.rows.find((r) => inForce(r) && r.model === "") ??
      this.rows.find((r) => inForce(r)) ??
      null
    );
  }

  toJSON(): RateRow[] {
    return this.rows;
  }
}

/** A usage amount as an exact fraction of the rate's unit. */
interface Quantity {
  /** In base units: milliseconds for time, a count otherwise. */
  base: bigint;
  kind: "time" | "count";
}

/** How many base units (ms or items) one rate unit stands for. */
export function unitSize(unit: string, kind: Quantity["kind"]): bigint | null {
  const u = unit.trim().toLowerCase();
  if (kind === "time") {
    if (u === "ms" || u === "millisecond") return 1n;
    if (u === "second" || u === "s") return 1000n;
    if (u === "minute" || u === "min") return 60_000n;
    if (u === "hour") return 3_600_000n;
    return null;
  }
  const m = /^(?:(1k|1m|[0-9]+)_)?([a-z]+?)s?$/.exec(u);
  if (!m) return null;
  const mult = m[1] === "1k" ? 1000n : m[1] === "1m" ? 1_000_000n : m[1] ? BigInt(m[1]) : 1n;
  return mult;
}

/** One priced unit of usage, ready for DO storage and the `cost_events` table. */
export interface PricedCost {
  eventKey: string;
  service: CostServiceName;
  operation: string;
  model: string;
  /** In the rate's unit, 6 decimals. */
  usageAmount: string;
  usageUnit: string;
  rateMicros: string;
  /** Micro-dollars, 6 decimals (numeric). */
  costMicros: string;
  /** Pico-dollars as a decimal string (exact; JSON-safe). */
  costPicos: string;
  pricingId: string | null;
  occurredAt: number;
  estimated: boolean;
  providerRequestId: string | null;
}

/** Price one quantity with the rate in force; a missing rate prices at 0 and is reported by the caller. */
export function priceQuantity(
  card: RateCard,
  input: { service: CostServiceName; operation: string; model: string; quantity: Quantity; at: number; eventKey: string; estimated?: boolean; providerRequestId?: string | null },
): PricedCost & { unpriced: boolean } {
  const rate = card.find(input.service, input.operation, input.model, input.at);
  const size = rate ? unitSize(rate.unit, input.quantity.kind) : null;
  const unit = rate?.unit ?? (input.quantity.kind === "time" ? "ms" : "unit");
  const divisor = size ?? 1n;
  const rateScaled = rate && size !== null ? parseDecimal(rate.rateMicros, RATE_SCALE) : 0n;
  // cost[pico] = base / divisor × rate[micro] × 1e6 = base × rateScaled / (divisor × 100)
  const costPicos = divRound(input.quantity.base * rateScaled, divisor * 100n);
  const usage = divRound(input.quantity.base * 10n ** BigInt(AMOUNT_SCALE), divisor);
  return {
    eventKey: input.eventKey,
    service: input.service,
    operation: input.operation,
    model: input.model,
    usageAmount: formatScaled(usage, AMOUNT_SCALE),
    usageUnit: unit,
    rateMicros: rate && size !== null ? formatScaled(rateScaled, RATE_SCALE) : "0.00000000",
    costMicros: formatScaled(costPicos, AMOUNT_SCALE),
    costPicos: costPicos.toString(),
    pricingId: rate && size !== null ? rate.id : null,
    occurredAt: input.at,
    estimated: input.estimated ?? false,
    providerRequestId: input.providerRequestId ?? null,
    unpriced: !rate || size === null,
  };
}

/** The cost service an LLM provider bills under. */
export function llmService(provider: string): CostServiceName {
  return provider === "cerebras" ? "cerebras" : "openai";
}

/** What the user bought for this call. */
export interface SpendPlan {
  minutes: number;
  priceMicros: number;
  isFreeTrial: boolean;
  extension: { minutes: number; priceMicros: number };
  /** @default 1 */
  maxExtensions?: number;
  /** False for browser calls: no telephony minutes are billed. @default true */
  telephony?: boolean;
}

/** The user's budget as it stood when the call was placed. */
export interface BudgetPlan {
  /** min(per-call limit, day limit − spent today, month limit − spent this month); null = unlimited. */
  limitMicros: number | null;
  warnAtPercent: number;
  autoCutoff: boolean;
}

export interface MeterTiming {
  /** Say goodbye this long before the next minute would exceed the budget. @default 15000 */
  goodbyeLeadMs?: number;
  /** Offer the extension this long before the bought time ends. @default 60000 */
  offerBeforeEndMs?: number;
  /** How long after the offer a "yes" or "1" still counts. @default 30000 */
  offerWindowMs?: number;
}

export type MeterEffect =
  | { type: "warn"; spentMicros: number; limitMicros: number; message: string }
  | { type: "cutoff"; spentMicros: number; limitMicros: number; message: string }
  | { type: "offer-extension"; minutes: number; priceMicros: number; message: string }
  | { type: "extended"; extensions: number; durationLimitS: number; chargedMicros: number; message: string };

export interface CostSnapshot {
  /** Vendor cost, whole micro-dollars. */
  totalMicros: number;
  byService: Record<string, number>;
  /** The user's spend so far (what they would be charged if the call ended now). */
  spentMicros: number;
  durationLimitS: number;
  extensions: number;
}

interface MeterState {
  seq: number;
  connectedAt: number | null;
  twilioMinutes: number;
  platformBilled: boolean;
  extensions: number;
  warned: boolean;
  cutoff: boolean;
  offeredAt: number | null;
  totals: Record<string, string>;
  unpriced: number;
}

/**
 * The spend for `startedMinutes` of connected time plus accepted extensions, in micro-dollars
 * rounded down to whole cents (what a card can be charged): the tier price spread over its
 * minutes, exactly the tier price once every minute started.
 */
export function spendFor(plan: SpendPlan, startedMinutes: number, extensions: number): number {
  if (plan.isFreeTrial) return 0;
  const minutes = Math.max(0, Math.min(startedMinutes, plan.minutes));
  const base = minutes >= plan.minutes ? plan.priceMicros : Math.floor((plan.priceMicros * minutes) / plan.minutes / 10_000) * 10_000;
  return base + extensions * plan.extension.priceMicros;
}

const YES = /\b(yes|yeah|yep|yup|sure|ok|okay|please do|extend|let'?s do it|absolutely)\b/i;
const NO = /\b(no|nope|nah|not now|don'?t)\b/i;

/** True when a caller utterance accepts the extension offer ("yes", "sure, extend it"…). */
export function saysYes(text: string): boolean {
  return YES.test(text) && !NO.test(text);
}

export class CostMeter {
  private readonly card: RateCard;
  private readonly plan: SpendPlan;
  private readonly budget: BudgetPlan;
  private readonly timing: Required<MeterTiming>;
  private state: MeterState;

  constructor(opts: { rates: RateCard | readonly RateRow[]; plan: SpendPlan; budget: BudgetPlan; timing?: MeterTiming; state?: MeterState }) {
    this.card = opts.rates instanceof RateCard ? opts.rates : new RateCard(opts.rates);
    this.plan = opts.plan;
    this.budget = opts.budget;
    this.timing = {
      goodbyeLeadMs: opts.timing?.goodbyeLeadMs ?? 15_000,
      offerBeforeEndMs: opts.timing?.offerBeforeEndMs ?? 60_000,
      offerWindowMs: opts.timing?.offerWindowMs ?? 30_000,
    };
    this.state = opts.state ?? {
      seq: 0,
      connectedAt: null,
      twilioMinutes: 0,
      platformBilled: false,
      extensions: 0,
      warned: false,
      cutoff: false,
      offeredAt: null,
      totals: {},
      unpriced: 0,
    };
  }

  /** Rebuild a meter from `toJSON()` output (after a Durable Object restart). */
  static restore(opts: { rates: RateCard | readonly RateRow[]; plan: SpendPlan; budget: BudgetPlan; timing?: MeterTiming }, saved: unknown): CostMeter {
    return new CostMeter({ ...opts, state: saved as MeterState });
  }

  toJSON(): MeterState {
    return { ...this.state, totals: { ...this.state.totals } };
  }

  get connectedAt(): number | null {
    return this.state.connectedAt;
  }

  get durationLimitS(): number {
    return (this.plan.minutes + this.state.extensions * this.plan.extension.minutes) * 60;
  }

  /** Usage records that found no rate (priced at 0); a non-zero value needs an admin. */
  get unpricedCount(): number {
    return this.state.unpriced;
  }

  private nextKey(prefix: string): string {
    this.state.seq += 1;
    return `${prefix}:${this.state.seq}`;
  }

  private add(priced: PricedCost & { unpriced: boolean }): PricedCost {
    const { unpriced, ...event } = priced;
    if (unpriced) this.state.unpriced += 1;
    const prev = BigInt(this.state.totals[event.service] ?? "0");
    this.state.totals[event.service] = (prev + BigInt(event.costPicos)).toString();
    return event;
  }

  /** The call was answered: bills the platform fee and the first telephony minute. */
  connect(at: number): PricedCost[] {
    if (this.state.connectedAt !== null) return [];
    this.state.connectedAt = at;
    const out: PricedCost[] = [];
    if (!this.state.platformBilled) {
      this.state.platformBilled = true;
      out.push(
        this.add(priceQuantity(this.card, { service: "platform", operation: "per_call", model: "", quantity: { base: 1n, kind: "count" }, at, eventKey: "platform:call" })),
      );
    }
    return [...out, ...this.billMinutes(at)];
  }

  /** Telephony is billed per started minute of connected time (Twilio's rule). */
  private billMinutes(now: number): PricedCost[] {
    if (this.state.connectedAt === null || this.plan.telephony === false) return [];
    const started = Math.floor(Math.max(0, now - this.state.connectedAt) / 60_000) + 1;
    const out: PricedCost[] = [];
    while (this.state.twilioMinutes < started) {
      this.state.twilioMinutes += 1;
      const at = this.state.connectedAt + (this.state.twilioMinutes - 1) * 60_000;
      out.push(
        this.add(
          priceQuantity(this.card, {
            service: "twilio",
            operation: "outbound_minute",
            model: "",
            quantity: { base: 60_000n, kind: "time" },
            at,
            eventKey: `twilio:minute:${this.state.twilioMinutes}`,
          }),
        ),
      );
    }
    return out;
  }

  /** Price one pipeline `usage` record (STT audio, LLM tokens incl. fallback, TTS characters). */
  record(usage: UsageRecord, at: number, providerRequestId: string | null = null): PricedCost[] {
    if (usage.kind === "stt") {
      if (usage.audioMs <= 0) return [];
      return [
        this.add(
          priceQuantity(this.card, {
            service: "deepgram",
            operation: "stream_minute",
            model: "",
            quantity: { base: BigInt(Math.round(usage.audioMs)), kind: "time" },
            at,
            eventKey: this.nextKey("stt"),
            providerRequestId,
          }),
        ),
      ];
    }
    if (usage.kind === "tts") {
      if (usage.characters <= 0) return [];
      return [
        this.add(
          priceQuantity(this.card, {
            service: "elevenlabs",
            operation: "character",
            model: "",
            quantity: { base: BigInt(usage.characters), kind: "count" },
            at,
            eventKey: this.nextKey("tts"),
            providerRequestId,
          }),
        ),
      ];
    }
    const service = llmService(usage.provider);
    const key = this.nextKey("llm");
    const out: PricedCost[] = [];
    for (const [operation, tokens] of [
      ["input_token", usage.promptTokens],
      ["output_token", usage.completionTokens],
    ] as const) {
      if (tokens <= 0) continue;
      out.push(
        this.add(
          priceQuantity(this.card, {
            service,
            operation,
            model: usage.model,
            quantity: { base: BigInt(tokens), kind: "count" },
            at,
            eventKey: `${key}:${operation === "input_token" ? "in" : "out"}`,
            estimated: usage.estimated,
            providerRequestId,
          }),
        ),
      );
    }
    return out;
  }

  /** The user's spend at `now`. */
  spentAt(now: number): number {
    if (this.state.connectedAt === null) return 0;
    const started = Math.floor(Math.max(0, now - this.state.connectedAt) / 60_000) + 1;
    return spendFor(this.plan, started, this.state.extensions);
  }

  /** The final charge for a call that ended at `endedAt` (0 when it never connected). */
  finalCharge(endedAt: number): number {
    return this.spentAt(endedAt);
  }

  snapshot(now: number): CostSnapshot {
    const byService: Record<string, number> = {};
    let total = 0n;
    for (const [service, picos] of Object.entries(this.state.totals)) {
      const v = BigInt(picos);
      total += v;
      byService[service] = picosToMicros(v);
    }
    return { totalMicros: picosToMicros(total), byService, spentMicros: this.spentAt(now), durationLimitS: this.durationLimitS, extensions: this.state.extensions };
  }

  /**
   * Advance time: bills newly started telephony minutes and returns the effects due now. Call it
   * at least every couple of seconds while connected (the live ticker uses the same cadence).
   */
  tick(now: number): { costs: PricedCost[]; effects: MeterEffect[] } {
    const costs = this.billMinutes(now);
    const effects: MeterEffect[] = [];
    const connectedAt = this.state.connectedAt;
    if (connectedAt === null || this.state.cutoff) return { costs, effects };
    const limit = this.budget.limitMicros;
    const elapsed = Math.max(0, now - connectedAt);
    const started = Math.floor(elapsed / 60_000) + 1;
    const spent = spendFor(this.plan, started, this.state.extensions);
    if (limit !== null && !this.plan.isFreeTrial) {
      const nextBoundary = connectedAt + started * 60_000;
      const nextSpend = spendFor(this.plan, started + 1, this.state.extensions);
      const overNow = spent > limit;
      const overNext = nextSpend > limit && now >= nextBoundary - this.timing.goodbyeLeadMs;
      if (this.budget.autoCutoff && (overNow || overNext)) {
        this.state.cutoff = true;
        effects.push({ type: "cutoff", spentMicros: spent, limitMicros: limit, message: BUDGET_GOODBYE });
        return { costs, effects };
      }
      if (!this.state.warned && limit > 0 && spent * 100 >= limit * this.budget.warnAtPercent) {
        this.state.warned = true;
        effects.push({ type: "warn", spentMicros: spent, limitMicros: limit, message: BUDGET_WARNING });
      }
    }
    const maxExt = this.plan.maxExtensions ?? 1;
    const endAt = connectedAt + this.durationLimitS * 1000;
    if (
      !this.plan.isFreeTrial &&
      this.state.offeredAt === null &&
      this.state.extensions < maxExt &&
      now >= endAt - this.timing.offerBeforeEndMs &&
      now < endAt &&
      (limit === null || spendFor(this.plan, this.plan.minutes, this.state.extensions + 1) <= limit)
    ) {
      this.state.offeredAt = now;
      effects.push({
        type: "offer-extension",
        minutes: this.plan.extension.minutes,
        priceMicros: this.plan.extension.priceMicros,
        message: extensionOffer(this.plan.extension),
      });
    }
    return { costs, effects };
  }

  /** True while an extension offer is open (offered, not answered, within the window). */
  offerOpen(now: number): boolean {
    const at = this.state.offeredAt;
    return at !== null && at > 0 && now - at <= this.timing.offerWindowMs;
  }

  /**
   * The caller answered the open offer (keypad "1" or a spoken yes): adds the minutes and the
   * price. Returns null when no offer is open (a stray "1" or "yes" does nothing).
   */
  acceptExtension(now: number): MeterEffect | null {
    if (!this.offerOpen(now)) return null;
    // Cleared (not closed) so a further extension can be offered near the new end, up to maxExtensions.
    this.state.offeredAt = null;
    this.state.extensions += 1;
    return {
      type: "extended",
      extensions: this.state.extensions,
      durationLimitS: this.durationLimitS,
      chargedMicros: this.plan.extension.priceMicros,
      message: `Done, we've got ${this.plan.extension.minutes} more minutes.`,
    };
  }

  /** Close the offer without extending (the caller said no or the window passed). */
  declineExtension(): void {
    if (this.state.offeredAt !== null) this.state.offeredAt = -1;
  }
}

export const BUDGET_WARNING = "Just a heads-up: we're getting close to the spending limit you set for calls.";
export const BUDGET_GOODBYE = "We've reached the spending limit you set, so I have to let you go now. Talk soon, bye!";

function extensionOffer(ext: { minutes: number; priceMicros: number }): string {
  const dollars = (ext.priceMicros / 1_000_000).toFixed(2);
  return `We're almost out of time. Want ${ext.minutes} more minutes for $${dollars}? Press 1 or just say yes.`;
}
