/**
 * Accounts contract: register/login/logout/me and the profile update, plus the `User` DTO.
 * The password rule accepts ANY printable character (spaces, quotes, backslashes, symbols,
 * unicode) — 8 to 128 characters counted as code points; only control characters are refused.
 */
import { z } from "zod";
import { E164, IsoDate, SingleLine, TimeZone } from "./common";

/** Trimmed, lower-cased, syntactically valid email. */
export const Email = z.string().trim().toLowerCase().max(254).pipe(z.email({ message: "Invalid email address" }));

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;
export const Password = z
  .string()
  .max(PASSWORD_MAX * 2, `Password must be at most ${PASSWORD_MAX} characters`)
  .regex(
    /^[^\p{Cc}\p{Cs}]*$/u,
    "Password may contain any printable character but no control characters",
  )
  .refine((s) => [...s].length >= PASSWORD_MIN, `Password must be at least ${PASSWORD_MIN} characters`)
  .refine((s) => [...s].length <= PASSWORD_MAX, `Password must be at most ${PASSWORD_MAX} characters`);

export const DisplayName = SingleLine.trim().min(1, "Name is required").max(100);

export const RegisterRequest = z.object({
  email: Email,
  password: Password,
  name: DisplayName,
  phone: E164.optional(),
});
export type RegisterRequest = z.input<typeof RegisterRequest>;

export const LoginRequest = z.object({
  email: Email,
  // Login does not re-apply the policy: any string up to the limit is checked against the hash.
  password: z.string().min(1, "Password is required").max(PASSWORD_MAX * 4),
});
export type LoginRequest = z.input<typeof LoginRequest>;

export const User = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  phone: z.string().nullable(),
  phoneVerified: z.boolean(),
  timezone: z.string(),
  role: z.enum(["user", "admin"]),
  credits: z.object({ balanceMicros: z.number().int() }),
  freeTrialAvailable: z.boolean(),
  createdAt: IsoDate,
});
export type User = z.infer<typeof User>;

export const AuthResponse = z.object({ token: z.string(), user: User });
export type AuthResponse = z.infer<typeof AuthResponse>;

export const UserResponse = z.object({ user: User });
export type UserResponse = z.infer<typeof UserResponse>;

/** Partial profile update; `phone: null` removes the number, a changed phone clears its verification. */
export const UpdateProfileRequest = z.object({
  name: DisplayName.optional(),
  phone: E164.nullable().optional(),
  timezone: TimeZone.optional(),
});
export type UpdateProfileRequest = z.input<typeof UpdateProfileRequest>;
