/**
 * The sandbox phone page in real headless Chromium: it rings for a call to its number, answers,
 * shows what the persona says (decoded from the audio it plays), sends typed speech and keypad
 * digits into the call, hangs up, and shows Verify codes. Saves a screenshot under test-results/.
 */
import { mkdirSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { chromium, type Browser } from "playwright-core";
import { startEchoApp, type EchoApp } from "./echo-app";
import { emulatorClient } from "./sdk";
import { startTwilioEmulator, type TwilioEmulatorHandle } from "./server";

const ACCOUNT = "AC" + "c".repeat(32);
const TOKEN = "phone-page-token";
const VERIFY = "VA" + "d".repeat(32);
const NUMBER = "+15555550100";

let emu: TwilioEmulatorHandle;
let app: EchoApp;
let browser: Browser;

beforeAll(async () => {
  emu = await startTwilioEmulator({ accountSid: ACCOUNT, authToken: TOKEN, verifyServiceSid: VERIFY });
  emu.knobs.set({ ringMs: 200, dialMs: 30 });
  app = await startEchoApp({ authToken: TOKEN, greeting: "Hello from Brad!", reply: (t) => `You said: ${t}` });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
  });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await emu?.close();
});

it("rings, answers, shows and sends speech, keypad, hang-up and SMS codes", async () => {
  const page = await browser.newPage({ viewport: { width: 900, height: 940 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${emu.phoneUrl}?number=${encodeURIComponent(NUMBER)}`);
  await page.locator("#connText", { hasText: NUMBER }).waitFor();

  const client = emulatorClient(emu.url, ACCOUNT, TOKEN);
  await client.verify.v2.services(VERIFY).verifications.create({ to: NUMBER, channel: "sms" });
  const code = /\d{6}/.exec(emu.inbox(NUMBER)[0]!.body)![0];
  await expect.poll(() => page.locator("[data-testid=sms-code]").first().textContent()).toBe(code);

  const call = await client.calls.create({ to: NUMBER, from: "+15005550006", url: app.twimlUrl });
  await page.locator("#ringing:not(.hidden)").waitFor();
  expect(await page.locator("#ringFrom").textContent()).toBe("+15005550006");
  mkdirSync("test-results", { recursive: true });
  await page.screenshot({ path: "test-results/sandbox-phone-ringing.png" });
  await page.click("#answer");
  await page.locator(".msg.persona", { hasText: "Hello from Brad!" }).waitFor({ timeout: 10_000 });

  await page.fill("#sayText", "Hi Brad");
  await page.click("#sayForm button");
  await page.locator(".msg.you", { hasText: "Hi Brad" }).waitFor();
  await page.locator(".msg.persona", { hasText: "You said: Hi Brad" }).waitFor({ timeout: 10_000 });
  expect(app.sessions[0]!.heard).toEqual(["Hi Brad"]);

  await page.click("#keypadToggle");
  await page.click("button[aria-label='Key 5']");
  await expect.poll(() => app.sessions[0]!.events.filter((e) => e.event === "dtmf").map((e) => e.digit)).toEqual(["5"]);

  await page.screenshot({ path: "test-results/sandbox-phone.png" });

  await page.click("#hangup");
  const done = await emu.waitForCall(call.sid);
  expect(done.status).toBe("completed");
  expect(done.endReason).toBe("hung up on the phone page");
  await page.locator(".msg.note", { hasText: "Call ended (completed)" }).waitFor();
  expect(errors).toEqual([]);
});
