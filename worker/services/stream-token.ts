/**
 * Short-lived signed tokens (HS256 JWT via jose, keyed by JWT_SECRET) that let a socket reach a
 * call's Durable Object without an Authorization header. A media socket never carries one in its
 * URL: the Twilio stream gets its token (`purpose: "twilio"`) as a TwiML `<Parameter>` and a
 * browser call socket its single-use ticket (`purpose: "browser"`) in the same place, so both
 * arrive in the `start` message's `customParameters[STREAM_TOKEN_PARAM]`, where the call's Durable
 * Object checks them (`verifyStartToken`) and consumes the `jti`. The SSE stream accepts an
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

/**
 * Header the Worker sets on its own request to a call's Durable Object to say which route the media
 * socket came through (`twilio`: signature checked; `browser`: a live browser call). Clients cannot
 * set it: the Worker builds that request itself.
 */
export const STREAM_ROUTE_HEADER = "X-Stream-Route";

/** The `start.customParameters` key (TwiML `<Parameter name>`) that carries a media socket's token. */
export const STREAM_TOKEN_PARAM = "token";

export type StartTokenCheck = { ok: true; claims: StreamTokenClaims } | { ok: false; reason: "missing token" | "invalid token" };

/**
 * Checks the token a media socket presents in its `start` message (`customParameters.token`) for
 * this call and purpose. The reason never contains the token.
 */
export async function verifyStartToken(
  secret: string,
  customParameters: Record<string, string>,
  expected: { callId: string; purpose: StreamTokenPurpose },
): Promise<StartTokenCheck> {
  const token = customParameters[STREAM_TOKEN_PARAM];
  if (!token) return { ok: false, reason: "missing token" };
  const claims = await verifyStreamToken(secret, token, expected);
  return claims ? { ok: true, claims } : { ok: false, reason: "invalid token" };
}
