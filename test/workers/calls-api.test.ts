/**
 * The call API inside workerd (Worker + CallSession Durable Object + Postgres + the Twilio
 * emulator): phone verification by SMS code with limited attempts, the checks before dialling
 * (verified phone, readable persona, one live call), signed and monotonic Twilio status
 * callbacks that finalize the call once, refused forged media-stream upgrades, the stream token
 * checked at `start` (only as a TwiML <Parameter>, never in a URL or a log line), and a browser
 * call over the Twilio-protocol socket authenticated by a single-use ticket in its `start`.
 */
import { env, exports } from "cloudflare:workers";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks";
import { describe, expect, inject, it } from "vitest";
import { parseTwiml } from "../../sandbox/twilio/twiml";
import { setLogSink } from "../../worker/log";
import { streamTwiml } from "../../worker/services/calls";
import { signStreamToken } from "../../worker/services/stream-token";
import { getCallTimeline } from "../../worker/services/timeline";
import { api, expectEnvelope, newAccount, type Account } from "./helpers";
import { testDb } from "./ops-fixtures";

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

  it("refuses forged media stream upgrades before any Durable Object is touched", async () => {
    const id = crypto.randomUUID();
    const forged = await twilioUpgrade(id, "bm9wZQ==");
    expect(forged.status).toBe(403);
    expect(forged.webSocket).toBeNull();
    // The Worker answered (a Durable Object would say "call is not live").
    expect(await forged.text()).toBe("invalid signature");
    expect((await twilioUpgrade(id, null)).status).toBe(403);
    // A valid signature for another call's URL does not open this one.
    expect((await twilioUpgrade(id, streamSignature(crypto.randomUUID()))).status).toBe(403);
    // The old URL shape (a token segment in the path) is no stream of ours, signed or not.
    const legacyUrl = `ws://api.test/twilio/stream/${id}/eyJhbGciOiJIUzI1NiJ9.e30.x`;
    const legacy = await exports.default.fetch(
      new Request(legacyUrl.replace(/^ws/, "http"), { headers: { Upgrade: "websocket", "X-Twilio-Signature": getExpectedTwilioSignature(authToken(), legacyUrl, {}) } }),
    );
    expect(legacy.status).toBe(403);
  });
});

// ─────────────────────────────────────────────────────────────── media stream authentication

const WS_BASE = "ws://api.test";
const jwtSecret = (): string => inject("workerEnv").JWT_SECRET as string;
const streamSignature = (callId: string): string => getExpectedTwilioSignature(authToken(), `${WS_BASE}/twilio/stream/${callId}`, {});

/** The Twilio stream upgrade as Twilio sends it (signature over the wss URL), or with `signature` instead. */
function twilioUpgrade(callId: string, signature: string | null = streamSignature(callId)): Promise<Response> {
  const headers: Record<string, string> = { Upgrade: "websocket" };
  if (signature !== null) headers["X-Twilio-Signature"] = signature;
  return exports.default.fetch(new Request(`http://api.test/twilio/stream/${callId}`, { headers }));
}

interface OpenStream {
  ws: WebSocket;
  received: { event: string }[];
  closed: Promise<{ code: number; reason: string }>;
  send(msg: object): void;
}

function openStream(res: Response): OpenStream {
  expect(res.status).toBe(101);
  const ws = res.webSocket;
  if (!ws) throw new Error("no socket");
  ws.accept();
  const received: { event: string }[] = [];
  ws.addEventListener("message", (ev) => {
    if (typeof ev.data === "string") received.push(JSON.parse(ev.data) as { event: string });
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.addEventListener("close", (ev) => resolve({ code: ev.code, reason: ev.reason })));
  return {
    ws,
    received,
    closed,
    send: (msg) => {
      try {
        ws.send(JSON.stringify(msg));
      } catch {
        // closed by the other side
      }
    },
  };
}

const SILENCE = btoa(String.fromCharCode(...new Array<number>(160).fill(0xff)));
const startMessage = (callSid: string, customParameters: Record<string, string>) => ({
  event: "start",
  sequenceNumber: "1",
  streamSid: "MZstream",
  start: { streamSid: "MZstream", accountSid: "AC", callSid, tracks: ["inbound"], customParameters, mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 } },
});
const mediaMessage = (i: number) => ({ event: "media", sequenceNumber: String(i + 2), streamSid: "MZstream", media: { track: "inbound", chunk: String(i + 1), timestamp: String(i * 20), payload: SILENCE } });

/** Feeds silence for up to `ms` (as a phone does) until `until()`; true when it happened. */
async function feedUntil(s: OpenStream, until: () => boolean, ms: number): Promise<boolean> {
  for (let i = 0; i < ms / 20 && !until(); i++) {
    s.send(mediaMessage(i));
    await new Promise((r) => setTimeout(r, 20));
  }
  return until();
}

/** A start that must be refused: the socket closes with 1008, and no audio came out. */
async function expectRefused(s: OpenStream, callSid: string, customParameters: Record<string, string>): Promise<string> {
  s.send({ event: "connected", protocol: "Call", version: "1.0.0" });
  s.send(startMessage(callSid, customParameters));
  await feedUntil(s, () => s.received.length > 0, 600);
  const closed = await s.closed;
  expect(closed.code).toBe(1008);
  expect(s.received.filter((m) => m.event === "media")).toEqual([]);
  return closed.reason;
}

describe("media stream authentication", () => {
  it("the TwiML names the call in the stream URL and carries the token only as a <Parameter>", async () => {
    const callId = crypto.randomUUID();
    const { token } = await signStreamToken(jwtSecret(), { callId, purpose: "twilio" }, 300);
    const xml = streamTwiml({ publicBaseUrl: "https://calls.example.com" }, callId, token);
    const [verb] = parseTwiml(xml);
    if (verb?.verb !== "Connect" || !verb.stream) throw new Error(`no <Connect><Stream> in ${xml}`);
    expect(verb.stream.url).toBe(`wss://calls.example.com/twilio/stream/${callId}`);
    expect(verb.stream.parameters).toEqual({ callId, token });
    expect(xml.split(token)).toHaveLength(2); // the token appears once: the <Parameter> value
    expect(xml).toContain(`<Parameter name="token" value="${token}"/>`);

    // The call Twilio was really asked to place: the emulator dialled a stream URL without a token.
    const v = await verifiedAccount();
    const answer = await fetch(`${twilioUrl()}/__sandbox/phones/${encodeURIComponent(v.phone)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ scenario: { name: "answers", rings: 1, steps: [] } }),
    });
    expect(answer.status).toBe(200);
    const placed = await api<{ call: { id: string } }>("POST", "/api/calls", { token: v.token, body: { personaId: await bradId(v.token), durationMinutes: 3 } });
    expect(placed.status).toBe(201);
    type StreamRecord = { url: string; customParameters: Record<string, string> };
    let streams: StreamRecord[] = [];
    for (let i = 0; i < 100 && streams.length === 0; i++) {
      const list = (await (await fetch(`${twilioUrl()}/__sandbox/calls`)).json()) as { calls: { callSid: string; to: string }[] };
      const sid = list.calls.find((c) => c.to === v.phone)?.callSid;
      if (sid) streams = ((await (await fetch(`${twilioUrl()}/__sandbox/calls/${sid}`)).json()) as { streams: StreamRecord[] }).streams;
      if (streams.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(streams[0]?.url).toBe(`${WS_BASE}/twilio/stream/${placed.body.call.id}`);
    expect(streams[0]?.customParameters).toEqual({ callId: placed.body.call.id, token: "[redacted]" });
  });

  it("a signed upgrade must still present this call's unused Twilio token at start; the token never reaches a log", async () => {
    const lines: string[] = [];
    const restore = setLogSink((_level, line) => lines.push(line));
    const tokens: string[] = [];
    try {
      const v = await verifiedAccount();
      const placed = await api<{ call: { id: string } }>("POST", "/api/calls", { token: v.token, body: { personaId: await bradId(v.token), durationMinutes: 3 } });
      expect(placed.status).toBe(201);
      const callId = placed.body.call.id;
      const sign = async (claims: { callId: string; purpose: "twilio" | "browser" }, secret = jwtSecret()) => {
        const { token } = await signStreamToken(secret, claims, 300);
        tokens.push(token);
        return token;
      };

      // Media before any start is ignored; a start without a token closes the socket.
      const early = openStream(await twilioUpgrade(callId));
      for (let i = 0; i < 10; i++) early.send(mediaMessage(i));
      expect(await expectRefused(early, callId, { callId })).toBe("refused: missing token");
      // Another call's token, a browser ticket for this call, a forged token, garbage: refused.
      expect(await expectRefused(openStream(await twilioUpgrade(callId)), callId, { callId, token: await sign({ callId: crypto.randomUUID(), purpose: "twilio" }) })).toBe("refused: invalid token");
      expect(await expectRefused(openStream(await twilioUpgrade(callId)), callId, { callId, token: await sign({ callId, purpose: "browser" }) })).toBe("refused: invalid token");
      expect(await expectRefused(openStream(await twilioUpgrade(callId)), callId, { callId, token: await sign({ callId, purpose: "twilio" }, "not-the-secret-not-the-secret-0123") })).toBe("refused: invalid token");
      expect(await expectRefused(openStream(await twilioUpgrade(callId)), callId, { callId, token: "not.a.jwt" })).toBe("refused: invalid token");
      // A browser-route socket never reaches a phone call.
      expect((await exports.default.fetch(new Request(`http://api.test/api/calls/${callId}/browser`, { headers: { Upgrade: "websocket" } }))).status).toBe(404);

      // The real token: the greeting plays.
      const good = await sign({ callId, purpose: "twilio" });
      const live = openStream(await twilioUpgrade(callId));
      live.send({ event: "connected", protocol: "Call", version: "1.0.0" });
      live.send(startMessage(callId, { callId, token: good }));
      expect(await feedUntil(live, () => live.received.some((m) => m.event === "media"), 5_000)).toBe(true);
      // While it is live no second stream is accepted.
      expect((await twilioUpgrade(callId)).status).toBe(409);
      live.send({ event: "stop", sequenceNumber: "999", streamSid: "MZstream", stop: { accountSid: "AC", callSid: callId } });
      await live.closed;
      // The token is single use: replaying it on a new (signed) socket is refused.
      expect(await expectRefused(openStream(await twilioUpgrade(callId)), callId, { callId, token: good })).toBe("refused: token already used");

      // Each refusal is on the call's timeline, without the token.
      let refused: { message: string; data: unknown }[] = [];
      for (let i = 0; i < 50 && refused.length < 6; i++) {
        refused = (await getCallTimeline(testDb(), callId))?.events.filter((e) => e.type === "stream.refused") ?? [];
        if (refused.length < 6) await new Promise((r) => setTimeout(r, 100));
      }
      expect(refused.map((e) => e.message).sort()).toEqual([
        "media stream refused: invalid token",
        "media stream refused: invalid token",
        "media stream refused: invalid token",
        "media stream refused: invalid token",
        "media stream refused: missing token",
        "media stream refused: token already used",
      ]);
      for (const t of tokens) expect(JSON.stringify(refused)).not.toContain(t);
      await signedCallback(`/twilio/status/${callId}`, { CallStatus: "completed", CallDuration: "3" });
    } finally {
      restore();
    }
    // The logs were captured (the Worker's request lines and the Durable Object's refusals) …
    expect(lines.some((l) => l.includes('"msg":"request"') && l.includes("/twilio/stream/"))).toBe(true);
    expect(lines.filter((l) => l.includes('"msg":"media stream refused"')).length).toBeGreaterThanOrEqual(6);
    // … and no line carries any token, nor anything JWT-shaped.
    for (const t of tokens) expect(lines.filter((l) => l.includes(t))).toEqual([]);
    expect(lines.filter((l) => /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/.test(l))).toEqual([]);
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
    // The socket URL carries no secret; the ticket goes in the start message.
    expect(t.body.url).toBe(`ws://api.test/api/calls/${callId}/browser`);
    expect(t.body.url).not.toContain(t.body.ticket);
    const open = () => exports.default.fetch(new Request(`http://api.test/api/calls/${callId}/browser`, { headers: { Upgrade: "websocket" } }));
    // Only a live browser call's socket is reached at all.
    expect((await exports.default.fetch(new Request(`http://api.test/api/calls/${crypto.randomUUID()}/browser`, { headers: { Upgrade: "websocket" } }))).status).toBe(404);
    // A forged ticket, or none, closes the socket before any audio.
    expect(await expectRefused(openStream(await open()), callId, { callId, token: "forged" })).toBe("refused: invalid token");
    expect(await expectRefused(openStream(await open()), callId, { callId })).toBe("refused: missing token");
    // The Twilio route never reaches a browser call.
    expect((await twilioUpgrade(callId)).status).toBe(404);
    const spare = openStream(await open());
    const { ws, received } = openStream(await open());
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
          customParameters: { callId, token: t.body.ticket },
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
    // The ticket is single use (a socket opened earlier cannot reuse it); no new socket while live.
    expect(await expectRefused(spare, callId, { callId, token: t.body.ticket })).toBe("refused: token already used");
    expect((await open()).status).toBe(409);
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
