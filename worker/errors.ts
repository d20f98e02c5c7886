/**
 * Application errors and their HTTP mapping. `AppError(code, message, details?)` carries a stable
 * code from the contract; `toErrorResponse` turns any thrown value into the one envelope
 * `{ error: { code, message, details? } }`. A `ProviderError` (a vendor failing on its side) is a
 * 502; unknown errors become a generic 500 (the caller logs both); stack traces and internal
 * messages never reach the client.
 */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorCode, ErrorEnvelope } from "../contracts/common";
import { ProviderError } from "../durable-objects/providers/types";

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
};

export class AppError extends Error {
  override readonly name = "AppError";
  readonly status: ContentfulStatusCode;
  readonly details?: unknown;
  /** Extra response headers, e.g. Retry-After. */
  readonly headers?: Record<string, string>;
  constructor(
    readonly code: ErrorCode,
    message: string,
    opts: { details?: unknown; headers?: Record<string, string>; status?: ContentfulStatusCode } = {},
  ) {
    super(message);
    this.status = opts.status ?? STATUS[code];
    this.details = opts.details;
    this.headers = opts.headers;
  }
}

export const notFound = (what = "Resource") => new AppError("not_found", `${what} not found`);
export const unauthorized = (message = "Authentication required") => new AppError("unauthorized", message);
export const forbidden = (message = "Not allowed") => new AppError("forbidden", message);
export const conflict = (message: string) => new AppError("conflict", message);

/** Map an HTTP status (from an HTTPException) to the closest contract code. */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
    case 405:
      return "not_found";
    case 409:
      return "conflict";
    case 413:
      return "payload_too_large";
    case 415:
    case 422:
      return "bad_request";
    case 429:
      return "rate_limited";
    default:
      return status >= 500 ? "internal" : "bad_request";
  }
}

export function envelope(code: ErrorCode, message: string, details?: unknown): ErrorEnvelope {
  return details === undefined ? { error: { code, message } } : { error: { code, message, details } };
}

export interface ErrorResponseParts {
  status: ContentfulStatusCode;
  body: ErrorEnvelope;
  headers: Record<string, string>;
  /** True when the error was not an expected one (should be logged as an error). */
  unexpected: boolean;
}

/** The SQLSTATE of a Postgres error, looking through wrappers (drizzle's DrizzleQueryError `cause`). */
export function postgresCode(err: unknown): string | null {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * Postgres errors a client's input can cause (bad data, constraint races) → 4xx. Validation
 * should catch these first; this is the backstop so they never surface as 500s.
 */
function fromPostgres(code: string): AppError | null {
  if (code === "23505") return new AppError("conflict", "Conflicts with an existing record");
  if (code === "23503") return new AppError("conflict", "Refers to a record that does not exist");
  if (code === "23514" || code === "23502") return new AppError("validation_failed", "A value is not allowed");
  if (code.startsWith("22")) return new AppError("bad_request", "A value could not be stored");
  return null;
}

/** Classify a thrown value into status + envelope. */
export function toErrorResponse(err: unknown): ErrorResponseParts {
  const pgCode = err instanceof AppError || err instanceof HTTPException ? null : postgresCode(err);
  const mapped = pgCode ? fromPostgres(pgCode) : null;
  if (mapped) {
    return { status: mapped.status, body: envelope(mapped.code, mapped.message), headers: {}, unexpected: false };
  }
  if (err instanceof AppError) {
    return { status: err.status, body: envelope(err.code, err.message, err.details), headers: err.headers ?? {}, unexpected: false };
  }
  if (err instanceof ProviderError) {
    // A vendor failed on its side (or answered something we did not expect): 502, logged.
    return { status: 502, body: envelope("internal", "A service we depend on did not answer. Please try again."), headers: {}, unexpected: true };
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    const code = codeForStatus(status);
    const headers: Record<string, string> = {};
    const retryAfter = err.res?.headers.get("Retry-After");
    if (retryAfter) headers["Retry-After"] = retryAfter;
    const message = status >= 500 ? "Internal error" : err.message || defaultMessage(code);
    return { status: status >= 500 ? 500 : status, body: envelope(code, message), headers, unexpected: status >= 500 };
  }
  return { status: 500, body: envelope("internal", "Internal error"), headers: {}, unexpected: true };
}

function defaultMessage(code: ErrorCode): string {
  switch (code) {
    case "payload_too_large":
      return "Request body too large";
    case "unauthorized":
      return "Authentication required";
    case "not_found":
      return "Not found";
    default:
      return "Bad request";
  }
}
