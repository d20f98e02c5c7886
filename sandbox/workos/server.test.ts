/**
 * Drives the WorkOS emulator through "Sign in with WorkOS" the way the Worker will: build the
 * authorize URL with a PKCE S256 challenge, submit the hosted sign-in page, follow the redirect,
 * exchange the code, and verify the access token with `jose` against the emulator's JWKS.
 */
import { createHash, randomBytes } from "node:crypto";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startWorkosEmulator, type WorkosEmulatorHandle } from "./server";

const API_KEY = "sk_test_workos_emulator_key";
const CLIENT_ID = "client_01EMULATORTESTCLIENT0000";
const REDIRECT = "http://127.0.0.1:8787/api/auth/workos/callback";

let emu: WorkosEmulatorHandle;

beforeAll(async () => {
  emu = await startWorkosEmulator({ apiKey: API_KEY, clientId: CLIENT_ID });
});
afterAll(async () => {
  await emu.close();
});
afterEach(async () => {
  await fetch(`${emu.url}/__sandbox/reset`, { method: "POST" });
});

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function authorizeUrl(params: Record<string, string>): string {
  const q = new URLSearchParams({ client_id: CLIENT_ID, redirect_uri: REDIRECT, response_type: "code", provider: "authkit", ...params });
  return `${emu.url}/user_management/authorize?${q}`;
}

/** Opens the hosted page and submits `form`; returns the redirect target. */
async function signIn(url: string, form: Record<string, string>): Promise<URL> {
  const page = await fetch(url);
  expect(page.status).toBe(200);
  const html = await page.text();
  const action = html.match(/action="([^"]+)"/)?.[1];
  expect(action).toBeDefined();
  const res = await fetch(`${emu.url}${action}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
    redirect: "manual",
  });
  expect(res.status).toBe(302);
  return new URL(res.headers.get("location") as string);
}

async function authenticate(body: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${emu.url}/user_management/authenticate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_id: CLIENT_ID, grant_type: "authorization_code", ...body }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe("WorkOS emulator: authorization code + PKCE", () => {
  it("signs a typed-in user in and returns a JWT verifiable against the JWKS", async () => {
    const { verifier, challenge } = pkce();
    const back = await signIn(authorizeUrl({ state: "st-123", code_challenge: challenge, code_challenge_method: "S256" }), {
      email: "New.Person@Example.com",
      first_name: "New",
      last_name: "Person",
    });
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    expect(back.searchParams.get("state")).toBe("st-123");
    const code = back.searchParams.get("code") as string;
    expect(code).toBeTruthy();

    const { status, json } = await authenticate({ code, code_verifier: verifier });
    expect(status).toBe(200);
    const user = json.user as Record<string, unknown>;
    expect(user).toMatchObject({
      object: "user",
      email: "new.person@example.com",
      email_verified: true,
      first_name: "New",
      last_name: "Person",
    });
    expect(user.id).toMatch(/^user_01[0-9A-Z]{24}$/);
    expect(json.authentication_method).toBe("MagicAuth");
    expect(typeof json.refresh_token).toBe("string");

    const jwks = createRemoteJWKSet(new URL(`${emu.url}/sso/jwks/${CLIENT_ID}`));
    const { payload, protectedHeader } = await jwtVerify(json.access_token as string, jwks, { issuer: emu.issuer, audience: CLIENT_ID });
    expect(protectedHeader.alg).toBe("RS256");
    expect(payload.sub).toBe(user.id);
    expect(payload.sid).toMatch(/^session_01/);
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);

    const fetched = await fetch(`${emu.url}/user_management/users/${user.id as string}`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(((await fetched.json()) as { email: string }).email).toBe("new.person@example.com");
    const unauth = await fetch(`${emu.url}/user_management/users/${user.id as string}`);
    expect(unauth.status).toBe(401);
  });

  it("signs a seeded user in with the confidential-client secret", async () => {
    const page = await (await fetch(authorizeUrl({ state: "s" }))).text();
    const demoId = page.match(/name="user_id" value="([^"]+)" data-testid="user-demo@callmeback.ai"/)?.[1] as string;
    expect(demoId).toMatch(/^user_/);
    const back = await signIn(authorizeUrl({ state: "s" }), { user_id: demoId });
    const { status, json } = await authenticate({ code: back.searchParams.get("code") as string, client_secret: API_KEY });
    expect(status).toBe(200);
    expect((json.user as { email: string }).email).toBe("demo@callmeback.ai");
    expect(json.authentication_method).toBe("Password");
    const wrongSecret = await authenticate({ code: "whatever", client_secret: "sk_wrong" });
    expect(wrongSecret.status).toBe(401);
  });

  it("refuses a code_verifier that does not match the challenge (400 invalid_grant)", async () => {
    const { challenge } = pkce();
    const back = await signIn(authorizeUrl({ code_challenge: challenge, code_challenge_method: "S256" }), { email: "p@example.com" });
    const { status, json } = await authenticate({ code: back.searchParams.get("code") as string, code_verifier: pkce().verifier });
    expect(status).toBe(400);
    expect(json.error).toBe("invalid_grant");
    const missing = await authenticate({ code: back.searchParams.get("code") as string });
    expect(missing.json.error).toBe("invalid_grant");
  });

  it("makes codes single-use: a replay is refused and revokes the first session", async () => {
    const { verifier, challenge } = pkce();
    const back = await signIn(authorizeUrl({ code_challenge: challenge, code_challenge_method: "S256" }), { email: "r@example.com" });
    const code = back.searchParams.get("code") as string;
    const first = await authenticate({ code, code_verifier: verifier });
    expect(first.status).toBe(200);
    const replay = await authenticate({ code, code_verifier: verifier });
    expect(replay.status).toBe(400);
    expect(replay.json.error).toBe("invalid_grant");
    const refresh = await authenticate({ grant_type: "refresh_token", refresh_token: first.json.refresh_token as string, client_secret: API_KEY });
    expect(refresh.status).toBe(400);
  });

  it("expires codes after codeTtlMs", async () => {
    await fetch(`${emu.url}/__sandbox/knobs`, { method: "POST", body: JSON.stringify({ codeTtlMs: 1 }) });
    const { verifier, challenge } = pkce();
    const back = await signIn(authorizeUrl({ code_challenge: challenge, code_challenge_method: "S256" }), { email: "slow@example.com" });
    await new Promise((r) => setTimeout(r, 5));
    const { status, json } = await authenticate({ code: back.searchParams.get("code") as string, code_verifier: verifier });
    expect(status).toBe(400);
    expect(json.error).toBe("invalid_grant");
  });

  it("rotates refresh tokens and keeps the session id", async () => {
    await fetch(`${emu.url}/__sandbox/knobs`, { method: "POST", body: JSON.stringify({ autoSignInEmail: "ada@example.com" }) });
    const { verifier, challenge } = pkce();
    const res = await fetch(authorizeUrl({ code_challenge: challenge, code_challenge_method: "S256", state: "auto" }), { redirect: "manual" });
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get("location") as string);
    expect(back.searchParams.get("state")).toBe("auto");
    const first = await authenticate({ code: back.searchParams.get("code") as string, code_verifier: verifier });
    const refreshed = await authenticate({ grant_type: "refresh_token", refresh_token: first.json.refresh_token as string });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.refresh_token).not.toBe(first.json.refresh_token);
    const jwks = createRemoteJWKSet(new URL(`${emu.url}/sso/jwks/${CLIENT_ID}`));
    const a = await jwtVerify(first.json.access_token as string, jwks);
    const b = await jwtVerify(refreshed.json.access_token as string, jwks);
    expect(b.payload.sid).toBe(a.payload.sid);
    const old = await authenticate({ grant_type: "refresh_token", refresh_token: first.json.refresh_token as string });
    expect(old.status).toBe(400);

    const logout = await fetch(`${emu.url}/user_management/sessions/logout?session_id=${String(a.payload.sid)}&return_to=${encodeURIComponent("http://app.local/")}`, {
      redirect: "manual",
    });
    expect(logout.headers.get("location")).toBe("http://app.local/");
    const afterLogout = await authenticate({ grant_type: "refresh_token", refresh_token: refreshed.json.refresh_token as string });
    expect(afterLogout.status).toBe(400);
  });

  it("rejects bad authorize requests and reports cancel as access_denied", async () => {
    const badClient = await fetch(authorizeUrl({ client_id: "client_nope" }));
    expect(badClient.status).toBe(400);
    const badMethod = await fetch(authorizeUrl({ code_challenge: "abc", code_challenge_method: "plain", state: "x" }), { redirect: "manual" });
    expect(new URL(badMethod.headers.get("location") as string).searchParams.get("error")).toBe("invalid_request");
    const canceled = await signIn(authorizeUrl({ state: "c" }), { cancel: "1" });
    expect(canceled.searchParams.get("error")).toBe("access_denied");
    expect(canceled.searchParams.get("state")).toBe("c");
    const wrongJwks = await fetch(`${emu.url}/sso/jwks/client_other`);
    expect(wrongJwks.status).toBe(404);
  });

  it("bills monthly active users", async () => {
    await fetch(`${emu.url}/__sandbox/knobs`, { method: "POST", body: JSON.stringify({ autoSignInEmail: "grace@example.com" }) });
    for (let i = 0; i < 2; i++) {
      const res = await fetch(authorizeUrl({}), { redirect: "manual" });
      const code = new URL(res.headers.get("location") as string).searchParams.get("code") as string;
      expect((await authenticate({ code, client_secret: API_KEY })).status).toBe(200);
    }
    const bill = (await (await fetch(`${emu.url}/__sandbox/bill`)).json()) as { authentications: number; monthlyActiveUsers: number };
    expect(bill).toMatchObject({ authentications: 2, monthlyActiveUsers: 1 });
  });
});
