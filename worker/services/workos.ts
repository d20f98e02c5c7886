/**
 * "Sign in with WorkOS" (AuthKit, OAuth 2.0 authorization code + PKCE):
 * - `beginSignIn` makes a fresh nonce, the `state` (HMAC of the nonce, so only the browser holding
 *   the nonce can present it), a PKCE verifier and its S256 challenge; they travel in a short-lived
 *   HS256-signed cookie value and the authorize URL.
 * - `readSignInCookie` + `checkState` verify that cookie (signature, audience, 10-minute expiry)
 *   and that the callback's `state` equals both the cookie's and HMAC(nonce) — a forged or replayed
 *   state from another browser is refused.
 * - `exchangeCode` redeems the code (client secret + `code_verifier`) at WorkOS and verifies the
 *   returned access token with jose against WorkOS's JWKS (issuer, audience = client id, `sub` =
 *   the returned user id).
 * - `linkUser` finds our user by WorkOS id, else by verified email (and links it), else creates one
 *   (no password). Afterwards the route issues OUR session token exactly like password login.
 * Tokens from WorkOS are never stored or logged.
 */
import { eq } from "drizzle-orm";
import { SignJWT, createRemoteJWKSet, jwtVerify } from "jose";
import type { Db } from "../db/client";
import { users } from "../db/schema";
import type { Config } from "../env";
import { AppError } from "../errors";

/** How long a sign-in may take between the button and the callback. */
export const SIGN_IN_TTL_MS = 10 * 60 * 1000;
export const SIGN_IN_COOKIE = "cmb_workos_signin";
const COOKIE_AUDIENCE = "workos-sign-in";

type WorkosConfig = Pick<Config, "auth" | "baseUrls" | "keys" | "publicBaseUrl">;

/** Why a sign-in was refused (shown to the user as `?sso_error=` on the login page). */
export type SignInFailure = "state_mismatch" | "expired" | "denied" | "exchange_failed" | "invalid_token" | "unverified_email" | "not_configured";

export class SignInError extends Error {
  override readonly name = "SignInError";
  constructor(
    readonly reason: SignInFailure,
    message: string,
  ) {
    super(message);
  }
}

const enc = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomToken(bytes = 32): string {
  return b64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(text)));
}

/** A key for this feature only, derived from the JWT secret (not the session-signing key itself). */
async function cookieKey(config: Pick<Config, "auth">): Promise<Uint8Array> {
  return sha256(`workos-sign-in\n${config.auth.jwtSecret}`);
}

async function stateFor(config: Pick<Config, "auth">, nonce: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", await cookieKey(config), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return b64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(`state\n${nonce}`))));
}

function safeEqual(a: string, b: string): boolean {
  const ea = enc.encode(a);
  const eb = enc.encode(b);
  let diff = ea.length ^ eb.length;
  for (let i = 0; i < Math.max(ea.length, eb.length); i++) diff |= (ea[i] ?? 0) ^ (eb[i] ?? 0);
  return diff === 0;
}

/** Only same-app paths are allowed as the post-sign-in destination. */
export function safeReturnTo(value: string | undefined | null): string {
  return typeof value === "string" && value.startsWith("/") && !value.startsWith("//") && !value.startsWith("/\\") && value.length <= 512
    ? value
    : "/personas";
}

export function callbackUrl(config: Pick<Config, "publicBaseUrl">): string {
  return `${config.publicBaseUrl}/auth/workos/callback`;
}

export interface SignInStart {
  authorizeUrl: string;
  /** Value of the `SIGN_IN_COOKIE` (a signed JWT). */
  cookie: string;
  state: string;
}

/** Build the AuthKit authorize URL and the signed cookie that must come back with the callback. */
export async function beginSignIn(config: WorkosConfig, opts: { returnTo?: string; loginHint?: string } = {}): Promise<SignInStart> {
  if (!config.keys.workosClientId) throw new SignInError("not_configured", "WorkOS sign-in is not configured");
  const nonce = randomToken();
  const verifier = randomToken(48);
  const state = await stateFor(config, nonce);
  const challenge = b64url(await sha256(verifier));
  const now = Date.now();
  const cookie = await new SignJWT({ state, verifier, returnTo: safeReturnTo(opts.returnTo) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setJti(nonce)
    .setAudience(COOKIE_AUDIENCE)
    .setIssuer(config.auth.issuer)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor((now + SIGN_IN_TTL_MS) / 1000))
    .sign(await cookieKey(config));
  const url = new URL("/user_management/authorize", config.baseUrls.workos);
  url.searchParams.set("client_id", config.keys.workosClientId);
  url.searchParams.set("redirect_uri", callbackUrl(config));
  url.searchParams.set("response_type", "code");
  url.searchParams.set("provider", "authkit");
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", challenge);
  url.searchParams.set("code_challenge_method", "S256");
  if (opts.loginHint) url.searchParams.set("login_hint", opts.loginHint);
  return { authorizeUrl: url.toString(), cookie, state };
}

export interface SignInCookie {
  nonce: string;
  state: string;
  verifier: string;
  returnTo: string;
}

/** Verify the sign-in cookie; throws `SignInError("expired")` when it is missing, forged or stale. */
export async function readSignInCookie(config: Pick<Config, "auth">, value: string | undefined): Promise<SignInCookie> {
  if (!value) throw new SignInError("expired", "The sign-in attempt was not started in this browser or has expired");
  try {
    const { payload } = await jwtVerify(value, await cookieKey(config), {
      algorithms: ["HS256"],
      audience: COOKIE_AUDIENCE,
      issuer: config.auth.issuer,
      requiredClaims: ["jti", "exp"],
    });
    const { jti, state, verifier, returnTo } = payload;
    if (typeof jti !== "string" || typeof state !== "string" || typeof verifier !== "string" || typeof returnTo !== "string") {
      throw new Error("malformed");
    }
    return { nonce: jti, state, verifier, returnTo: safeReturnTo(returnTo) };
  } catch {
    throw new SignInError("expired", "The sign-in attempt was not started in this browser or has expired");
  }
}

/** The callback's `state` must equal the cookie's and be the HMAC of the cookie's nonce. */
export async function checkState(config: Pick<Config, "auth">, cookie: SignInCookie, state: string | undefined): Promise<void> {
  const expected = await stateFor(config, cookie.nonce);
  if (!state || !safeEqual(state, cookie.state) || !safeEqual(state, expected)) {
    throw new SignInError("state_mismatch", "The sign-in response did not match this browser's sign-in attempt");
  }
}

export interface WorkosProfile {
  id: string;
  email: string;
  emailVerified: boolean;
  firstName: string | null;
  lastName: string | null;
}

const jwksCache = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function jwksFor(config: WorkosConfig) {
  const url = new URL(`/sso/jwks/${encodeURIComponent(config.keys.workosClientId)}`, config.baseUrls.workos).toString();
  let set = jwksCache.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { timeoutDuration: 5_000 });
    jwksCache.set(url, set);
  }
  return set;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Redeem the authorization code at WorkOS and verify the access token against the JWKS. */
export async function exchangeCode(config: WorkosConfig, code: string, verifier: string): Promise<WorkosProfile> {
  const endpoint = new URL("/user_management/authenticate", config.baseUrls.workos);
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({
        grant_type: "authorization_code",
        client_id: config.keys.workosClientId,
        client_secret: config.keys.workosApiKey,
        code,
        code_verifier: verifier,
      }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    throw new SignInError("exchange_failed", "WorkOS could not be reached");
  }
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok || !isRecord(body)) {
    const error = isRecord(body) && typeof body.error === "string" ? body.error : `http_${res.status}`;
    throw new SignInError("exchange_failed", `WorkOS refused the code (${error})`);
  }
  const user = body.user;
  const accessToken = body.access_token;
  if (!isRecord(user) || typeof user.id !== "string" || typeof user.email !== "string" || typeof accessToken !== "string") {
    throw new SignInError("exchange_failed", "WorkOS answered without a user or access token");
  }
  try {
    const { payload } = await jwtVerify(accessToken, jwksFor(config), {
      algorithms: ["RS256"],
      issuer: new URL(`/user_management/${config.keys.workosClientId}`, config.baseUrls.workos).toString(),
      audience: config.keys.workosClientId,
      requiredClaims: ["sub", "exp", "iat"],
    });
    if (payload.sub !== user.id) throw new Error("subject mismatch");
  } catch {
    throw new SignInError("invalid_token", "The WorkOS access token did not verify");
  }
  return {
    id: user.id,
    email: user.email.trim().toLowerCase(),
    emailVerified: user.email_verified === true,
    firstName: typeof user.first_name === "string" && user.first_name ? user.first_name : null,
    lastName: typeof user.last_name === "string" && user.last_name ? user.last_name : null,
  };
}

export interface LinkedUser {
  id: string;
  role: "user" | "admin";
  /** How the WorkOS identity met our user. */
  outcome: "existing" | "linked" | "created";
}

/** Our user for a WorkOS profile: by WorkOS id, else by verified email (linked), else created. */
export async function linkUser(db: Db, profile: WorkosProfile): Promise<LinkedUser> {
  const byWorkos = await db.select({ id: users.id, role: users.role }).from(users).where(eq(users.workosUserId, profile.id)).limit(1);
  if (byWorkos[0]) return { ...byWorkos[0], outcome: "existing" };
  if (!profile.emailVerified) throw new SignInError("unverified_email", "WorkOS has not verified this email address");
  const byEmail = await db.select({ id: users.id, role: users.role, workosUserId: users.workosUserId }).from(users).where(eq(users.email, profile.email)).limit(1);
  const existing = byEmail[0];
  if (existing) {
    if (existing.workosUserId && existing.workosUserId !== profile.id) {
      throw new AppError("conflict", "This account is linked to a different WorkOS identity");
    }
    await db.update(users).set({ workosUserId: profile.id, updatedAt: new Date() }).where(eq(users.id, existing.id));
    return { id: existing.id, role: existing.role, outcome: "linked" };
  }
  const name = [profile.firstName, profile.lastName].filter(Boolean).join(" ") || profile.email.split("@")[0] || "New user";
  const inserted = await db
    .insert(users)
    .values({ email: profile.email, name: name.slice(0, 100), passwordHash: null, workosUserId: profile.id })
    .onConflictDoNothing()
    .returning({ id: users.id, role: users.role });
  if (inserted[0]) return { ...inserted[0], outcome: "created" };
  // A concurrent first sign-in created it: read it back.
  const again = await db.select({ id: users.id, role: users.role }).from(users).where(eq(users.workosUserId, profile.id)).limit(1);
  if (again[0]) return { ...again[0], outcome: "existing" };
  throw new AppError("conflict", "Could not create the account");
}
