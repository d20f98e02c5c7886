/**
 * Users: the `User` DTO (with the credit balance summed from the ledger) and the profile update.
 * Changing the phone number clears its verification.
 */
import { eq, sql } from "drizzle-orm";
import type { UpdateProfileRequest, User } from "../../contracts/auth";
import type { Db } from "../db/client";
import { creditLedger, users } from "../db/schema";
import { notFound } from "../errors";

type UserRow = typeof users.$inferSelect;

export function toUserDto(row: UserRow, balanceMicros: number): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    phone: row.phone,
    phoneVerified: row.phone !== null && row.phoneVerifiedAt !== null,
    timezone: row.timezone,
    role: row.role,
    credits: { balanceMicros },
    freeTrialAvailable: row.freeTrialUsedAt === null,
    createdAt: row.createdAt.toISOString(),
  };
}

const balanceOf = (userId: string) =>
  sql<string>`(SELECT COALESCE(SUM(${creditLedger.amountMicros}), 0)::text FROM ${creditLedger} WHERE ${creditLedger.userId} = ${userId})`;

/** The user with their credit balance, or 404. */
export async function getUser(db: Db, userId: string): Promise<User> {
  const rows = await db
    .select({ user: users, balance: balanceOf(userId) })
    .from(users)
    .where(eq(users.id, userId))
    .limit(1);
  const row = rows[0];
  if (!row) throw notFound("User");
  return toUserDto(row.user, Number(row.balance));
}

export interface ProfileUpdate {
  name?: string;
  phone?: string | null;
  timezone?: string;
}

export async function updateProfile(db: Db, userId: string, input: ProfileUpdate): Promise<User> {
  const patch: Partial<typeof users.$inferInsert> = {};
  if (input.name !== undefined) patch.name = input.name;
  if (input.timezone !== undefined) patch.timezone = input.timezone;
  if (input.phone !== undefined) {
    patch.phone = input.phone;
    // A different number (or none) is unverified; the same number keeps its verification.
    patch.phoneVerifiedAt = sql`CASE WHEN ${users.phone} IS NOT DISTINCT FROM ${input.phone} THEN ${users.phoneVerifiedAt} ELSE NULL END` as unknown as Date;
  }
  if (Object.keys(patch).length > 0) {
    patch.updatedAt = new Date();
    const updated = await db.update(users).set(patch).where(eq(users.id, userId)).returning({ id: users.id });
    if (updated.length === 0) throw notFound("User");
  }
  return getUser(db, userId);
}

export type { UpdateProfileRequest };
