/** fromStripeError: Stripe errors a client's input caused become 4xx AppErrors; Stripe's own trouble a ProviderError. */
import { describe, expect, it } from "vitest";
import { ProviderError } from "../../durable-objects/providers/types";
import { AppError } from "../errors";
import { fromStripeError } from "./stripe";

const stripeErr = (type: string, statusCode: number, code?: string) => Object.assign(new Error(`stripe says ${code ?? type}`), { type, statusCode, code });

describe("fromStripeError", () => {
  it("maps unknown ids and other customers' objects to 404, other invalid requests to 400, declines to 402", () => {
    const as = (err: unknown) => {
      const out = fromStripeError(err, "Payment method");
      expect(out).toBeInstanceOf(AppError);
      return { status: (out as AppError).status, code: (out as AppError).code, message: (out as AppError).message };
    };
    expect(as(stripeErr("StripeInvalidRequestError", 404, "resource_missing"))).toEqual({ status: 404, code: "not_found", message: "Payment method not found" });
    expect(as(stripeErr("StripeInvalidRequestError", 400, "payment_method_unexpected_state")).status).toBe(404);
    expect(as(stripeErr("StripeInvalidRequestError", 400, "resource_missing")).status).toBe(404);
    expect(as(stripeErr("StripeInvalidRequestError", 400, "parameter_invalid"))).toMatchObject({ status: 400, code: "bad_request" });
    expect(as(stripeErr("StripeCardError", 402, "card_declined"))).toMatchObject({ status: 402 });
    expect(as(stripeErr("StripeIdempotencyError", 409))).toMatchObject({ status: 409, code: "conflict" });
  });

  it("keeps Stripe's own failures as ProviderError and leaves other errors alone", () => {
    for (const e of [stripeErr("StripeAuthenticationError", 401), stripeErr("StripeRateLimitError", 429), stripeErr("StripeAPIError", 500), stripeErr("StripeConnectionError", 0)]) {
      expect(fromStripeError(e, "Payment method")).toBeInstanceOf(ProviderError);
    }
    const plain = new TypeError("x");
    expect(fromStripeError(plain, "Payment method")).toBe(plain);
  });
});
