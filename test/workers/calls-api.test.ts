/**
 * The call API inside workerd (Worker + CallSession Durable Object + Postgres + the Twilio
 * emulator): phone verification by SMS code with limited attempts, the checks before dialling
 * (verified phone, readable persona, one live call), signed and monotonic Twilio status
 * callbacks that finalize the call once, refused forged media-stream upgrades, and a browser call
 * over the Twilio-protocol socket opened with a single-use ticket.
 */
import { env, exports } from "cloudflare:workers";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks";
import { describe, expect, inject, it } from "vitest";
import { api, expectEnvelope, newAccount, type Account } from "./helpers";

const twilioUrl = (): string => inject("workerEnv").TWILIO_BASE_URL as string;
const authToken = (): string => inject("workerEnv").TWILIO_AUTH_TOKEN as string;

let phoneCounter = 0;
function uniquePhone(): string {
  phoneCounter += 1;
  return `+1555${String(Date.now() % 10_000_000).padStart(7, "0").slice(0, 5)}${String(phoneCounter).padStart(2, "0")}`;
}

async function latestCode(phone: string): Promise<string> {
  const res = await fetch(`${twilioUrl()}/__sandbox/phones/${encodeURIComponent(phone)}/messages`);
  const body = (await res.json()) as { messages: { body: string }[] };
  const m = /(\d{4,10})/.exec(body.messages[0]?.body ?? "");
  if (!m?.[1]) throw new Error("no code in the inbox");
  return m[1];
}

async function verifiedAccount(): Promise<Account & { phone: string }> {
  const acct = await newAccount();
  const phone = uniquePhone();
  const start = await api("POST", "/api/user/phone/verify", { token: acct.token, body: { phone } });
  expect(start.status).toBe(200);
  const check = await api("POST", "/api/user/phone/verify/check", { token: acct.token, body: { code: await latestCode(phone) } });
  expect(check.status).toBe(200);
  return { ...acct, phone };
}

async function bradId(token: string): Promise<string> {
  const res = await api<{ personas: { id: string; slug: string | null }[] }>("GET", "/api/personas", { token });
  const brad = res.body.personas.find((p) => p.slug === "brad");
  if (!brad) throw new Error("brad not seeded");
  return brad.id;
}

async function signedCallback(path: string, params: Record<string, string>): Promise<Response> {
  const url = `http://api.test${path}`;
  const signature = getExpectedTwilioSignature(authToken(), url, params);
  return exports.default.fetch(
    new Request(url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature },
      body: new URLSearchParams(params).toString(),
    }),
  );
}

describe("phone verification", () => {
  it("verifies a phone with the texted code; wrong codes are rejected and limited", async () => {
    const acct = await newAccount();
    const phone = uniquePhone();
    const start = await api<{ status: string; phoneMasked: string }>("POST", "/api/user/phone/verify", { token: acct.token, body: { phone } });
    expect(start.status).toBe(200);
    expect(start.body.status).toBe("pending");
    expect(start.body.phoneMasked).not.toContain(phone.slice(0, 6));
    const code = await latestCode(phone);
    const wrong = code === "000000" ? "111111" : "000000";
    expectEnvelope(await api("POST", "/api/user/phone/verify/check", { token: acct.token, body: { code: wrong } }), 400, "validation_failed");
    const ok = await api("POST", "/api/user/phone/verify/check", { token: acct.token, body: { code } });
    expect(ok.status).toBe(200);
    const me = await api<{ user: { phoneVerified: boolean } }>("GET", "/api/auth/me", { token: acct.token });
    expect(me.body.user.phoneVerified).toBe(true);
  });

  it("locks the code after five wrong attempts", async () => {
    const acct = await newAccount();
    const phone = uniquePhone();
    await api("POST", "/api/user/phone/verify", { token: acct.token, body: { phone } });
    const code = await latestCode(phone);
    const wrong = code === "000000" ? "111111" : "000000";
    for (let i = 0; i < 5; i++) {
      expect((await api("POST", "/api/user/phone/verify/check", { token: acct.token, body: { code: wrong } })).status).toBe(400);
    }
    expectEnvelope(await api("POST", "/api/user/phone/verify/check", { token: acct.token, body: { code } }), 429, "rate_limited");
  });
});

describe("placing a call", () => {
  it("refuses an unverified phone and an unknown persona", async () => {
    const acct = await newAccount();
    const personaId = await bradId(acct.token);
    expectEnvelope(await api("POST", "/api/calls", { token: acct.token, body: { personaId } }), 403, "forbidden");
    const v = await verifiedAccount();
    expectEnvelope(await api("POST", "/api/calls", { token: v.token, body: { personaId: crypto.randomUUID() } }), 404, "not_found");
  });

  it("dials through Twilio, allows one live call, applies signed callbacks monotonically and finalizes once", async () => {
    const v = await verifiedAccount();
    const personaId = await bradId(v.token);
    const placed = await api<{ call: { id: string; status: string; toPhoneMasked: string; durationLimitS: number } }>("POST", "/api/calls", {
      token: v.token,
      body: { personaId, durationMinutes: 3 },
    });
    expect(placed.status).toBe(201);
    const call = placed.body.call;
    expect(call.durationLimitS).toBe(180);
    expect(call.toPhoneMasked.endsWith(v.phone.slice(-4))).toBe(true);
    expect(call.toPhoneMasked).not.toContain(v.phone.slice(0, 8));
    expectEnvelope(await api("POST", "/api/calls", { token: v.token, body: { personaId } }), 409, "conflict");

    // Unsigned or forged callbacks are refused.
    const forged = await exports.default.fetch(
      new Request(`http://api.test/twilio/status/${call.id}`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "bm9wZQ==" },
        body: "CallStatus=completed",
      }),
    );
    expect(forged.status).toBe(403);

    expect((await signedCallback(`/twilio/status/${call.id}`, { CallStatus: "in-progress" })).status).toBe(204);
    expect((await signedCallback(`/twilio/status/${call.id}`, { CallStatus: "ringing" })).status).toBe(204);
    let detail = await api<{ call: { status: string } }>("GET", `/api/calls/${call.id}`, { token: v.token });
    expect(detail.body.call.status).toBe("in_progress");

    expect((await signedCallback(`/twilio/status/${call.id}`, { CallStatus: "completed", CallDuration: "7" })).status).toBe(204);
    expect((await signedCallback(`/twilio/status/${call.id}`, { CallStatus: "completed", CallDuration: "7" })).status).toBe(204);
    for (let i = 0; i < 40; i++) {
      detail = await api("GET", `/api/calls/${call.id}`, { token: v.token });
      if ((detail.body.call as { endedAt?: string | null }).endedAt) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(detail.body.call).toMatchObject({ status: "completed", durationS: 7, endReason: "caller_hung_up" });
    const rel = await api<{ relationship: { totalCalls: number } }>("GET", `/api/personas/${personaId}/relationship`, { token: v.token });
    expect(rel.body.relationship.totalCalls).toBe(1);
    // A late ringing callback cannot revive it.
    await signedCallback(`/twilio/status/${call.id}`, { CallStatus: "ringing" });
    detail = await api("GET", `/api/calls/${call.id}`, { token: v.token });
    expect(detail.body.call.status).toBe("completed");
  });

  it("refuses forged media stream upgrades", async () => {
    const id = crypto.randomUUID();
    const res = await exports.default.fetch(
      new Request(`http://api.test/twilio/stream/${id}/forged`, { headers: { Upgrade: "websocket", "X-Twilio-Signature": "bm9wZQ==" } }),
    );
    expect(res.status).toBe(403);
    expect(res.webSocket).toBeNull();
    const noSig = await exports.default.fetch(new Request(`http://api.test/twilio/stream/${id}/forged`, { headers: { Upgrade: "websocket" } }));
    expect(noSig.status).toBe(403);
  });
});

describe("browser call", () => {
  it("talks over a ticketed socket speaking the Twilio protocol; the ticket is single use", async () => {
    const acct = await newAccount();
    const personaId = await bradId(acct.token);
    const placed = await api<{ call: { id: string; transport: string } }>("POST", "/api/calls", {
      token: acct.token,
      body: { personaId, transport: "browser", durationMinutes: 3 },
    });
    expect(placed.status).toBe(201);
    const callId = placed.body.call.id;
    const t = await api<{ ticket: string; url: string }>("POST", `/api/calls/${callId}/ticket`, { token: acct.token, body: { purpose: "browser" } });
    expect(t.status).toBe(200);
    const open = (ticket: string) =>
      exports.default.fetch(new Request(`http://api.test/api/calls/${callId}/browser?ticket=${encodeURIComponent(ticket)}`, { headers: { Upgrade: "websocket" } }));
    expect((await open("forged")).status).toBe(401);
    const res = await open(t.body.ticket);
    expect(res.status).toBe(101);
    const ws = res.webSocket;
    if (!ws) throw new Error("no socket");
    ws.accept();
    const received: { event: string }[] = [];
    ws.addEventListener("message", (ev) => {
      if (typeof ev.data === "string") received.push(JSON.parse(ev.data) as { event: string });
    });
    expect((await open(t.body.ticket)).status).toBe(401);
    const streamSid = "MZbrowser";
    ws.send(JSON.stringify({ event: "connected", protocol: "Call", version: "1.0.0" }));
    ws.send(
      JSON.stringify({
        event: "start",
        sequenceNumber: "1",
        streamSid,
        start: {
          streamSid,
          accountSid: "browser",
          callSid: callId,
          tracks: ["inbound"],
          customParameters: {},
          mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
        },
      }),
    );
    // Keep feeding silence (as a phone does) until the greeting audio arrives.
    const silence = btoa(String.fromCharCode(...new Array<number>(160).fill(0xff)));
    for (let i = 0; i < 150 && !received.some((m) => m.event === "media"); i++) {
      ws.send(JSON.stringify({ event: "media", sequenceNumber: String(i + 2), streamSid, media: { track: "inbound", chunk: String(i + 1), timestamp: String(i * 20), payload: silence } }));
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(received.some((m) => m.event === "media")).toBe(true);
    ws.send(JSON.stringify({ event: "stop", sequenceNumber: "999", streamSid, stop: { accountSid: "browser", callSid: callId } }));
    let call: { status: string; endedAt: string | null; answeredAt: string | null } = { status: "", endedAt: null, answeredAt: null };
    for (let i = 0; i < 50; i++) {
      call = (await api<{ call: typeof call }>("GET", `/api/calls/${callId}`, { token: acct.token })).body.call;
      if (call.endedAt) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(call.status).toBe("completed");
    expect(call.answeredAt).not.toBeNull();
    const obj = await env.TRANSCRIPTS.get(`transcripts/${acct.user.id}/${callId}.json`);
    expect(obj).not.toBeNull();
  });
});
