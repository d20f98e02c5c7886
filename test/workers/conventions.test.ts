/** API conventions: error envelope for unknown routes, malformed JSON, wrong content type and oversize bodies; X-Request-Id; OpenAPI document. */
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { registeredRoutes } from "../../worker/openapi";
import { api, expectEnvelope, newAccount } from "./helpers";

describe("error envelope and request plumbing", () => {
  it("unknown /api routes are 404 with the envelope", async () => {
    expectEnvelope(await api("GET", "/api/nope"), 404, "not_found");
    expectEnvelope(await api("PATCH", "/api/personas"), 404, "not_found");
  });

  it("malformed JSON is 400 bad_request", async () => {
    const r = await api("POST", "/api/auth/login", { raw: '{"email": "a@b.co", "password": ', headers: { "Content-Type": "application/json" } });
    expectEnvelope(r, 400, "bad_request");
  });

  it("a non-JSON content type is 415 with the envelope", async () => {
    const r = await api("POST", "/api/auth/login", { raw: "email=a@b.co&password=x", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expectEnvelope(r, 415, "bad_request");
  });

  it("a body over 64 KiB is 413 payload_too_large", async () => {
    const acct = await newAccount();
    const big = JSON.stringify({ name: "x", systemPrompt: "y".repeat(70 * 1024), voiceId: "abc" });
    const r = await api("POST", "/api/personas", { token: acct.token, raw: big, headers: { "Content-Type": "application/json" } });
    expectEnvelope(r, 413, "payload_too_large");
  });

  it("non-uuid ids are 404, not 500", async () => {
    expectEnvelope(await api("GET", "/api/personas/not-a-uuid"), 404, "not_found");
    expectEnvelope(await api("GET", "/api/personas/00000000-0000-4000-8000-000000000000"), 404, "not_found");
  });

  it("echoes a safe X-Request-Id and generates one otherwise", async () => {
    const mine = await api("GET", "/api/voices", { headers: { "X-Request-Id": "req-abc.123" } });
    expect(mine.headers.get("X-Request-Id")).toBe("req-abc.123");
    const unsafe = await api("GET", "/api/voices", { headers: { "X-Request-Id": "<script>alert(1)</script>" } });
    expect(unsafe.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
    const error = await api("GET", "/api/nope");
    expect(error.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("/health answers ok", async () => {
    const r = await api("GET", "/health");
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ok: true });
  });
});

describe("OpenAPI", () => {
  it("every /api route the app serves is in the route registry, and vice versa", () => {
    const served = new Set(
      app.routes
        .filter((r) => r.method !== "ALL" && r.path.startsWith("/api/") && r.path !== "/api/openapi.json")
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/\/$/, "")}`),
    );
    const documented = new Set(registeredRoutes().filter((r) => r.path.startsWith("/api/")).map((r) => `${r.method} ${r.path}`));
    expect([...served].sort()).toEqual([...documented].sort());
  });

  it("documents every route with request and response schemas from the contract", async () => {
    const r = await api<{
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; required?: string[] } }> }; responses: Record<string, unknown>; security?: unknown }>>;
      components: { schemas: Record<string, unknown> };
    }>("GET", "/api/openapi.json");
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe("3.1.0");
    const expected: [string, string][] = [
      ["/api/auth/register", "post"],
      ["/api/auth/login", "post"],
      ["/api/auth/logout", "post"],
      ["/api/auth/me", "get"],
      ["/api/user/profile", "put"],
      ["/api/personas", "get"],
      ["/api/personas", "post"],
      ["/api/personas/{id}", "get"],
      ["/api/personas/{id}", "put"],
      ["/api/personas/{id}", "delete"],
      ["/api/personas/{id}/relationship", "get"],
      ["/api/personas/{id}/relationship", "put"],
      ["/api/contacts", "get"],
      ["/api/contacts", "post"],
      ["/api/contacts/{personaId}", "delete"],
      ["/api/voices", "get"],
    ];
    for (const [path, method] of expected) expect(r.body.paths[path]?.[method], `${method} ${path}`).toBeDefined();

    const register = r.body.paths["/api/auth/register"]!.post!;
    const schema = register.requestBody!.content["application/json"]!.schema;
    expect(Object.keys(schema.properties ?? {}).sort()).toEqual(["email", "name", "password", "phone"]);
    expect(schema.required?.sort()).toEqual(["email", "name", "password"]);
    expect(Object.keys(register.responses)).toEqual(expect.arrayContaining(["201", "400", "409"]));
    expect(r.body.paths["/api/auth/me"]!.get!.security).toEqual([{ bearerAuth: [] }]);
    expect(r.body.components.schemas.ErrorEnvelope).toBeDefined();
  });
});
