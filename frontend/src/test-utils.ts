/** Test helpers for the frontend unit tests: JSON responses, a recording fetch mock, fixtures. */
import type { Persona, User } from "./api/types";

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

export interface RecordedCall {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A fetch that answers from `handler` and records every call. */
export function mockFetch(handler: (call: RecordedCall) => Response | Promise<Response>): { fetch: typeof fetch; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const fn = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, key) => {
      headers[key.toLowerCase()] = value;
    });
    const call: RecordedCall = {
      method: init.method ?? "GET",
      url: String(input),
      headers,
      body: typeof init.body === "string" ? (JSON.parse(init.body) as unknown) : undefined,
    };
    calls.push(call);
    return handler(call);
  };
  return { fetch: fn as typeof fetch, calls };
}

export function makeUser(overrides: Partial<User> = {}): User {
  return {
    id: "11111111-1111-4111-8111-111111111111",
    email: "ada@example.com",
    name: "Ada Lovelace",
    phone: null,
    phoneVerified: false,
    timezone: "Europe/London",
    role: "user",
    credits: { balanceMicros: 0 },
    freeTrialAvailable: true,
    createdAt: "2026-11-22T00:00:00.000Z",
    ...overrides,
  };
}

export function makePersona(overrides: Partial<Persona> = {}): Persona {
  return {
    id: "22222222-2222-4222-8222-222222222222",
    slug: "brad",
    name: "Brad",
    tagline: "Your no-excuses coach",
    description: "",
    category: "coach",
    systemPrompt: "You are Brad.",
    traits: ["direct", "loyal", "motivating"],
    voiceId: "pNInz6obpgDQGcFmaJgB",
    greeting: null,
    accentColor: "#f97316",
    isSystem: true,
    visibility: "public",
    isOwner: false,
    isContact: false,
    isFavorite: false,
    stats: { totalCalls: 0, totalDurationS: 0, lastCallAt: null },
    createdAt: "2026-11-22T00:00:00.000Z",
    updatedAt: "2026-11-22T00:00:00.000Z",
    ...overrides,
  };
}
