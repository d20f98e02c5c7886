/**
 * Between-calls pages over a mocked API: the memory editor (lists facts and summaries, edits,
 * deletes, forgets everything), the call detail (who spoke, interruptions marked, latency, cost
 * breakdown) and the schedule form (sends the local time and zone, shows the call in that zone).
 */
import { flushPromises, mount } from "@vue/test-utils";
import { createPinia, setActivePinia } from "pinia";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory, createRouter } from "vue-router";
import type { Component } from "vue";
import type { Call } from "../../../contracts/calls";
import type { Memory } from "../../../contracts/memories";
import { api } from "../api/client";
import { useAuthStore } from "../stores/auth";
import { jsonResponse, makeUser } from "../test-utils";
import CallDetailPage from "./CallDetailPage.vue";
import MemoryPage from "./MemoryPage.vue";
import SchedulePage from "./SchedulePage.vue";

const BRAD = "22222222-2222-4222-8222-222222222222";
const CALL_ID = "33333333-3333-4333-8333-333333333333";
const persona = { id: BRAD, slug: "brad", name: "Brad", accentColor: "#6366f1", isFavorite: false };

const memory = (over: Partial<Memory>): Memory => ({
  id: "44444444-4444-4444-8444-444444444444",
  kind: "fact",
  category: "goals",
  content: "Training for the Boston marathon",
  topics: [],
  outcome: null,
  importance: 3,
  sourceCallId: CALL_ID,
  createdAt: "2026-11-20T10:00:00.000Z",
  updatedAt: "2026-11-20T10:00:00.000Z",
  ...over,
});

type Handler = (url: string, method: string, body: unknown) => Response | undefined;

function stubApi(handler: Handler): Array<{ url: string; method: string; body: unknown }> {
  const seen: Array<{ url: string; method: string; body: unknown }> = [];
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    const method = init.method ?? "GET";
    const body = typeof init.body === "string" ? (JSON.parse(init.body) as unknown) : undefined;
    seen.push({ url, method, body });
    if (url.startsWith("/api/personas?")) return jsonResponse({ personas: [persona] });
    return handler(url, method, body) ?? jsonResponse({ error: { code: "not_found", message: "no" } }, 404);
  });
  return seen;
}

async function mountAt(component: Component, path: string, routePath: string) {
  const stub = { template: "<div />" };
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: routePath, name: "page", component },
      { path: "/memory/:personaId?", name: "memory", component: stub },
      { path: "/history", name: "history", component: stub },
      { path: "/history/:id", name: "call-detail", component: stub },
      { path: "/profile", name: "profile", component: stub },
    ],
  });
  await router.push(path);
  const wrapper = mount(component, { global: { plugins: [router] } });
  await flushPromises();
  return wrapper;
}

beforeEach(() => {
  setActivePinia(createPinia());
  const auth = useAuthStore();
  auth.token = "tok";
  auth.user = makeUser({ phone: "+15555550100", phoneVerified: true, timezone: "America/New_York" });
  api.configure({ getToken: () => auth.token });
});
afterEach(() => vi.unstubAllGlobals());

describe("MemoryPage", () => {
  it("shows what Brad knows, edits and deletes a fact, and forgets everything", async () => {
    let facts = [memory({})];
    const summaries = [memory({ id: "55555555-5555-4555-8555-555555555555", kind: "summary", category: "call", content: "Planned the long run.", topics: ["running"] })];
    const seen = stubApi((url, method, body) => {
      const base = `/api/personas/${BRAD}/memories`;
      if (url === base && method === "GET") return jsonResponse({ personaId: BRAD, personaName: "Brad", facts, summaries });
      if (url === `${base}/${facts[0]?.id}` && method === "PUT") {
        facts = [{ ...facts[0]!, content: (body as { content: string }).content }];
        return jsonResponse({ memory: facts[0] });
      }
      if (url.startsWith(`${base}/`) && method === "DELETE") return jsonResponse({ ok: true });
      if (url === base && method === "DELETE") return jsonResponse({ ok: true, forgotten: 2 });
      return undefined;
    });
    vi.stubGlobal("confirm", () => true);
    const wrapper = await mountAt(MemoryPage, `/memory/${BRAD}`, "/memory/:personaId?");
    expect(wrapper.find("h1").text()).toBe("What Brad knows about you");
    expect(wrapper.get('[data-testid="fact-list"]').text()).toContain("Training for the Boston marathon");
    expect(wrapper.get('[data-testid="summary-list"]').text()).toContain("Planned the long run.");

    await wrapper.get('button[aria-label="Edit: Training for the Boston marathon"]').trigger("click");
    await wrapper.get('input[aria-label="Edit fact"]').setValue("Training for the Boston marathon in April");
    await wrapper.get('[data-testid="fact"] form').trigger("submit");
    await flushPromises();
    expect(seen.find((r) => r.method === "PUT")?.body).toEqual({ content: "Training for the Boston marathon in April" });
    expect(wrapper.get('[data-testid="fact-list"]').text()).toContain("in April");

    await wrapper.get('button[aria-label="Delete: Training for the Boston marathon in April"]').trigger("click");
    await flushPromises();
    expect(wrapper.find('[data-testid="fact-list"]').exists()).toBe(false);

    await wrapper.get('[data-testid="forget-all"]').trigger("click");
    await flushPromises();
    expect(seen.some((r) => r.method === "DELETE" && r.url === `/api/personas/${BRAD}/memories`)).toBe(true);
    expect(wrapper.find('[data-testid="summary-list"]').exists()).toBe(false);
  });
});

describe("CallDetailPage", () => {
  it("shows who spoke, marks interruptions, per-turn latency and the cost by service", async () => {
    const call: Call = {
      id: CALL_ID, personaId: BRAD, personaName: "Brad", transport: "phone", toPhoneMasked: "***0100", status: "completed",
      endReason: "caller_hung_up", answeredBy: "human", durationLimitS: 300, durationS: 95, priceMicros: 4_990_000,
      chargeMicros: 4_990_000, costMicros: 412_000, isFreeTrial: false, createdAt: "2026-11-20T10:00:00.000Z",
      answeredAt: "2026-11-20T10:00:05.000Z", endedAt: "2026-11-20T10:01:40.000Z",
    };
    stubApi((url) => {
      if (url === `/api/calls/${CALL_ID}`) {
        return jsonResponse({
          call,
          turns: [
            { seq: 0, speaker: "assistant", text: "Hey, it's Brad!", interrupted: true, startedAt: call.answeredAt, endedAt: null, latency: { firstAudioSentMs: 420 } },
            { seq: 1, speaker: "user", text: "I'm training for the Boston marathon.", interrupted: false, startedAt: call.answeredAt, endedAt: null, latency: null },
            { seq: 2, speaker: "assistant", text: "Love that.", interrupted: false, startedAt: call.answeredAt, endedAt: null, latency: { endOfSpeechToFinalMs: 180, llmFirstTokenMs: 240, firstAudioSentMs: 610, firstMarkHeardMs: 700 } },
          ],
        });
      }
      if (url === `/api/calls/${CALL_ID}/cost`) return jsonResponse({ callId: CALL_ID, totalMicros: 412_000, byService: { twilio: 250_000, deepgram: 162_000 }, chargeMicros: 4_990_000, priceMicros: 4_990_000, events: [] });
      return undefined;
    });
    const wrapper = await mountAt(CallDetailPage, `/history/${CALL_ID}`, "/history/:id");
    const items = wrapper.findAll('[data-testid="transcript"] li');
    expect(items.map((i) => i.attributes("data-speaker"))).toEqual(["assistant", "user", "assistant"]);
    expect(items[0]!.text()).toContain("Brad");
    expect(items[0]!.find('[data-testid="interrupted"]').exists()).toBe(true);
    expect(items[1]!.text()).toMatch(/^You/);
    expect(items[2]!.get('[data-testid="latency"]').text()).toContain("first token 240 ms");
    expect(wrapper.get('[data-testid="call-facts"]').text()).toContain("$4.99");
    expect(wrapper.get('[data-testid="cost-breakdown"]').text()).toMatch(/twilio: \$0\.25.*deepgram: \$0\.16/s);
  });
});

describe("SchedulePage", () => {
  it("schedules a weekly call at a local time in the chosen zone", async () => {
    const seen = stubApi((url, method, body) => {
      if (url.startsWith("/api/calls/schedule?")) return jsonResponse({ schedules: [] });
      if (url === "/api/calls/schedule" && method === "POST") {
        const b = body as { localTime: string; timezone: string; weekday: number };
        return jsonResponse({
          schedule: {
            id: "66666666-6666-4666-8666-666666666666", personaId: BRAD, personaName: "Brad", recurrence: "weekly", localTime: b.localTime,
            timezone: b.timezone, weekday: b.weekday, scheduledFor: "2026-11-25T23:30:00.000Z", nextAttemptAt: "2026-11-25T23:30:00.000Z",
            durationMinutes: 5, topic: null, status: "pending", attempts: 0, maxAttempts: 3, lastCallId: null, lastError: null,
            seriesId: "66666666-6666-4666-8666-666666666666", createdAt: "2026-11-22T00:00:00.000Z",
          },
        }, 201);
      }
      return undefined;
    });
    const wrapper = await mountAt(SchedulePage, "/schedule", "/schedule");
    await wrapper.get("#schedule-recurrence").setValue("weekly");
    await wrapper.get("#schedule-weekday").setValue("3");
    await wrapper.get("#schedule-time").setValue("18:30");
    await wrapper.get('[data-testid="schedule-form"]').trigger("submit");
    await flushPromises();
    const post = seen.find((r) => r.method === "POST");
    expect(post?.body).toMatchObject({ personaId: BRAD, recurrence: "weekly", weekday: 3, localTime: "18:30", timezone: "America/New_York", durationMinutes: 5 });
    expect(wrapper.get('[data-testid="upcoming-item"]').text()).toContain("Every Wednesday at 18:30");
    expect(wrapper.get('[data-testid="upcoming-item"]').text()).toContain("Wed, Nov 25, 18:30");
  });
});
