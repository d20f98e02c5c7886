/**
 * RateLimiter: one Durable Object per throttled key (e.g. a hash of `login:account:<email>`)
 * holding a sliding window of attempt timestamps in its storage, so limits hold across isolates
 * and restarts (never process memory). `attempt` is check-and-count in one step — a Durable
 * Object runs one storage transaction at a time, so a burst of parallel requests cannot all slip
 * through before the first failure is written: each attempt is counted as a failure up front and
 * `forgive(attemptId)` takes it back (it succeeded, or it was never made). `reset` forgets every
 * attempt; `status` only reads. An alarm clears the storage once the window has passed. It does
 * not know what it throttles.
 */
import { DurableObject } from "cloudflare:workers";
import { parseEnv } from "../worker/env";

export interface RateLimitPolicy {
  /** Failures allowed inside the window before the key is blocked. */
  limit: number;
  windowMs: number;
}

export interface RateLimitStatus {
  blocked: boolean;
  /** Failures still counted in the window. */
  failures: number;
  /** Seconds until the next attempt is allowed (0 when not blocked). */
  retryAfterS: number;
}

export interface RateLimitAttempt extends RateLimitStatus {
  /** The id of the attempt counted now (pass it to `forgive`); null when blocked (nothing counted). */
  attemptId: string | null;
}

interface Entry {
  t: number;
  id: string;
}

const KEY = "failures";

export class RateLimiter extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    parseEnv(env);
  }

  private async recent(windowMs: number, now: number): Promise<Entry[]> {
    // Entries written before attempts had ids were bare timestamps.
    const stored = (await this.ctx.storage.get<(Entry | number)[]>(KEY)) ?? [];
    return stored.map((e) => (typeof e === "number" ? { t: e, id: "" } : e)).filter((e) => e.t > now - windowMs);
  }

  private evaluate(failures: Entry[], policy: RateLimitPolicy, now: number): RateLimitStatus {
    if (failures.length < policy.limit) return { blocked: false, failures: failures.length, retryAfterS: 0 };
    // Blocked until the oldest failure that keeps the count at the limit leaves the window.
    const pivot = failures[failures.length - policy.limit]?.t ?? now;
    const retryAfterS = Math.max(1, Math.ceil((pivot + policy.windowMs - now) / 1000));
    return { blocked: true, failures: failures.length, retryAfterS };
  }

  /** Whether the key is currently blocked. */
  async status(policy: RateLimitPolicy): Promise<RateLimitStatus> {
    const now = Date.now();
    return this.evaluate(await this.recent(policy.windowMs, now), policy, now);
  }

  /** Blocked → the status, nothing counted. Otherwise counts this attempt as a failure and returns its id. */
  async attempt(policy: RateLimitPolicy): Promise<RateLimitAttempt> {
    const now = Date.now();
    const failures = await this.recent(policy.windowMs, now);
    const before = this.evaluate(failures, policy, now);
    if (before.blocked) return { ...before, attemptId: null };
    const entry = { t: now, id: crypto.randomUUID() };
    const next = [...failures, entry].slice(-Math.max(policy.limit, 1) * 2);
    await this.ctx.storage.put(KEY, next);
    await this.ctx.storage.setAlarm(now + policy.windowMs + 1000);
    return { ...this.evaluate(next, policy, now), blocked: false, attemptId: entry.id };
  }

  /** Takes back one counted attempt (it succeeded, or was not made after all). */
  async forgive(attemptId: string): Promise<void> {
    const stored = (await this.ctx.storage.get<(Entry | number)[]>(KEY)) ?? [];
    const kept = stored.filter((e) => typeof e === "number" || e.id !== attemptId);
    if (kept.length !== stored.length) await this.ctx.storage.put(KEY, kept);
  }

  /** Forget every failure. */
  async reset(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}
