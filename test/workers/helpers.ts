/** Helpers for the API integration tests: requests through the Worker's own fetch, unique accounts. */
import { exports } from "cloudflare:workers";
import { expect } from "vitest";

export const BASE = "http://api.test";

export interface ApiResult<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

type Json = Record<string, unknown>;

/** Send a request to the Worker; `body` objects are JSON-encoded unless `raw` is given. */
export async function api<T = Json>(
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; raw?: BodyInit; headers?: Record<string, string> } = {},
): Promise<ApiResult<T>> {
  const headers = new Headers(opts.headers);
  if (opts.token) headers.set("Authorization", `Bearer ${opts.token}`);
  let body: BodyInit | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  }
  const res = await exports.default.fetch(new Request(`${BASE}${path}`, { method, headers, body }));
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // keep text
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

let counter = 0;
/** A fresh, unique email for one test. */
export function uniqueEmail(tag = "user"): string {
  counter += 1;
  return `${tag}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

export const GOOD_PASSWORD = `p@ss w0rd!#$%^&*()"'\\`;

export interface Account {
  token: string;
  email: string;
  password: string;
  user: { id: string; email: string; name: string } & Json;
}

/** Register a new account and return its token. */
export async function newAccount(name = "Test User", password = GOOD_PASSWORD): Promise<Account> {
  const email = uniqueEmail();
  const res = await api<{ token: string; user: Account["user"] }>("POST", "/api/auth/register", {
    body: { email, password, name },
  });
  expect(res.status).toBe(201);
  return { token: res.body.token, email, password, user: res.body.user };
}

/** Assert the error envelope shape and return it. */
export function expectEnvelope(res: ApiResult, status?: number, code?: string): { code: string; message: string; details?: unknown } {
  if (status !== undefined) expect(res.status).toBe(status);
  const body = res.body as { error?: { code?: unknown; message?: unknown } } | null;
  expect(body && typeof body === "object").toBe(true);
  expect(typeof body?.error?.code).toBe("string");
  expect(typeof body?.error?.message).toBe("string");
  if (code !== undefined) expect(body?.error?.code).toBe(code);
  return body!.error as { code: string; message: string; details?: unknown };
}

export const personaInput = (over: Json = {}) => ({
  name: "Coach Kim",
  tagline: "Keeps you honest",
  systemPrompt: "You are Kim, a kind but firm running coach. Keep replies short.",
  traits: ["kind", "firm"],
  voiceId: "EXAVITQu4vr4xnSDxMaL",
  ...over,
});
