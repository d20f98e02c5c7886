/**
 * "Call me now": the price for the chosen length is shown before placing (or the free trial),
 * placing posts the persona + length and opens the live page, and an unverified phone goes
 * through verification (code by text, enter code) before the call is placed.
 */
import { flushPromises, mount } from "@vue/test-utils";
import { createPinia, setActivePinia } from "pinia";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory, createRouter } from "vue-router";
import { api } from "../api/client";
import { useAuthStore } from "../stores/auth";
import { jsonResponse, makePersona, makeUser, mockFetch } from "../test-utils";
import type { RecordedCall } from "../test-utils";
import CallMeNow from "./CallMeNow.vue";

const CALL_ID = "33333333-3333-4333-8333-333333333333";

function router() {
  return createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: "/", component: { template: "<div />" } },
      { path: "/calls/:id", name: "call-live", component: { template: "<div />" } },
    ],
  });
}

function callBody(transport: "phone" | "browser") {
  return { call: { id: CALL_ID, transport, status: "queued" } };
}

async function setup(user: ReturnType<typeof makeUser>, handler: (c: RecordedCall) => Response) {
  const { fetch, calls } = mockFetch(handler);
  vi.stubGlobal("fetch", fetch);
  const auth = useAuthStore();
  auth.token = "tok";
  auth.user = user;
  const r = router();
  await r.push("/");
  const wrapper = mount(CallMeNow, { props: { persona: makePersona() }, global: { plugins: [r] } });
  await flushPromises();
  return { wrapper, calls, router: r, auth };
}

describe("CallMeNow", () => {
  beforeEach(() => {
    localStorage.clear();
    setActivePinia(createPinia());
    const auth = useAuthStore();
    api.configure({ getToken: () => auth.token, onUnauthorized: () => auth.clearSession() });
  });
  afterEach(() => vi.unstubAllGlobals());

  it("shows the price of the chosen length and places a phone call with it", async () => {
    const { wrapper, calls, router: r } = await setup(makeUser({ phone: "+15555550100", phoneVerified: true, freeTrialAvailable: false }), (c) => {
      if (c.url === "/api/calls") return jsonResponse(callBody("phone"), 201);
      if (c.url === "/api/client-config") return jsonResponse({ sandbox: { phonePageUrl: "http://127.0.0.1:8791/phone" } });
      return jsonResponse({ error: { code: "not_found", message: "no" } }, 404);
    });
    expect(wrapper.get("[data-testid=call-price]").text()).toContain("$4.99");
    await wrapper.get("[data-testid=minutes-10]").setValue(true);
    expect(wrapper.get("[data-testid=call-price]").text()).toContain("$7.99");
    expect(wrapper.text()).toContain("Rings •••• 0100");
    expect(wrapper.find("a[href^='http://127.0.0.1:8791/phone']").exists()).toBe(true);

    await wrapper.get("[data-testid=call-me-now-button]").trigger("click");
    await flushPromises();
    const post = calls.find((c) => c.url === "/api/calls");
    expect(post).toMatchObject({ method: "POST", body: { personaId: makePersona().id, durationMinutes: 10, transport: "phone" }, headers: { authorization: "Bearer tok" } });
    expect(r.currentRoute.value.fullPath).toBe(`/calls/${CALL_ID}`);
  });

  it("shows the free trial instead of the price when it is available", async () => {
    const { wrapper } = await setup(makeUser({ freeTrialAvailable: true }), () => jsonResponse({ error: { code: "not_found", message: "no" } }, 404));
    expect(wrapper.get("[data-testid=call-price]").text()).toContain("Free trial call");
  });

  it("uses the billing quote when the API offers one (e.g. a refusal)", async () => {
    const { wrapper } = await setup(makeUser({ freeTrialAvailable: false }), (c) =>
      c.url.startsWith("/api/billing/quote")
        ? jsonResponse({ minutes: 5, priceMicros: 4_990_000, freeTrial: false, paidWith: "none", refusal: "Add credit or a card to place this call." })
        : jsonResponse({ error: { code: "not_found", message: "no" } }, 404),
    );
    expect(wrapper.text()).toContain("Add credit or a card to place this call.");
  });

  it("verifies an unverified phone (code by text) and then places the call", async () => {
    let verified = false;
    const { wrapper, calls, router: r } = await setup(makeUser({ phone: null, phoneVerified: false }), (c) => {
      if (c.url === "/api/user/phone/verify") return jsonResponse({ status: "pending", phoneMasked: "•••••••0100", expiresAt: null });
      if (c.url === "/api/user/phone/verify/check") {
        verified = (c.body as { code: string }).code === "123456";
        return verified ? jsonResponse({ verified: true }) : jsonResponse({ error: { code: "validation_failed", message: "That code is not right." } }, 422);
      }
      if (c.url === "/api/auth/me") return jsonResponse({ user: makeUser({ phone: "+15555550100", phoneVerified: verified }) });
      if (c.url === "/api/calls") return jsonResponse(callBody("phone"), 201);
      if (c.url === "/api/client-config") return jsonResponse({ sandbox: { phonePageUrl: "http://127.0.0.1:8791/phone" } });
      return jsonResponse({ error: { code: "not_found", message: "no" } }, 404);
    });
    await wrapper.get("[data-testid=call-me-now-button]").trigger("click");
    await flushPromises();
    expect(calls.some((c) => c.url === "/api/calls")).toBe(false);
    const box = wrapper.get("[data-testid=phone-verification]");

    await box.get("#verify-phone").setValue("12345");
    await box.get("form").trigger("submit");
    expect(box.text()).toContain("Enter your number with +");

    await box.get("#verify-phone").setValue("+1 555 555 0100");
    await box.get("form").trigger("submit");
    await flushPromises();
    expect(calls.find((c) => c.url === "/api/user/phone/verify")?.body).toEqual({ phone: "+15555550100" });
    expect(box.text()).toContain("+15555550100");
    expect(box.get("[data-testid=sandbox-phone-link]").attributes("href")).toBe("http://127.0.0.1:8791/phone?number=%2B15555550100");

    await box.get("#verify-code").setValue("999999");
    await box.get("form").trigger("submit");
    await flushPromises();
    expect(box.text()).toContain("That code is not right.");

    await box.get("#verify-code").setValue("123 456");
    await box.get("form").trigger("submit");
    await flushPromises();
    expect(verified).toBe(true);
    expect(useAuthStore().user?.phoneVerified).toBe(true);
    expect(calls.find((c) => c.url === "/api/calls")?.body).toMatchObject({ transport: "phone", durationMinutes: 5 });
    expect(r.currentRoute.value.name).toBe("call-live");
  });

  it("a browser call needs no phone", async () => {
    const { wrapper, calls, router: r } = await setup(makeUser({ phone: null, phoneVerified: false }), (c) =>
      c.url === "/api/calls" ? jsonResponse(callBody("browser"), 201) : jsonResponse({ error: { code: "not_found", message: "no" } }, 404),
    );
    await wrapper.get("[data-testid=browser-call-button]").trigger("click");
    await flushPromises();
    expect(calls.find((c) => c.url === "/api/calls")?.body).toMatchObject({ transport: "browser" });
    expect(r.currentRoute.value.fullPath).toBe(`/calls/${CALL_ID}`);
  });

  it("shows why a call can't be placed", async () => {
    const { wrapper } = await setup(makeUser({ phone: "+15555550100", phoneVerified: true }), (c) =>
      c.url === "/api/calls"
        ? jsonResponse({ error: { code: "conflict", message: "You already have a call in progress." } }, 409)
        : jsonResponse({ error: { code: "not_found", message: "no" } }, 404),
    );
    await wrapper.get("[data-testid=call-me-now-button]").trigger("click");
    await flushPromises();
    expect(wrapper.text()).toContain("You already have a call in progress.");
  });
});
