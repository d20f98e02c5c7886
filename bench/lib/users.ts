/**
 * Benchmark accounts on a running stack: `provisionUsers` registers N users through the API
 * (`POST /api/auth/register`, each with its own sandbox phone number, since a user may have only
 * one live call), marks their phones verified and grants them credits directly in Postgres (the
 * SMS code round-trip is the call-loop tests' business, not the benchmark's), and returns bearer
 * tokens. Also: the system persona by slug and `placeCall` (`POST /api/calls`).
 */
import { randomBytes } from "node:crypto";
import { neon, neonConfig } from "@neondatabase/serverless";
import { inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/neon-http";
import { creditLedger, users } from "../../worker/db/schema";

export interface BenchUser {
  userId: string;
  email: string;
  phone: string;
  token: string;
}

export interface ApiTarget {
  baseUrl: string;
  databaseUrl: string;
  neonFetchEndpoint: string;
}

/** Credits granted to every bench user (micro-dollars). */
const GRANT_MICROS = 1_000_000_000;

async function api<T>(baseUrl: string, method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** `+1555<7 digits>`: sandbox numbers, distinct per run and index. */
export function benchPhone(runTag: number, index: number): string {
  return `+1555${String(runTag % 100).padStart(2, "0")}${String(index).padStart(5, "0")}`;
}

async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(...(await Promise.all(items.slice(i, i + size).map((item, j) => fn(item, i + j)))));
  }
  return out;
}

export async function provisionUsers(target: ApiTarget, n: number, prefix: string): Promise<BenchUser[]> {
  if (n <= 0) return [];
  const runTag = Math.floor(Math.random() * 100);
  const password = `bench-${randomBytes(9).toString("base64url")}`;
  const indices = Array.from({ length: n }, (_, i) => i);
  const created = await inBatches(indices, 8, async (i) => {
    const email = `${prefix}-${i}@bench.callmeback.test`;
    const phone = benchPhone(runTag, i);
    const r = await api<{ token: string; user: { id: string } }>(target.baseUrl, "POST", "/api/auth/register", {
      email,
      password,
      name: `Bench ${i}`,
      phone,
    });
    return { userId: r.user.id, email, phone, token: r.token };
  });
  if (target.neonFetchEndpoint) neonConfig.fetchEndpoint = () => target.neonFetchEndpoint;
  const db = drizzle({ client: neon(target.databaseUrl) });
  const ids = created.map((u) => u.userId);
  await db.update(users).set({ phoneVerifiedAt: new Date() }).where(inArray(users.id, ids));
  await db
    .insert(creditLedger)
    .values(
      created.map((u) => ({
        userId: u.userId,
        kind: "grant" as const,
        amountMicros: GRANT_MICROS,
        description: "Benchmark credits",
        idempotencyKey: `bench-grant:${u.userId}`,
      })),
    )
    .onConflictDoNothing({ target: creditLedger.idempotencyKey });
  return created;
}

export async function personaIdBySlug(baseUrl: string, slug: string): Promise<string> {
  const r = await api<{ personas: { id: string; slug: string | null }[] }>(baseUrl, "GET", "/api/personas?scope=system");
  const p = r.personas.find((x) => x.slug === slug);
  if (!p) throw new Error(`no system persona "${slug}"`);
  return p.id;
}

export interface PlacedCall {
  id: string;
  status: string;
}

export async function placeCall(baseUrl: string, user: BenchUser, personaId: string, durationMinutes = 5): Promise<PlacedCall> {
  const r = await api<{ call: PlacedCall }>(baseUrl, "POST", "/api/calls", { personaId, durationMinutes, transport: "phone" }, user.token);
  return r.call;
}
