/**
 * The live call page over a mocked SSE stream: status, who is speaking, time remaining, the
 * transcript with the caller's interim words, the live cost, the sandbox phone link keyless, End
 * call, and the summary once the call has ended.
 */
import { flushPromises, mount } from "@vue/test-utils";
import { createPinia, setActivePinia } from "pinia";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory, createRouter } from "vue-router";
import type { Call, LiveEvent } from "../../../contracts/calls";
import { api } from "../api/client";
import { useAuthStore } from "../stores/auth";
import { jsonResponse, makeUser } from "../test-utils";
import LiveCallPage from "./LiveCallPage.vue";

const ID = "33333333-3333-4333-8333-333333333333";
const CALL: Call = {
  id: ID,
  personaId: "22222222-2222-4222-8222-222222222222",
  personaName: "Brad",
  transport: "phone",
  toPhoneMasked: "***0100",
  status: "in_progress",
  endReason: null,
  answeredBy: "human",
  durationLimitS: 300,
  durationS: null,
  priceMicros: 4_990_000,
  chargeMicros: null,
  costMicros: 0,
  isFreeTrial: false,
  createdAt: new Date(Date.now() - 70_000).toISOString(),
  answeredAt: new Date(Date.now() - 60_000).toISOString(),
  endedAt: null,
};

/** A controllable SSE response: `push(event)` writes one event. */
function liveStream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const enc = new TextEncoder();
  return {
    response: new Response(body, { headers: { "Content-Type": "text/event-stream" } }),
    push: (e: LiveEvent) => controller.enqueue(enc.encode(`data: ${JSON.stringify(e)}\n\n`)),
    close: () => controller.close(),
  };
}

describe("LiveCallPage", () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    const auth = useAuthStore();
    auth.token = "tok";
    auth.user = makeUser({ phone: "+15555550100", phoneVerified: true });
    api.configure({ getToken: () => auth.token });
  });
  afterEach(() => vi.unstubAllGlobals());

  it("shows the call as it happens and ends it", async () => {
    const sse = liveStream();
    const requests: { url: string; method: string; auth: string | null }[] = [];
    vi.stubGlobal("fetch", async (input: RequestInfo | URL, init: RequestInit = {}) => {
      const url = String(input);
      requests.push({ url, method: init.method ?? "GET", auth: new Headers(init.headers).get("authorization") });
      if (url === `/api/calls/${ID}/events`) return sse.response;
      if (url === "/api/client-config") return jsonResponse({ sandbox: { phonePageUrl: "http://127.0.0.1:8791/phone" } });
      if (url === `/api/calls/${ID}/end`) return jsonResponse({ call: { ...CALL, status: "in_progress" } });
      return jsonResponse({ error: { code: "not_found", message: "no" } }, 404);
    });
    const router = createRouter({
      history: createMemoryHistory(),
      routes: [
        { path: "/calls/:id", name: "call-live", component: LiveCallPage },
        { path: "/personas", name: "personas", component: { template: "<div />" } },
        { path: "/personas/:id", name: "persona", component: { template: "<div />" } },
      ],
    });
    await router.push(`/calls/${ID}`);
    const wrapper = mount(LiveCallPage, { global: { plugins: [router] } });

    sse.push({ type: "snapshot", call: CALL, turns: [], speaking: "persona" });
    await vi.waitFor(() => expect(wrapper.text()).toContain("Brad is speaking"));
    expect(requests.find((r) => r.url.endsWith("/events"))?.auth).toBe("Bearer tok");
    expect(wrapper.get("[data-testid=call-status]").text()).toBe("Connected");
    expect(wrapper.get("[data-testid=time-remaining]").text()).toMatch(/^4:0\d/);
    expect(wrapper.get("[data-testid=sandbox-phone-link]").attributes("href")).toBe("http://127.0.0.1:8791/phone?number=%2B15555550100");

    sse.push({ type: "turn", turn: { seq: 0, speaker: "assistant", text: "Hey, it's Brad!", interrupted: false, startedAt: CALL.createdAt, endedAt: null, latency: null } });
    sse.push({ type: "speaking", who: "caller" });
    sse.push({ type: "interim", text: "I went for" });
    await vi.waitFor(() => expect(wrapper.find("[data-testid=interim]").exists()).toBe(true));
    expect(wrapper.get("[data-testid=interim]").text()).toContain("I went for");
    expect(wrapper.text()).toContain("You're speaking");
    expect(wrapper.get("[data-testid=turn-persona]").text()).toContain("Hey, it's Brad!");

    sse.push({ type: "turn", turn: { seq: 1, speaker: "user", text: "I went for a run.", interrupted: false, startedAt: CALL.createdAt, endedAt: null, latency: null } });
    await vi.waitFor(() => expect(wrapper.find("[data-testid=interim]").exists()).toBe(false));
    expect(wrapper.get("[data-testid=turn-caller]").text()).toContain("I went for a run.");

    sse.push({ type: "cost", totalMicros: 45_700, byService: { twilio: 14_000, elevenlabs: 11_000 } });
    await vi.waitFor(() => expect(wrapper.find("[data-testid=cost-ticker]").exists()).toBe(true));

    await wrapper.get("[data-testid=end-call]").trigger("click");
    await flushPromises();
    expect(requests.some((r) => r.url === `/api/calls/${ID}/end` && r.method === "POST")).toBe(true);

    sse.push({ type: "ended", status: "completed", reason: "user_ended", durationS: 61 });
    sse.close();
    await vi.waitFor(() => expect(wrapper.find("[data-testid=call-ended]").exists()).toBe(true));
    expect(wrapper.get("[data-testid=call-ended]").text()).toContain("You ended the call.");
    expect(wrapper.get("[data-testid=call-ended]").text()).toContain("1 min");
    expect(wrapper.find("[data-testid=end-call]").exists()).toBe(false);
    expect(wrapper.find("[data-testid=time-remaining]").exists()).toBe(false);
    wrapper.unmount();
  });
});
