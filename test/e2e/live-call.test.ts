/**
 * The live call in a real headless Chromium on the whole stack (`startStack`: emulators, Worker,
 * Durable Object, built SPA). The demo user (phone already verified) clicks "Call me now" on Brad;
 * a scripted callee registered for the demo number on the Twilio emulator answers and talks; the
 * live page shows the status, both speakers' turns as they happen and the time remaining; "End
 * call" hangs up. Then a browser call: the page itself speaks the Twilio Media Streams protocol to
 * the call's Durable Object, typed text goes out as the sandbox voice, and Brad's spoken reply is
 * decoded from the audio and lands in the transcript. Finally a new user verifies their phone
 * (the code arrives by text on the sandbox phone page), places a call, answers it on the sandbox
 * phone page in a second tab and talks. Screenshots go to test-results/.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startStack } from "../../scripts/stack";
import { DEMO_USER } from "../../worker/db/seed";

type Stack = Awaited<ReturnType<typeof startStack>>;

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const RESULTS = join(process.cwd(), "test-results");

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, `${name}.png`), fullPage: true, animations: "disabled" });
}

/** What the scripted callee on the demo number says once the persona has finished each line. */
const CALLEE_LINES = ["Hello?", "Hi Brad! I went for a run this morning.", "About five kilometres, it felt great."];

describe("live call in the browser", () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  /** HTTP answers ≥ 400 the pages got (the billing quote is optional until the money routes exist). */
  const failed: string[] = [];
  /** The stack's own log (wrangler dev + emulators), printed when a call goes wrong. */
  const stackLog: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
    stack = await startStack({ port: 0, fresh: true, log: (line) => stackLog.push(line) });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"],
    });
    const context = await browser.newContext({ baseURL: stack.baseUrl, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) errors.push(`console: ${msg.text()}`);
    });
    page.on("response", (res) => {
      if (res.status() >= 400) failed.push(`${res.status()} ${new URL(res.url()).pathname}`);
    });

    await page.goto("/login");
    await page.getByLabel("Email").fill(DEMO_USER.email);
    await page.getByLabel("Password", { exact: true }).fill(DEMO_USER.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL("**/personas");
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail" && page) {
      await shot(page, `live-FAILED-${ctx.task.name.slice(0, 30).replace(/\W+/g, "-")}`).catch(() => undefined);
      console.error("failed HTTP answers:", failed.join(", "));
      console.error("stack log (last 40 notable lines):\n" + stackLog.filter((l) => !l.includes("/assets/") && /error|exception|uncaught|reload|change|restart|abort|websocket|close/i.test(l)).slice(-40).join("\n"));
    }
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** Opens Brad's page the way a user does: from the personas list. */
  async function openBrad(p: Page = page): Promise<void> {
    await p.goto("/personas");
    await p.locator('[data-testid=persona-card][data-persona-name="Brad"] a').first().click();
    await p.getByTestId("call-me-now").waitFor();
  }

  function callIdFromUrl(): string {
    const m = /\/calls\/([0-9a-f-]{36})/.exec(page.url());
    if (!m?.[1]) throw new Error(`not on a call page: ${page.url()}`);
    return m[1];
  }

  async function apiGet<T>(path: string): Promise<T> {
    const token = await page.evaluate(() => localStorage.getItem("cmb.token"));
    const res = await fetch(`${stack.baseUrl}${path}`, { headers: { Authorization: `Bearer ${token ?? ""}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  }

  it("Call me now on Brad: a scripted callee answers, the live transcript shows both speakers, End call hangs up", async () => {
    const twilio = stack.sandbox.urls.twilio;
    const reg = await fetch(`${twilio}/__sandbox/phones/${encodeURIComponent(DEMO_USER.phone)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        scenario: {
          name: "e2e-live",
          answer: "human",
          rings: 0,
          steps: [
            { say: CALLEE_LINES[0], pauseMs: 300 },
            { say: CALLEE_LINES[1], personaSilentMs: 700, timeoutMs: 15_000 },
            { say: CALLEE_LINES[2], personaSilentMs: 700, timeoutMs: 15_000 },
          ],
        },
      }),
    });
    expect(reg.ok).toBe(true);
    await fetch(`${twilio}/__sandbox/knobs`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ringMs: 500, dialMs: 200 }) });

    await openBrad();
    await expect(page.getByTestId("call-price").innerText()).resolves.toMatch(/\$4\.99|Free trial/);
    await shot(page, "live-01-persona-call-me-now");
    await page.getByTestId("call-me-now-button").click();
    await page.waitForURL(/\/calls\/[0-9a-f-]{36}$/);
    const callId = callIdFromUrl();

    await page.getByTestId("sandbox-phone-link").waitFor({ timeout: 15_000 }).catch(() => undefined);
    await page.locator("[data-testid=call-status]", { hasText: "Connected" }).waitFor({ timeout: 30_000 });
    await page.getByTestId("time-remaining").waitFor();
    expect(await page.getByTestId("time-remaining").innerText()).toMatch(/[45]:\d\d/);

    // Brad's greeting, then the callee's lines and Brad's replies, as they happen.
    try {
      await page.getByTestId("turn-persona").first().waitFor({ timeout: 20_000 });
      await page.locator("[data-testid=turn-caller]", { hasText: "I went for a run" }).waitFor({ timeout: 30_000 });
      await page.locator("[data-testid=turn-caller]", { hasText: "five kilometres" }).waitFor({ timeout: 30_000 });
      await expect.poll(() => page.getByTestId("turn-persona").count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    } catch (err) {
      await shot(page, "live-02-phone-call-FAILED");
      const sandboxCalls = (await (await fetch(`${twilio}/__sandbox/calls`)).json()) as { calls: { callSid: string }[] };
      const last = sandboxCalls.calls.at(-1);
      const rec = last ? ((await (await fetch(`${twilio}/__sandbox/calls/${last.callSid}`)).json()) as Record<string, unknown>) : null;
      console.error("transcript on the page:", await page.getByTestId("transcript").innerText());
      console.error("callee record:", JSON.stringify({ status: rec?.status, said: rec?.said, heardText: rec?.heardText, marks: rec?.marks, clears: rec?.clears, errors: rec?.errors, streams: rec?.streams }));
      console.error("stack log (errors):", stackLog.filter((l) => /error|exception|uncaught|reload|restart/i.test(l)).slice(-40).join("\n"));
      console.error("server turns:", JSON.stringify((await apiGet<{ turns: unknown[] }>(`/api/calls/${callId}`)).turns));
      throw err;
    }
    await shot(page, "live-02-phone-call-transcript");

    const caller = await page.getByTestId("turn-caller").allInnerTexts();
    expect(caller.join("\n")).toContain("Hi Brad! I went for a run this morning.");
    const persona = await page.getByTestId("turn-persona").allInnerTexts();
    expect(persona.every((t) => t.replace(/^BRAD\s*/i, "").trim().length > 0)).toBe(true);

    await page.getByTestId("end-call").click();
    await page.getByTestId("call-ended").waitFor({ timeout: 20_000 });
    expect(await page.getByTestId("call-ended").innerText()).toMatch(/ended the call/i);
    await shot(page, "live-03-phone-call-ended");

    const detail = await apiGet<{ call: { status: string; endReason: string | null }; turns: { speaker: string; text: string }[] }>(`/api/calls/${callId}`);
    expect(detail.call.status).toBe("completed");
    expect(detail.call.endReason).toBe("user_ended");
    expect(detail.turns.filter((t) => t.speaker === "user").map((t) => t.text)).toContain(CALLEE_LINES[1]);

    // The callee heard Brad: the emulator decoded what was played to it.
    const record = (await (await fetch(`${twilio}/__sandbox/calls`)).json()) as { calls: { sid: string; to: string }[] };
    expect(record.calls.length).toBeGreaterThanOrEqual(1);
  });

  it("browser call: typed text goes out as the user's voice and Brad's reply is heard and transcribed", async () => {
    await openBrad();
    await page.getByTestId("browser-call-button").click();
    await page.waitForURL(/\/calls\/[0-9a-f-]{36}$/);
    const callId = callIdFromUrl();
    await page.getByTestId("browser-call").waitFor({ timeout: 15_000 });
    await page.getByText("Audio connected").waitFor({ timeout: 15_000 });
    await page.locator("[data-testid=call-status]", { hasText: "Connected" }).waitFor({ timeout: 15_000 });

    // Brad greets first; the greeting is decoded from the audio as it plays.
    await page.getByTestId("turn-persona").first().waitFor({ timeout: 20_000 });
    const personaBefore = await page.getByTestId("turn-persona").count();

    await page.getByTestId("say-input").fill("Can you help me plan my week?");
    await page.getByTestId("say-button").click();
    await page.locator("[data-testid=turn-caller]", { hasText: "Can you help me plan my week?" }).waitFor({ timeout: 30_000 });

    // Brad's reply plays in the page: "is speaking" and his words decoded from the audio as it plays.
    await page.locator("[data-testid=speaking]", { hasText: "Brad is speaking" }).waitFor({ timeout: 30_000 });
    // Read the decoded words inside the page in one step: the bubble goes away once the turn lands.
    const heardHandle = await page.waitForFunction(() => document.querySelector("[data-testid=persona-live] p:nth-of-type(2)")?.textContent?.trim() || null, null, { timeout: 10_000 });
    const heard = String(await heardHandle.jsonValue());
    await shot(page, "live-04-browser-call-speaking");
    expect(heard.length).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId("turn-persona").count(), { timeout: 30_000 }).toBeGreaterThan(personaBefore);
    const reply = (await page.getByTestId("turn-persona").last().innerText()).replace(/^BRAD\s*/i, "").trim();
    expect(reply.startsWith(heard)).toBe(true);
    await shot(page, "live-05-browser-call");

    // The microphone path (Chromium's fake capture device): PCM → 8 kHz μ-law into the same frames.
    await page.getByRole("button", { name: "Use microphone" }).click();
    await page.getByText("Audio connected · microphone on").waitFor({ timeout: 10_000 });
    await page.getByRole("button", { name: "Mute mic" }).click();
    await page.getByRole("button", { name: "Use microphone" }).waitFor();

    await page.getByTestId("end-call").click();
    await page.getByTestId("call-ended").waitFor({ timeout: 20_000 });
    await shot(page, "live-06-browser-call-ended");

    const detail = await apiGet<{ call: { status: string; transport: string }; turns: { speaker: string; text: string }[] }>(`/api/calls/${callId}`);
    expect(detail.call.transport).toBe("browser");
    expect(detail.call.status).toBe("completed");
    const users = detail.turns.filter((t) => t.speaker === "user").map((t) => t.text);
    expect(users).toContain("Can you help me plan my week?");
    const lastUser = detail.turns.findIndex((t) => t.text === "Can you help me plan my week?");
    expect(detail.turns.slice(lastUser + 1).some((t) => t.speaker === "assistant" && t.text.trim().length > 0)).toBe(true);
    expect(errors).toEqual([]);
    expect(failed.filter((f) => !f.endsWith("/api/billing/quote"))).toEqual([]);
  });
  it("a new user verifies their phone by a texted code, then answers the call on the sandbox phone page", async () => {
    const twilio = stack.sandbox.urls.twilio;
    const number = "+15555550123";
    const context = await browser.newContext({ baseURL: stack.baseUrl, viewport: { width: 1280, height: 900 } });
    const app = await context.newPage();
    app.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
    const phone = await context.newPage();
    try {
      await app.goto("/register");
      await app.getByLabel("Your name").fill("Nia Verify");
      await app.getByLabel("Email").fill(`verify-${randomUUID().slice(0, 8)}@example.com`);
      await app.getByLabel("Password", { exact: true }).fill("a long enough passphrase");
      await app.getByRole("button", { name: "Create account" }).click();
      await app.waitForURL("**/personas");

      // The sandbox phone for the new number: texts arrive here, and calls ring here.
      await phone.goto(`${twilio}/phone?number=${encodeURIComponent(number)}`);
      await phone.locator("#connText", { hasText: number }).waitFor({ timeout: 10_000 });

      await openBrad(app);
      expect(await app.getByTestId("call-price").innerText()).toContain("Free trial call");
      await app.getByTestId("call-me-now-button").click();
      const verify = app.getByTestId("phone-verification");
      await verify.waitFor();
      await verify.getByLabel("Your phone number").fill("+1 555 555 0123");
      await verify.getByRole("button", { name: "Text me a code" }).click();
      await verify.getByLabel("Code").waitFor();
      expect(await verify.getByTestId("sandbox-phone-link").getAttribute("href")).toBe(`${twilio}/phone?number=%2B15555550123`);
      await shot(app, "live-07-verify-code-sent");

      const code = (await phone.getByTestId("sms-code").first().innerText({ timeout: 10_000 })).trim();
      expect(code).toMatch(/^\d{4,10}$/);
      await shot(phone, "live-08-sandbox-phone-sms");
      await verify.getByLabel("Code").fill(code);
      await verify.getByRole("button", { name: "Verify" }).click();

      // Verified → the call is placed and the live page opens; the sandbox phone rings.
      await app.waitForURL(/\/calls\/[0-9a-f-]{36}$/, { timeout: 15_000 });
      await phone.locator("#ringing:not(.hidden)").waitFor({ timeout: 30_000 });
      await phone.locator("#answer").click();
      await app.locator("[data-testid=call-status]", { hasText: "Connected" }).waitFor({ timeout: 20_000 });
      await app.getByTestId("turn-persona").first().waitFor({ timeout: 20_000 });
      await phone.locator("#sayText").fill("Hi Brad, I'm answering on the sandbox phone.");
      await phone.locator("#sayText").press("Enter");
      try {
        await app.locator("[data-testid=turn-caller]", { hasText: "answering on the sandbox phone" }).waitFor({ timeout: 30_000 });
      } catch (err) {
        await shot(app, "live-09-FAILED-app");
        await shot(phone, "live-10-FAILED-phone");
        const calls = (await (await fetch(`${twilio}/__sandbox/calls`)).json()) as { calls: { callSid: string }[] };
        const sid = calls.calls.at(-1)?.callSid ?? "";
        const rec = (await (await fetch(`${twilio}/__sandbox/calls/${sid}`)).json()) as Record<string, unknown>;
        console.error("callee record:", JSON.stringify({ status: rec.status, said: rec.said, heardText: rec.heardText, errors: rec.errors, streams: rec.streams }).slice(0, 3000));
        console.error("stack log (errors):", stackLog.filter((l) => /error|exception|uncaught/i.test(l)).slice(-30).join("\n"));
        throw err;
      }
      await shot(app, "live-09-sandbox-phone-call-live");
      await shot(phone, "live-10-sandbox-phone-in-call");

      await app.getByTestId("end-call").click();
      await app.getByTestId("call-ended").waitFor({ timeout: 20_000 });
      expect(await app.getByTestId("call-ended").innerText()).toContain("free trial");
    } finally {
      await context.close();
    }
  });
});
