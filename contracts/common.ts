/**
 * Shared building blocks of the HTTP contract: the error envelope every non-2xx response uses,
 * its stable codes, and small field schemas (ids, E.164 phones, IANA zones, dates) reused by
 * the resource contracts. Pure zod: imported by the Worker and by the SPA.
 */
import { z } from "zod";

/** Every stable error code a client can branch on. */
export const ERROR_CODES = [
  "bad_request",
  "validation_failed",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "rate_limited",
  "payload_too_large",
  "internal",
] as const;
export const ErrorCode = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** `{ error: { code, message, details? } }` — the body of every non-2xx response. */
export const ErrorEnvelope = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;

/** One field problem inside `details.issues` of a `validation_failed` error. */
export const ValidationIssue = z.object({
  path: z.string().describe("Dotted path of the offending field, '' for the whole body"),
  message: z.string(),
});
export type ValidationIssue = z.infer<typeof ValidationIssue>;

/** One trimmed line of text: no control characters at all (so no NUL, which Postgres text cannot hold). */
export const SingleLine = z.string().trim().regex(/^[^\p{Cc}]*$/u, "Must not contain control characters");

/** Trimmed free text: newlines and tabs allowed, other control characters (incl. NUL) refused. */
export const MultiLine = z.string().trim().regex(/^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$/, "Must not contain control characters");

/** `{ ok: true }` acknowledgement (logout, deletes). */
export const OkResponse = z.object({ ok: z.literal(true) });
export type OkResponse = z.infer<typeof OkResponse>;

/** Resource ids are UUIDs. */
export const Id = z.uuid();

/** ISO-8601 timestamp string as the API emits it. */
export const IsoDate = z.string().describe("ISO-8601 timestamp");

/** E.164 phone number, e.g. +15555550100 (same rule as the database check). */
export const E164 = z
  .string()
  .trim()
  .regex(/^\+[1-9][0-9]{6,14}$/, "Phone must be in E.164 format, e.g. +15555550100");

/** True when `tz` is an IANA time zone this runtime knows. */
export function isIanaTimeZone(tz: string): boolean {
  if (tz.length === 0 || tz.length > 64) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** IANA time zone name, e.g. America/New_York. */
export const TimeZone = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .refine(isIanaTimeZone, { message: "Unknown IANA time zone" });
