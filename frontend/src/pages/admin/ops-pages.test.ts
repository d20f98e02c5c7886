/**
 * Operations in the SPA against a mocked API: the admin pages are for admins only (route guard +
 * nav), the calls page shows status and latency per call, the LoginPage explains a refused WorkOS
 * sign-in, and the WorkOS landing page adopts the token from the fragment, wipes it from the
 * address bar and continues — or shows an error for a dead token.
 */
import { flushPromises, mount } from "@vue/test-utils";
import { createPinia, setActivePinia } from "pinia";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory } from "vue-router";
import { api } from "../../api/client";
import { createAppRouter, navItems } from "../../router";
import { TOKEN_KEY, useAuthStore } from "../../stores/auth";
import { jsonResponse, makeUser, mockFetch } from "../../test-utils";
import type { RecordedCall } from "../../test-utils";
import LoginPage from "../LoginPage.vue";
import WorkosCallbackPage from "../WorkosCallbackPage.vue";
import AdminCallsPage from "./AdminCallsPage.vue";

function useFakeApi(handler: (call: RecordedCall) => Response): RecordedCall[] {
  const { fetch, calls } = mockFetch(handler);
  vi.stubGlobal("fetch", fetch);
  return calls;
}

const adminCall = {
  id: "33333333-3333-4333-8333-333333333333",
  userId: "11111111-1111-4111-8111-111111111111",
  userEmailMasked: "a***@example.com",
  personaId: "22222222-2222-4222-8222-222222222222",
  personaName: "Brad",
  transport: "phone",
  status: "completed",
  endReason: "caller_hung_up",
  durationS: 95,
  costMicros: 412_345,
  chargeMicros: 4_990_000,
  createdAt: "2026-11-22T03:00:00.000Z",
  endedAt: "2026-11-22T03:01:35.000Z",
  turns: 2,
  avgLatencyMs: 600,
  maxLatencyMs: 780,
};

describe("operations pages", () => {
  beforeEach(() => {
    localStorage.clear();
    setActivePinia(createPinia());
    const auth = useAuthStore();
    api.configure({ getToken: () => auth.token, onUnauthorized: () => auth.clearSession() });
  });
  afterEach(() => vi.unstubAllGlobals());

  it("sends non-admins away from admin pages and shows the Admin nav only to admins", async () => {
    localStorage.setItem(TOKEN_KEY, "t-user");
    setActivePinia(createPinia());
    let role: "user" | "admin" = "user";
    useFakeApi(() => jsonResponse({ user: makeUser({ role }) }));
    const router = createAppRouter(createMemoryHistory());
    await router.push("/admin/calls");
    expect(router.currentRoute.value.name).toBe("personas");
    expect(navItems(router, false).map((n) => n.name)).not.toContain("admin-calls");

    role = "admin";
    setActivePinia(createPinia());
    localStorage.setItem(TOKEN_KEY, "t-admin");
    const adminRouter = createAppRouter(createMemoryHistory());
    await adminRouter.push("/admin/calls");
    expect(adminRouter.currentRoute.value.name).toBe("admin-calls");
    expect(navItems(adminRouter, true).map((n) => n.name)).toContain("admin-calls");
  });

  it("lists calls with status, cost and response latency", async () => {
    const calls = useFakeApi(() => jsonResponse({ calls: [adminCall] }));
    const router = createAppRouter(createMemoryHistory());
    const wrapper = mount(AdminCallsPage, { global: { plugins: [router] } });
    await flushPromises();
    expect(calls[0]?.url).toBe("/api/admin/calls?limit=100");
    const row = wrapper.get(`[data-call-id="${adminCall.id}"]`);
    expect(row.text()).toContain("Brad");
    expect(row.get("[data-testid=call-status]").text()).toBe("completed");
    expect(row.get("[data-testid=call-latency]").text()).toBe("600 ms / 780 ms");
    expect(row.text()).toContain("$0.41");
    expect(row.text()).toContain("$4.99");

    await wrapper.get("#status-filter").setValue("failed");
    await flushPromises();
    expect(calls[1]?.url).toBe("/api/admin/calls?status=failed&limit=100");
  });

  it("explains a refused WorkOS sign-in and links the button to the Worker with a safe redirect", async () => {
    const router = createAppRouter(createMemoryHistory());
    await router.push("/login?sso_error=state_mismatch&redirect=/contacts");
    const wrapper = mount(LoginPage, { global: { plugins: [router] } });
    expect(wrapper.get("[data-testid=sso-error]").text()).toMatch(/refused/);
    expect(wrapper.get("[data-testid=workos-sign-in]").attributes("href")).toBe("/auth/workos/login?redirect=%2Fcontacts");

    await router.push("/login?redirect=//evil.example");
    await flushPromises();
    expect(wrapper.get("[data-testid=workos-sign-in]").attributes("href")).toBe("/auth/workos/login?redirect=%2Fpersonas");
  });

  it("adopts the token from the fragment, clears it from the address bar, and continues", async () => {
    const calls = useFakeApi(() => jsonResponse({ user: makeUser({ email: "grace@example.com" }) }));
    window.history.replaceState(null, "", "/signin/workos#token=t-sso&redirect=%2Fcontacts");
    const router = createAppRouter(createMemoryHistory());
    await router.push("/signin/workos");
    mount(WorkosCallbackPage, { global: { plugins: [router] } });
    await flushPromises();
    expect(window.location.hash).toBe("");
    expect(calls[0]).toMatchObject({ url: "/api/auth/me", headers: { authorization: "Bearer t-sso" } });
    expect(localStorage.getItem(TOKEN_KEY)).toBe("t-sso");
    expect(useAuthStore().user?.email).toBe("grace@example.com");
    await vi.waitFor(() => expect(router.currentRoute.value.fullPath).toBe("/contacts"), { timeout: 5_000 });
  });

  it("shows an error and stays signed out when the token does not work", async () => {
    useFakeApi(() => jsonResponse({ error: { code: "unauthorized", message: "Invalid or expired token" } }, 401));
    window.history.replaceState(null, "", "/signin/workos#token=t-dead");
    const router = createAppRouter(createMemoryHistory());
    await router.push("/signin/workos");
    const wrapper = mount(WorkosCallbackPage, { global: { plugins: [router] } });
    await flushPromises();
    expect(wrapper.get("[data-testid=sso-error]").text()).toMatch(/did not work/);
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull();
    expect(useAuthStore().isAuthenticated).toBe(false);
  });
});
