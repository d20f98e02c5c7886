/**
 * /api/admin (the admin pages' data): only role=admin users get in (401 anonymous, 403 users);
 * the calls list carries status, cost and response latency; a call's timeline has every event in
 * order and each turn's latency breakdown; event search, cost aggregation with margin and the
 * reconciliation discrepancies answer from real rows, with phone numbers masked.
 */
import { describe, expect, it, beforeAll } from "vitest";
import { ADMIN_USER } from "../../worker/db/seed";
import { api, expectEnvelope } from "./helpers";
import { seedFinishedCall, type OpsFixture } from "./ops-fixtures";

describe("admin endpoints", () => {
  let fx: OpsFixture;
  let adminToken: string;

  beforeAll(async () => {
    fx = await seedFinishedCall({ phone: "+15555550177", startedAt: new Date(Math.floor(Date.now() / 60_000) * 60_000 - 2 * 86_400_000 + 29_000) });
    const login = await api<{ token: string }>("POST", "/api/auth/login", { body: { email: ADMIN_USER.email, password: ADMIN_USER.password } });
    expect(login.status).toBe(200);
    adminToken = login.body.token;
  });

  it("refuses anonymous callers and non-admin users", async () => {
    expectEnvelope(await api("GET", "/api/admin/calls"), 401, "unauthorized");
    expectEnvelope(await api("GET", "/api/admin/calls", { token: fx.account.token }), 403, "forbidden");
    expectEnvelope(await api("GET", `/api/admin/calls/${fx.callId}/timeline`, { token: fx.account.token }), 403, "forbidden");
  });

  it("lists calls with status, cost and latency, filtered", async () => {
    const res = await api<{ calls: Record<string, unknown>[] }>("GET", `/api/admin/calls?userId=${fx.account.user.id}`, { token: adminToken });
    expect(res.status).toBe(200);
    expect(res.body.calls).toHaveLength(1);
    expect(res.body.calls[0]).toMatchObject({
      id: fx.callId,
      personaName: "Brad",
      status: "completed",
      endReason: "caller_hung_up",
      durationS: 95,
      costMicros: 412_345,
      turns: 2,
      avgLatencyMs: 385,
      maxLatencyMs: 560,
    });
    expect(String(res.body.calls[0]?.userEmailMasked)).toMatch(/^u\*\*\*@example\.com$/);
    const failed = await api<{ calls: unknown[] }>("GET", `/api/admin/calls?userId=${fx.account.user.id}&status=failed`, { token: adminToken });
    expect(failed.body.calls).toEqual([]);
    expectEnvelope(await api("GET", "/api/admin/calls?status=bogus", { token: adminToken }), 400, "validation_failed");
  });

  it("returns one call's timeline: events in order, turns with latency, phone masked", async () => {
    const res = await api<{ call: Record<string, unknown>; events: { type: string; at: string; data: Record<string, unknown> }[]; turns: { seq: number; latency: Record<string, unknown> | null }[] }>(
      "GET",
      `/api/admin/calls/${fx.callId}/timeline`,
      { token: adminToken },
    );
    expect(res.status).toBe(200);
    expect(res.body.call.toPhoneMasked).toBe("***0177");
    expect(JSON.stringify(res.body)).not.toContain("5555550177");
    expect(res.body.events.map((e) => e.type)).toEqual([
      "status",
      "status",
      "stream.start",
      "turn",
      "provider.reconnect",
      "barge_in",
      "usage",
      "provider.fallback",
      "usage",
      "budget.warning",
      "stream.stop",
      "status",
      "cost.total",
    ]);
    const ats = res.body.events.map((e) => Date.parse(e.at));
    expect([...ats].sort((a, b) => a - b)).toEqual(ats);
    expect(res.body.events.find((e) => e.type === "provider.fallback")?.data).toEqual({ inputTokens: 812 });
    expect(res.body.turns.map((t) => t.seq)).toEqual([1, 2, 3]);
    expect(res.body.turns[2]?.latency).toEqual({
      endOfSpeechToFinalMs: 120,
      llmFirstTokenMs: 310,
      ttsFirstByteMs: 520,
      firstAudioSentMs: 560,
      firstMarkHeardMs: 780,
      speculative: false,
      fallback: true,
    });
    expect(res.body.turns[1]?.latency).toBeNull();
    expectEnvelope(await api("GET", `/api/admin/calls/${crypto.randomUUID()}/timeline`, { token: adminToken }), 404, "not_found");
  });

  it("searches events and aggregates costs by day with margin", async () => {
    const events = await api<{ events: { message: string }[] }>("GET", `/api/admin/events?text=${fx.marker}`, { token: adminToken });
    expect(events.body.events.map((e) => e.message)).toEqual([`media stream started ${fx.marker}`]);

    const since = new Date(fx.startedAt.getTime() - 1000).toISOString();
    const until = new Date(fx.startedAt.getTime() + 200_000).toISOString();
    const costs = await api<{ rows: { key: string; costMicros: number; revenueMicros: number; marginMicros: number }[]; totals: Record<string, number> }>(
      "GET",
      `/api/admin/costs?groupBy=day&since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`,
      { token: adminToken },
    );
    expect(costs.status).toBe(200);
    expect(costs.body.rows).toEqual([{ key: fx.startedAt.toISOString().slice(0, 10), costMicros: 412_841, revenueMicros: 4_990_000, marginMicros: 4_577_159, events: 3 }]);
    expect(costs.body.totals).toEqual({ costMicros: 412_841, revenueMicros: 4_990_000, marginMicros: 4_577_159, marginBps: 9173 });
  });

  it("lists reconciliation discrepancies", async () => {
    const res = await api<{ discrepancies: { callId: string; service: string; diffMicros: number }[] }>("GET", "/api/admin/discrepancies", { token: adminToken });
    expect(res.status).toBe(200);
    expect(res.body.discrepancies.find((d) => d.callId === fx.callId)).toMatchObject({ service: "twilio", ledgerMicros: 22_400, vendorMicros: 28_000, diffMicros: 5_600 });
  });
});
