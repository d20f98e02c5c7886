/**
 * Money inside a real call (Worker → CallSession Durable Object → pipeline on the emulators),
 * over the browser transport (same Twilio Media Streams protocol): priced cost events reach
 * Postgres as the call runs, `GET /api/calls/:id/cost` breaks them down, the live stream carries
 * `cost` events every ~2 s, credits pay and the unused time is refunded; and a budget below the
 * call's price ends the call with the spoken goodbye before the next billing minute.
 */
import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import { callEvents, personas, users } from "../../worker/db/schema";
import { parseEnv } from "../../worker/env";
import { appendCredit, creditBalance } from "../../worker/services/credits";
import { api, newAccount, type Account } from "./helpers";

const db = createDb(parseEnv(env));

async function paidAccount(creditMicros: number): Promise<Account> {
  const acct = await newAccount("Money Caller");
  await db.update(users).set({ freeTrialUsedAt: new Date() }).where(eq(users.id, acct.user.id));
  await appendCredit(db, { userId: acct.user.id, kind: "grant", amountMicros: creditMicros, idempotencyKey: `test:${acct.user.id}:grant`, description: "test" });
  return acct;
}

async function brad(): Promise<string> {
  const [p] = await db.select({ id: personas.id }).from(personas).where(eq(personas.slug, "brad"));
  return p!.id;
}

interface LiveCost {
  type: string;
  totalMicros?: number;
  byService?: Record<string, number>;
  message?: string;
}

/** Place a browser call, open its socket and the live event stream; feed silence like a phone. */
async function browserCall(acct: Account, minutes: number) {
  const placed = await api<{ call: { id: string; priceMicros: number } }>("POST", "/api/calls", {
    token: acct.token,
    body: { personaId: await brad(), transport: "browser", durationMinutes: minutes },
  });
  expect(placed.status).toBe(201);
  const callId = placed.body.call.id;
  const live: LiveCost[] = [];
  const sse = await exports.default.fetch(new Request(`http://api.test/api/calls/${callId}/events`, { headers: { Authorization: `Bearer ${acct.token}` } }));
  expect(sse.status).toBe(200);
  const reader = sse.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += value ?? "";
      let idx: number;
      while ((idx = buffer.indexOf("\n\n")) >= 0) {
        const chunk = buffer.slice(0, idx);
        buffer = buffer.slice(idx + 2);
        for (const line of chunk.split("\n")) if (line.startsWith("data:")) live.push(JSON.parse(line.slice(5)) as LiveCost);
      }
    }
  })();
  const t = await api<{ ticket: string }>("POST", `/api/calls/${callId}/ticket`, { token: acct.token, body: { purpose: "browser" } });
  const res = await exports.default.fetch(new Request(`http://api.test/api/calls/${callId}/browser`, { headers: { Upgrade: "websocket" } }));
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const streamSid = `MZ${callId.slice(0, 8)}`;
  ws.send(JSON.stringify({ event: "connected", protocol: "Call", version: "1.0.0" }));
  ws.send(
    JSON.stringify({
      event: "start",
      sequenceNumber: "1",
      streamSid,
      start: { streamSid, accountSid: "browser", callSid: callId, tracks: ["inbound"], customParameters: { token: t.body.ticket }, mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 } },
    }),
  );
  let seq = 2;
  let chunk = 1;
  const silence = btoa(String.fromCharCode(...new Array<number>(160).fill(0xff)));
  let closed = false;
  ws.addEventListener("close", () => (closed = true));
  /** Feed `ms` of silence in real time (5 frames per 100 ms). */
  const talk = async (ms: number, stop?: () => boolean) => {
    for (let t = 0; t < ms && !closed && !stop?.(); t += 100) {
      for (let i = 0; i < 5; i++) {
        try {
          ws.send(JSON.stringify({ event: "media", sequenceNumber: String(seq++), streamSid, media: { track: "inbound", chunk: String(chunk++), timestamp: String(chunk * 20), payload: silence } }));
        } catch {
          closed = true;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const hangUp = () => {
    if (!closed) ws.send(JSON.stringify({ event: "stop", sequenceNumber: String(seq++), streamSid, stop: { accountSid: "browser", callSid: callId } }));
  };
  const ended = async () => {
    for (let i = 0; i < 100; i++) {
      // ended and settled (the charge is booked right after the end)
      const call = (await api<{ call: { endedAt: string | null; chargeMicros: number | null } }>("GET", `/api/calls/${callId}`, { token: acct.token })).body.call;
      if (call.endedAt && call.chargeMicros !== null) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("call did not end");
  };
  return { callId, live, talk, hangUp, ended, isClosed: () => closed };
}

describe("money in a live call", () => {
  it("records priced cost events, streams the running cost, and charges credits for the started minute", async () => {
    const acct = await paidAccount(10_000_000);
    const call = await browserCall(acct, 3);
    expect(await creditBalance(db, acct.user.id)).toBe(10_000_000 - 3_990_000);
    await call.talk(6_000);
    call.hangUp();
    await call.ended();
    const costs = call.live.filter((e) => e.type === "cost");
    expect(costs.length).toBeGreaterThanOrEqual(2);
    expect(costs.at(-1)!.byService).toMatchObject({ platform: 20_000, elevenlabs: expect.any(Number) });
    const breakdown = await api<{ totalMicros: number; byService: Record<string, number>; chargeMicros: number; events: { service: string; eventKey: string }[] }>(
      "GET",
      `/api/calls/${call.callId}/cost`,
      { token: acct.token },
    );
    expect(breakdown.status).toBe(200);
    expect(breakdown.body.byService.platform).toBe(20_000);
    expect(breakdown.body.byService.twilio).toBeUndefined(); // browser call: no telephony minutes
    expect(breakdown.body.byService.elevenlabs).toBeGreaterThan(0);
    expect(breakdown.body.totalMicros).toBe(Object.values(breakdown.body.byService).reduce((a, b) => a + b, 0));
    expect(breakdown.body.totalMicros).toBeGreaterThanOrEqual(costs.at(-1)!.totalMicros! - 1);
    expect(new Set(breakdown.body.events.map((e) => e.eventKey)).size).toBe(breakdown.body.events.length);
    // one started minute of a $3.99 / 3-minute call
    expect(breakdown.body.chargeMicros).toBe(1_330_000);
    expect(await creditBalance(db, acct.user.id)).toBe(10_000_000 - 1_330_000);
    const other = await newAccount();
    expect((await api("GET", `/api/calls/${call.callId}/cost`, { token: other.token })).status).toBe(404);
  });

  it(
    "a per-call budget below the price ends the call with the spoken goodbye before the next minute is spent",
    async () => {
      const acct = await paidAccount(20_000_000);
      // $1.50: the first minute ($1.33 of a 3-minute call) fits, the second ($2.66) does not
      await api("PUT", "/api/user/budget-settings", { token: acct.token, body: { perCallLimitMicros: 1_500_000, warnAtPercent: 50 } });
      const call = await browserCall(acct, 3);
      const started = Date.now();
      await call.talk(75_000, () => call.live.some((e) => e.type === "ended"));
      await call.ended();
      const elapsed = Date.now() - started;
      expect(elapsed).toBeLessThan(62_000);
      const rows = await db.select().from(callEvents).where(eq(callEvents.callId, call.callId));
      const types = rows.map((r) => r.type);
      expect(types).toContain("budget.warning");
      expect(types).toContain("budget.cutoff");
      const res = await api<{ call: { endReason: string; chargeMicros: number } }>("GET", `/api/calls/${call.callId}`, { token: acct.token });
      expect(res.body.call.endReason).toBe("budget_limit");
      expect(res.body.call.chargeMicros).toBe(1_330_000);
      expect(res.body.call.chargeMicros).toBeLessThanOrEqual(1_500_000);
      const turns = await api<{ turns: { speaker: string; text: string }[] }>("GET", `/api/calls/${call.callId}`, { token: acct.token });
      expect(JSON.stringify(turns.body)).toContain("spending limit you set");
    },
    120_000,
  );
});
