/**
 * The Twilio emulator driven by the official twilio-node SDK (pointed at it only through a
 * host-rewriting RequestClient) against a minimal stream endpoint (echo-app.ts): calls with a
 * media stream, marks/clear/dtmf, callee scenarios, AMD, TimeLimit, REST hang-up, signed
 * callbacks, usage records, Verify, knobs and the bill.
 */
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type WebSocketType from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import twilio from "twilio";
import { startEchoApp, type EchoApp, type EchoAppOptions } from "./echo-app";
import { emulatorClient } from "./sdk";
import { startTwilioEmulator, type TwilioEmulatorHandle } from "./server";
import type { Scenario } from "./scenario";

const ACCOUNT = "AC" + "a".repeat(32);
const TOKEN = "test-auth-token-123";
const VERIFY = "VA" + "b".repeat(32);
const FROM = "+15005550006";

let emu: TwilioEmulatorHandle;
let client: twilio.Twilio;
const apps: EchoApp[] = [];
let nextNumber = 100;

/** A fresh E.164 number per test so registrations never collide. */
function number(): string {
  return `+1555000${String(nextNumber++).padStart(4, "0")}`;
}

async function app(opts: Partial<EchoAppOptions> = {}): Promise<EchoApp> {
  const a = await startEchoApp({ authToken: TOKEN, msPerChar: 20, ...opts });
  apps.push(a);
  return a;
}

interface Rec {
  status: string;
  answeredBy: string | null;
  durationS: number;
  billedMinutes: number;
  endReason: string;
  history: { status: string }[];
  said: { text: string; kind: string; bargeIn: boolean; startMs: number | null; endMs: number | null; responseLatencyMs: number | null; heardLatencyMs: number | null; clearLatencyMs: number | null }[];
  heard: { text: string; cut: boolean; source: string; streamStartMs: number | null }[];
  heardText: string;
  marks: { name: string; receivedMs: number; echoedMs: number | null; cleared: boolean }[];
  clears: { droppedMs: number; marksReturned: number }[];
  dtmf: { digit: string }[];
  streams: { end: string | null; customParameters: Record<string, string> }[];
  messages: { dir: string; event: string; count?: number }[];
  errors: string[];
  twiml: string[];
}

async function record(callSid: string): Promise<Rec> {
  const res = await fetch(`${emu.url}/__sandbox/calls/${callSid}`);
  return (await res.json()) as Rec;
}

async function dial(to: string, a: EchoApp | null, extra: Record<string, unknown> = {}): Promise<string> {
  const call = await client.calls.create({
    to,
    from: FROM,
    ...(a ? { url: a.twimlUrl, statusCallback: a.statusUrl, statusCallbackEvent: ["initiated", "ringing", "answered", "completed"] } : {}),
    ...extra,
  } as Parameters<typeof client.calls.create>[0]);
  return call.sid;
}

beforeAll(async () => {
  emu = await startTwilioEmulator({ accountSid: ACCOUNT, authToken: TOKEN, verifyServiceSid: VERIFY });
  client = emulatorClient(emu.url, ACCOUNT, TOKEN);
});

afterEach(async () => {
  emu.knobs.reset();
  emu.knobs.set({ ringMs: 100, dialMs: 30, speechMsPerChar: 20 });
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

afterAll(async () => {
  await emu.close();
});

beforeAll(() => {
  emu.knobs.set({ ringMs: 100, dialMs: 30, speechMsPerChar: 20 });
});

describe("REST faithfulness (twilio-node)", () => {
  it("rejects wrong credentials with Twilio's 401 error", async () => {
    const bad = emulatorClient(emu.url, ACCOUNT, "wrong");
    await expect(bad.calls.create({ to: number(), from: FROM, twiml: "<Response/>" })).rejects.toMatchObject({ status: 401, code: 20003 });
    const res = await fetch(`${emu.url}/2010-04-01/Accounts/${ACCOUNT}/Calls.json`, { method: "POST" });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 20003, message: "Authenticate", more_info: expect.stringContaining("20003"), status: 401 });
  });

  it("validates create parameters like Twilio", async () => {
    await expect(client.calls.create({ to: "not-a-number", from: FROM, twiml: "<Response/>" })).rejects.toMatchObject({ status: 400, code: 21211 });
    await expect(client.calls.create({ to: number(), from: FROM } as Parameters<typeof client.calls.create>[0])).rejects.toMatchObject({ status: 400, code: 21205 });
    await expect(client.calls("CA" + "0".repeat(32)).fetch()).rejects.toMatchObject({ status: 404, code: 20404 });
  });

  it("creates, fetches and prices a call with the shapes twilio-node parses", async () => {
    const to = number();
    emu.setPhone(to, { scenario: { rings: 1, steps: [{ say: "Hello?" }, { hangup: true, pauseMs: 200 }] } });
    const created = await client.calls.create({ to, from: FROM, twiml: "<Response><Pause length=\"5\"/></Response>" });
    expect(created.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(created.status).toBe("queued");
    expect(created.accountSid).toBe(ACCOUNT);
    expect(created.direction).toBe("outbound-api");
    expect(created.dateCreated).toBeInstanceOf(Date);
    expect(Number.isNaN(created.dateCreated.getTime())).toBe(false);
    expect(created.uri).toBe(`/2010-04-01/Accounts/${ACCOUNT}/Calls/${created.sid}.json`);
    await emu.waitForCall(created.sid);
    const fetched = await client.calls(created.sid).fetch();
    expect(fetched.status).toBe("completed");
    expect(fetched.startTime).toBeInstanceOf(Date);
    expect(fetched.endTime.getTime()).toBeGreaterThanOrEqual(fetched.startTime.getTime());
    expect(Number(fetched.duration)).toBeGreaterThanOrEqual(1);
    expect(fetched.price).toBe("-0.01400");
    expect(fetched.priceUnit).toBe("USD");
    const list = await client.calls.list({ to });
    expect(list.map((c) => c.sid)).toEqual([created.sid]);
  });
});

describe("answered call with a media stream", () => {
  it("streams like Twilio: signed upgrade, connected/start/media/stop, custom parameters, signed callbacks", async () => {
    const a = await app({ greeting: "Hi, this is Brad.", reply: () => "Great to hear!", parameters: { callId: "c_1", personaId: "brad" } });
    const to = number();
    emu.setPhone(to, { scenario: { rings: 1, steps: [{ say: "Hello?", pauseMs: 100 }, { say: "Hi Brad", personaSilentMs: 200 }, { hangup: true, personaSilentMs: 300 }] } });
    const sid = await dial(to, a);
    await emu.waitForCall(sid);
    const s = a.sessions[0]!;
    expect(s.signatureValid).toBe(true);
    expect(s.events[0]?.event).toBe("connected");
    expect(s.events[1]).toMatchObject({ event: "start", seq: "1" });
    expect(s.start).toMatchObject({
      accountSid: ACCOUNT,
      callSid: sid,
      streamSid: expect.stringMatching(/^MZ[0-9a-f]{32}$/),
      tracks: ["inbound"],
      customParameters: { callId: "c_1", personaId: "brad" },
      mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
    });
    const seqs = s.events.filter((e) => e.seq !== undefined).map((e) => Number(e.seq));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const media = s.events.filter((e) => e.event === "media");
    expect(media.length).toBeGreaterThan(20);
    expect(media.map((m) => Number(m.chunk))).toEqual(media.map((_, i) => i + 1));
    expect(media.map((m) => Number(m.timestamp))).toEqual(media.map((_, i) => i * 20));
    expect(s.events.at(-1)?.event).toBe("stop");
    // The app heard what the callee said (sandbox voice through the inbound track).
    expect(s.heard).toEqual(["Hello?", "Hi Brad"]);

    const rec = await record(sid);
    expect(rec.status).toBe("completed");
    expect(rec.endReason).toBe("callee hung up");
    expect(rec.history.map((h) => h.status)).toEqual(["queued", "initiated", "ringing", "in-progress", "completed"]);
    expect(rec.heard.map((h) => h.text)).toEqual(["Hi, this is Brad.", "Great to hear!", "Great to hear!"]);
    expect(rec.heard.every((h) => !h.cut && h.source === "stream")).toBe(true);
    expect(rec.said.map((u) => u.text)).toEqual(["Hello?", "Hi Brad"]);
    const hiBrad = rec.said[1]!;
    expect(hiBrad.responseLatencyMs).not.toBeNull();
    expect(hiBrad.heardLatencyMs).not.toBeNull();
    expect(hiBrad.heardLatencyMs!).toBeGreaterThanOrEqual(hiBrad.responseLatencyMs! - 40);
    expect(rec.messages.some((m) => m.dir === "from-app" && m.event === "media" && (m.count ?? 0) > 1)).toBe(true);

    const status = a.callbacks.filter((c) => c.path === "/status");
    expect(status.every((c) => c.valid)).toBe(true);
    expect(status.map((c) => c.params.CallStatus)).toEqual(["initiated", "ringing", "in-progress", "completed"]);
    const completed = status.at(-1)!.params;
    expect(completed).toMatchObject({ CallSid: sid, AccountSid: ACCOUNT, To: to, From: FROM, Direction: "outbound-api" });
    expect(Number(completed.CallDuration)).toBe(rec.durationS);
    const twimlReq = a.callbacks.find((c) => c.path === "/twiml")!;
    expect(twimlReq.valid).toBe(true);
    expect(twimlReq.params).toMatchObject({ CallSid: sid, CallStatus: "in-progress", Direction: "outbound-api" });
    const streamEvents = a.callbacks.filter((c) => c.path === "/stream-status");
    expect(streamEvents.map((c) => c.params.StreamEvent)).toEqual(["stream-started", "stream-stopped"]);
    expect(streamEvents.every((c) => c.valid)).toBe(true);
  });

  it("sends only the requested status events, plus completed", async () => {
    const a = await app();
    const to = number();
    emu.setPhone(to, { scenario: { rings: 1, steps: [{ hangup: true, pauseMs: 100 }] } });
    const sid = await client.calls.create({ to, from: FROM, url: a.twimlUrl, statusCallback: a.statusUrl, statusCallbackEvent: ["answered"] }).then((c) => c.sid);
    await emu.waitForCall(sid);
    expect(a.callbacks.filter((c) => c.path === "/status").map((c) => c.params.CallStatus)).toEqual(["in-progress", "completed"]);
  });

  it("signs GET status callbacks over the URL with the query string", async () => {
    const a = await app();
    const to = number();
    emu.setPhone(to, { scenario: { rings: 1, steps: [{ hangup: true, pauseMs: 100 }] } });
    const sid = await client.calls.create({ to, from: FROM, url: a.twimlUrl, method: "GET", statusCallback: `${a.statusUrl}?tenant=t1`, statusCallbackMethod: "GET" }).then((c) => c.sid);
    await emu.waitForCall(sid);
    const status = a.callbacks.filter((c) => c.path === "/status");
    expect(status).toHaveLength(1);
    expect(status[0]!.valid).toBe(true);
    expect(status[0]!.params).toMatchObject({ tenant: "t1", CallStatus: "completed", CallSid: sid });
    expect(a.callbacks.find((c) => c.path === "/twiml")?.valid).toBe(true);
  });

  it("echoes a mark only after the audio queued before it has played", async () => {
    // 40 chars × 20 ms = 800 ms of greeting, all sent at once.
    const greeting = "This greeting takes a while to play out.";
    const a = await app({ greeting });
    const to = number();
    emu.setPhone(to, { scenario: { rings: 1, steps: [{ hangup: true, personaSilentMs: 200 }] } });
    const sid = await dial(to, a);
    await emu.waitForCall(sid);
    const s = a.sessions[0]!;
    const echoed = s.marksEchoed.find((m) => m.name === "greeting")!;
    const elapsed = echoed.at - s.sentAt.get("greeting")!;
    expect(elapsed).toBeGreaterThanOrEqual(greeting.length * 20 - 60);
    expect(elapsed).toBeLessThan(greeting.length * 20 + 1500);
    const rec = await record(sid);
    expect(rec.marks[0]).toMatchObject({ name: "greeting", cleared: false });
    expect(rec.heardText).toBe(greeting);
  });

  it("clear drops the buffer, returns outstanding marks at once and cuts what the callee heard", async () => {
    const greeting = "Let me tell you a very long story about my weekend at the lake with the whole family.";
    const a = await app({ greeting, clearOnBargeIn: true });
    const to = number();
    emu.setPhone(to, { scenario: { rings: 1, steps: [{ say: "Wait", personaSpeakingMs: 400 }, { hangup: true, pauseMs: 300 }] } });
    const sid = await dial(to, a);
    await emu.waitForCall(sid);
    const rec = await record(sid);
    expect(rec.clears).toHaveLength(1);
    expect(rec.clears[0]!.droppedMs).toBeGreaterThan(200);
    expect(rec.clears[0]!.marksReturned).toBe(1);
    expect(rec.marks[0]).toMatchObject({ name: "greeting", cleared: true });
    const heard = rec.heard[0]!;
    expect(heard.cut).toBe(true);
    expect(greeting.startsWith(heard.text)).toBe(true);
    expect(heard.text.length).toBeGreaterThan(10);
    expect(heard.text.length).toBeLessThan(greeting.length - 10);
    const wait = rec.said[0]!;
    expect(wait.bargeIn).toBe(true);
    expect(wait.clearLatencyMs).not.toBeNull();
    const s = a.sessions[0]!;
    const echoed = s.marksEchoed.find((m) => m.name === "greeting")!;
    expect(echoed.at - s.sentAt.get("greeting")!).toBeLessThan(greeting.length * 20 - 200);
  });

  it("sends dtmf events when the callee presses digits", async () => {
    const a = await app();
    const to = number();
    emu.setPhone(to, { scenario: { rings: 1, steps: [{ press: "12#", pauseMs: 100 }, { hangup: true, pauseMs: 100 }] } });
    const sid = await dial(to, a);
    await emu.waitForCall(sid);
    const digits = a.sessions[0]!.events.filter((e) => e.event === "dtmf").map((e) => e.digit);
    expect(digits).toEqual(["1", "2", "#"]);
    expect((await record(sid)).dtmf.map((d) => d.digit)).toEqual(["1", "2", "#"]);
  });

  it("completes the call when the app closes the socket (next verb, then end)", async () => {
    const a = await app({ greeting: "Bye now.", reply: () => "ok", closeAfterReplies: 1, afterConnect: "<Say>Goodbye</Say>" });
    const to = number();
    emu.setPhone(to, { scenario: { rings: 1, steps: [{ say: "yes", personaSilentMs: 200 }] } });
    const sid = await dial(to, a);
    await emu.waitForCall(sid);
    const rec = await record(sid);
    expect(rec.status).toBe("completed");
    expect(rec.twiml).toEqual(["Connect", "Say"]);
    expect(rec.streams[0]!.end).toMatch(/closed by app/);
    expect(rec.heard.at(-1)).toMatchObject({ text: "Goodbye", source: "say" });
    expect(rec.endReason).toBe("TwiML finished");
  });

  it("ends the call as an application error when the TwiML URL fails", async () => {
    const a = await app({ twimlStatus: 500 });
    const to = number();
    const sid = await dial(to, a);
    await emu.waitForCall(sid);
    const rec = await record(sid);
    expect(rec.status).toBe("completed");
    expect(rec.errors.join(" ")).toMatch(/answered 500/);
  });
});

describe("callee outcomes", () => {
  const outcome = async (scenario: Scenario, extra: Record<string, unknown> = {}): Promise<{ sid: string; a: EchoApp; rec: Rec }> => {
    const a = await app({ greeting: "Hello, this is your reminder call." });
    const to = number();
    emu.setPhone(to, { scenario });
    const sid = await dial(to, a, extra);
    await emu.waitForCall(sid);
    return { sid, a, rec: await record(sid) };
  };

  it("busy, failed and no-answer end with the right status and callbacks", async () => {
    const busy = await outcome({ answer: "busy" });
    expect(busy.rec.status).toBe("busy");
    expect(busy.a.callbacks.filter((c) => c.path === "/status").map((c) => c.params.CallStatus)).toEqual(["initiated", "busy"]);
    const failed = await outcome({ answer: "failed" });
    expect(failed.rec.status).toBe("failed");
    const noAnswer = await outcome({ answer: "no-answer" }, { timeout: 1 });
    expect(noAnswer.rec.status).toBe("no-answer");
    expect(noAnswer.a.callbacks.filter((c) => c.path === "/status").map((c) => c.params.CallStatus)).toEqual(["initiated", "ringing", "no-answer"]);
    const fetched = await client.calls(noAnswer.sid).fetch();
    expect(fetched.status).toBe("no-answer");
    expect(fetched.price).toBeNull();
    // More rings than the Timeout allows is also no-answer.
    const slow = await outcome({ rings: 30 }, { timeout: 1 });
    expect(slow.rec.status).toBe("no-answer");
  });

  it("voicemail: greeting + beep into the stream, then records the message and hangs up on silence", async () => {
    const { rec, a } = await outcome({ answer: "voicemail", greeting: "Hi, you've reached Sam.", voicemailSilenceMs: 500 });
    expect(rec.status).toBe("completed");
    expect(rec.said.map((u) => u.kind)).toEqual(["greeting", "beep"]);
    expect(a.sessions[0]!.heard[0]).toBe("Hi, you've reached Sam.");
    expect(rec.heardText).toContain("Hello, this is your reminder call.");
    expect(rec.endReason).toMatch(/voicemail/);
    expect(rec.answeredBy).toBeNull();
  });

  it("machine detection: DetectMessageEnd waits for the beep; async AMD posts AnsweredBy", async () => {
    const sync = await outcome({ answer: "voicemail", greeting: "Leave a message.", voicemailSilenceMs: 400 }, { machineDetection: "DetectMessageEnd" });
    expect(sync.rec.answeredBy).toBe("machine_end_beep");
    expect(sync.a.callbacks.find((c) => c.path === "/twiml")?.params.AnsweredBy).toBe("machine_end_beep");
    // The greeting played before the TwiML ran, so the app's stream never heard it.
    expect(sync.a.sessions[0]!.heard).toEqual([]);
    expect((await client.calls(sync.sid).fetch()).answeredBy).toBe("machine_end_beep");

    const async = await outcome(
      { answer: "voicemail", greeting: "Leave a message.", voicemailSilenceMs: 400 },
      { machineDetection: "Enable", asyncAmd: "true", asyncAmdStatusCallback: "", machineDetectionSpeechThreshold: 1000 },
    );
    expect(async.rec.answeredBy).toBe("machine_start");

    const a = await app();
    const to = number();
    emu.setPhone(to, { scenario: { rings: 1, steps: [{ hangup: true, pauseMs: 300 }] } });
    const sid = await dial(to, a, { machineDetection: "Enable", asyncAmd: "true", asyncAmdStatusCallback: a.amdUrl, machineDetectionSpeechEndThreshold: 200 });
    await emu.waitForCall(sid);
    const amd = a.callbacks.find((c) => c.path === "/amd")!;
    expect(amd.valid).toBe(true);
    expect(amd.params).toMatchObject({ CallSid: sid, AnsweredBy: "human" });
  });

  it("enforces TimeLimit", async () => {
    const a = await app({ greeting: "hi" });
    const to = number();
    emu.setPhone(to, { scenario: { rings: 1, steps: [] } });
    const sid = await dial(to, a, { timeLimit: 1 });
    const call = await emu.waitForCall(sid, 5000);
    expect(call.endReason).toBe("TimeLimit reached");
    expect(call.durationS).toBe(1);
    expect(a.sessions[0]!.events.at(-1)?.event).toBe("stop");
  });

  it("hangs up through the REST API: completed for in-progress, canceled while ringing", async () => {
    const a = await app({ greeting: "hi" });
    const to = number();
    emu.setPhone(to, { scenario: { rings: 1, steps: [] } });
    const sid = await dial(to, a);
    for (let i = 0; i < 100 && a.sessions.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const updated = await client.calls(sid).update({ status: "completed" });
    expect(updated.status).toBe("completed");
    await emu.waitForCall(sid);
    expect(a.sessions[0]!.events.at(-1)?.event).toBe("stop");
    expect((await record(sid)).endReason).toBe("REST update Status=completed");

    const to2 = number();
    emu.setPhone(to2, { scenario: { rings: 100 } });
    const sid2 = await dial(to2, a);
    await new Promise((r) => setTimeout(r, 150));
    expect((await client.calls(sid2).update({ status: "canceled" })).status).toBe("canceled");
    await emu.waitForCall(sid2);
    expect(a.callbacks.filter((c) => c.params.CallSid === sid2).map((c) => c.params.CallStatus)).toContain("canceled");
  });

  it("redirects an in-progress call to new TwiML through the REST API", async () => {
    const a = await app({ greeting: "hi" });
    const to = number();
    emu.setPhone(to, { scenario: { rings: 1, steps: [] } });
    const sid = await dial(to, a);
    for (let i = 0; i < 100 && a.sessions.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await client.calls(sid).update({ twiml: "<Response><Say>Moved on</Say></Response>" });
    await emu.waitForCall(sid);
    const rec = await record(sid);
    expect(rec.twiml).toEqual(["Connect", "Say"]);
    expect(rec.streams[0]!.end).toBe("redirected (REST update)");
    expect(a.sessions[0]!.events.at(-1)?.event).toBe("stop");
    expect(rec.heard.at(-1)).toMatchObject({ text: "Moved on", source: "say" });
    await expect(client.calls(sid).update({ twiml: "<Response/>" })).rejects.toMatchObject({ status: 400, code: 21220 });
  });

  it("uses the documented default scenario for unknown numbers", async () => {
    const a = await app({ greeting: "Hi! Is now a good time?", reply: () => "Wonderful." });
    emu.knobs.set({ speechMsPerChar: 20 });
    const sid = await dial(number(), a);
    await emu.waitForCall(sid, 20_000);
    const rec = await record(sid);
    expect(rec.said[0]!.text).toBe("Hello?");
    expect(rec.said.map((u) => u.text)).toContain("Oh hi! Yes, now is a good time.");
    expect(rec.status).toBe("completed");
  });
});

describe("usage records and the bill", () => {
  it("reports minutes per call, rounded up per started minute", async () => {
    const to = number();
    emu.setPhone(to, { scenario: { rings: 1, steps: [{ hangup: true, pauseMs: 50 }] } });
    const sid = await dial(to, null, { twiml: "<Response><Pause length=\"10\"/></Response>" });
    await emu.waitForCall(sid);
    const bill = (await (await fetch(`${emu.url}/__sandbox/bill?callSid=${sid}`)).json()) as { calls: { durationS: number; billedMinutes: number; priceMicros: number }[]; totalMinutes: number };
    expect(bill.calls[0]).toMatchObject({ durationS: 1, billedMinutes: 1, priceMicros: 14_000 });
    expect(bill.totalMinutes).toBe(1);
    const all = (await (await fetch(`${emu.url}/__sandbox/bill`)).json()) as { totalMinutes: number; totalDurationS: number; totalPriceMicros: number; calls: unknown[] };
    expect(all.totalMinutes).toBeGreaterThanOrEqual(all.calls.length - 5);

    const records = await client.usage.records.list({ category: "calls" });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ category: "calls", usageUnit: "minutes", countUnit: "calls", priceUnit: "usd" });
    const completed = emu.calls().filter((c) => c.billedMinutes > 0);
    expect(Number(records[0]!.usage)).toBe(completed.reduce((a, c) => a + c.billedMinutes, 0));
    expect(Number(records[0]!.count)).toBe(completed.length);
    expect(records[0]!.startDate).toBeInstanceOf(Date);
    const today = new Date().toISOString().slice(0, 10);
    const daily = await client.usage.records.daily.list({ category: "calls-outbound", startDate: new Date(`${today}T00:00:00Z`), endDate: new Date(`${today}T00:00:00Z`) });
    expect(daily).toHaveLength(1);
    expect(daily[0]!.usage).toBe(records[0]!.usage);
  });
});

describe("Verify", () => {
  it("texts a code to the sandbox phone and checks it like Verify v2", async () => {
    const to = number();
    const v = await client.verify.v2.services(VERIFY).verifications.create({ to, channel: "sms" });
    expect(v).toMatchObject({ status: "pending", to, channel: "sms", serviceSid: VERIFY, accountSid: ACCOUNT, valid: false });
    expect(v.sid).toMatch(/^VE/);
    const inbox = (await (await fetch(`${emu.url}/__sandbox/phones/${encodeURIComponent(to)}/messages`)).json()) as { messages: { body: string }[] };
    const code = /(\d{6})/.exec(inbox.messages[0]!.body)?.[1] ?? "";
    expect(code).toMatch(/^\d{6}$/);
    const wrong = await client.verify.v2.services(VERIFY).verificationChecks.create({ to, code: code === "000000" ? "111111" : "000000" });
    expect(wrong).toMatchObject({ status: "pending", valid: false });
    const right = await client.verify.v2.services(VERIFY).verificationChecks.create({ to, code });
    expect(right).toMatchObject({ status: "approved", valid: true, sid: v.sid });
    await expect(client.verify.v2.services(VERIFY).verificationChecks.create({ to, code })).rejects.toMatchObject({ status: 404, code: 20404 });
    await expect(client.verify.v2.services("VA" + "0".repeat(32)).verifications.create({ to, channel: "sms" })).rejects.toMatchObject({ status: 404 });
  });

  it("allows 5 check attempts, then answers 429 (60202)", async () => {
    const to = number();
    await client.verify.v2.services(VERIFY).verifications.create({ to, channel: "sms" });
    const code = emu.inbox(to)[0]!.body.match(/\d{6}/)![0];
    const bad = code === "999999" ? "888888" : "999999";
    for (let i = 0; i < 5; i++) expect((await client.verify.v2.services(VERIFY).verificationChecks.create({ to, code: bad })).status).toBe("pending");
    await expect(client.verify.v2.services(VERIFY).verificationChecks.create({ to, code })).rejects.toMatchObject({ status: 429, code: 60202 });
  });

  it("also delivers Messages API texts to the inbox, latest first", async () => {
    const to = number();
    await client.messages.create({ to, from: FROM, body: "first" });
    const m = await client.messages.create({ to, from: FROM, body: "second" });
    expect(m.sid).toMatch(/^SM/);
    expect(emu.inbox(to).map((x) => x.body)).toEqual(["second", "first"]);
  });
});

describe("knobs", () => {
  it("REST latency, fail-next-N and 5xx rate", async () => {
    emu.knobs.set({ restLatencyMs: 150 });
    const t0 = Date.now();
    await client.usage.records.list({ category: "calls" });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    const res = await fetch(`${emu.url}/__sandbox/knobs`, { method: "POST", body: JSON.stringify({ restLatencyMs: 0, failNextRest: 2 }) });
    expect(((await res.json()) as { failNextRest: number }).failNextRest).toBe(2);
    await expect(client.usage.records.list()).rejects.toMatchObject({ status: 500, code: 20500 });
    await expect(client.usage.records.list()).rejects.toMatchObject({ status: 500 });
    await expect(client.usage.records.list()).resolves.toBeDefined();
    emu.knobs.set({ rest5xxRate: 1 });
    await expect(client.usage.records.list()).rejects.toMatchObject({ status: 500 });
  });

  it("ring time + answer delay, callback delay and duplicate callbacks", async () => {
    emu.knobs.set({ ringMs: 200, answerDelayMs: 300, callbackDelayMs: 100, duplicateCallbacks: true });
    const a = await app();
    const to = number();
    emu.setPhone(to, { scenario: { rings: 2, steps: [{ hangup: true }] } });
    const sid = await dial(to, a);
    const call = await emu.waitForCall(sid);
    const ringing = call.history.find((h) => h.status === "ringing")!.atMs;
    const answered = call.history.find((h) => h.status === "in-progress")!.atMs;
    expect(answered - ringing).toBeGreaterThanOrEqual(680);
    const statuses = a.callbacks.filter((c) => c.path === "/status").map((c) => c.params.CallStatus);
    expect(statuses).toEqual(["initiated", "initiated", "ringing", "ringing", "in-progress", "in-progress", "completed", "completed"]);
  });

  it("drops the media socket after N ms and the call completes", async () => {
    emu.knobs.set({ dropStreamAfterMs: 300 });
    const a = await app({ greeting: "hi" });
    const to = number();
    emu.setPhone(to, { scenario: { rings: 1, steps: [] } });
    const sid = await dial(to, a);
    await emu.waitForCall(sid);
    const rec = await record(sid);
    expect(rec.streams[0]!.end).toBe("dropped (dropStreamAfterMs)");
    expect(rec.status).toBe("completed");
    expect(a.sessions[0]!.events.some((e) => e.event === "stop")).toBe(false);
    expect(a.callbacks.filter((c) => c.path === "/stream-status").map((c) => c.params.StreamEvent)).toEqual(["stream-started", "stream-stopped"]);
  });

  it("frame jitter delays frames but keeps order; speech rate sets utterance length", async () => {
    emu.knobs.set({ frameJitterMs: 60, speechMsPerChar: 100 });
    const a = await app();
    const to = number();
    emu.setPhone(to, { scenario: { rings: 1, steps: [{ say: "abcde" }, { hangup: true, pauseMs: 200 }] } });
    const sid = await dial(to, a);
    await emu.waitForCall(sid);
    const media = a.sessions[0]!.events.filter((e) => e.event === "media");
    expect(media.map((m) => Number(m.chunk))).toEqual(media.map((_, i) => i + 1));
    expect(a.sessions[0]!.heard).toEqual(["abcde"]);
    const u = (await record(sid)).said[0]!;
    expect(u.endMs! - u.startMs!).toBe(500);
  });
});

describe("sandbox phones", () => {
  it("accepts every example scenario in sandbox/scenarios", async () => {
    const dir = fileURLToPath(new URL("../scenarios/", import.meta.url));
    const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const f of files) {
      const scenario: unknown = JSON.parse(readFileSync(`${dir}${f}`, "utf8"));
      const res = await fetch(`${emu.url}/__sandbox/phones/${encodeURIComponent(number())}`, { method: "POST", body: JSON.stringify({ scenario }) });
      expect(res.status, f).toBe(200);
    }
  });

  it("backchannels while the persona talks, without a clear-worthy pause", async () => {
    const greeting = "So here is the plan for tomorrow: we meet at nine, then coffee, then the long walk by the river.";
    const a = await app({ greeting });
    const to = number();
    emu.setPhone(to, { scenario: { rings: 1, steps: [{ backchannel: "uh-huh", personaSpeakingMs: 300 }, { backchannel: "mm-hm", personaSpeakingMs: 300 }, { hangup: true, personaSilentMs: 300 }] } });
    const sid = await dial(to, a);
    await emu.waitForCall(sid);
    const rec = await record(sid);
    expect(rec.said.map((u) => [u.text, u.kind, u.bargeIn])).toEqual([
      ["uh-huh", "backchannel", true],
      ["mm-hm", "backchannel", true],
    ]);
    expect(rec.said[1]!.startMs! - rec.said[0]!.endMs!).toBeGreaterThanOrEqual(300);
    expect(rec.heardText).toBe(greeting);
    expect(rec.clears).toEqual([]);
  });

  it("rings an interactive phone: decline is busy, answer lets it talk", async () => {
    const a = await app({ greeting: "hey" });
    const to = number();
    const WS = createRequire(import.meta.url)("ws") as typeof WebSocketType;
    const phone = new WS(`${emu.url.replace("http", "ws")}/__sandbox/phone-ws?number=${encodeURIComponent(to)}`);
    const events: { type: string; callSid?: string; status?: string }[] = [];
    phone.on("message", (d) => events.push(JSON.parse(String(d)) as { type: string }));
    await new Promise((r) => phone.once("open", r));
    const waitFor = async (pred: (e: { type: string; status?: string }) => boolean): Promise<void> => {
      for (let i = 0; i < 250 && !events.some(pred); i++) await new Promise((r) => setTimeout(r, 20));
      expect(events.some(pred)).toBe(true);
    };
    const declined = await dial(to, a);
    await waitFor((e) => e.type === "incoming");
    phone.send(JSON.stringify({ type: "decline", callSid: declined }));
    expect((await emu.waitForCall(declined)).status).toBe("busy");

    events.length = 0;
    const answered = await dial(to, a);
    await waitFor((e) => e.type === "incoming");
    phone.send(JSON.stringify({ type: "answer", callSid: answered }));
    await waitFor((e) => e.type === "status" && e.status === "in-progress");
    for (let i = 0; i < 100 && a.sessions.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    phone.send(JSON.stringify({ type: "say", callSid: answered, text: "typed words" }));
    phone.send(JSON.stringify({ type: "dtmf", callSid: answered, digits: "9" }));
    for (let i = 0; i < 150 && a.sessions.at(-1)!.heard.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    phone.send(JSON.stringify({ type: "hangup", callSid: answered }));
    const call = await emu.waitForCall(answered);
    expect(call.status).toBe("completed");
    expect(a.sessions.at(-1)!.heard).toEqual(["typed words"]);
    expect(call.dtmf.map((d) => d.digit)).toEqual(["9"]);
    expect(events.some((e) => e.type === "audio")).toBe(true);
    phone.close();
  });

  it("validates scenario registrations", async () => {
    const to = number();
    const bad = await fetch(`${emu.url}/__sandbox/phones/${encodeURIComponent(to)}`, { method: "POST", body: JSON.stringify({ scenario: { steps: [{ sing: "la" }] } }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/steps\[0\]/);
    const ok = await fetch(`${emu.url}/__sandbox/phones/${encodeURIComponent(to)}`, { method: "POST", body: JSON.stringify({ scenario: { answer: "busy" } }) });
    expect(ok.status).toBe(200);
    const list = (await (await fetch(`${emu.url}/__sandbox/calls`)).json()) as { calls: unknown[] };
    expect(Array.isArray(list.calls)).toBe(true);
  });
});
