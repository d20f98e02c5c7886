/**
 * Login throttling through the RateLimiter Durable Object: 5 failed logins per IP+email within
 * 15 minutes block further attempts (429 with Retry-After) until the window slides; a successful
 * login resets the counter.
 */
import type { RateLimitPolicy } from "../../durable-objects/rate-limiter";
import { AppError } from "../errors";

export const LOGIN_POLICY: RateLimitPolicy = { limit: 5, windowMs: 15 * 60 * 1000 };

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export class LoginThrottle {
  private constructor(private readonly stub: DurableObjectStub<import("../../durable-objects/rate-limiter").RateLimiter>) {}

  /** One limiter per (ip, email); the DO name is a hash so no address ends up in a name. */
  static async for(ns: Env["RATE_LIMITER"], ip: string, email: string): Promise<LoginThrottle> {
    const name = `login:${await sha256Hex(`${ip}\n${email}`)}`;
    return new LoginThrottle(ns.get(ns.idFromName(name)));
  }

  private static tooMany(retryAfterS: number): AppError {
    return new AppError("rate_limited", "Too many failed sign-in attempts. Try again later.", {
      details: { retryAfterS },
      headers: { "Retry-After": String(retryAfterS) },
    });
  }

  /** Throws 429 when the key is blocked. */
  async assertAllowed(policy: RateLimitPolicy = LOGIN_POLICY): Promise<void> {
    const s = await this.stub.status(policy);
    if (s.blocked) throw LoginThrottle.tooMany(s.retryAfterS);
  }

  async fail(policy: RateLimitPolicy = LOGIN_POLICY): Promise<void> {
    await this.stub.recordFailure(policy);
  }

  async succeed(): Promise<void> {
    await this.stub.reset();
  }
}
