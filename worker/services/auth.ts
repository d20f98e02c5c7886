/**
 * Accounts: register, login, logout and token authentication. Tokens are HS256 JWTs (jose) with
 * `sub`, `sid`, `role`, `iat`, `exp` (7 days), `iss`, `aud`; each carries the id of a `sessions`
 * row, and every authenticated request checks that session is still live (not revoked, not
 * expired). Login throttling lives in the route (RateLimiter Durable Object), not here.
 */
import { and, eq, gt, isNull } from "drizzle-orm";
import { SignJWT, jwtVerify } from "jose";
import type { Db } from "../db/client";
import { sessions, users } from "../db/schema";
import type { Config } from "../env";
import { AppError, conflict, unauthorized } from "../errors";
import type { AuthContext } from "../types";
import { burnPasswordCheck, hashPassword, verifyPassword } from "./password";

export const SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

type AuthConfig = Pick<Config, "auth">;

function secretKey(config: AuthConfig): Uint8Array {
  return new TextEncoder().encode(config.auth.jwtSecret);
}

/** Create a session row and sign a token for it. */
export async function issueToken(
  db: Db,
  config: AuthConfig,
  user: { id: string; role: "user" | "admin" },
  method: "password" | "workos" = "password",
): Promise<{ token: string; sessionId: string; expiresAt: Date }> {
  const now = Date.now();
  const expiresAt = new Date(now + SESSION_TTL_MS);
  const [session] = await db
    .insert(sessions)
    .values({ userId: user.id, method, expiresAt })
    .returning({ id: sessions.id });
  if (!session) throw new AppError("internal", "Could not create session");
  const token = await new SignJWT({ sid: session.id, role: user.role })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(user.id)
    .setIssuer(config.auth.issuer)
    .setAudience(config.auth.audience)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(secretKey(config));
  return { token, sessionId: session.id, expiresAt };
}

export interface RegisterInput {
  email: string;
  password: string;
  name: string;
  phone?: string;
}

/** Create the account (409 on a taken email) and sign the user in. */
export async function register(db: Db, config: AuthConfig, input: RegisterInput) {
  const passwordHash = await hashPassword(input.password);
  const inserted = await db
    .insert(users)
    .values({ email: input.email, passwordHash, name: input.name, phone: input.phone ?? null })
    .onConflictDoNothing({ target: users.email })
    .returning({ id: users.id, role: users.role });
  const user = inserted[0];
  if (!user) throw conflict("An account with this email already exists");
  const { token } = await issueToken(db, config, user);
  return { token, userId: user.id };
}

/** Check credentials; `null` when the email is unknown or the password is wrong (same timing). */
export async function checkCredentials(db: Db, email: string, password: string) {
  const rows = await db
    .select({ id: users.id, role: users.role, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.email, email))
    .limit(1);
  const user = rows[0];
  if (!user || !user.passwordHash) {
    await burnPasswordCheck(password);
    return null;
  }
  return (await verifyPassword(password, user.passwordHash)) ? { id: user.id, role: user.role } : null;
}

/** Revoke one session (idempotent). */
export async function logout(db: Db, sessionId: string): Promise<void> {
  await db.update(sessions).set({ revokedAt: new Date() }).where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Verify a bearer token and that its session is live; throws 401 otherwise. */
export async function authenticate(db: Db, config: AuthConfig, token: string): Promise<AuthContext> {
  let sub: string | undefined;
  let sid: unknown;
  try {
    const { payload } = await jwtVerify(token, secretKey(config), {
      algorithms: ["HS256"],
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      requiredClaims: ["sub", "sid", "exp", "iat"],
    });
    sub = payload.sub;
    sid = payload.sid;
  } catch {
    throw unauthorized("Invalid or expired token");
  }
  if (typeof sub !== "string" || typeof sid !== "string" || !UUID.test(sub) || !UUID.test(sid)) {
    throw unauthorized("Invalid or expired token");
  }
  const rows = await db
    .select({ userId: users.id, role: users.role })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(eq(sessions.id, sid), eq(sessions.userId, sub), isNull(sessions.revokedAt), gt(sessions.expiresAt, new Date())),
    )
    .limit(1);
  const row = rows[0];
  if (!row) throw unauthorized("Session expired or signed out");
  return { userId: row.userId, sessionId: sid, role: row.role };
}
