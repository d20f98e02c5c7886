/**
 * Authentication middleware. `readAuth` verifies a bearer token when one is sent (a bad one is
 * 401 even on public routes) and sets `c.var.auth`; `requireAuth` additionally rejects anonymous
 * requests. Both check the session row is live on every request. Sign-in and registration ignore
 * any Authorization header, so a client holding a stale token can still sign in.
 */
import type { MiddlewareHandler } from "hono";
import { unauthorized } from "../errors";
import { authenticate } from "../services/auth";
import type { AppEnv, AuthContext } from "../types";

const CREDENTIAL_FREE_PATHS = new Set(["/api/auth/login", "/api/auth/register"]);

export const readAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header("Authorization");
  if (header !== undefined && !CREDENTIAL_FREE_PATHS.has(c.req.path)) {
    const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header);
    if (!match?.[1]) throw unauthorized("Authorization must be 'Bearer <token>'");
    const auth = await authenticate(c.var.db, c.var.config, match[1]);
    c.set("auth", auth);
    c.set("log", c.var.log.child({ userId: auth.userId }));
  }
  await next();
};

export const requireAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.var.auth) throw unauthorized();
  await next();
};

/** The authenticated caller (after `requireAuth`). */
export function authOf(c: { var: { auth: AuthContext | null } }): AuthContext {
  const auth = c.var.auth;
  if (!auth) throw unauthorized();
  return auth;
}
