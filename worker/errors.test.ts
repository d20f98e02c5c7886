/** Error mapping: AppError codes, HTTPException statuses and unknown errors all become the envelope. */
import { HTTPException } from "hono/http-exception";
import { describe, expect, it } from "vitest";
import { ProviderError } from "../durable-objects/providers/types";
import { AppError, toErrorResponse } from "./errors";

describe("toErrorResponse", () => {
  it("keeps an AppError's code, message, details and headers", () => {
    const out = toErrorResponse(new AppError("rate_limited", "slow down", { details: { retryAfterS: 9 }, headers: { "Retry-After": "9" } }));
    expect(out).toMatchObject({ status: 429, headers: { "Retry-After": "9" }, unexpected: false });
    expect(out.body).toEqual({ error: { code: "rate_limited", message: "slow down", details: { retryAfterS: 9 } } });
  });

  it("maps HTTPException statuses to contract codes", () => {
    expect(toErrorResponse(new HTTPException(400, { message: "Malformed JSON in request body" })).body.error.code).toBe("bad_request");
    expect(toErrorResponse(new HTTPException(413)).body.error.code).toBe("payload_too_large");
    expect(toErrorResponse(new HTTPException(401)).body.error).toEqual({ code: "unauthorized", message: "Authentication required" });
  });

  it("maps Postgres data and constraint errors (also wrapped) to 4xx", () => {
    const wrapped = Object.assign(new Error("Failed query: insert ..."), { cause: Object.assign(new Error("invalid byte sequence"), { code: "22021" }) });
    expect(toErrorResponse(wrapped)).toMatchObject({ status: 400, unexpected: false, body: { error: { code: "bad_request" } } });
    expect(toErrorResponse(Object.assign(new Error("dup"), { code: "23505" })).status).toBe(409);
    expect(toErrorResponse(Object.assign(new Error("other"), { code: "42P01" })).status).toBe(500);
  });

  it("answers a vendor's own failure (ProviderError) with a generic 502", () => {
    const out = toErrorResponse(new ProviderError("stripe", "api_key sk_live_x rejected", { status: 401 }));
    expect(out).toMatchObject({ status: 502, unexpected: true, body: { error: { code: "internal" } } });
    expect(JSON.stringify(out.body)).not.toContain("sk_live");
  });

  it("hides unknown errors behind a generic 500", () => {
    const out = toErrorResponse(new TypeError("secret internal detail at db.ts:42"));
    expect(out.status).toBe(500);
    expect(out.unexpected).toBe(true);
    expect(out.body).toEqual({ error: { code: "internal", message: "Internal error" } });
  });
});
