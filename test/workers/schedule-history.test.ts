/**
 * Cron end to end inside workerd (the Worker's own `scheduled` handler → placeCall → the Twilio
 * emulator), then history: the list with filters and paging, and transcript search.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { createDb } from "../../worker/db/client";
import { callTurns, calls, personas, scheduledCalls, users } from "../../worker/db/schema";
import { parseEnv } from "../../worker/env";
import { namedDay, searchPastCalls } from "../../worker/services/history";
import { api, expectEnvelope, newAccount } from "./helpers";

const db = () => createDb(parseEnv(env));

interface Item {
  id: string;
  personaName: string;
  status: string;
  summary: string | null;
  scheduledCallId: string | null;
  turnCount: number;
}

async function personaIds(): Promise<{ brad: string; sarah: string }> {
  const rows = await db().select({ id: personas.id, slug: personas.slug }).from(personas);
  return { brad: rows.find((r) => r.slug === "brad")!.id, sarah: rows.find((r) => r.slug === "sarah")!.id };
}

describe("cron trigger in workerd", () => {
  it("the every-minute trigger places a due scheduled call through placeCall (Twilio emulator) exactly once", async () => {
    const acct = await newAccount("Cron Caller");
    await db().update(users).set({ phone: "+15555550188", phoneVerifiedAt: new Date() }).where(eq(users.id, acct.user.id));
    const { brad } = await personaIds();
    const due = new Date(Date.now() - 30_000);
    const id = crypto.randomUUID();
    await db().insert(scheduledCalls).values({ id, userId: acct.user.id, personaId: brad, localTime: "07:00", timezone: "UTC", scheduledFor: due, nextAttemptAt: due, durationMinutes: 3 });

    for (let i = 0; i < 2; i++) {
      const ctx = createExecutionContext();
      await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), env, ctx);
      await waitOnExecutionContext(ctx);
    }
    const [row] = await db().select().from(scheduledCalls).where(eq(scheduledCalls.id, id));
    expect(row).toMatchObject({ status: "claimed", attempts: 1 });
    const placed = await db().select().from(calls).where(eq(calls.scheduledCallId, id));
    expect(placed).toHaveLength(1);
    expect(placed[0]).toMatchObject({ id: row!.lastCallId, personaId: brad, durationLimitS: 180, transport: "phone" });
    expect(placed[0]!.twilioCallSid).toMatch(/^CA[0-9a-f]{32}$/);

    const list = await api<{ calls: Item[] }>("GET", "/api/calls", { token: acct.token });
    expect(list.body.calls.map((c) => [c.id, c.scheduledCallId])).toEqual([[placed[0]!.id, id]]);
  });

  it("an unknown cron string does nothing", async () => {
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/7 * * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
  });
});

describe("call history", () => {
  async function seedCalls(userId: string) {
    const { brad, sarah } = await personaIds();
    const mk = async (personaId: string, status: "completed" | "no_answer", at: string, lines: string[], summary: string | null = null) => {
      const [c] = await db()
        .insert(calls)
        .values({ userId, personaId, durationLimitS: 300, status, createdAt: new Date(at), endedAt: new Date(at), summary })
        .returning({ id: calls.id });
      if (lines.length) {
        await db()
          .insert(callTurns)
          .values(lines.map((text, i) => ({ callId: c!.id, seq: i, speaker: i % 2 ? ("user" as const) : ("assistant" as const), text, startedAt: new Date(at) })));
      }
      return c!.id;
    };
    const a = await mk(brad, "completed", "2026-11-03T15:00:00Z", ["How was the week?", "I finally booked the trip to Lisbon with my sister."], "Talked about the Lisbon trip.");
    const b = await mk(sarah, "completed", "2026-11-10T15:00:00Z", ["Hey, what's new?", "Work has been stressful, the quarterly review is Friday."]);
    const c = await mk(brad, "no_answer", "2026-11-17T15:00:00Z", []);
    return { a, b, c, brad, sarah };
  }

  it("lists calls newest first with filters by persona, status and date, and pages", async () => {
    const acct = await newAccount("Historian");
    const other = await newAccount("Someone Else");
    const { a, b, c, brad } = await seedCalls(acct.user.id);
    await seedCalls(other.user.id);

    const all = await api<{ calls: Item[]; total: number; page: number; pageSize: number }>("GET", "/api/calls", { token: acct.token });
    expect(all.status).toBe(200);
    expect(all.body.calls.map((x) => x.id)).toEqual([c, b, a]);
    expect(all.body.total).toBe(3);
    expect(all.body.calls[2]).toMatchObject({ personaName: "Brad", summary: "Talked about the Lisbon trip.", turnCount: 2 });

    const byPersona = await api<{ calls: Item[] }>("GET", `/api/calls?personaId=${brad}`, { token: acct.token });
    expect(byPersona.body.calls.map((x) => x.id)).toEqual([c, a]);
    const byStatus = await api<{ calls: Item[] }>("GET", "/api/calls?status=no_answer", { token: acct.token });
    expect(byStatus.body.calls.map((x) => x.id)).toEqual([c]);
    const byDate = await api<{ calls: Item[] }>("GET", `/api/calls?from=${encodeURIComponent("2026-11-05T00:00:00Z")}&to=${encodeURIComponent("2026-11-15T00:00:00Z")}`, { token: acct.token });
    expect(byDate.body.calls.map((x) => x.id)).toEqual([b]);
    const page2 = await api<{ calls: Item[]; total: number }>("GET", "/api/calls?page=2&pageSize=2", { token: acct.token });
    expect(page2.body.calls.map((x) => x.id)).toEqual([a]);
    expect(page2.body.total).toBe(3);

    expectEnvelope(await api("GET", "/api/calls?status=bogus", { token: acct.token }), 400);
    expectEnvelope(await api("GET", "/api/calls"), 401);
  });

  it("transcript search finds a phrase from an earlier call, with a highlighted snippet, only in your own calls", async () => {
    const acct = await newAccount("Searcher");
    const other = await newAccount("Other Searcher");
    const { a, b } = await seedCalls(acct.user.id);
    const res = await api<{ results: Array<{ call: Item; snippets: Array<{ snippet: string; speaker: string }> }> }>("GET", `/api/calls/search?q=${encodeURIComponent("trip to Lisbon")}`, { token: acct.token });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r) => r.call.id)).toEqual([a]);
    expect(res.body.results[0]!.snippets[0]).toMatchObject({ speaker: "user" });
    expect(res.body.results[0]!.snippets[0]!.snippet).toMatch(/«trip» to «Lisbon»/);

    const stress = await api<{ results: Array<{ call: Item }> }>("GET", "/api/calls/search?q=quarterly%20reviews", { token: acct.token });
    expect(stress.body.results.map((r) => r.call.id)).toEqual([b]); // stemming: reviews → review

    const none = await api<{ results: unknown[] }>("GET", `/api/calls/search?q=Lisbon`, { token: other.token });
    expect(none.body.results).toEqual([]);
    expectEnvelope(await api("GET", "/api/calls/search?q=", { token: acct.token }), 400);
  });

  it("the persona's search_past_calls answers 'last <weekday>' from that day's calls, and phrases by full-text search", async () => {
    expect(namedDay("what did we talk about last Tuesday", new Date("2026-11-22T15:00:00Z"), "America/New_York")).toEqual({
      from: new Date("2026-11-17T05:00:00Z"),
      to: new Date("2026-11-18T05:00:00Z"),
    });
    expect(namedDay("yesterday", new Date("2026-11-22T03:00:00Z"), "America/Los_Angeles")!.from.toISOString()).toBe("2026-11-20T08:00:00.000Z");
    expect(namedDay("how are you", new Date(), "UTC")).toBeNull();

    const acct = await newAccount("Tool User");
    const { brad } = await personaIds();
    const now = new Date();
    const weekday = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"][new Date(now.getTime() - 2 * 86_400_000).getUTCDay()]!;
    const twoDaysAgo = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 2, 12));
    const [old] = await db()
      .insert(calls)
      .values({ userId: acct.user.id, personaId: brad, durationLimitS: 300, status: "completed", createdAt: twoDaysAgo, summary: "Planned the taper week." })
      .returning({ id: calls.id });
    await db().insert(callTurns).values({ callId: old!.id, seq: 0, speaker: "user", text: "My knee hurts after the long run.", startedAt: twoDaysAgo });

    const byDay = await searchPastCalls(db(), { userId: acct.user.id, personaId: brad }, `what did we talk about last ${weekday}?`);
    expect(byDay.results).toEqual([{ date: twoDaysAgo.toISOString().slice(0, 10), summary: "Planned the taper week.", lines: ["User: My knee hurts after the long run."] }]);
    const byWords = await searchPastCalls(db(), { userId: acct.user.id, personaId: brad }, "knee pain");
    expect(byWords.results[0]).toMatchObject({ summary: "Planned the taper week." });
    expect(byWords.results[0]!.lines[0]).toMatch(/knee/);
    const excluded = await searchPastCalls(db(), { userId: acct.user.id, personaId: brad, currentCallId: old!.id }, "knee");
    expect(excluded.results).toEqual([]);
  });
});
