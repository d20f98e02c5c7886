/**
 * Short-lived signed tokens (HS256 JWT via jose, keyed by JWT_SECRET) that let a socket reach a
 * call's Durable Object without an Authorization header: the Twilio media stream URL carries one
 * (`purpose: "twilio"`), a browser call socket is opened with a single-use ticket
 * (`purpose: "browser"`, its `jti` consumed by the Durable Object), and the SSE stream accepts an
 * `events` ticket. Verification checks signature, expiry, purpose and call id.
 */
import { SignJWT, jwtVerify } from "jose";

export type StreamTokenPurpose = "twilio" | "browser" | "events";

export interface StreamTokenClaims {
  callId: string;
  purpose: StreamTokenPurpose;
  /** Unique id (single-use browser tickets). */
  jti: string;
  userId?: string;
}

const ISSUER = "call-me-back";
const AUDIENCE = "call-stream";

const key = (secret: string): Uint8Array => new TextEncoder().encode(secret);

/** Sign a token for one call and purpose, valid for `ttlS` seconds. */
export async function signStreamToken(
  secret: string,
  claims: { callId: string; purpose: StreamTokenPurpose; userId?: string },
  ttlS: number,
): Promise<{ token: string; jti: string; expiresAt: Date }> {
  const jti = crypto.randomUUID();
  const nowS = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ purpose: claims.purpose, ...(claims.userId ? { uid: claims.userId } : {}) })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(claims.callId)
    .setJti(jti)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(nowS)
    .setExpirationTime(nowS + ttlS)
    .sign(key(secret));
  return { token, jti, expiresAt: new Date((nowS + ttlS) * 1000) };
}

/** The claims when `token` is a valid, unexpired token for this call and purpose; otherwise null. */
export async function verifyStreamToken(
  secret: string,
  token: string,
  expected: { callId: string; purpose: StreamTokenPurpose },
): Promise<StreamTokenClaims | null> {
  if (!token || token.length > 2048) return null;
  try {
    const { payload } = await jwtVerify(token, key(secret), { issuer: ISSUER, audience: AUDIENCE, algorithms: ["HS256"] });
    if (payload.sub !== expected.callId || payload.purpose !== expected.purpose || typeof payload.jti !== "string") return null;
    return {
      callId: payload.sub,
      purpose: expected.purpose,
      jti: payload.jti,
      ...(typeof payload.uid === "string" ? { userId: payload.uid } : {}),
    };
  } catch {
    return null;
  }
}
