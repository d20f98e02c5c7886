/**
 * Login throttling through the RateLimiter Durable Object, on three keys at once (all within a
 * 15-minute sliding window, answered 429 with Retry-After and the error envelope):
 * - this IP + this account: 5 failures. A successful login from that IP clears it (the user's own
 *   typos stop counting once they are in).
 * - this account, from any IP: 10 failures. So an attacker who sends a different
 *   `CF-Connecting-IP` on every request is still stopped after 10 guesses. A success does NOT
 *   clear it: the failures may come from someone else on other IPs, and clearing them would give
 *   an attacker a fresh 10 guesses every time the real user signs in. The success itself is not
 *   counted. The cost: while an account is blocked, its owner waits out the window too.
 * - this IP, any account: 50 failures (one address spraying many accounts).
 * Keys are SHA-256 hashes, so no address or email ends up in a Durable Object name, and they are
 * built from the normalized email whether or not the account exists: an unknown email is
 * throttled exactly like a real one. Each attempt is counted up front (`RateLimiter.attempt`), so
 * parallel bursts cannot overshoot the limits.
 */
import type { RateLimiter, RateLimitPolicy } from "../../durable-objects/rate-limiter";
import { AppError } from "../errors";

const WINDOW_MS = 15 * 60 * 1000;

export const LOGIN_POLICIES = {
  ipAccount: { limit: 5, windowMs: WINDOW_MS },
  account: { limit: 10, windowMs: WINDOW_MS },
  ip: { limit: 50, windowMs: WINDOW_MS },
} satisfies Record<string, RateLimitPolicy>;

type KeyName = keyof typeof LOGIN_POLICIES;

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The normalized account key: trimmed, lower-case (as accounts are stored). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The RateLimiter names for one login (exported for tests that age a window). */
export async function loginLimiterNames(ip: string, email: string): Promise<Record<KeyName, string>> {
  const account = normalizeEmail(email);
  const [ipAccount, acct, ipOnly] = await Promise.all([sha256Hex(`${ip}\n${account}`), sha256Hex(`account\n${account}`), sha256Hex(`ip\n${ip}`)]);
  return { ipAccount: `login:${ipAccount}`, account: `login:account:${acct}`, ip: `login:ip:${ipOnly}` };
}

/** One login attempt that got past the throttle: say how it went. */
export interface LoginAttempt {
  succeeded(): Promise<void>;
  /** The failure is already counted; nothing more to do. */
  failed(): Promise<void>;
}

export class LoginThrottle {
  private constructor(private readonly stubs: Record<KeyName, DurableObjectStub<RateLimiter>>) {}

  static async for(ns: Env["RATE_LIMITER"], ip: string, email: string): Promise<LoginThrottle> {
    const names = await loginLimiterNames(ip, email);
    const stub = (name: string) => ns.get(ns.idFromName(name));
    return new LoginThrottle({ ipAccount: stub(names.ipAccount), account: stub(names.account), ip: stub(names.ip) });
  }

  private static tooMany(retryAfterS: number): AppError {
    return new AppError("rate_limited", "Too many failed sign-in attempts. Try again later.", {
      details: { retryAfterS },
      headers: { "Retry-After": String(retryAfterS) },
    });
  }

  /** Counts the attempt on every key, or throws 429 (counting nothing) when any key is blocked. */
  async begin(): Promise<LoginAttempt> {
    const names = Object.keys(this.stubs) as KeyName[];
    const results = await Promise.all(names.map((k) => this.stubs[k].attempt(LOGIN_POLICIES[k])));
    const counted = names.flatMap((k, i) => (results[i]?.attemptId ? [{ k, id: results[i].attemptId }] : []));
    const blocked = results.filter((r) => r.blocked);
    if (blocked.length > 0) {
      // Not attempted after all: take back what the unblocked keys counted.
      await Promise.all(counted.map(({ k, id }) => this.stubs[k].forgive(id)));
      throw LoginThrottle.tooMany(Math.max(...blocked.map((r) => r.retryAfterS)));
    }
    return {
      succeeded: async () => {
        await Promise.all(counted.map(({ k, id }) => (k === "ipAccount" ? this.stubs[k].reset() : this.stubs[k].forgive(id))));
      },
      failed: async () => undefined,
    };
  }
}
