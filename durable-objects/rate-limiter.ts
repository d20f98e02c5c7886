/**
 * RateLimiter: one Durable Object per throttled key (e.g. `login:<ip>:<email>`) holding a sliding
 * window of failure timestamps in its storage, so limits hold across isolates and restarts (never
 * process memory). RPC methods: `status`, `recordFailure`, `reset`. An alarm clears the storage
 * once the window has passed. It does not know what it throttles.
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

const KEY = "failures";

export class RateLimiter extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    parseEnv(env);
  }

  private async recent(windowMs: number, now: number): Promise<number[]> {
    const stored = (await this.ctx.storage.get<number[]>(KEY)) ?? [];
    return stored.filter((t) => t > now - windowMs);
  }

  private evaluate(failures: number[], policy: RateLimitPolicy, now: number): RateLimitStatus {
    if (failures.length < policy.limit) return { blocked: false, failures: failures.length, retryAfterS: 0 };
    // Blocked until the oldest failure that keeps the count at the limit leaves the window.
    const pivot = failures[failures.length - policy.limit] ?? now;
    const retryAfterS = Math.max(1, Math.ceil((pivot + policy.windowMs - now) / 1000));
    return { blocked: true, failures: failures.length, retryAfterS };
  }

  /** Whether the key is currently blocked. */
  async status(policy: RateLimitPolicy): Promise<RateLimitStatus> {
    const now = Date.now();
    return this.evaluate(await this.recent(policy.windowMs, now), policy, now);
  }

  /** Count one failure; returns the status including it. */
  async recordFailure(policy: RateLimitPolicy): Promise<RateLimitStatus> {
    const now = Date.now();
    const failures = [...(await this.recent(policy.windowMs, now)), now].slice(-Math.max(policy.limit, 1) * 2);
    await this.ctx.storage.put(KEY, failures);
    await this.ctx.storage.setAlarm(now + policy.windowMs + 1000);
    return this.evaluate(failures, policy, now);
  }

  /** Forget every failure (after a successful attempt). */
  async reset(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}
