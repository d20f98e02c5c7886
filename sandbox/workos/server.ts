/**
 * Local WorkOS (AuthKit) emulator for "Sign in with WorkOS": the OAuth 2.0 authorization-code
 * flow with PKCE as WorkOS's User Management API speaks it.
 *
 * - `GET /user_management/authorize` validates the request and serves a small hosted sign-in page
 *   (pick a seeded user or type an email and name; emails count as verified), then redirects to
 *   `redirect_uri` with `code` and `state` (or `error=access_denied` on cancel).
 * - `POST /user_management/authenticate` exchanges a code (single use, short-lived; S256 PKCE
 *   verified; `client_secret` = the API key for confidential clients) or a refresh token for
 *   `{ user, access_token, refresh_token, authentication_method }`; the access token is an RS256
 *   JWT with `iss`/`sub`/`sid`/`aud`/`jti`/`exp`, verifiable through `GET /sso/jwks/{clientId}`.
 * - `GET /user_management/users/{id}`, `GET /user_management/users?email=`, and
 *   `GET /user_management/sessions/logout` (revokes the session, redirects to `return_to`).
 * Sandbox controls: `/__sandbox/{knobs,bill,reset}`; the `autoSignInEmail` knob skips the page.
 * It does not emulate SSO connections, organizations, MFA or password/magic-auth APIs.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import {
  closeServer,
  createEmulatorServer,
  type EmulatorHandle,
  handleControl,
  jittered,
  Knobs,
  listen,
  readBody,
  sendJson,
  sleep,
} from "../shared/emulator";

export interface WorkosKnobs {
  /** Added before every API response. @default 0 */
  latencyMs: number;
  /** ± random spread on `latencyMs`. @default 0 */
  jitterMs: number;
  /** The next N API requests (not the hosted page) fail with `failStatus`. @default 0 */
  failNextRequests: number;
  /** @default 500 */
  failStatus: number;
  /** How long an authorization code stays valid (WorkOS: 10 minutes). @default 600000 */
  codeTtlMs: number;
  /** Access-token lifetime (WorkOS default: 5 minutes). @default 300000 */
  accessTokenTtlMs: number;
  /** When set, `/user_management/authorize` signs this email in at once (no page), like an existing AuthKit session. @default null */
  autoSignInEmail: string | null;
}

export const DEFAULT_WORKOS_KNOBS: WorkosKnobs = {
  latencyMs: 0,
  jitterMs: 0,
  failNextRequests: 0,
  failStatus: 500,
  codeTtlMs: 600_000,
  accessTokenTtlMs: 300_000,
  autoSignInEmail: null,
};

export interface WorkosEmulatorOptions {
  /** 0 = any free port. @default 0 */
  port?: number;
  /** The API key (`sk_test_…`), also the `client_secret` of confidential clients. */
  apiKey: string;
  /** The AuthKit client id (`client_…`). */
  clientId: string;
  /** Allowed redirect URIs; when omitted any http(s) URI is accepted. */
  redirectUris?: string[];
}

export interface WorkosUser {
  object: "user";
  id: string;
  email: string;
  email_verified: boolean;
  first_name: string | null;
  last_name: string | null;
  name: string | null;
  profile_picture_url: string | null;
  last_sign_in_at: string | null;
  locale: string | null;
  external_id: string | null;
  metadata: Record<string, string>;
  created_at: string;
  updated_at: string;
}

export interface WorkosEmulatorHandle extends EmulatorHandle {
  knobs: Knobs<WorkosKnobs>;
  /** The `iss` claim of access tokens: `<url>/user_management/<clientId>`. */
  issuer: string;
  /** Adds (or returns the existing) user with this email. */
  seedUser(user: { email: string; firstName?: string; lastName?: string }): WorkosUser;
}

type AuthMethod = "Password" | "MagicAuth";

interface PendingAuthorization {
  id: string;
  redirectUri: string;
  state: string | null;
  codeChallenge: string | null;
  loginHint: string | null;
  createdAt: number;
}

interface IssuedCode {
  code: string;
  userId: string;
  redirectUri: string;
  codeChallenge: string | null;
  method: AuthMethod;
  expiresAt: number;
  used: boolean;
  /** Session created when the code was redeemed (revoked if the code is replayed). */
  sessionId: string | null;
}

interface SessionRecord {
  id: string;
  userId: string;
  method: AuthMethod;
  refreshToken: string;
  revoked: boolean;
  createdAt: number;
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** WorkOS-looking ids: `user_01` + 24 Crockford base32 characters (ULID-shaped). */
function workosId(prefix: string): string {
  const bytes = randomBytes(24);
  let out = "01";
  for (let i = 0; i < 24; i++) out += CROCKFORD[(bytes[i] as number) % 32];
  return `${prefix}_${out}`;
}

function s256(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

const SEEDED = [
  { email: "demo@callmeback.ai", firstName: "Demo", lastName: "User" },
  { email: "ada@example.com", firstName: "Ada", lastName: "Lovelace" },
  { email: "grace@example.com", firstName: "Grace", lastName: "Hopper" },
];

export async function startWorkosEmulator(opts: WorkosEmulatorOptions): Promise<WorkosEmulatorHandle> {
  const knobs = new Knobs<WorkosKnobs>(DEFAULT_WORKOS_KNOBS);
  const { publicKey, privateKey } = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
  const kid = workosId("sso_oidc_key_pair");
  const jwk: JWK = { ...(await exportJWK(publicKey)), alg: "RS256", kid, use: "sig" };

  const users = new Map<string, WorkosUser>();
  const pending = new Map<string, PendingAuthorization>();
  const codes = new Map<string, IssuedCode>();
  const sessions = new Map<string, SessionRecord>();
  const authentications: Array<{ userId: string; at: number }> = [];
  let baseUrl = "";
  let issuer = "";

  const nowIso = (): string => new Date().toISOString();

  const seedUser = (u: { email: string; firstName?: string; lastName?: string }): WorkosUser => {
    const email = u.email.trim().toLowerCase();
    for (const existing of users.values()) if (existing.email === email) return existing;
    const first = u.firstName?.trim() || null;
    const last = u.lastName?.trim() || null;
    const user: WorkosUser = {
      object: "user",
      id: workosId("user"),
      email,
      email_verified: true,
      first_name: first,
      last_name: last,
      name: [first, last].filter(Boolean).join(" ") || null,
      profile_picture_url: null,
      last_sign_in_at: null,
      locale: null,
      external_id: null,
      metadata: {},
      created_at: nowIso(),
      updated_at: nowIso(),
    };
    users.set(user.id, user);
    return user;
  };
  const seedDefaults = (): void => {
    for (const u of SEEDED) seedUser(u);
  };
  seedDefaults();

  const redirectAllowed = (uri: string): boolean => {
    if (opts.redirectUris) return opts.redirectUris.includes(uri);
    try {
      const u = new URL(uri);
      return u.protocol === "http:" || u.protocol === "https:";
    } catch {
      return false;
    }
  };

  const withParams = (uri: string, params: Record<string, string | null>): string => {
    const u = new URL(uri);
    for (const [k, v] of Object.entries(params)) if (v !== null) u.searchParams.set(k, v);
    return u.toString();
  };

  const issueCode = (req: PendingAuthorization, user: WorkosUser, method: AuthMethod): string => {
    const code = randomBytes(24).toString("base64url");
    codes.set(code, {
      code,
      userId: user.id,
      redirectUri: req.redirectUri,
      codeChallenge: req.codeChallenge,
      method,
      expiresAt: Date.now() + knobs.value.codeTtlMs,
      used: false,
      sessionId: null,
    });
    pending.delete(req.id);
    return withParams(req.redirectUri, { code, state: req.state });
  };

  const html = (res: ServerResponse, status: number, body: string): void => {
    const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Sign in</title><style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}
button{display:block;width:100%;margin:.4rem 0;padding:.6rem;border:1px solid #ccc;border-radius:6px;background:#fff;text-align:left;cursor:pointer}
button.primary{background:#6363f1;color:#fff;text-align:center}input{width:100%;padding:.5rem;margin:.2rem 0 .6rem;box-sizing:border-box}
.note{color:#666;font-size:.8rem}</style></head><body>${body}</body></html>`;
    res.writeHead(status, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(page) });
    res.end(page);
  };

  const redirect = (res: ServerResponse, location: string): void => {
    res.writeHead(302, { location });
    res.end();
  };

  const signInPage = (req: PendingAuthorization): string => {
    const seeded = [...users.values()]
      .map(
        (u) =>
          `<button type="submit" name="user_id" value="${esc(u.id)}" data-testid="user-${esc(u.email)}">${esc(u.name ?? u.email)} &lt;${esc(u.email)}&gt;</button>`,
      )
      .join("");
    return `<h1>Sign in to Call Me Back</h1>
<form method="post" action="/user_management/authorize/${esc(req.id)}">${seeded}</form>
<h2>Or continue with email</h2>
<form method="post" action="/user_management/authorize/${esc(req.id)}">
<label for="email">Email</label><input id="email" name="email" type="email" required value="${esc(req.loginHint ?? "")}">
<label for="first_name">First name</label><input id="first_name" name="first_name">
<label for="last_name">Last name</label><input id="last_name" name="last_name">
<button class="primary" type="submit" data-testid="continue">Continue</button></form>
<form method="post" action="/user_management/authorize/${esc(req.id)}"><button type="submit" name="cancel" value="1" data-testid="cancel">Cancel</button></form>
<p class="note">WorkOS AuthKit emulator — emails are treated as verified.</p>`;
  };

  // ----------------------------------------------------------- authorize

  function handleAuthorize(res: ServerResponse, url: URL): void {
    const q = url.searchParams;
    const fail = (msg: string): void => html(res, 400, `<h1>Invalid authorization request</h1><p data-testid="error">${esc(msg)}</p>`);
    const clientId = q.get("client_id");
    if (clientId !== opts.clientId) return fail(`Invalid client ID: ${clientId ?? "(missing)"}`);
    const redirectUri = q.get("redirect_uri");
    if (!redirectUri || !redirectAllowed(redirectUri)) return fail(`Invalid redirect URI: ${redirectUri ?? "(missing)"}`);
    const state = q.get("state");
    const back = (error: string, description: string): void =>
      redirect(res, withParams(redirectUri, { error, error_description: description, state }));
    if (q.get("response_type") !== "code") return back("unsupported_response_type", "response_type must be 'code'.");
    const provider = q.get("provider");
    if (!provider && !q.get("connection_id") && !q.get("organization_id"))
      return back("invalid_request", "One of provider, connection_id or organization_id is required.");
    if (provider && provider !== "authkit") return back("invalid_request", `The emulator supports provider=authkit only (got ${provider}).`);
    const challenge = q.get("code_challenge");
    const method = q.get("code_challenge_method");
    if (challenge && method !== "S256") return back("invalid_request", "code_challenge_method must be S256.");
    if (!challenge && method) return back("invalid_request", "code_challenge_method given without code_challenge.");
    const req: PendingAuthorization = {
      id: randomUUID(),
      redirectUri,
      state,
      codeChallenge: challenge,
      loginHint: q.get("login_hint"),
      createdAt: Date.now(),
    };
    pending.set(req.id, req);
    const auto = knobs.value.autoSignInEmail;
    if (auto) {
      const user = seedUser({ email: auto });
      return redirect(res, issueCode(req, user, SEEDED.some((s) => s.email === user.email) ? "Password" : "MagicAuth"));
    }
    html(res, 200, signInPage(req));
  }

  async function handleAuthorizeSubmit(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const p = pending.get(id);
    if (!p || Date.now() - p.createdAt > 30 * 60_000) return html(res, 400, `<h1>This sign-in request has expired</h1><p>Start again from the app.</p>`);
    const form = new URLSearchParams((await readBody(req)).toString("utf8"));
    if (form.get("cancel")) {
      pending.delete(id);
      return redirect(res, withParams(p.redirectUri, { error: "access_denied", error_description: "The user canceled the sign-in.", state: p.state }));
    }
    const userId = form.get("user_id");
    if (userId) {
      const user = users.get(userId);
      if (!user) return html(res, 400, `<h1>Unknown user</h1>`);
      return redirect(res, issueCode(p, user, "Password"));
    }
    const email = form.get("email")?.trim() ?? "";
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) return html(res, 400, `<h1>Enter a valid email</h1>${signInPage(p)}`);
    const user = seedUser({ email, firstName: form.get("first_name") ?? undefined, lastName: form.get("last_name") ?? undefined });
    return redirect(res, issueCode(p, user, "MagicAuth"));
  }

  // -------------------------------------------------------- authenticate

  const oauthError = (res: ServerResponse, status: number, error: string, description: string): void =>
    sendJson(res, status, { error, error_description: description });

  const signAccessToken = async (session: SessionRecord): Promise<string> => {
    const nowS = Math.floor(Date.now() / 1000);
    return new SignJWT({ sid: session.id, role: "member", permissions: [] })
      .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
      .setIssuer(issuer)
      .setSubject(session.userId)
      .setAudience(opts.clientId)
      .setJti(workosId("jti").slice(4))
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + Math.max(1, Math.round(knobs.value.accessTokenTtlMs / 1000)))
      .sign(privateKey);
  };

  const authResponse = async (session: SessionRecord): Promise<Record<string, unknown>> => {
    const user = users.get(session.userId);
    if (!user) throw new Error("session user vanished");
    user.last_sign_in_at = nowIso();
    user.updated_at = user.last_sign_in_at;
    authentications.push({ userId: user.id, at: Date.now() });
    return {
      user,
      access_token: await signAccessToken(session),
      refresh_token: session.refreshToken,
      authentication_method: session.method,
    };
  };

  async function readParams(req: IncomingMessage): Promise<Record<string, string>> {
    const text = (await readBody(req)).toString("utf8");
    const type = String(req.headers["content-type"] ?? "");
    const out: Record<string, string> = {};
    if (type.includes("application/json")) {
      let v: unknown;
      try {
        v = JSON.parse(text || "{}");
      } catch {
        return out;
      }
      if (typeof v === "object" && v !== null)
        for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
    } else for (const [k, x] of new URLSearchParams(text)) out[k] = x;
    return out;
  }

  async function handleAuthenticate(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const p = await readParams(req);
    if (p.client_id !== opts.clientId) return oauthError(res, 400, "invalid_client", `Invalid client ID '${p.client_id ?? ""}'.`);
    if (p.client_secret !== undefined && p.client_secret !== opts.apiKey) return oauthError(res, 401, "invalid_client", "Invalid client secret.");
    if (p.grant_type === "authorization_code") {
      const entry = p.code ? codes.get(p.code) : undefined;
      if (!entry || entry.expiresAt <= Date.now()) return oauthError(res, 400, "invalid_grant", "The code has expired or is invalid.");
      if (entry.used) {
        // A replayed code revokes what the first exchange issued (RFC 6749 §4.1.2).
        const s = entry.sessionId ? sessions.get(entry.sessionId) : undefined;
        if (s) s.revoked = true;
        return oauthError(res, 400, "invalid_grant", "The code has already been used.");
      }
      if (entry.codeChallenge) {
        if (!p.code_verifier) return oauthError(res, 400, "invalid_grant", "A code_verifier is required for this code.");
        if (s256(p.code_verifier) !== entry.codeChallenge) return oauthError(res, 400, "invalid_grant", "The code_verifier does not match the code_challenge.");
      } else if (p.client_secret === undefined) {
        return oauthError(res, 400, "invalid_client", "client_secret is required when the authorization request had no code_challenge.");
      }
      entry.used = true;
      const session: SessionRecord = {
        id: workosId("session"),
        userId: entry.userId,
        method: entry.method,
        refreshToken: randomBytes(32).toString("base64url"),
        revoked: false,
        createdAt: Date.now(),
      };
      sessions.set(session.id, session);
      entry.sessionId = session.id;
      return sendJson(res, 200, await authResponse(session));
    }
    if (p.grant_type === "refresh_token") {
      const session = [...sessions.values()].find((s) => s.refreshToken === p.refresh_token);
      if (!session || session.revoked) return oauthError(res, 400, "invalid_grant", "Session has already ended.");
      session.refreshToken = randomBytes(32).toString("base64url");
      return sendJson(res, 200, await authResponse(session));
    }
    return oauthError(res, 400, "unsupported_grant_type", `Unsupported grant_type '${p.grant_type ?? ""}'.`);
  }

  // ---------------------------------------------------------------- users

  const requireKey = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.headers.authorization === `Bearer ${opts.apiKey}`) return true;
    sendJson(res, 401, { message: "Unauthorized" });
    return false;
  };

  const server = createEmulatorServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://sandbox");
    res.setHeader("x-request-id", randomUUID());
    if (url.pathname.startsWith("/__sandbox/")) {
      const handled = await handleControl(req, res, {
        knobs: knobs as unknown as Knobs<object>,
        bill: () => ({
          vendor: "workos",
          pricing: "AuthKit user management is free up to 1,000,000 monthly active users",
          authentications: authentications.length,
          monthlyActiveUsers: new Set(authentications.map((a) => a.userId)).size,
        }),
        reset: () => {
          users.clear();
          pending.clear();
          codes.clear();
          sessions.clear();
          authentications.length = 0;
          seedDefaults();
        },
      });
      if (!handled) sendJson(res, 404, { error: `unknown sandbox route ${req.method} ${url.pathname}` });
      return;
    }
    const route = `${req.method} ${url.pathname}`;
    // The hosted page is a browser flow: no latency or fault knobs.
    if (route === "GET /user_management/authorize") return handleAuthorize(res, url);
    const submit = url.pathname.match(/^\/user_management\/authorize\/([0-9a-f-]+)$/);
    if (req.method === "POST" && submit) return handleAuthorizeSubmit(req, res, submit[1] as string);
    if (route === "GET /user_management/sessions/logout") {
      const s = sessions.get(url.searchParams.get("session_id") ?? "");
      if (s) s.revoked = true;
      const returnTo = url.searchParams.get("return_to");
      if (returnTo) return redirect(res, returnTo);
      return html(res, 200, "<h1>Signed out</h1>");
    }

    const k = knobs.value;
    if (k.latencyMs > 0 || k.jitterMs > 0) await sleep(jittered(k.latencyMs, k.jitterMs));
    if (k.failNextRequests > 0) {
      knobs.set({ failNextRequests: k.failNextRequests - 1 });
      return sendJson(res, k.failStatus, { message: `Injected failure (sandbox knob failNextRequests): HTTP ${k.failStatus}.` });
    }
    const jwks = url.pathname.match(/^\/sso\/jwks\/([A-Za-z0-9_]+)$/);
    if (req.method === "GET" && jwks) {
      if (jwks[1] !== opts.clientId) return sendJson(res, 404, { message: "Not Found" });
      return sendJson(res, 200, { keys: [jwk] }, { "cache-control": "public, max-age=300" });
    }
    if (route === "POST /user_management/authenticate") return handleAuthenticate(req, res);
    const userRoute = url.pathname.match(/^\/user_management\/users\/([A-Za-z0-9_]+)$/);
    if (req.method === "GET" && userRoute) {
      if (!requireKey(req, res)) return;
      const user = users.get(userRoute[1] as string);
      if (!user) return sendJson(res, 404, { message: `User not found: '${userRoute[1]}'.`, code: "entity_not_found", entity_id: userRoute[1] });
      return sendJson(res, 200, user);
    }
    if (route === "GET /user_management/users") {
      if (!requireKey(req, res)) return;
      const email = url.searchParams.get("email")?.toLowerCase();
      const data = [...users.values()].filter((u) => !email || u.email === email);
      return sendJson(res, 200, { object: "list", data, list_metadata: { before: null, after: null } });
    }
    sendJson(res, 404, { message: "Not Found" });
  }, "workos");

  const port = await listen(server, opts.port ?? 0);
  baseUrl = `http://127.0.0.1:${port}`;
  issuer = `${baseUrl}/user_management/${opts.clientId}`;
  return {
    url: baseUrl,
    port,
    knobs,
    issuer,
    seedUser,
    close: () => closeServer(server),
  };
}
