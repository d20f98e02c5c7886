/** The cost meter: exact pricing with versioned rates, running totals, user spend, budget warn/cut-off, extension offers, restore. */
import { describe, expect, it } from "vitest";
import { CALL_OPTIONS, EXTENSION } from "../../contracts/calls";
import { pricingRows, PRICING_EFFECTIVE_FROM } from "../../worker/db/seed";
import { CostMeter, formatScaled, parseDecimal, RateCard, saysYes, spendFor, type BudgetPlan, type RateRow, type SpendPlan } from "./cost-meter";

const T0 = Date.parse("2026-11-22T10:00:00Z");
const seedRates: RateRow[] = pricingRows("gpt-oss-120b", "gpt-4o-mini").map((r, i) => ({
  ...r,
  id: `rate-${i}`,
  effectiveFrom: PRICING_EFFECTIVE_FROM.getTime(),
  effectiveTo: null,
}));
const fiveMin: SpendPlan = { minutes: 5, priceMicros: CALL_OPTIONS[1].priceMicros, isFreeTrial: false, extension: EXTENSION };
const noBudget: BudgetPlan = { limitMicros: null, warnAtPercent: 80, autoCutoff: true };

const sum = (xs: { costPicos: string }[]) => xs.reduce((a, x) => a + BigInt(x.costPicos), 0n);

describe("decimals", () => {
  it("parses and formats without floats", () => {
    expect(parseDecimal("0.1", 8)).toBe(10_000_000n);
    expect(parseDecimal("14000", 8)).toBe(1_400_000_000_000n);
    expect(parseDecimal("0.123456785", 8)).toBe(12_345_679n);
    expect(formatScaled(12_345_679n, 8)).toBe("0.12345679");
    expect(formatScaled(-5n, 6)).toBe("-0.000005");
    expect(() => parseDecimal("-1", 2)).toThrow();
  });
});

describe("pricing usage", () => {
  it("prices STT, LLM (primary and fallback) and TTS with the seed rates", () => {
    const meter = new CostMeter({ rates: seedRates, plan: fiveMin, budget: noBudget });
    const [stt] = meter.record({ kind: "stt", provider: "deepgram", audioMs: 60_000 }, T0);
    expect(stt).toMatchObject({ service: "deepgram", usageAmount: "1.000000", usageUnit: "minute", costMicros: "5900.000000" });
    const llm = meter.record({ kind: "llm", provider: "cerebras", model: "gpt-oss-120b", promptTokens: 1000, completionTokens: 50, speculative: false, estimated: false }, T0);
    expect(llm.map((e) => [e.operation, e.costMicros])).toEqual([
      ["input_token", "100.000000"],
      ["output_token", "5.000000"],
    ]);
    const fb = meter.record({ kind: "llm", provider: "openai", model: "gpt-4o-mini", promptTokens: 1000, completionTokens: 100, speculative: false, estimated: true }, T0);
    expect(fb.map((e) => [e.service, e.costMicros, e.estimated])).toEqual([
      ["openai", "10000.000000", true],
      ["openai", "3000.000000", true],
    ]);
    const [tts] = meter.record({ kind: "tts", provider: "elevenlabs", characters: 7 }, T0);
    expect(tts).toMatchObject({ service: "elevenlabs", usageAmount: "7.000000", costMicros: "1050.000000" });
    // one audio millisecond is a fraction of a micro-dollar, kept exactly to 6 decimals
    const [ms] = meter.record({ kind: "stt", provider: "deepgram", audioMs: 1 }, T0);
    expect(ms!.costMicros).toBe("0.098333");
    const keys = [stt, ...llm, ...fb, tts, ms].map((e) => e!.eventKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("uses the rate in force when the usage happened", () => {
    const cut = T0 + 30_000;
    const rates: RateRow[] = [
      ...seedRates.filter((r) => r.service !== "elevenlabs"),
      { id: "old", service: "elevenlabs", operation: "character", model: "", unit: "character", rateMicros: "150", effectiveFrom: 0, effectiveTo: cut },
      { id: "new", service: "elevenlabs", operation: "character", model: "", unit: "1k_characters", rateMicros: "100000", effectiveFrom: cut, effectiveTo: null },
    ];
    const meter = new CostMeter({ rates, plan: fiveMin, budget: noBudget });
    expect(meter.record({ kind: "tts", provider: "elevenlabs", characters: 1000 }, cut - 1)[0]).toMatchObject({ pricingId: "old", costMicros: "150000.000000" });
    expect(meter.record({ kind: "tts", provider: "elevenlabs", characters: 1000 }, cut)[0]).toMatchObject({
      pricingId: "new",
      usageAmount: "1.000000",
      usageUnit: "1k_characters",
      costMicros: "100000.000000",
    });
  });

  it("a model without its own rate is priced like the service's other model and unknown services count as unpriced", () => {
    const card = new RateCard(seedRates);
    expect(card.find("cerebras", "input_token", "some-new-model", T0)?.rateMicros).toBe("0.1");
    const meter = new CostMeter({ rates: seedRates.filter((r) => r.service !== "elevenlabs"), plan: fiveMin, budget: noBudget });
    expect(meter.record({ kind: "tts", provider: "elevenlabs", characters: 10 }, T0)[0]!.costMicros).toBe("0.000000");
    expect(meter.unpricedCount).toBe(1);
  });
});

describe("a 5-minute call at seed prices", () => {
  it("costs about the seed's $0.425 and keeps a running total by service", () => {
    const meter = new CostMeter({ rates: seedRates, plan: fiveMin, budget: noBudget });
    const events = [...meter.connect(T0)];
    // 20 persona turns of ~100 characters, 20 LLM requests with a growing prompt, 5 minutes of caller audio
    for (let i = 0; i < 20; i++) {
      const at = T0 + i * 15_000;
      events.push(...meter.tick(at).costs);
      events.push(...meter.record({ kind: "llm", provider: "cerebras", model: "gpt-oss-120b", promptTokens: 800 + i * 60, completionTokens: 40, speculative: false, estimated: false }, at));
      events.push(...meter.record({ kind: "tts", provider: "elevenlabs", characters: 100 }, at));
      events.push(...meter.record({ kind: "stt", provider: "deepgram", audioMs: 15_000 }, at));
    }
    events.push(...meter.tick(T0 + 299_000).costs);
    const snap = meter.snapshot(T0 + 299_000);
    expect(snap.byService).toEqual({ platform: 20_000, twilio: 70_000, cerebras: 2_820, elevenlabs: 300_000, deepgram: 29_500 });
    expect(snap.totalMicros).toBe(422_320);
    expect(Number(sum(events) / 1_000_000n)).toBe(snap.totalMicros);
    expect(events.filter((e) => e.service === "twilio")).toHaveLength(5);
    expect(meter.finalCharge(T0 + 299_000)).toBe(4_990_000);
  });
});

describe("user spend and budgets", () => {
  it("spend accrues per started minute of the tier price (whole cents), capped at the price, plus accepted extensions", () => {
    expect(spendFor(fiveMin, 1, 0)).toBe(990_000);
    expect(spendFor(fiveMin, 2, 0)).toBe(1_990_000);
    expect(spendFor(fiveMin, 5, 0)).toBe(4_990_000);
    expect(spendFor(fiveMin, 9, 0)).toBe(4_990_000);
    expect(spendFor(fiveMin, 9, 1)).toBe(7_980_000);
    expect(spendFor({ ...fiveMin, minutes: 15, priceMicros: 10_990_000 }, 15, 0)).toBe(10_990_000);
    expect(spendFor({ ...fiveMin, isFreeTrial: true }, 5, 0)).toBe(0);
  });

  it("warns once at the threshold and cuts off before the next minute would pass the limit", () => {
    const budget: BudgetPlan = { limitMicros: 2_500_000, warnAtPercent: 50, autoCutoff: true };
    const meter = new CostMeter({ rates: seedRates, plan: fiveMin, budget, timing: { goodbyeLeadMs: 10_000 } });
    meter.connect(T0);
    const seen: string[] = [];
    let cutoffAt = 0;
    for (let t = T0; t < T0 + 300_000; t += 1000) {
      for (const e of meter.tick(t).effects) {
        seen.push(e.type);
        if (e.type === "cutoff") cutoffAt = t;
      }
    }
    expect(seen).toEqual(["warn", "cutoff"]);
    // minute 2 spends $1.99; minute 3 would be $2.99 > $2.50 → goodbye 10 s before minute 3 starts
    expect(cutoffAt).toBe(T0 + 110_000);
    expect(meter.spentAt(cutoffAt)).toBe(1_990_000);
    expect(meter.spentAt(cutoffAt)).toBeLessThanOrEqual(budget.limitMicros!);
  });

  it("a limit below the first minute cuts off at once; a free trial is never cut off by budget", () => {
    const tiny: BudgetPlan = { limitMicros: 500_000, warnAtPercent: 80, autoCutoff: true };
    const paid = new CostMeter({ rates: seedRates, plan: fiveMin, budget: tiny });
    paid.connect(T0);
    expect(paid.tick(T0).effects.map((e) => e.type)).toEqual(["cutoff"]);
    const trial = new CostMeter({ rates: seedRates, plan: { ...fiveMin, isFreeTrial: true }, budget: tiny });
    trial.connect(T0);
    expect(trial.tick(T0 + 200_000).effects).toEqual([]);
  });

  it("auto cut-off off: warns but never ends the call", () => {
    const meter = new CostMeter({ rates: seedRates, plan: fiveMin, budget: { limitMicros: 1_000_000, warnAtPercent: 80, autoCutoff: false } });
    meter.connect(T0);
    const types = [0, 30_000, 90_000, 150_000].flatMap((d) => meter.tick(T0 + d).effects.map((e) => e.type));
    expect(types).toEqual(["warn"]);
  });
});

describe("extension", () => {
  it("is offered once near the end; '1' or yes within the window adds 5 minutes and $2.99", () => {
    const meter = new CostMeter({ rates: seedRates, plan: fiveMin, budget: noBudget });
    meter.connect(T0);
    expect(meter.acceptExtension(T0 + 10_000)).toBeNull();
    expect(meter.tick(T0 + 230_000).effects).toEqual([]);
    const offer = meter.tick(T0 + 240_000).effects;
    expect(offer).toMatchObject([{ type: "offer-extension", minutes: 5, priceMicros: 2_990_000 }]);
    expect(offer[0]!.message).toMatch(/press 1/i);
    expect(meter.tick(T0 + 241_000).effects).toEqual([]);
    const ext = meter.acceptExtension(T0 + 250_000);
    expect(ext).toMatchObject({ type: "extended", durationLimitS: 600, chargedMicros: 2_990_000 });
    expect(meter.acceptExtension(T0 + 251_000)).toBeNull();
    expect(meter.finalCharge(T0 + 420_000)).toBe(4_990_000 + 2_990_000);
    // max one extension by default
    expect(meter.tick(T0 + 560_000).effects).toEqual([]);
  });

  it("is not offered when the budget cannot pay for it, nor on a free trial; a late answer does nothing", () => {
    const tight = new CostMeter({ rates: seedRates, plan: fiveMin, budget: { limitMicros: 6_000_000, warnAtPercent: 100, autoCutoff: true } });
    tight.connect(T0);
    expect(tight.tick(T0 + 250_000).effects.filter((e) => e.type === "offer-extension")).toEqual([]);
    const trial = new CostMeter({ rates: seedRates, plan: { ...fiveMin, isFreeTrial: true }, budget: noBudget });
    trial.connect(T0);
    expect(trial.tick(T0 + 250_000).effects).toEqual([]);
    const late = new CostMeter({ rates: seedRates, plan: fiveMin, budget: noBudget, timing: { offerWindowMs: 5_000 } });
    late.connect(T0);
    late.tick(T0 + 245_000);
    expect(late.acceptExtension(T0 + 251_000)).toBeNull();
  });

  it("recognises spoken acceptance", () => {
    expect(saysYes("Yes please")).toBe(true);
    expect(saysYes("sure, extend it")).toBe(true);
    expect(saysYes("no thanks")).toBe(false);
    expect(saysYes("I was saying something else")).toBe(false);
  });
});

describe("browser calls", () => {
  it("bill the platform fee but no telephony minutes", () => {
    const meter = new CostMeter({ rates: seedRates, plan: { ...fiveMin, telephony: false }, budget: noBudget });
    meter.connect(T0);
    meter.tick(T0 + 200_000);
    expect(meter.snapshot(T0 + 200_000).byService).toEqual({ platform: 20_000 });
  });
});

describe("restore", () => {
  it("resumes after a restart without billing the same minute or fee twice", () => {
    const opts = { rates: seedRates, plan: fiveMin, budget: noBudget };
    const a = new CostMeter(opts);
    a.connect(T0);
    a.tick(T0 + 61_000);
    a.record({ kind: "tts", provider: "elevenlabs", characters: 10 }, T0 + 61_000);
    const saved = JSON.parse(JSON.stringify(a)) as unknown;
    const b = CostMeter.restore(opts, saved);
    expect(b.connect(T0 + 62_000)).toEqual([]);
    expect(b.tick(T0 + 100_000).costs).toEqual([]);
    const next = b.record({ kind: "tts", provider: "elevenlabs", characters: 10 }, T0 + 100_000);
    expect(next[0]!.eventKey).not.toBe("tts:1");
    expect(b.snapshot(T0 + 100_000).totalMicros).toBe(a.snapshot(T0 + 100_000).totalMicros + 1_500);
  });
});
