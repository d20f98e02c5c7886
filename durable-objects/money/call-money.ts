/**
 * The CallSession Durable Object's money glue (the meter itself is pure: cost-meter.ts). One per
 * call: loads the rate card, the call's tier and the user's budget; prices every usage record and
 * telephony minute as it happens and writes each priced event to Durable Object storage first
 * (with the meter's state); the DO's flush copies `pending()` ones to Postgres `cost_events`
 * (idempotent on event_key) and then `dropFlushed` deletes them locally — so a crash loses nothing
 * and double-counts nothing.
 * `tick(now)` returns the meter's effects (warn / cut-off / extension offer) for the DO to act on;
 * `accept(now)` charges an accepted extension. It does not speak or hang up itself.
 */
import { eq } from "drizzle-orm";
import { CALL_OPTIONS, EXTENSION } from "../../contracts/calls";
import type { Db } from "../../worker/db/client";
import { calls } from "../../worker/db/schema";
import type { Config } from "../../worker/env";
import type { Logger } from "../../worker/log";
import { chargeExtension } from "../../worker/services/billing";
import { budgetPlanFor } from "../../worker/services/budgets";
import { loadRates } from "../../worker/services/pricing";
import type { UsageRecord } from "../pipeline/events";
import { CostMeter, type CostSnapshot, type MeterEffect, type PricedCost } from "./cost-meter";

const EVENT_PREFIX = "money:ev:";
const STATE_KEY = "money:meter";
const PLAN_KEY = "money:plan";

interface StoredPlan {
  minutes: number;
  priceMicros: number;
  isFreeTrial: boolean;
  telephony: boolean;
  limitMicros: number | null;
  warnAtPercent: number;
  autoCutoff: boolean;
}

export interface CallMoneyOptions {
  storage: DurableObjectStorage;
  db: () => Db;
  config: Config;
  callId: string;
  userId: string;
  log: Logger;
}

export class CallMoney {
  private meter: CostMeter | null = null;
  private loading: Promise<CostMeter> | null = null;
  /** Serialises storage writes so the meter state is saved in event order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly opts: CallMoneyOptions) {}

  /** Loads (once) the rates, the tier and the budget in force when the call started. */
  ready(): Promise<CostMeter> {
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = null;
      throw err;
    });
    return this.loading;
  }

  private async load(): Promise<CostMeter> {
    const { storage, db, callId, userId } = this.opts;
    const rates = await loadRates(db());
    let plan = await storage.get<StoredPlan>(PLAN_KEY);
    if (!plan) {
      const [call] = await db().select({ priceMicros: calls.priceMicros, isFreeTrial: calls.isFreeTrial, durationLimitS: calls.durationLimitS, transport: calls.transport }).from(calls).where(eq(calls.id, callId));
      const tier = CALL_OPTIONS.find((o) => o.priceMicros === call?.priceMicros);
      const budget = await budgetPlanFor(db(), userId, { excludeCallId: callId });
      plan = {
        minutes: tier?.minutes ?? Math.max(1, Math.round((call?.durationLimitS ?? 300) / 60)),
        priceMicros: call?.priceMicros ?? 0,
        isFreeTrial: call?.isFreeTrial ?? false,
        telephony: call?.transport !== "browser",
        ...budget,
      };
      await storage.put(PLAN_KEY, plan);
    }
    const meterOpts = {
      rates,
      plan: { minutes: plan.minutes, priceMicros: plan.priceMicros, isFreeTrial: plan.isFreeTrial || plan.priceMicros === 0, extension: EXTENSION, telephony: plan.telephony },
      budget: { limitMicros: plan.limitMicros, warnAtPercent: plan.warnAtPercent, autoCutoff: plan.autoCutoff },
    };
    const saved = await storage.get<unknown>(STATE_KEY);
    this.meter = saved ? CostMeter.restore(meterOpts, saved) : new CostMeter(meterOpts);
    return this.meter;
  }

  private persist(events: PricedCost[]): void {
    const meter = this.meter;
    if (!meter) return;
    const state = meter.toJSON();
    const entries: Record<string, unknown> = { [STATE_KEY]: state };
    for (const e of events) entries[`${EVENT_PREFIX}${e.eventKey}`] = e;
    this.chain = this.chain.then(() => this.opts.storage.put(entries)).catch((err: unknown) => this.opts.log.error("cost event store failed", { err }));
  }

  /** The call was answered: platform fee and the first telephony minute. */
  async connect(at: number): Promise<void> {
    const meter = await this.ready();
    this.persist(meter.connect(at));
  }

  /** Price one pipeline usage record. */
  async record(usage: UsageRecord, at: number): Promise<void> {
    const meter = await this.ready();
    this.persist(meter.record(usage, at));
  }

  /** Advance the meter (new telephony minutes) and return the effects due now. */
  async tick(now: number): Promise<MeterEffect[]> {
    const meter = await this.ready();
    const { costs, effects } = meter.tick(now);
    if (costs.length > 0 || effects.length > 0) this.persist(costs);
    return effects;
  }

  /** True while an extension offer waits for an answer. */
  offerOpen(now: number): boolean {
    return this.meter?.offerOpen(now) ?? false;
  }

  /** The caller accepted the offer: charge it, then count it. Null when no offer is open or payment failed. */
  async accept(now: number): Promise<MeterEffect | null> {
    const meter = await this.ready();
    if (!meter.offerOpen(now)) return null;
    const charged = await chargeExtension({ db: this.opts.db(), config: this.opts.config }, this.opts.callId);
    if (!charged) {
      meter.declineExtension();
      this.persist([]);
      return null;
    }
    const effect = meter.acceptExtension(now);
    this.persist([]);
    return effect;
  }

  snapshot(now: number): CostSnapshot | null {
    return this.meter?.snapshot(now) ?? null;
  }

  /**
   * Priced events not yet in Postgres (up to `limit`, with their storage keys). The caller writes
   * them (idempotent on event_key), then `dropFlushed(keys)` deletes them locally.
   */
  async pending(limit = 200): Promise<{ keys: string[]; events: PricedCost[] }> {
    await this.chain;
    const batch = await this.opts.storage.list<PricedCost>({ prefix: EVENT_PREFIX, limit });
    return { keys: [...batch.keys()], events: [...batch.values()] };
  }

  async dropFlushed(keys: string[]): Promise<void> {
    if (keys.length > 0) await this.opts.storage.delete(keys);
  }
}
