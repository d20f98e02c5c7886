/**
 * Between calls, end to end and keyless (wrangler dev + emulators + the Twilio emulator's
 * scripted callee on the demo phone):
 *  1. a scheduled call is placed by the cron handler (`/__scheduled`, wrangler --test-scheduled)
 *     through placeCall, and appears in history with its transcript;
 *  2. the callee said "I'm training for the Boston marathon" → post-call memory stores the fact →
 *     on the next call the persona brings it up, and asked about "last time" it looks the earlier
 *     call up (search_past_calls); transcript search finds the phrase;
 *  3. in Chromium: schedule a call, cancel it, open history and the call's transcript, open the
 *     memory editor and delete the marathon fact;
 *  4. the next call no longer mentions it.
 */
import { neon, neonConfig } from "@neondatabase/serverless";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Call, CallTurn } from "../../contracts/calls";
import { demoLogin, runScriptedCall } from "../../scripts/call-sim";
import { startStack, type Stack } from "../../scripts/stack";
import { DEMO_USER } from "../../worker/db/seed";
import { launchBrowser, newPage, screenshot } from "./helpers/browser";

interface Fact {
  id: string;
  content: string;
}

describe("between calls on the local stack", () => {
  let stack: Stack;
  let token = "";
  let bradId = "";
  let firstCallId = "";
  let browser: Browser | undefined;

  const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${stack.baseUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  };

  const waitFor = async <T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  const registerCallee = async (scenario: Record<string, unknown>): Promise<void> => {
    const res = await fetch(`${stack.sandbox.urls.twilio}/__sandbox/phones/${encodeURIComponent(DEMO_USER.phone)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ scenario }),
    });
    expect(res.ok).toBe(true);
  };

  const facts = async (): Promise<Fact[]> => (await api<{ facts: Fact[] }>("GET", `/api/personas/${bradId}/memories`)).body.facts;
  const assistantText = (turns: CallTurn[]) => turns.filter((t) => t.speaker === "assistant").map((t) => t.text).join(" ");

  beforeAll(async () => {
    stack = await startStack({ port: 0, fresh: true });
    await fetch(`${stack.sandbox.urls.twilio}/__sandbox/knobs`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ringMs: 300, dialMs: 200 }),
    });
    token = await demoLogin(stack.baseUrl);
    const personas = await api<{ personas: Array<{ id: string; slug: string | null }> }>("GET", "/api/personas");
    bradId = personas.body.personas.find((p) => p.slug === "brad")!.id;
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("the cron trigger places a due scheduled call and it appears in history with its transcript", async () => {
    await registerCallee({
      name: "marathon",
      rings: 1,
      steps: [
        { say: "Hello?", pauseMs: 400 },
        { say: "I'm training for the Boston marathon this spring.", personaSilentMs: 800 },
        { hangup: true, personaSilentMs: 1500, timeoutMs: 20_000 },
      ],
    });
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const created = await api<{ schedule: { id: string; status: string } }>("POST", "/api/calls/schedule", {
      personaId: bradId,
      localDate: tomorrow,
      localTime: "07:00",
      timezone: "UTC",
      durationMinutes: 3,
    });
    expect(created.status).toBe(201);
    const scheduleId = created.body.schedule.id;
    // Make it due now (the test cannot wait until tomorrow morning).
    const env = stack.sandbox.workerEnv;
    neonConfig.fetchEndpoint = () => env.NEON_FETCH_ENDPOINT as string;
    const sql = neon(env.DATABASE_URL as string);
    await sql.query("UPDATE scheduled_calls SET scheduled_for = now(), next_attempt_at = now() WHERE id = $1", [scheduleId]);

    const fired = await fetch(`${stack.baseUrl}/__scheduled?cron=${encodeURIComponent("* * * * *")}`);
    expect(fired.status).toBe(200);

    const listed = await waitFor("the scheduled call to end", async () => {
      const h = await api<{ calls: Array<Call & { scheduledCallId: string | null }> }>("GET", "/api/calls");
      const c = h.body.calls.find((x) => x.scheduledCallId === scheduleId);
      return c && c.endedAt ? c : null;
    });
    firstCallId = listed.id;
    expect(listed.status).toBe("completed");
    const detail = await api<{ call: Call; turns: CallTurn[] }>("GET", `/api/calls/${listed.id}`);
    expect(detail.body.turns.filter((t) => t.speaker === "user").map((t) => t.text)).toContain("I'm training for the Boston marathon this spring.");
    expect(detail.body.turns[0]?.speaker).toBe("assistant");

    const schedule = await waitFor("the schedule to complete", async () => {
      const s = await api<{ schedule: { status: string; lastCallId: string | null } }>("GET", `/api/calls/schedule/${scheduleId}`);
      return s.body.schedule.status === "completed" ? s.body.schedule : null;
    });
    expect(schedule.lastCallId).toBe(listed.id);

    // A second trigger in the same minute places nothing more.
    await fetch(`${stack.baseUrl}/__scheduled?cron=${encodeURIComponent("* * * * *")}`);
    const again = await api<{ calls: Array<{ scheduledCallId: string | null }> }>("GET", "/api/calls");
    expect(again.body.calls.filter((c) => c.scheduledCallId === scheduleId)).toHaveLength(1);
  });

  it("the next call's persona brings up the marathon, looks up the earlier call when asked, and search finds it", async () => {
    const fact = await waitFor("post-call memory", async () => (await facts()).find((f) => /boston marathon/i.test(f.content)), 30_000);
    expect(fact).toBeTruthy();

    const r = await runScriptedCall({
      baseUrl: stack.baseUrl,
      twilioUrl: stack.sandbox.urls.twilio,
      persona: "brad",
      timeoutMs: 90_000,
      scenario: {
        name: "remembers",
        rings: 1,
        steps: [
          { say: "Hello?", pauseMs: 400 },
          { say: "Hi Brad, it's me.", personaSilentMs: 800 },
          { say: "What did we talk about last time?", personaSilentMs: 800 },
          { hangup: true, personaSilentMs: 1500, timeoutMs: 20_000 },
        ],
      },
    });
    expect(r.call.status).toBe("completed");
    const said = assistantText(r.turns);
    expect(said).toMatch(/Boston marathon/i);
    expect(said).toMatch(/let me think back/i);

    const search = await api<{ results: Array<{ call: { id: string }; snippets: Array<{ snippet: string }> }> }>(
      "GET",
      `/api/calls/search?q=${encodeURIComponent("Boston marathon")}`,
    );
    expect(search.body.results.map((x) => x.call.id)).toContain(firstCallId);
    const hit = search.body.results.find((x) => x.call.id === firstCallId)!;
    expect(hit.snippets.some((s) => /«Boston» «marathon»/.test(s.snippet))).toBe(true);
  });

  it("Chromium walks schedule → history → call detail → memory editor", async () => {
    browser = await launchBrowser();
    const { page, errors } = await newPage(browser, stack.baseUrl);
    await page.goto("/login");
    await page.getByLabel("Email").fill(DEMO_USER.email);
    await page.getByLabel("Password", { exact: true }).fill(DEMO_USER.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL("**/personas", { timeout: 60_000 });

    // Schedule: a weekly call, then cancel it.
    await page.getByRole("link", { name: "Schedule" }).first().click();
    await page.waitForURL("**/schedule");
    await page.getByLabel("How often").selectOption("weekly");
    await page.getByLabel("Day of the week").selectOption("3");
    await page.getByLabel("Time", { exact: true }).fill("18:30");
    await page.getByLabel("Time zone").selectOption("America/New_York");
    await page.getByRole("button", { name: "Schedule call" }).click();
    const item = page.getByTestId("upcoming-item").filter({ hasText: "Every Wednesday at 18:30" });
    await item.waitFor();
    await expectText(item, /Wed, .* 18:30 \(America\/New York\)/);
    await screenshot(page, "between-calls-01-schedule");
    await item.getByRole("button", { name: /Cancel the call with Brad/ }).click();
    await page.getByTestId("past-list").getByText("Canceled").first().waitFor();

    // History → call detail with the transcript.
    await page.getByRole("link", { name: "History" }).first().click();
    await page.waitForURL("**/history");
    await page.getByTestId("history-item").first().waitFor();
    expect(await page.getByTestId("history-item").count()).toBeGreaterThanOrEqual(2);
    await page.getByRole("searchbox").fill("Boston marathon");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByTestId("search-results").locator("mark", { hasText: "Boston" }).first().waitFor();
    await screenshot(page, "between-calls-02-history");
    // The call where the user said it (a later call has only Brad mentioning it).
    await page.getByTestId("search-results").locator("li", { hasText: "You:" }).first().getByRole("link").click();
    await page.waitForURL(/\/history\/[0-9a-f-]{36}$/);
    await page.getByTestId("transcript").getByText("I'm training for the Boston marathon this spring.").waitFor();
    await expectText(page.getByTestId("transcript").locator('[data-speaker="user"]').first(), /^you ·/i);
    await screenshot(page, "between-calls-03-call");

    // Memory editor: the marathon fact is there; delete it.
    await page.getByRole("link", { name: "Memory" }).first().click();
    await page.getByRole("heading", { name: "What Brad knows about you" }).waitFor();
    const fact = page.getByTestId("fact").filter({ hasText: /Boston marathon/i });
    await fact.waitFor();
    await screenshot(page, "between-calls-04-memory");
    await fact.getByRole("button", { name: /^Delete:/ }).click();
    await fact.waitFor({ state: "detached" });
    expect(errors).toEqual([]);
  });

  it("a deleted fact stays out of the next call", async () => {
    expect(firstCallId).not.toBe(""); // the earlier tests stored and then deleted the fact
    expect((await facts()).some((f) => /boston marathon/i.test(f.content))).toBe(false);
    const r = await runScriptedCall({
      baseUrl: stack.baseUrl,
      twilioUrl: stack.sandbox.urls.twilio,
      persona: "brad",
      timeoutMs: 90_000,
      scenario: {
        name: "forgotten",
        rings: 1,
        steps: [
          { say: "Hello?", pauseMs: 400 },
          { say: "Hi Brad, it's me.", personaSilentMs: 800 },
          { hangup: true, personaSilentMs: 1500, timeoutMs: 20_000 },
        ],
      },
    });
    expect(r.call.status).toBe("completed");
    expect(r.turns.some((t) => t.speaker === "assistant")).toBe(true);
    expect(assistantText(r.turns)).not.toMatch(/marathon/i);
  });
});

async function expectText(locator: ReturnType<Page["locator"]>, re: RegExp): Promise<void> {
  expect(await locator.innerText()).toMatch(re);
}
