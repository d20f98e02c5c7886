/**
 * Fuzz: 1,000 malformed requests against the auth, profile, persona and contact endpoints (bad
 * JSON, wrong types, huge strings, missing fields, unknown and non-uuid ids, wrong methods,
 * oversize bodies, odd headers), and 1,000 against every payment-method endpoint (the same, plus
 * Stripe-shaped ids the Stripe emulator rejects, test tokens that decline, another user's card
 * and SetupIntent). None may produce a 5xx, and every non-2xx carries the envelope. The
 * generators are seeded, so a failure names a reproducible case.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseEnv } from "../../worker/env";
import { stripeClient } from "../../worker/services/stripe";
import { api, newAccount, personaInput, type ApiResult } from "./helpers";

/** mulberry32: small deterministic PRNG. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  raw?: string;
}

const BAD_JSON = ["{", "}", "{\"email\":", "[1,2", "nul", "{'a':1}", "{\"a\":1,}", "\u0000", "{\"a\": NaN}", "\ufeff{}", "{\"a\":\"\\x00\"}", "{\"a\":\"\\ud800\"}", ""];
const WEIRD_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "bell\u0007",
  "line\nbreak",
  "\u202e\u200b",
  "🔥".repeat(50),
  "a".repeat(5000),
  [],
  [1, "2", null],
  {},
  { $ne: null },
  "' OR 1=1 --",
  "<script>alert(1)</script>",
  "../../etc/passwd",
  "+1555",
  "Mars/Base",
  "00000000-0000-0000-0000-000000000000",
];
const BAD_IDS = [
  "not-a-uuid",
  "123",
  "%27%20OR%201%3D1",
  "..%2F..%2Fadmin",
  "00000000-0000-4000-8000-000000000000",
  "ffffffff-ffff-ffff-ffff-ffffffffffff",
  "x".repeat(300),
  "%00",
  "%F0%9F%94%A5",
  "null",
];
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"];
const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "application/merge-patch+json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/jsonx",
  "",
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function generate(count: number, seed: number, ids: { token: string; logoutToken: string; personaId: string; systemId: string }): Case[] {
  const r = rng(seed);
  const endpoints = [
    () => ({ method: "POST", path: "/api/auth/register" }),
    () => ({ method: "POST", path: "/api/auth/login" }),
    () => ({ method: "POST", path: "/api/auth/logout" }),
    () => ({ method: "GET", path: "/api/auth/me" }),
    () => ({ method: "PUT", path: "/api/user/profile" }),
    () => ({ method: "GET", path: `/api/personas?scope=${encodeURIComponent(String(pick(r, ["all", "mine", "nope", "", "SYSTEM", "public&scope=all"])))}` }),
    () => ({ method: "POST", path: "/api/personas" }),
    () => ({ method: pick(r, ["GET", "PUT", "DELETE"]), path: `/api/personas/${pick(r, [...BAD_IDS, ids.personaId, ids.systemId])}` }),
    () => ({ method: pick(r, ["GET", "PUT"]), path: `/api/personas/${pick(r, [...BAD_IDS, ids.systemId])}/relationship` }),
    () => ({ method: "POST", path: "/api/contacts" }),
    () => ({ method: "DELETE", path: `/api/contacts/${pick(r, BAD_IDS)}` }),
  ];
  const fields = ["email", "password", "name", "phone", "timezone", "systemPrompt", "voiceId", "traits", "visibility", "accentColor", "personaId", "isFavorite", "customVoiceId", "greeting"];
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const base = pick(r, endpoints)();
    const headers: Record<string, string> = {};
    let method = base.method;
    let raw: string | undefined;
    const kind = Math.floor(r() * 8);
    switch (kind) {
      case 0: // malformed JSON
        raw = pick(r, BAD_JSON);
        headers["Content-Type"] = "application/json";
        break;
      case 1: {
        // wrong types / weird values in known fields
        const body: Record<string, unknown> = base.path.startsWith("/api/personas") ? personaInput() : { email: "fuzz@example.com", password: "fuzz-pass-123", name: "Fuzz" };
        const n = 1 + Math.floor(r() * 3);
        for (let k = 0; k < n; k++) body[pick(r, fields)] = pick(r, WEIRD_VALUES);
        raw = JSON.stringify(body);
        headers["Content-Type"] = "application/json";
        break;
      }
      case 2: // missing fields / non-object bodies
        raw = JSON.stringify(pick(r, [{}, [], null, "string", 42, { email: "a@b.co" }, { password: "x" }, { name: "only" }, { personaId: null }]));
        headers["Content-Type"] = "application/json";
        break;
      case 3: // huge strings: sometimes under, sometimes over the 64 KiB limit
        raw = JSON.stringify({ ...personaInput(), email: "huge@example.com", password: "p".repeat(200), name: "n".repeat(Math.floor(r() * 100_000)) });
        headers["Content-Type"] = "application/json";
        break;
      case 4: // wrong method
        method = pick(r, METHODS);
        if (method !== "GET" && method !== "HEAD" && r() < 0.5) {
          raw = "{}";
          headers["Content-Type"] = "application/json";
        }
        break;
      case 5: // odd content types
        raw = JSON.stringify({ email: "ct@example.com", password: "ct-pass-1234", name: "CT" });
        {
          const ct = pick(r, CONTENT_TYPES);
          if (ct) headers["Content-Type"] = ct;
        }
        break;
      case 6: // odd auth headers
        headers.Authorization = pick(r, [
          "Bearer",
          "Bearer ",
          "Bearer x.y.z",
          `Bearer ${"a".repeat(10_000)}`,
          "bearer " + ids.token.slice(0, -3) + "abc",
          "Basic dXNlcjpwYXNz",
          `Bearer ${ids.token}, Bearer ${ids.token}`,
          "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
          "Token abc",
          `Bearer ${ids.token}`,
        ]);
        if (method !== "GET") {
          raw = JSON.stringify(personaInput());
          headers["Content-Type"] = "application/json";
        }
        break;
      default: // odd headers around a plausible body
        headers["X-Request-Id"] = pick(r, ["", "x".repeat(500), "a b c", "../../", "\t", "ok-id"]);
        headers["Content-Type"] = "application/json";
        headers.Accept = pick(r, ["text/html", "*/*", "application/xml", ""]);
        if (r() < 0.5) headers.Authorization = `Bearer ${ids.token}`;
        raw = JSON.stringify({ personaId: pick(r, BAD_IDS), name: pick(r, WEIRD_VALUES), phone: pick(r, WEIRD_VALUES) });
        break;
    }
    // Most cases carry a valid token so body and id validation behind `requireAuth` is reached;
    // logout cases use a separate session so the fuzzing token stays live.
    const token = base.path === "/api/auth/logout" ? ids.logoutToken : ids.token;
    if (headers.Authorization === undefined && r() < 0.75) headers.Authorization = `Bearer ${token}`;
    else if (headers.Authorization?.includes(ids.token) && base.path === "/api/auth/logout") {
      headers.Authorization = headers.Authorization.replaceAll(ids.token, ids.logoutToken);
    }
    if (method === "GET" || method === "HEAD") raw = undefined;
    cases.push({ method, path: base.path, headers, raw });
  }
  return cases;
}

/** Ids shaped like Stripe's that the Stripe emulator rejects or that name nothing of this user's. */
const STRIPE_IDS = [
  "pm_",
  "pm_doesnotexist",
  "pm_1NotARealOne",
  `pm_${"a".repeat(300)}`,
  `pm_${"b".repeat(5000)}`,
  "pm_a-b",
  "PM_UPPER",
  "pm_card_visa",
  "pm_card_chargeDeclined",
  "pm_card_authenticationRequired",
  "tok_visa",
  "tok_chargeDeclined",
  "tok_nope",
  "tok_",
  "seti_nope",
  "seti_",
  `seti_${"c".repeat(400)}`,
  "cus_123",
  "pi_123",
];

interface PaymentIds {
  token: string;
  /** The fuzzing user's own saved card. */
  ownPm: string;
  /** Another user's saved card and confirmed / unconfirmed SetupIntents. */
  otherPm: string;
  otherSeti: string;
  otherPendingSeti: string;
}

function generatePaymentCases(count: number, seed: number, ids: PaymentIds): Case[] {
  const r = rng(seed);
  const anyId = (): string => pick(r, [...STRIPE_IDS, ...BAD_IDS, ids.ownPm, ids.otherPm, ids.otherSeti, ids.otherPendingSeti]);
  const pathId = (): string => {
    const id = anyId();
    return r() < 0.3 ? encodeURIComponent(id) : id.replace(/[/?#]/g, "");
  };
  const endpoints = [
    () => ({ method: "GET", path: "/api/user/payment-method" }),
    () => ({ method: "POST", path: "/api/user/payment-method/setup-intent" }),
    () => ({ method: "POST", path: "/api/user/payment-method" }),
    () => ({ method: "POST", path: "/api/user/payment-method" }),
    () => ({ method: "PUT", path: `/api/user/payment-method/${pathId()}/default` }),
    () => ({ method: "DELETE", path: `/api/user/payment-method/${pathId()}` }),
  ];
  const fields = ["paymentMethodId", "setupIntentId", "makeDefault"];
  const plausible = (): Record<string, unknown> => {
    const body: Record<string, unknown> = {};
    if (r() < 0.7) body.paymentMethodId = anyId();
    if (r() < 0.4) body.setupIntentId = anyId();
    if (r() < 0.5) body.makeDefault = r() < 0.5;
    return body;
  };
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const base = pick(r, endpoints)();
    const headers: Record<string, string> = {};
    let method = base.method;
    let raw: string | undefined;
    switch (Math.floor(r() * 9)) {
      case 0: // malformed JSON
        raw = pick(r, BAD_JSON);
        headers["Content-Type"] = "application/json";
        break;
      case 1: {
        // wrong types / weird values in known fields
        const body = plausible();
        const n = 1 + Math.floor(r() * 2);
        for (let k = 0; k < n; k++) body[pick(r, fields)] = pick(r, WEIRD_VALUES);
        raw = JSON.stringify(body);
        headers["Content-Type"] = "application/json";
        break;
      }
      case 2: // empty and non-object bodies
        raw = pick(r, ["", "{}", "[]", "null", '"pm_card_visa"', "42", "true", JSON.stringify([{ paymentMethodId: "pm_card_visa" }])]);
        if (r() < 0.8) headers["Content-Type"] = "application/json";
        break;
      case 3: // huge strings, under and over the 64 KiB limit
        raw = JSON.stringify({ paymentMethodId: `pm_${"x".repeat(Math.floor(r() * 90_000))}`, setupIntentId: r() < 0.5 ? `seti_${"y".repeat(Math.floor(r() * 30_000))}` : undefined });
        headers["Content-Type"] = "application/json";
        break;
      case 4: // wrong method
        method = pick(r, METHODS);
        if (method !== "GET" && method !== "HEAD" && r() < 0.5) {
          raw = JSON.stringify(plausible());
          headers["Content-Type"] = "application/json";
        }
        break;
      case 5: // odd content types
        raw = JSON.stringify(plausible());
        {
          const ct = pick(r, CONTENT_TYPES);
          if (ct) headers["Content-Type"] = ct;
        }
        break;
      case 6: // odd auth headers
        headers.Authorization = pick(r, ["Bearer", "Bearer x.y.z", `Bearer ${ids.token.slice(0, -3)}abc`, "Basic dXNlcjpwYXNz", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", `Bearer ${ids.token}`]);
        if (method !== "GET") {
          raw = JSON.stringify(plausible());
          headers["Content-Type"] = "application/json";
        }
        break;
      default: // plausible bodies with Stripe-shaped ids: unknown, rejected, declining, another user's
        raw = JSON.stringify(plausible());
        headers["Content-Type"] = "application/json";
        break;
    }
    if (headers.Authorization === undefined && r() < 0.85) headers.Authorization = `Bearer ${ids.token}`;
    if (method === "GET" || method === "HEAD") raw = undefined;
    cases.push({ method, path: base.path, headers, raw });
  }
  return cases;
}

/** Sends the cases 10 at a time; returns failures (5xx, or a non-2xx without the envelope) and the status mix. */
async function run(cases: Case[]): Promise<{ failures: string[]; statuses: Map<number, number> }> {
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  for (let i = 0; i < cases.length; i += 10) {
    const batch = cases.slice(i, i + 10);
    const results = await Promise.all(
      batch.map((c) =>
        api(c.method, c.path, { headers: c.headers, raw: c.raw }).then(
          (res): { c: Case; res: ApiResult | null; err?: unknown } => ({ c, res }),
          (err: unknown) => ({ c, res: null, err }),
        ),
      ),
    );
    for (const [j, out] of results.entries()) {
      const label = `#${i + j} ${out.c.method} ${out.c.path.slice(0, 80)} ${JSON.stringify(out.c.headers).slice(0, 120)} ${String(out.c.raw).slice(0, 80)}`;
      if (!out.res) {
        failures.push(`${label} → threw ${String(out.err)}`);
        continue;
      }
      const { status, body } = out.res;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status >= 500) failures.push(`${label} → ${status} ${JSON.stringify(body).slice(0, 200)}`);
      else if (status >= 400 && out.c.method !== "HEAD") {
        const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
        if (typeof e?.code !== "string" || typeof e.message !== "string") failures.push(`${label} → ${status} without envelope: ${JSON.stringify(body).slice(0, 200)}`);
      }
    }
  }
  return { failures, statuses };
}

describe("fuzz", () => {
  it("1,000 malformed requests: zero 5xx, always the error envelope", async () => {
    const acct = await newAccount("Fuzzer");
    const created = await api<{ persona: { id: string } }>("POST", "/api/personas", { token: acct.token, body: personaInput() });
    const list = await api<{ personas: { id: string; isSystem: boolean }[] }>("GET", "/api/personas?scope=system");
    const other = await newAccount("Logout Fuzzer");
    const ids = { token: acct.token, logoutToken: other.token, personaId: created.body.persona.id, systemId: list.body.personas[0]!.id };

    const { failures, statuses } = await run(generate(1000, 0xc0ffee, ids));
    expect(failures, failures.slice(0, 20).join("\n")).toEqual([]);
    // The mix really exercised the error paths.
    for (const s of [200, 400, 401, 404, 413, 415]) expect(statuses.get(s) ?? 0, `status ${s}`).toBeGreaterThan(0);
  }, 180_000);

  it("1,000 malformed or wrong-owner requests to the payment-method endpoints: zero 5xx, always the envelope", async () => {
    const acct = await newAccount("Card Fuzzer");
    const other = await newAccount("Card Owner");
    const addCard = async (token: string, body: Record<string, unknown>) => {
      const res = await api<{ paymentMethods: { id: string }[] }>("POST", "/api/user/payment-method", { token, body });
      expect(res.status).toBe(201);
      return res.body.paymentMethods[0]!.id;
    };
    const ownPm = await addCard(acct.token, { paymentMethodId: "pm_card_visa" });
    const otherPm = await addCard(other.token, { paymentMethodId: "pm_card_mastercard" });
    // Another user's SetupIntents: one confirmed with a card (not saved yet), one never confirmed.
    const seti = async () => (await api<{ setupIntentId: string }>("POST", "/api/user/payment-method/setup-intent", { token: other.token })).body.setupIntentId;
    const otherSeti = await seti();
    await stripeClient(parseEnv(env)).setupIntents.confirm(otherSeti, { payment_method: "pm_card_amex" });
    const otherPendingSeti = await seti();
    const before = await api<{ paymentMethods: unknown[] }>("GET", "/api/user/payment-method", { token: other.token });

    const { failures, statuses } = await run(generatePaymentCases(1000, 0xca4d5, { token: acct.token, ownPm, otherPm, otherSeti, otherPendingSeti }));
    expect(failures, failures.slice(0, 20).join("\n")).toEqual([]);
    for (const s of [200, 201, 400, 401, 404, 413, 415]) expect(statuses.get(s) ?? 0, `status ${s}`).toBeGreaterThan(0);
    // The other user's cards are exactly as they were.
    expect((await api("GET", "/api/user/payment-method", { token: other.token })).body).toEqual(before.body);
  }, 240_000);
});
