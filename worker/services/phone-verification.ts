/**
 * Phone verification before we ever dial a number: `startPhoneVerification` (optionally sets a new
 * number, which clears any earlier verification) asks Twilio Verify to text a one-time code and
 * records a pending attempt; `checkPhoneVerification` checks the code with Twilio and, when
 * approved, stamps `users.phone_verified_at`. Limits: 5 codes sent per hour per user, 5 checks
 * per code, codes expire after 10 minutes.
 */
import { and, desc, eq, gte, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { phoneVerifications, users } from "../db/schema";
import { AppError, notFound } from "../errors";
import { checkVerification, startVerification, TwilioError, type TwilioConfig } from "./twilio-rest";
import { updateProfile } from "./users";

export const MAX_SENDS_PER_HOUR = 5;
export const MAX_CHECKS_PER_CODE = 5;
export const CODE_TTL_MS = 10 * 60_000;

function maskLast4(phone: string): string {
  return `•••${phone.slice(-4)}`;
}

export interface StartVerificationResult {
  status: "pending" | "already_verified";
  phoneMasked: string;
  expiresAt: string | null;
}

export async function startPhoneVerification(
  db: Db,
  twilio: TwilioConfig,
  userId: string,
  phone?: string,
): Promise<StartVerificationResult> {
  if (phone !== undefined) await updateProfile(db, userId, { phone });
  const [user] = await db.select({ phone: users.phone, verifiedAt: users.phoneVerifiedAt }).from(users).where(eq(users.id, userId)).limit(1);
  if (!user) throw notFound("User");
  if (!user.phone) {
    throw new AppError("validation_failed", "Add a phone number first", { details: { issues: [{ path: "phone", message: "Required" }] } });
  }
  if (user.verifiedAt) return { status: "already_verified", phoneMasked: maskLast4(user.phone), expiresAt: null };
  const hourAgo = new Date(Date.now() - 3_600_000);
  const [recent] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(phoneVerifications)
    .where(and(eq(phoneVerifications.userId, userId), gte(phoneVerifications.createdAt, hourAgo)));
  if (Number(recent?.n ?? 0) >= MAX_SENDS_PER_HOUR) {
    throw new AppError("rate_limited", "Too many codes requested. Try again in an hour.", { headers: { "Retry-After": "3600" } });
  }
  try {
    await startVerification(twilio, user.phone);
  } catch (err) {
    if (err instanceof TwilioError && err.status === 429) throw new AppError("rate_limited", "Too many codes requested. Try again later.");
    if (err instanceof TwilioError && err.status === 400) throw new AppError("bad_request", "That number cannot receive text messages");
    throw err;
  }
  const expiresAt = new Date(Date.now() + CODE_TTL_MS);
  // A new code supersedes older pending attempts.
  await db
    .update(phoneVerifications)
    .set({ status: "expired" })
    .where(and(eq(phoneVerifications.userId, userId), eq(phoneVerifications.status, "pending")));
  await db.insert(phoneVerifications).values({ userId, phone: user.phone, expiresAt });
  return { status: "pending", phoneMasked: maskLast4(user.phone), expiresAt: expiresAt.toISOString() };
}

export async function checkPhoneVerification(db: Db, twilio: TwilioConfig, userId: string, code: string): Promise<{ verified: true }> {
  const [pending] = await db
    .select()
    .from(phoneVerifications)
    .where(and(eq(phoneVerifications.userId, userId), eq(phoneVerifications.status, "pending")))
    .orderBy(desc(phoneVerifications.createdAt))
    .limit(1);
  const [user] = await db.select({ phone: users.phone }).from(users).where(eq(users.id, userId)).limit(1);
  if (!pending || !user || user.phone !== pending.phone) throw new AppError("bad_request", "No code is pending. Request a new one.");
  if (pending.expiresAt.getTime() < Date.now()) {
    await db.update(phoneVerifications).set({ status: "expired" }).where(eq(phoneVerifications.id, pending.id));
    throw new AppError("bad_request", "The code has expired. Request a new one.");
  }
  // Count the attempt atomically before asking Twilio; the limit holds under concurrent checks.
  const counted = await db
    .update(phoneVerifications)
    .set({ checkAttempts: sql`${phoneVerifications.checkAttempts} + 1` })
    .where(and(eq(phoneVerifications.id, pending.id), sql`${phoneVerifications.checkAttempts} < ${MAX_CHECKS_PER_CODE}`))
    .returning({ attempts: phoneVerifications.checkAttempts });
  if (counted.length === 0) {
    await db.update(phoneVerifications).set({ status: "failed" }).where(eq(phoneVerifications.id, pending.id));
    throw new AppError("rate_limited", "Too many wrong codes. Request a new one.");
  }
  let status: string;
  try {
    status = (await checkVerification(twilio, pending.phone, code)).status;
  } catch (err) {
    if (err instanceof TwilioError && (err.status === 404 || err.status === 429)) {
      await db.update(phoneVerifications).set({ status: "failed" }).where(eq(phoneVerifications.id, pending.id));
      throw new AppError("bad_request", "The code is no longer valid. Request a new one.");
    }
    throw err;
  }
  if (status !== "approved") {
    throw new AppError("validation_failed", "That code is not right", { details: { issues: [{ path: "code", message: "Incorrect code" }] } });
  }
  await db.batch([
    db.update(phoneVerifications).set({ status: "approved" }).where(eq(phoneVerifications.id, pending.id)),
    db
      .update(users)
      .set({ phoneVerifiedAt: new Date(), updatedAt: new Date() })
      .where(and(eq(users.id, userId), eq(users.phone, pending.phone))),
  ]);
  return { verified: true };
}
