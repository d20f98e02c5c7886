/**
 * Operating the product as `npm start` runs it (wrangler dev + emulators), with every line the
 * Worker and the emulators print captured:
 * - accounts: register (with a phone number and a special-character password), a failed and a
 *   successful login, the profile;
 * - the official MCP SDK client over real HTTP (StreamableHTTPClientTransport) against /mcp:
 *   initialize, tools/list, every tool on real rows, and a refused request without the token;
 * - "Sign in with WorkOS" in headless Chromium against the WorkOS emulator, and a sign-in whose
 *   `state` is forged on the way back (real code, wrong state) being refused;
 * - the admin pages (calls with latency, a call's timeline with the per-turn latency chart);
 * - finally, the captured log: no secret, password, token or full phone number in any line.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { neon, neonConfig } from "@neondatabase/serverless";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runScriptedCall } from "../../scripts/call-sim";
import { ROOT, startStack } from "../../scripts/stack";
import { SANDBOX_SECRETS } from "../../sandbox/index";
import { RESULTS_DIR, launchBrowser, newPage, screenshot } from "./helpers/browser";

type Stack = Awaited<ReturnType<typeof startStack>>;

const PASSWORD = "p@ss w0rd!#$%^&*()\"'\\ ops";
const PHONE = "+15555550142";
const ADMIN = { email: "admin@callmeback.ai", password: "admin-pass-123" };
const DEMO_PASSWORD = "demo-pass-123";

function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? "").join("\n");
}

describe("operating it: MCP, WorkOS sign-in, admin pages, clean logs", () => {
  let stack: Stack;
  let browser: Browser;
  const logLines: string[] = [];
  /** Every bearer token this run saw (must never appear in a log line). */
  const tokens: string[] = [];
  const email = `ops-${randomUUID().slice(0, 8)}@example.com`;
  let userId = "";
  let callId = "";

  async function api<T>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }> {
    const res = await fetch(`${stack.baseUrl}${path}`, {
      method,
      headers: { ...(body !== undefined ? { "Content-Type": "application/json" } : {}), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  async function adminToken(): Promise<string> {
    const login = await api<{ token: string }>("POST", "/api/auth/login", ADMIN);
    tokens.push(login.body.token);
    return login.body.token;
  }

  beforeAll(async () => {
    stack = await startStack({ port: 0, fresh: true, log: (line) => logLines.push(line) });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("registers, refuses a wrong password, signs in", async () => {
    const reg = await api<{ token: string; user: { id: string } }>("POST", "/api/auth/register", { email, password: PASSWORD, name: "Ops Person", phone: PHONE });
    expect(reg.status).toBe(201);
    tokens.push(reg.body.token);
    userId = reg.body.user.id;
    expect((await api("POST", "/api/auth/login", { email, password: `${PASSWORD}x` })).status).toBe(401);
    const login = await api<{ token: string }>("POST", "/api/auth/login", { email, password: PASSWORD });
    expect(login.status).toBe(200);
    tokens.push(login.body.token);
    const me = await api<{ user: { email: string } }>("GET", "/api/auth/me", undefined, login.body.token);
    expect(me.body.user.email).toBe(email);
  });

  it("stores a finished call with its timeline (rows as the call loop writes them)", async () => {
    const env = stack.sandbox.workerEnv;
    neonConfig.fetchEndpoint = () => env.NEON_FETCH_ENDPOINT as string;
    const sql = neon(env.DATABASE_URL as string);
    const [brad] = (await sql.query("SELECT id FROM personas WHERE slug = 'brad'")) as { id: string }[];
    const start = Date.now() - 5 * 60_000;
    const at = (s: number) => new Date(start + s * 1000).toISOString();
    const [call] = (await sql.query(
      `INSERT INTO calls (user_id, persona_id, transport, to_phone, status, end_reason, duration_limit_s, price_micros, charge_micros, cost_micros, duration_s, created_at, answered_at, ended_at)
       VALUES ($1, $2, 'phone', $3, 'completed', 'persona_hung_up', 300, 4990000, 4990000, 250000, 61, $4, $5, $6) RETURNING id`,
      [userId, brad!.id, PHONE, at(0), at(3), at(64)],
    )) as { id: string }[];
    callId = call!.id;
    const events: [string, number, string, string, string][] = [
      ["status:ringing", 1, "status", "twilio", "ringing"],
      ["status:in_progress", 3, "status", "twilio", "in_progress"],
      ["stream:start", 4, "stream.start", "twilio", "media stream started"],
      ["fallback:1", 20, "provider.fallback", "openai", "primary LLM slow; used fallback"],
      ["status:completed", 64, "status", "twilio", "completed"],
    ];
    for (const [key, s, type, service, message] of events) {
      await sql.query("INSERT INTO call_events (call_id, event_key, at, type, service, message) VALUES ($1, $2, $3, $4, $5, $6)", [callId, key, at(s), type, service, message]);
    }
    const latency = (heard: number) => JSON.stringify({ endOfSpeechToFinalMs: 90, llmFirstTokenMs: 250, ttsFirstByteMs: 400, firstAudioSentMs: heard - 200, firstMarkHeardMs: heard });
    await sql.query(
      `INSERT INTO call_turns (call_id, seq, speaker, text, started_at, latency) VALUES
       ($1, 1, 'assistant', 'Hey, it''s Brad!', $2, $3), ($1, 2, 'user', 'Hi Brad.', $4, NULL), ($1, 3, 'assistant', 'Good to hear you.', $5, $6)`,
      [callId, at(4), latency(650), at(6), at(8), latency(950)],
    );
    await sql.query(
      `INSERT INTO cost_events (call_id, user_id, event_key, service, operation, usage_amount, usage_unit, rate_micros, cost_micros, occurred_at)
       VALUES ($1, $2, 'c1', 'twilio', 'outbound_minute', 2, 'minute', 14000, 28000, $3)`,
      [callId, userId, at(64)],
    );
  });

  it("answers the official MCP SDK client: initialize, tools/list, every tool; refuses without the token", async () => {
    const url = new URL(`${stack.baseUrl}/mcp`);
    const client = new Client({ name: "e2e-ops", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${SANDBOX_SECRETS.ADMIN_TOKEN}` } } }));
    try {
      expect(client.getServerVersion()?.name).toBe("call-me-back-ops");
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(["aggregate_costs", "get_call_timeline", "list_calls", "search_events"]);

      const found = textOf(await client.callTool({ name: "search_events", arguments: { callId, service: "openai" } }));
      expect(found.split("\n")).toHaveLength(2);
      expect(found).toContain("provider.fallback");

      const timeline = textOf(await client.callTool({ name: "get_call_timeline", arguments: { callId } }));
      expect(timeline).toContain("Events (5)");
      expect(timeline).toContain("***0142");
      expect(timeline).toMatch(/#1 assistant: Hey, it's Brad!\n\s+final 90ms · llm 250ms · tts 400ms · sent 450ms · mark 650ms/);
      expect(timeline).toMatch(/#3 assistant: Good to hear you\.\n\s+final 90ms · llm 250ms · tts 400ms · sent 750ms · mark 950ms/);

      const costs = textOf(await client.callTool({ name: "aggregate_costs", arguments: { groupBy: "persona" } }));
      expect(costs).toMatch(/Brad: cost \$0\.0280 \(1 events\) · revenue \$4\.9900 · margin \$4\.9620/);

      const calls = textOf(await client.callTool({ name: "list_calls", arguments: { userId } }));
      expect(calls).toContain(callId);
      expect(calls).toContain("2 turns · latency avg 600ms max 750ms");
    } finally {
      await client.close();
    }

    const intruder = new Client({ name: "intruder", version: "1.0.0" });
    await expect(intruder.connect(new StreamableHTTPClientTransport(url))).rejects.toThrow(/401|Unauthorized/i);
  });

  it("signs in with WorkOS in the browser (new account, our own session)", async () => {
    const { context, page, errors } = await newPage(browser, stack.baseUrl);
    try {
      const ssoEmail = `sso-${randomUUID().slice(0, 8)}@example.com`;
      // the emulator's hosted page has no favicon (a 404 there is not ours): only our origin counts
      const appErrors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") appErrors.push(`${m.location().url} ${m.text()}`);
      });
      await page.goto("/login?redirect=/contacts");
      await page.getByTestId("workos-sign-in").click();
      await page.waitForURL(`${stack.sandbox.urls.workos}/user_management/authorize**`);
      await page.locator("#email").fill(ssoEmail);
      await page.locator("#first_name").fill("Grace");
      await page.locator("#last_name").fill("Sso");
      await screenshot(page, "ops-01-workos-hosted-page");
      await page.getByTestId("continue").click();
      await page.waitForURL(`${stack.baseUrl}/contacts`);
      expect(new URL(page.url()).hash).toBe(""); // the token left the address bar
      const token = await page.evaluate(() => localStorage.getItem("cmb.token"));
      expect(token).toBeTruthy();
      tokens.push(token!);
      const me = await api<{ user: { email: string; name: string } }>("GET", "/api/auth/me", undefined, token!);
      expect(me.body.user).toMatchObject({ email: ssoEmail, name: "Grace Sso" });
      await screenshot(page, "ops-02-workos-signed-in");
      expect(errors.filter((e) => e.startsWith("pageerror"))).toEqual([]);
      expect(appErrors.filter((e) => e.startsWith(stack.baseUrl))).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("refuses a WorkOS sign-in whose state was forged on the way back", async () => {
    const { context, page } = await newPage(browser, stack.baseUrl);
    try {
      await page.goto("/login");
      await page.getByTestId("workos-sign-in").click();
      await page.waitForURL(`${stack.sandbox.urls.workos}/user_management/authorize**`);
      // the real code comes back, but with an attacker's state: rewrite WorkOS's redirect to our callback
      let rewritten = false;
      await page.route(`${stack.sandbox.urls.workos}/user_management/authorize/**`, async (route) => {
        const res = await route.fetch({ maxRedirects: 0 });
        const location = new URL(res.headers()["location"] ?? "");
        expect(location.searchParams.get("code")).toBeTruthy();
        location.searchParams.set("state", "attacker-chosen-state-attacker-chosen-state");
        rewritten = true;
        await route.fulfill({ status: 302, headers: { location: location.toString() } });
      });
      await page.locator("#email").fill(`forged-${randomUUID().slice(0, 8)}@example.com`);
      await page.getByTestId("continue").click();
      await page.waitForURL(`${stack.baseUrl}/login?sso_error=state_mismatch`);
      expect(rewritten).toBe(true);
      await expect(page.getByTestId("sso-error").innerText()).resolves.toMatch(/refused/);
      expect(await page.evaluate(() => localStorage.getItem("cmb.token"))).toBeNull();
      await screenshot(page, "ops-03-workos-forged-state");
    } finally {
      await context.close();
    }
  });

  it("shows admins the calls with latency, a call's timeline and the per-turn latency chart", async () => {
    const { context, page, errors } = await newPage(browser, stack.baseUrl);
    try {
      await page.goto("/login?redirect=/admin/calls");
      await page.getByLabel("Email").fill(ADMIN.email);
      await page.getByLabel("Password", { exact: true }).fill(ADMIN.password);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.waitForURL("**/admin/calls");
      const token = await page.evaluate(() => localStorage.getItem("cmb.token"));
      if (token) tokens.push(token);
      const row = page.locator(`[data-call-id="${callId}"]`);
      await row.waitFor();
      await expect(row.getByTestId("call-latency").innerText()).resolves.toBe("600 ms / 750 ms");
      await screenshot(page, "ops-04-admin-calls");
      await row.getByRole("link").click();
      await page.waitForURL(`**/admin/calls/${callId}`);
      await page.getByTestId("latency-chart").locator("canvas").waitFor();
      await expect(page.getByTestId("timeline").locator("li").count()).resolves.toBe(5);
      await expect(page.getByTestId("turn-latency").first().innerText()).resolves.toContain("answered in 450 ms");
      await screenshot(page, "ops-05-admin-call-timeline");
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("a keyless call's timeline lists every turn with its latency breakdown", async () => {
    const scenario = JSON.parse(await readFile(join(ROOT, "sandbox", "scenarios", "friendly.json"), "utf8")) as Record<string, unknown>;
    const result = await runScriptedCall({ baseUrl: stack.baseUrl, twilioUrl: stack.sandbox.urls.twilio, persona: "brad", scenario, timeoutMs: 90_000 });
    tokens.push(result.token);
    const assistantTurns = result.turns.filter((t) => t.speaker === "assistant");
    expect(assistantTurns.length).toBeGreaterThan(1);

    const res = await fetch(`${stack.baseUrl}/api/admin/calls/${result.call.id}/timeline`, { headers: { Authorization: `Bearer ${await adminToken()}` } });
    expect(res.status).toBe(200);
    const timeline = (await res.json()) as { events: { type: string; service: string | null }[]; turns: { seq: number; speaker: string; latency: Record<string, unknown> | null }[] };
    expect(timeline.turns.map((t) => t.seq)).toEqual(result.turns.map((t) => t.seq));
    const types = new Set(timeline.events.map((e) => e.type));
    expect(timeline.events.length).toBeGreaterThan(3);
    expect([...types].join(" ")).toMatch(/status/);
    const replies = timeline.turns.filter((t) => t.speaker === "assistant");
    for (const t of replies) {
      expect(t.latency, `turn ${t.seq}`).not.toBeNull();
      expect(Object.keys(t.latency ?? {})).toEqual(expect.arrayContaining(["endOfSpeechToFinalMs", "llmFirstTokenMs", "ttsFirstByteMs", "firstAudioSentMs", "firstMarkHeardMs"]));
    }
    // replies to the caller (after the greeting) have a measured response time
    expect(replies.slice(1).every((t) => typeof t.latency?.firstAudioSentMs === "number")).toBe(true);

    // the MCP view of the same call, as an operator reads it
    const client = new Client({ name: "e2e-ops-call", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${stack.baseUrl}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${SANDBOX_SECRETS.ADMIN_TOKEN}` } } }));
    try {
      const text = textOf(await client.callTool({ name: "get_call_timeline", arguments: { callId: result.call.id } }));
      mkdirSync(RESULTS_DIR, { recursive: true });
      writeFileSync(join(RESULTS_DIR, "ops-keyless-call-timeline.txt"), `${text}\n`);
      expect(text).toContain(`Turns (${result.turns.length})`);
      expect(text.match(/final \S+ · llm \S+ · tts \S+ · sent \S+ · mark \S+/g)?.length).toBe(replies.length);
    } finally {
      await client.close();
    }
  });

  it("printed no secret, password, token or full phone number in any log line", async () => {
    // let the last request lines arrive
    await new Promise((r) => setTimeout(r, 500));
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, "ops-captured.log"), `${logLines.join("\n")}\n`);
    // wrangler's own binding table prints every --var as ("(hidden)") without its value
    const lines = logLines.filter((l) => !/^env\.[A-Z_]+ \("\(hidden\)"\)\s+Environment Variable/.test(l));
    expect(lines.some((l) => l.includes('"msg":"request"'))).toBe(true); // the Worker's JSON log was captured
    expect(lines.some((l) => l.includes('"msg":"login failed"'))).toBe(true);
    expect(lines.some((l) => l.includes('"msg":"workos sign-in"'))).toBe(true);
    const offending = (pred: (l: string) => boolean) => lines.filter(pred).slice(0, 3);
    // startStack replaces every sandbox secret it finds with "(hidden)": any such line means one was printed
    expect(offending((l) => l.includes("(hidden)"))).toEqual([]);
    for (const secret of [PASSWORD, ADMIN.password, DEMO_PASSWORD, ...Object.values(SANDBOX_SECRETS).filter((s) => !s.startsWith("+"))]) {
      expect(offending((l) => l.includes(secret))).toEqual([]);
    }
    for (const token of tokens) expect(offending((l) => l.includes(token))).toEqual([]);
    // No JWT at all, wrangler dev's own access log included: the Twilio Media Stream URL names only
    // the call (/twilio/stream/:callId); its token travels in the stream's start message.
    expect(lines.some((l) => l.includes("/twilio/stream/"))).toBe(true);
    expect(offending((l) => /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/.test(l))).toEqual([]);
    expect(offending((l) => /\+?\b1?5555550\d{3}\b/.test(l) || /\+[1-9]\d{7,14}\b/.test(l))).toEqual([]); // no full phone number
    expect(offending((l) => l.includes(email))).toEqual([]); // emails appear masked
  });
});
