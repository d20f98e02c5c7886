/**
 * "Sign in with WorkOS" through the Worker and the WorkOS emulator (the AuthKit hosted page is
 * driven with plain HTTP form posts): a new email creates an account, an existing password
 * account is linked by its verified email and keeps its password, and the session afterwards is
 * ours (works on /api, revocable). Refused: a forged state, a missing sign-in cookie, a cancel on
 * the hosted page, and a replayed code — none of them signs anyone in.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, newAccount, uniqueEmail } from "./helpers";
import { BASE } from "./helpers";
import { exports } from "cloudflare:workers";

async function worker(path: string, cookie?: string): Promise<Response> {
  const headers = new Headers();
  if (cookie) headers.set("Cookie", cookie);
  return exports.default.fetch(new Request(`${BASE}${path}`, { headers, redirect: "manual" }));
}

/** Starts a sign-in: the Set-Cookie (as a Cookie header) and the authorize URL. */
async function begin(redirect = "/personas"): Promise<{ cookie: string; authorizeUrl: URL }> {
  const res = await worker(`/auth/workos/login?redirect=${encodeURIComponent(redirect)}`);
  expect(res.status).toBe(302);
  const setCookie = res.headers.get("Set-Cookie") ?? "";
  expect(setCookie).toMatch(/HttpOnly/i);
  expect(setCookie).toMatch(/SameSite=Lax/i);
  expect(setCookie).toMatch(/Path=\/auth\/workos/);
  const cookie = setCookie.split(";")[0] ?? "";
  const authorizeUrl = new URL(res.headers.get("Location") ?? "");
  return { cookie, authorizeUrl };
}

/** Submits the AuthKit hosted page: a typed email, or Cancel. Returns the callback URL WorkOS redirects to. */
async function hostedPage(authorizeUrl: URL, form: Record<string, string>): Promise<URL> {
  const page = await fetch(authorizeUrl, { redirect: "manual" });
  expect(page.status).toBe(200);
  const html = await page.text();
  const action = /action="(\/user_management\/authorize\/[^"]+)"/.exec(html)?.[1];
  expect(action).toBeTruthy();
  const submit = await fetch(new URL(action!, authorizeUrl), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
    redirect: "manual",
  });
  expect(submit.status).toBe(302);
  return new URL(submit.headers.get("Location") ?? "");
}

async function callback(callbackUrl: URL, cookie?: string, overrides: Record<string, string> = {}): Promise<{ location: string; token: string | null }> {
  const params = new URLSearchParams(callbackUrl.search);
  for (const [k, v] of Object.entries(overrides)) params.set(k, v);
  const res = await worker(`/auth/workos/callback?${params.toString()}`, cookie);
  expect(res.status).toBe(302);
  expect(res.headers.get("Set-Cookie") ?? "").toMatch(/Max-Age=0/); // the attempt is spent either way
  const location = res.headers.get("Location") ?? "";
  const token = location.startsWith("/signin/workos#") ? new URLSearchParams(location.split("#")[1]).get("token") : null;
  return { location, token };
}

describe("Sign in with WorkOS", () => {
  it("redirects to AuthKit with PKCE (S256), a state and our callback", async () => {
    const { authorizeUrl } = await begin();
    expect(authorizeUrl.origin).toBe(new URL(env.WORKOS_BASE_URL).origin);
    expect(authorizeUrl.pathname).toBe("/user_management/authorize");
    const q = authorizeUrl.searchParams;
    expect(q.get("client_id")).toBe(env.WORKOS_CLIENT_ID);
    expect(q.get("redirect_uri")).toBe(`${BASE}/auth/workos/callback`);
    expect(q.get("response_type")).toBe("code");
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get("state")).toMatch(/^[A-Za-z0-9_-]{40,}$/);
  });

  it("creates an account on first sign-in and issues our own session", async () => {
    const email = uniqueEmail("sso");
    const { cookie, authorizeUrl } = await begin("/contacts");
    const cb = await hostedPage(authorizeUrl, { email, first_name: "Sso", last_name: "Newcomer" });
    const { location, token } = await callback(cb, cookie);
    expect(location).toMatch(/^\/signin\/workos#/);
    expect(new URLSearchParams(location.split("#")[1]).get("redirect")).toBe("/contacts");
    expect(token).toBeTruthy();
    const me = await api<{ user: { email: string; name: string; role: string } }>("GET", "/api/auth/me", { token: token! });
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ email, name: "Sso Newcomer", role: "user" });

    // signing in again finds the same account
    const again = await begin();
    const { token: second } = await callback(await hostedPage(again.authorizeUrl, { email }), again.cookie);
    const me2 = await api<{ user: { id: string } }>("GET", "/api/auth/me", { token: second! });
    const me1 = await api<{ user: { id: string } }>("GET", "/api/auth/me", { token: token! });
    expect(me2.body.user.id).toBe(me1.body.user.id);

    // our session: logout revokes it like a password session
    expect((await api("POST", "/api/auth/logout", { token: token! })).status).toBe(200);
    expect((await api("GET", "/api/auth/me", { token: token! })).status).toBe(401);
  });

  it("links an existing password account by its verified email (password still works)", async () => {
    const account = await newAccount("Linked Person");
    const { cookie, authorizeUrl } = await begin();
    const { token } = await callback(await hostedPage(authorizeUrl, { email: account.email }), cookie);
    const me = await api<{ user: { id: string } }>("GET", "/api/auth/me", { token: token! });
    expect(me.body.user.id).toBe(account.user.id);
    const login = await api("POST", "/api/auth/login", { body: { email: account.email, password: account.password } });
    expect(login.status).toBe(200);
  });

  it("refuses a forged state and signs nobody in", async () => {
    const email = uniqueEmail("forged");
    const { cookie, authorizeUrl } = await begin();
    const cb = await hostedPage(authorizeUrl, { email });
    const forged = await callback(cb, cookie, { state: "forged-state-value-forged-state-value-0000" });
    expect(forged).toEqual({ location: "/login?sso_error=state_mismatch", token: null });
    // an attacker's own valid attempt (different browser/cookie) cannot be used with the victim's cookie either
    const other = await begin();
    const mixed = await callback(cb, other.cookie);
    expect(mixed.location).toBe("/login?sso_error=state_mismatch");
    // and no account was created for the email
    const login = await api("POST", "/api/auth/login", { body: { email, password: "whatever-password" } });
    expect(login.status).toBe(401);
  });

  it("refuses a callback without the sign-in cookie, a cancelled sign-in and a replayed code", async () => {
    const { cookie, authorizeUrl } = await begin();
    const cb = await hostedPage(authorizeUrl, { email: uniqueEmail("replay") });
    expect((await callback(cb)).location).toBe("/login?sso_error=expired");
    expect((await callback(cb, `${cookie.split("=")[0]}=not-a-signed-value`)).location).toBe("/login?sso_error=expired");

    const first = await callback(cb, cookie);
    expect(first.token).toBeTruthy();
    const replay = await callback(cb, cookie);
    expect(replay).toEqual({ location: "/login?sso_error=exchange_failed", token: null });

    const cancel = await begin();
    const cancelled = await hostedPage(cancel.authorizeUrl, { cancel: "1" });
    expect(cancelled.searchParams.get("error")).toBe("access_denied");
    expect((await callback(cancelled, cancel.cookie)).location).toBe("/login?sso_error=denied");
  });
});
