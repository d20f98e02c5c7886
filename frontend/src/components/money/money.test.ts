/**
 * Money in the SPA against a mocked API: the live cost ticker (running cost by service and the
 * caller's spend per started minute), dollar input parsing without floats, and the budget page
 * saving limits in micro-dollars (empty = no limit) and refusing malformed amounts, and the
 * billing page (balance, free trial, cards, ledger, payments; adding a card).
 */
import { flushPromises, mount } from "@vue/test-utils";
import { createPinia, setActivePinia } from "pinia";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory, createRouter } from "vue-router";
import type { Call } from "../../../../contracts/calls";
import { jsonResponse, mockFetch } from "../../test-utils";
import type { RecordedCall } from "../../test-utils";
import { dollarsInput, parseDollars, spendSoFar } from "../../lib/money";
import BillingPage from "../../pages/BillingPage.vue";
import BudgetPage from "../../pages/BudgetPage.vue";
import CostTicker from "../CostTicker.vue";

function useFakeApi(handler: (call: RecordedCall) => Response): RecordedCall[] {
  const { fetch, calls } = mockFetch(handler);
  vi.stubGlobal("fetch", fetch);
  return calls;
}

const call: Call = {
  id: "33333333-3333-4333-8333-333333333333",
  personaId: "22222222-2222-4222-8222-222222222222",
  personaName: "Brad",
  transport: "phone",
  toPhoneMasked: "•••0100",
  status: "in_progress",
  endReason: null,
  answeredBy: "human",
  durationLimitS: 300,
  durationS: null,
  priceMicros: 4_990_000,
  chargeMicros: null,
  costMicros: 0,
  isFreeTrial: false,
  createdAt: "2026-11-22T03:00:00.000Z",
  answeredAt: "2026-11-22T03:00:05.000Z",
  endedAt: null,
};

describe("money helpers", () => {
  it("parses dollars to micros exactly and back", () => {
    expect(parseDollars("2.5")).toBe(2_500_000);
    expect(parseDollars("$1,234.99")).toBe(1_234_990_000);
    expect(parseDollars("0.07")).toBe(70_000);
    expect(parseDollars("")).toBeNull();
    expect(parseDollars("1.234")).toBeUndefined();
    expect(parseDollars("-3")).toBeUndefined();
    expect(dollarsInput(2_500_000)).toBe("2.50");
    expect(dollarsInput(null)).toBe("");
  });

  it("spend follows the server's rule: price per started minute in whole cents, capped at the price", () => {
    expect(spendSoFar(4_990_000, 5, 0)).toBe(990_000);
    expect(spendSoFar(4_990_000, 5, 61)).toBe(1_990_000);
    expect(spendSoFar(4_990_000, 5, 299)).toBe(4_990_000);
    expect(spendSoFar(4_990_000, 5, 400, 1)).toBe(7_980_000);
  });
});

describe("CostTicker", () => {
  beforeEach(() => vi.useFakeTimers({ now: Date.parse("2026-11-22T03:01:10.000Z") }));
  afterEach(() => vi.useRealTimers());

  it("shows the running cost by service and the caller's spend so far", async () => {
    const w = mount(CostTicker, { props: { totalMicros: 123_456, byService: { twilio: 28_000, elevenlabs: 75_456, platform: 20_000 }, call } });
    expect(w.get("[data-testid=cost-total]").text()).toBe("$0.1235");
    expect(w.findAll("li").map((li) => li.attributes("data-service"))).toEqual(["elevenlabs", "twilio", "platform"]);
    // 65 s connected → 2 started minutes of a $4.99 / 5-minute call
    expect(w.get("[data-testid=cost-spend]").text()).toBe("Your spend so far $1.99 of $4.99");
    await w.setProps({ totalMicros: 200_000 });
    expect(w.get("[data-testid=cost-total]").text()).toBe("$0.2000");
  });

  it("a free trial call says so instead of a spend", () => {
    const w = mount(CostTicker, { props: { totalMicros: 0, byService: {}, call: { ...call, isFreeTrial: true, priceMicros: 0 } } });
    expect(w.text()).toContain("Free trial call");
    expect(w.find("[data-testid=cost-spend]").exists()).toBe(false);
  });
});

describe("BudgetPage", () => {
  beforeEach(() => setActivePinia(createPinia()));
  afterEach(() => vi.unstubAllGlobals());

  it("loads, saves limits as micro-dollars (empty = none) and refuses malformed amounts", async () => {
    const settings = { perCallLimitMicros: 5_000_000, dailyLimitMicros: null, monthlyLimitMicros: null, warnAtPercent: 80, autoCutoff: true };
    const calls = useFakeApi((c) =>
      c.method === "PUT"
        ? jsonResponse({ settings: { ...settings, ...(c.body as object) }, spentTodayMicros: 0, spentThisMonthMicros: 1_990_000 })
        : jsonResponse({ settings, spentTodayMicros: 0, spentThisMonthMicros: 1_990_000 }),
    );
    const w = mount(BudgetPage, { global: { stubs: { RouterLink: true } } });
    await flushPromises();
    expect((w.get("#budget-per-call").element as HTMLInputElement).value).toBe("5.00");
    expect(w.get("[data-testid=budget-spent]").text()).toContain("$1.99");
    await w.get("#budget-daily").setValue("12.5");
    await w.get("#budget-per-call").setValue("");
    await w.get("form").trigger("submit");
    await flushPromises();
    const put = calls.find((c) => c.method === "PUT");
    expect(put?.body).toEqual({ perCallLimitMicros: null, dailyLimitMicros: 12_500_000, monthlyLimitMicros: null, warnAtPercent: 80, autoCutoff: true });
    await w.get("#budget-monthly").setValue("ten");
    await w.get("form").trigger("submit");
    await flushPromises();
    expect(calls.filter((c) => c.method === "PUT")).toHaveLength(1);
    expect(w.text()).toContain("Enter an amount like 50");
  });
});

describe("BillingPage", () => {
  beforeEach(() => setActivePinia(createPinia()));
  afterEach(() => vi.unstubAllGlobals());

  it("shows balance, free trial, cards, ledger and payments, and saves a card", async () => {
    let cards = [{ id: "pm_1", brand: "visa", last4: "4242", expMonth: 12, expYear: 2030, isDefault: true }];
    const calls = useFakeApi((c) => {
      if (c.url.startsWith("/api/user/billing"))
        return jsonResponse({
          creditBalanceMicros: 26_000_000,
          freeTrialAvailable: true,
          paymentMethods: cards,
          ledger: [{ id: "44444444-4444-4444-8444-444444444444", kind: "purchase", amountMicros: 26_000_000, callId: null, description: "$26 of call credit for $25", createdAt: "2026-11-22T03:00:00.000Z" }],
          packs: [{ id: "pack_10", priceCents: 1000, creditMicros: 10_000_000, label: "$10 of call credit" }],
        });
      if (c.url.startsWith("/api/user/payments"))
        return jsonResponse({ payments: [{ id: "55555555-5555-4555-8555-555555555555", kind: "call", callId: null, status: "succeeded", amountCents: 499, amountCapturedCents: 199, amountRefundedCents: 0, description: "5-minute call", createdAt: "2026-11-22T03:00:00.000Z" }] });
      if (c.method === "POST" && c.url === "/api/user/payment-method") {
        cards = [...cards, { id: "pm_2", brand: "mastercard", last4: "4444", expMonth: 1, expYear: 2031, isDefault: false }];
        return jsonResponse({ paymentMethods: cards }, 201);
      }
      return jsonResponse({ error: { code: "not_found", message: "no" } }, 404);
    });
    const router = createRouter({ history: createMemoryHistory(), routes: [{ path: "/:p(.*)*", component: { template: "<div />" } }] });
    await router.push("/billing");
    const w = mount(BillingPage, { global: { plugins: [router], stubs: { RouterLink: true } } });
    await flushPromises();
    expect(w.get("[data-testid=balance-amount]").text()).toBe("$26.00");
    expect(w.text()).toContain("Your first call (up to 5 minutes) is free");
    expect(w.get("[data-testid=cards]").text()).toContain("4242");
    expect(w.get("[data-testid=ledger]").text()).toContain("Credit purchase");
    expect(w.get("[data-testid=payments]").text()).toContain("$1.99");
    await w.get("[data-testid=test-card]").setValue("pm_card_mastercard");
    await w.get("form").trigger("submit");
    await flushPromises();
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ paymentMethodId: "pm_card_mastercard", makeDefault: true });
    expect(w.get("[data-testid=cards]").text()).toContain("4444");
  });
});
