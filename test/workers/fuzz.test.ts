/**
 * Fuzz: 1,000 malformed requests against the auth, profile, persona and contact endpoints (bad
 * JSON, wrong types, huge strings, missing fields, unknown and non-uuid ids, wrong methods,
 * oversize bodies, odd headers). None may produce a 5xx, and every non-2xx carries the envelope.
 * The generator is seeded, so a failure names a reproducible case.
 */
import { describe, expect, it } from "vitest";
import { api, newAccount, personaInput } from "./helpers";

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

describe("fuzz", () => {
  it("1,000 malformed requests: zero 5xx, always the error envelope", async () => {
    const acct = await newAccount("Fuzzer");
    const created = await api<{ persona: { id: string } }>("POST", "/api/personas", { token: acct.token, body: personaInput() });
    const list = await api<{ personas: { id: string; isSystem: boolean }[] }>("GET", "/api/personas?scope=system");
    const other = await newAccount("Logout Fuzzer");
    const ids = { token: acct.token, logoutToken: other.token, personaId: created.body.persona.id, systemId: list.body.personas[0]!.id };

    const cases = generate(1000, 0xc0ffee, ids);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (let i = 0; i < cases.length; i += 10) {
      const batch = cases.slice(i, i + 10);
      const results = await Promise.all(
        batch.map((c) =>
          api(c.method, c.path, { headers: c.headers, raw: c.raw }).then(
            (res) => ({ c, res }),
            (err: unknown) => ({ c, res: null, err }),
          ),
        ),
      );
      for (const [j, out] of results.entries()) {
        const label = `#${i + j} ${out.c.method} ${out.c.path.slice(0, 80)} ${JSON.stringify(out.c.headers).slice(0, 120)} ${String(out.c.raw).slice(0, 80)}`;
        if (!out.res) {
          failures.push(`${label} → threw ${String("err" in out ? out.err : "")}`);
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
    expect(failures, failures.slice(0, 20).join("\n")).toEqual([]);
    // The mix really exercised the error paths.
    for (const s of [200, 400, 401, 404, 413, 415]) expect(statuses.get(s) ?? 0, `status ${s}`).toBeGreaterThan(0);
  }, 180_000);
});
