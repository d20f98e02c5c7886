/**
 * Accounts end to end: register/login/logout/me, passwords with any printable character, email
 * normalisation, tokens, throttling (per IP + account, per account from any IP — rotating
 * CF-Connecting-IP does not help — and per IP), profile.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { SignJWT } from "jose";
import { createDb } from "../../worker/db/client";
import { users } from "../../worker/db/schema";
import { seed } from "../../worker/db/seed";
import { parseEnv } from "../../worker/env";
import { loginLimiterNames } from "../../worker/services/rate-limit";
import { describe, expect, it } from "vitest";
import { api, expectEnvelope, GOOD_PASSWORD, newAccount, uniqueEmail } from "./helpers";

interface AuthBody {
  token: string;
  user: {
    id: string;
    email: string;
    name: string;
    phone: string | null;
    phoneVerified: boolean;
    timezone: string;
    role: string;
    credits: { balanceMicros: number };
    freeTrialAvailable: boolean;
    createdAt: string;
  };
}

describe("register / login / me / logout", () => {
  it("works end to end with a password full of special characters", async () => {
    const email = uniqueEmail("special");
    const password = GOOD_PASSWORD;
    const reg = await api<AuthBody>("POST", "/api/auth/register", { body: { email, password, name: "Spec Ial", phone: "+15555550123" } });
    expect(reg.status).toBe(201);
    expect(reg.body.user).toMatchObject({
      email,
      name: "Spec Ial",
      phone: "+15555550123",
      phoneVerified: false,
      timezone: "UTC",
      role: "user",
      credits: { balanceMicros: 0 },
      freeTrialAvailable: true,
    });
    expect(JSON.stringify(reg.body)).not.toContain("password");

    const login = await api<AuthBody>("POST", "/api/auth/login", { body: { email, password } });
    expect(login.status).toBe(200);
    expect(login.body.user.id).toBe(reg.body.user.id);

    const me = await api<{ user: AuthBody["user"] }>("GET", "/api/auth/me", { token: login.body.token });
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe(email);

    const wrong = await api("POST", "/api/auth/login", { body: { email, password: `${password}x` } });
    expectEnvelope(wrong, 401, "unauthorized");
  });

  it("accepts unicode and space-only-separated passwords, refuses short and control-character ones", async () => {
    const email = uniqueEmail("unicode");
    const password = "pässwörd 🔐 ünïcødé";
    const reg = await api("POST", "/api/auth/register", { body: { email, password, name: "U" } });
    expect(reg.status).toBe(201);
    expect((await api("POST", "/api/auth/login", { body: { email, password } })).status).toBe(200);

    const short = await api("POST", "/api/auth/register", { body: { email: uniqueEmail(), password: "🔐🔐🔐", name: "S" } });
    const err = expectEnvelope(short, 400, "validation_failed");
    expect(JSON.stringify(err.details)).toContain("password");

    const ctrl = await api("POST", "/api/auth/register", { body: { email: uniqueEmail(), password: "abc\u0000defghi", name: "C" } });
    expectEnvelope(ctrl, 400, "validation_failed");
  });

  it("normalises email (trim + lowercase) and rejects duplicates with 409", async () => {
    const email = uniqueEmail("Case").toUpperCase();
    const reg = await api<AuthBody>("POST", "/api/auth/register", { body: { email: `  ${email}  `, password: GOOD_PASSWORD, name: "Case" } });
    expect(reg.status).toBe(201);
    expect(reg.body.user.email).toBe(email.toLowerCase());

    const login = await api("POST", "/api/auth/login", { body: { email: ` ${email.toLowerCase()} `, password: GOOD_PASSWORD } });
    expect(login.status).toBe(200);

    const dup = await api("POST", "/api/auth/register", { body: { email: email.toLowerCase(), password: GOOD_PASSWORD, name: "Again" } });
    expectEnvelope(dup, 409, "conflict");

    const bad = await api("POST", "/api/auth/register", { body: { email: "not-an-email", password: GOOD_PASSWORD, name: "X" } });
    const e = expectEnvelope(bad, 400, "validation_failed");
    expect(e.details).toMatchObject({ issues: [{ path: "email" }] });
  });

  it("sign-in works even when the client still sends a stale token", async () => {
    const acct = await newAccount();
    await api("POST", "/api/auth/logout", { token: acct.token });
    const login = await api("POST", "/api/auth/login", { token: acct.token, body: { email: acct.email, password: acct.password } });
    expect(login.status).toBe(200);
  });

  it("logout revokes the session: the same token is then 401", async () => {
    const acct = await newAccount();
    expect((await api("GET", "/api/auth/me", { token: acct.token })).status).toBe(200);
    const out = await api("POST", "/api/auth/logout", { token: acct.token });
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ ok: true });
    expectEnvelope(await api("GET", "/api/auth/me", { token: acct.token }), 401, "unauthorized");
    // A new login gets a new, working session.
    const login = await api<AuthBody>("POST", "/api/auth/login", { body: { email: acct.email, password: acct.password } });
    expect((await api("GET", "/api/auth/me", { token: login.body.token })).status).toBe(200);
  });

  it("rejects missing, malformed, forged and expired tokens", async () => {
    const acct = await newAccount();
    expectEnvelope(await api("GET", "/api/auth/me"), 401, "unauthorized");
    expectEnvelope(await api("GET", "/api/auth/me", { headers: { Authorization: "Basic abc" } }), 401, "unauthorized");
    expectEnvelope(await api("GET", "/api/auth/me", { token: "not.a.jwt" }), 401, "unauthorized");

    const [header, payload] = acct.token.split(".");
    const claims = JSON.parse(atob(payload!.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode("some-other-secret-entirely"));
    expectEnvelope(await api("GET", "/api/auth/me", { token: forged }), 401, "unauthorized");

    const tampered = `${header}.${btoa(JSON.stringify({ ...claims, role: "admin" })).replace(/=+$/, "")}.${acct.token.split(".")[2]}`;
    expectEnvelope(await api("GET", "/api/auth/me", { token: tampered }), 401, "unauthorized");

    const secret = new TextEncoder().encode(env.JWT_SECRET);
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ ...claims, iat: now - 3600, exp: now - 60 }).setProtectedHeader({ alg: "HS256" }).sign(secret);
    expectEnvelope(await api("GET", "/api/auth/me", { token: expired }), 401, "unauthorized");

    const none = `${btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "")}.${payload}.`;
    expectEnvelope(await api("GET", "/api/auth/me", { token: none }), 401, "unauthorized");
  });

  it("throttles repeated failed logins per IP+email with 429 and Retry-After; other IPs and emails are unaffected", async () => {
    const acct = await newAccount();
    const ip = { "CF-Connecting-IP": "203.0.113.7" };
    for (let i = 0; i < 5; i++) {
      const r = await api("POST", "/api/auth/login", { body: { email: acct.email, password: "wrong-password" }, headers: ip });
      expectEnvelope(r, 401, "unauthorized");
    }
    const blocked = await api("POST", "/api/auth/login", { body: { email: acct.email, password: acct.password }, headers: ip });
    expectEnvelope(blocked, 429, "rate_limited");
    const retryAfter = Number(blocked.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);

    const otherIp = await api("POST", "/api/auth/login", { body: { email: acct.email, password: acct.password }, headers: { "CF-Connecting-IP": "198.51.100.9" } });
    expect(otherIp.status).toBe(200);
  });

  it("a successful login resets this IP's failure count for the account", async () => {
    const acct = await newAccount();
    const ip = { "CF-Connecting-IP": "203.0.113.8" };
    for (let i = 0; i < 4; i++) await api("POST", "/api/auth/login", { body: { email: acct.email, password: "nope-nope" }, headers: ip });
    expect((await api("POST", "/api/auth/login", { body: { email: acct.email, password: acct.password }, headers: ip })).status).toBe(200);
    for (let i = 0; i < 4; i++) {
      expect((await api("POST", "/api/auth/login", { body: { email: acct.email, password: "nope-nope" }, headers: ip })).status).toBe(401);
    }
    expect((await api("POST", "/api/auth/login", { body: { email: acct.email, password: acct.password }, headers: ip })).status).toBe(200);
  });
});

describe("login throttling per account", () => {
  const login = (email: string, password: string, ip: string) => api("POST", "/api/auth/login", { body: { email, password }, headers: { "CF-Connecting-IP": ip } });
  let ipCounter = 0;
  /** A fresh client address per request, as an attacker rotating CF-Connecting-IP would send. */
  const freshIp = () => {
    ipCounter += 1;
    return `198.18.${Math.floor(ipCounter / 250) % 250}.${(ipCounter % 250) + 1}`;
  };
  const ACCOUNT_LIMIT = 10;

  /** Ages every counted attempt of one RateLimiter past the 15-minute window. */
  async function ageWindow(name: string): Promise<void> {
    const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(name));
    await runInDurableObject(stub, async (_instance, state) => {
      const entries = (await state.storage.get<{ t: number; id: string }[]>("failures")) ?? [];
      await state.storage.put("failures", entries.map((e) => ({ ...e, t: e.t - 16 * 60 * 1000 })));
    });
  }

  it("rotating CF-Connecting-IP still gets 429 (with Retry-After) after 10 failures for the account, even with the right password", async () => {
    const acct = await newAccount();
    for (let i = 0; i < ACCOUNT_LIMIT; i++) expectEnvelope(await login(acct.email, "wrong-password", freshIp()), 401, "unauthorized");
    const blocked = await login(acct.email, acct.password, freshIp());
    expectEnvelope(blocked, 429, "rate_limited");
    const retryAfter = Number(blocked.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // The address form of the email does not matter: it is the same account.
    expectEnvelope(await login(` ${acct.email.toUpperCase()} `, acct.password, freshIp()), 429, "rate_limited");
    // Other accounts are unaffected.
    const other = await newAccount();
    expect((await login(other.email, other.password, freshIp())).status).toBe(200);

    // After the window the real user, on yet another IP, gets in.
    const names = await loginLimiterNames("unused", acct.email);
    await ageWindow(names.account);
    expect((await login(acct.email, acct.password, freshIp())).status).toBe(200);
  });

  it("an unknown email is throttled exactly like a real account (no hint that it exists)", async () => {
    const real = await newAccount();
    const unknown = uniqueEmail("nobody");
    const statuses = async (email: string) => {
      const out: number[] = [];
      for (let i = 0; i < ACCOUNT_LIMIT + 2; i++) out.push((await login(email, "wrong-password", freshIp())).status);
      return out;
    };
    const expected = [...new Array<number>(ACCOUNT_LIMIT).fill(401), 429, 429];
    expect(await statuses(real.email)).toEqual(expected);
    expect(await statuses(unknown)).toEqual(expected);
  });

  it("a success neither resets the account's failures from other IPs nor counts as one", async () => {
    const acct = await newAccount();
    for (let i = 0; i < ACCOUNT_LIMIT - 1; i++) expect((await login(acct.email, "wrong-password", freshIp())).status).toBe(401);
    // The real user signs in (not a failure: the account is still one short of the limit) …
    expect((await login(acct.email, acct.password, freshIp())).status).toBe(200);
    expect((await login(acct.email, acct.password, freshIp())).status).toBe(200);
    // … but the attacker's failures still count: one more and the account is blocked.
    expect((await login(acct.email, "wrong-password", freshIp())).status).toBe(401);
    expectEnvelope(await login(acct.email, acct.password, freshIp()), 429, "rate_limited");
  });

  it("a parallel burst from rotating IPs cannot overshoot the account limit", async () => {
    const acct = await newAccount();
    const results = await Promise.all(Array.from({ length: 30 }, () => login(acct.email, "wrong-password", freshIp())));
    const counts = results.reduce<Record<number, number>>((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {});
    expect(counts).toEqual({ 401: ACCOUNT_LIMIT, 429: 30 - ACCOUNT_LIMIT });
    for (const r of results.filter((x) => x.status === 429)) expectEnvelope(r, 429, "rate_limited");
  });

  it("one IP spraying many accounts is blocked after 50 failures", async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 50; i += 10) {
      const batch = await Promise.all(Array.from({ length: 10 }, () => login(uniqueEmail("spray"), "wrong-password", ip)));
      statuses.push(...batch.map((r) => r.status));
    }
    expect(statuses).toEqual(new Array<number>(50).fill(401));
    const acct = await newAccount();
    expectEnvelope(await login(acct.email, acct.password, ip), 429, "rate_limited");
    expect((await login(acct.email, acct.password, freshIp())).status).toBe(200);
  });
});

describe("profile", () => {
  it("updates name, phone and time zone; a new phone is unverified", async () => {
    const acct = await newAccount();
    const res = await api<{ user: AuthBody["user"] }>("PUT", "/api/user/profile", {
      token: acct.token,
      body: { name: "  New Name ", phone: "+447700900123", timezone: "Europe/London" },
    });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ name: "New Name", phone: "+447700900123", phoneVerified: false, timezone: "Europe/London" });
    const cleared = await api<{ user: AuthBody["user"] }>("PUT", "/api/user/profile", { token: acct.token, body: { phone: null } });
    expect(cleared.body.user.phone).toBeNull();
  });

  it("keeps a verified phone when it is sent unchanged, and clears verification when it changes", async () => {
    const acct = await newAccount();
    await api("PUT", "/api/user/profile", { token: acct.token, body: { phone: "+15555550177" } });
    await createDb(parseEnv(env)).update(users).set({ phoneVerifiedAt: new Date() }).where(eq(users.id, acct.user.id));
    const same = await api<{ user: AuthBody["user"] }>("PUT", "/api/user/profile", { token: acct.token, body: { phone: "+15555550177", name: "Same" } });
    expect(same.body.user).toMatchObject({ phone: "+15555550177", phoneVerified: true, name: "Same" });
    const changed = await api<{ user: AuthBody["user"] }>("PUT", "/api/user/profile", { token: acct.token, body: { phone: "+15555550178" } });
    expect(changed.body.user).toMatchObject({ phone: "+15555550178", phoneVerified: false });
    const me = await api<{ user: AuthBody["user"] }>("GET", "/api/auth/me", { token: acct.token });
    expect(me.body.user.phoneVerified).toBe(false);
  });

  it("rejects a bad E.164 number and an unknown time zone with field paths", async () => {
    const acct = await newAccount();
    for (const phone of ["5555550100", "+0123456789", "+1 555 555 0100", "+1555", 15555550100]) {
      const e = expectEnvelope(await api("PUT", "/api/user/profile", { token: acct.token, body: { phone } }), 400, "validation_failed");
      expect(e.details).toMatchObject({ issues: [{ path: "phone" }] });
    }
    const tz = expectEnvelope(await api("PUT", "/api/user/profile", { token: acct.token, body: { timezone: "Mars/Olympus_Mons" } }), 400, "validation_failed");
    expect(tz.details).toMatchObject({ issues: [{ path: "timezone" }] });
    expectEnvelope(await api("PUT", "/api/user/profile", { body: { name: "x" } }), 401, "unauthorized");
  });

  it("the seeded demo user can sign in with a verified phone and 100 credits", async () => {
    await seed(createDb(parseEnv(env)), { local: true }); // idempotent: whatever the global setup seeded
    const login = await api<AuthBody>("POST", "/api/auth/login", { body: { email: "demo@callmeback.ai", password: "demo-pass-123" } });
    expect(login.status).toBe(200);
    expect(login.body.user).toMatchObject({
      name: "Demo User",
      phone: "+15555550100",
      phoneVerified: true,
      role: "user",
      credits: { balanceMicros: 100_000_000 },
    });
    const admin = await api<AuthBody>("POST", "/api/auth/login", { body: { email: "admin@callmeback.ai", password: "admin-pass-123" } });
    expect(admin.status).toBe(200);
    expect(admin.body.user.role).toBe("admin");
  });
});
