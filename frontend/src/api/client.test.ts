/** The API client: bearer token, error-envelope parsing into ApiError, 401 handling, network failures. */
import { describe, expect, it, vi } from "vitest";
import { jsonResponse, mockFetch } from "../test-utils";
import { ApiError, createApiClient } from "./client";

describe("api client", () => {
  it("attaches the bearer token and sends JSON", async () => {
    const { fetch, calls } = mockFetch(() => jsonResponse({ ok: true }));
    const api = createApiClient({ fetch, getToken: () => "tok-123" });
    await api.post("/api/contacts", { personaId: "p1" });
    expect(calls[0]?.headers.authorization).toBe("Bearer tok-123");
    expect(calls[0]?.headers["content-type"]).toBe("application/json");
    expect(calls[0]?.body).toEqual({ personaId: "p1" });
  });

  it("omits the token for auth: false requests and encodes query params", async () => {
    const { fetch, calls } = mockFetch(() => jsonResponse({ personas: [] }));
    const api = createApiClient({ fetch, getToken: () => "tok-123" });
    await api.get("/api/personas", { auth: false, query: { scope: "system", skip: undefined } });
    expect(calls[0]?.headers.authorization).toBeUndefined();
    expect(calls[0]?.url).toBe("/api/personas?scope=system");
  });

  it("parses the error envelope into a typed ApiError with field errors", async () => {
    const { fetch } = mockFetch(() =>
      jsonResponse(
        { error: { code: "validation_failed", message: "Invalid body", details: { issues: [{ path: "phone", message: "Phone must be in E.164 format" }] } } },
        400,
      ),
    );
    const api = createApiClient({ fetch });
    const err = await api.put("/api/user/profile", { phone: "555" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    const apiErr = err as ApiError;
    expect(apiErr.status).toBe(400);
    expect(apiErr.code).toBe("validation_failed");
    expect(apiErr.message).toBe("Invalid body");
    expect(apiErr.fieldErrors()).toEqual({ phone: "Phone must be in E.164 format" });
  });

  it("reads Retry-After on rate limiting", async () => {
    const { fetch } = mockFetch(() => jsonResponse({ error: { code: "rate_limited", message: "Too many attempts" } }, 429, { "Retry-After": "120" }));
    const api = createApiClient({ fetch });
    const err = (await api.post("/api/auth/login", {}, { auth: false }).catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe("rate_limited");
    expect(err.retryAfterS).toBe(120);
  });

  it("falls back to a status-derived code when the body is not an envelope", async () => {
    const { fetch } = mockFetch(() => new Response("<html>Bad gateway</html>", { status: 502 }));
    const api = createApiClient({ fetch });
    const err = (await api.get("/api/auth/me").catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe("internal");
    expect(err.status).toBe(502);
    expect(err.message).toMatch(/server had a problem/i);
  });

  it("turns a network failure into a network_error ApiError", async () => {
    const fetch = vi.fn(() => Promise.reject(new TypeError("Failed to fetch"))) as unknown as typeof globalThis.fetch;
    const api = createApiClient({ fetch });
    const err = (await api.get("/api/personas").catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe("network_error");
    expect(err.status).toBe(0);
  });

  it("calls onUnauthorized on a 401 for a request that carried a token", async () => {
    const onUnauthorized = vi.fn();
    const { fetch } = mockFetch(() => jsonResponse({ error: { code: "unauthorized", message: "Session expired" } }, 401));
    const api = createApiClient({ fetch, getToken: () => "stale", onUnauthorized });
    await expect(api.get("/api/auth/me")).rejects.toMatchObject({ code: "unauthorized", status: 401 });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it("does not treat a failed login (401 without a token) as an expired session", async () => {
    const onUnauthorized = vi.fn();
    const { fetch } = mockFetch(() => jsonResponse({ error: { code: "unauthorized", message: "Invalid email or password" } }, 401));
    const api = createApiClient({ fetch, getToken: () => null, onUnauthorized });
    await expect(api.post("/api/auth/login", { email: "a@b.co", password: "x" }, { auth: false })).rejects.toMatchObject({ code: "unauthorized" });
    expect(onUnauthorized).not.toHaveBeenCalled();
  });
});
