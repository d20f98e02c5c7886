/**
 * Stripe's error envelope `{ error: { type, code, message, param, … } }` and the HTTP statuses
 * the official SDK maps to its error classes (400/404 → StripeInvalidRequestError,
 * 401 → StripeAuthenticationError, 402 → StripeCardError, 409/400 idempotency_error →
 * StripeIdempotencyError, 429 → StripeRateLimitError, 5xx → StripeAPIError).
 */

export type StripeErrorType = "api_error" | "card_error" | "idempotency_error" | "invalid_request_error";

export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown> & { type: StripeErrorType; message: string },
  ) {
    super(body.message);
  }
  toJSON(): { error: Record<string, unknown> } {
    return { error: this.body };
  }
}

export function invalidParam(param: string, message: string, code = "parameter_invalid"): StripeApiError {
  return new StripeApiError(400, { type: "invalid_request_error", code, param, message });
}

export function invalidRequest(message: string, code?: string, param?: string): StripeApiError {
  return new StripeApiError(400, {
    type: "invalid_request_error",
    message,
    ...(code ? { code } : {}),
    ...(param ? { param } : {}),
  });
}

const NOUNS: Record<string, string> = {
  cus: "customer",
  pm: "PaymentMethod",
  seti: "setupintent",
  pi: "payment_intent",
  ch: "charge",
  re: "refund",
  cs: "checkout.session",
  evt: "event",
  we: "webhook endpoint",
  txn: "balance transaction",
};

export function resourceMissing(id: string, param = "id"): StripeApiError {
  const noun = NOUNS[id.split("_")[0] ?? ""] ?? "object";
  return new StripeApiError(404, {
    type: "invalid_request_error",
    code: "resource_missing",
    param,
    message: `No such ${noun}: '${id}'`,
  });
}

export function unexpectedState(kind: string, id: string, action: string, status: string, allowed: string[]): StripeApiError {
  return new StripeApiError(400, {
    type: "invalid_request_error",
    code: `${kind}_unexpected_state`,
    message:
      `This ${kind === "payment_intent" ? "PaymentIntent" : "SetupIntent"} (${id}) could not be ${action} because it has a status of ${status}. ` +
      `Only a ${kind === "payment_intent" ? "PaymentIntent" : "SetupIntent"} with one of the following statuses may be ${action}: ${allowed.join(", ")}.`,
  });
}
