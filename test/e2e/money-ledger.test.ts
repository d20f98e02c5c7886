/**
 * Money on the whole local stack (wrangler dev + CallSession DO + every vendor emulator), keyless:
 * - a scripted 5-minute call (the demo user's free trial) runs to its limit; the cost ledger the
 *   Durable Object wrote matches the emulators' own bills within ±1 % per service;
 * - a second, short call is paid from credits for its started minute (the rest refunded), and a
 *   call that is never answered costs the user nothing.
 * The 5-minute call is real time: this file takes about six minutes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runScriptedCall } from "../../scripts/call-sim";
import { startStack, type Stack } from "../../scripts/stack";
import { pricingRows } from "../../worker/db/seed";

const RATES = Object.fromEntries(pricingRows("gpt-oss-120b", "gpt-4o-mini").map((r) => [`${r.service}:${r.operation}:${r.model}`, Number(r.rateMicros)]));
const rate = (service: string, operation: string, model = "") => RATES[`${service}:${operation}:${model}`] ?? 0;

/** A caller who chats for a few minutes, then listens quietly until the persona ends the call. */
const chatty = {
  name: "chatty",
  rings: 1,
  steps: [
    { say: "Hello?", pauseMs: 400 },
    ...[
      "Oh hi! Yes, I have some time.",
      "I went for a run this morning.",
      "About five kilometres, it felt good.",
      "I want to run a half marathon next spring.",
      "My knee hurts a bit sometimes.",
      "I could stretch more, that is true.",
      "What should I eat before a long run?",
      "That makes sense, thank you.",
      "I also want to read more books.",
      "Maybe one book a month.",
      "I like science fiction the most.",
      "Okay, I will try that this week.",
    ].map((say) => ({ say, personaSilentMs: 800, timeoutMs: 20_000 })),
  ],
  hangupAfterSilenceMs: 0,
};

const friendly = {
  name: "friendly",
  rings: 1,
  steps: [
    { say: "Hello?", pauseMs: 400 },
    { say: "Oh hi! Yes, I have a minute.", personaSilentMs: 700 },
    { hangup: true, personaSilentMs: 1200, timeoutMs: 5000 },
  ],
};

interface CostBody {
  totalMicros: number;
  byService: Record<string, number>;
  chargeMicros: number | null;
  events: { service: string; usageAmount: string; usageUnit: string }[];
}

describe("money on the local stack", () => {
  let stack: Stack;
  /** wrangler's and the emulators' log lines (redacted); errors are printed when the file ends. */
  const logLines: string[] = [];
  const url = (s: "twilio" | "deepgram" | "elevenlabs" | "llm" | "openai") => stack.sandbox.urls[s];
  const bill = async (s: "twilio" | "deepgram" | "elevenlabs" | "llm" | "openai") => (await (await fetch(`${url(s)}/__sandbox/bill`)).json()) as Record<string, unknown>;

  beforeAll(async () => {
    stack = await startStack({ port: 0, fresh: true, log: (line) => logLines.push(line) });
    for (const s of ["twilio", "deepgram", "llm", "openai", "elevenlabs"] as const) await fetch(`${url(s)}/__sandbox/reset`, { method: "POST" });
    await fetch(`${url("twilio")}/__sandbox/knobs`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ringMs: 300, dialMs: 200 }) });
  });

  afterAll(async () => {
    const problems = logLines.filter((l) => /error|exception|uncaught/i.test(l));
    if (problems.length > 0) console.log(problems.slice(0, 40).join("\n"));
    if (process.env.MONEY_E2E_LOG) (await import("node:fs")).writeFileSync(process.env.MONEY_E2E_LOG, logLines.join("\n"));
    await stack?.close();
  });

  it(
    "a scripted 5-minute call: the ledger matches the emulators' bills within ±1 % per service",
    async () => {
      const r = await runScriptedCall({ baseUrl: stack.baseUrl, twilioUrl: url("twilio"), persona: "brad", scenario: chatty, durationMinutes: 5, timeoutMs: 420_000 }).catch((err: unknown) => {
        // wrangler dev reloads the Worker (and drops live calls) when a source file changes under it
        if (logLines.some((l) => l.includes("Reloading local server"))) throw new Error("wrangler dev reloaded during the call (a source file changed); rerun on a quiet checkout", { cause: err });
        throw err;
      });
      expect(r.call.endReason).toBe("duration_limit");
      expect(r.call.isFreeTrial).toBe(true);
      expect(r.events.filter((e) => e.type === "cost").length).toBeGreaterThan(100); // every ~2 s for 5 minutes
      // the cost events are flushed by the DO's alarm right before finalizing
      let cost: CostBody | null = null;
      for (let i = 0; i < 50; i++) {
        const res = await fetch(`${stack.baseUrl}/api/calls/${r.call.id}/cost`, { headers: { Authorization: `Bearer ${r.token}` } });
        cost = (await res.json()) as CostBody;
        if (cost.chargeMicros !== null) break;
        await new Promise((res2) => setTimeout(res2, 200));
      }
      if (!cost) throw new Error("no cost");
      expect(cost.chargeMicros).toBe(0);

      const tokensCost = (b: Record<string, unknown>, service: string) =>
        Object.entries((b.byModel ?? {}) as Record<string, { prompt_tokens: number; completion_tokens: number }>).reduce(
          (a, [model, t]) => a + t.prompt_tokens * rate(service, "input_token", model) + t.completion_tokens * rate(service, "output_token", model),
          0,
        );
      const compare = async () => {
        const [twilio, deepgram, eleven, llm, openai] = await Promise.all([bill("twilio"), bill("deepgram"), bill("elevenlabs"), bill("llm"), bill("openai")]);
        const vendor: Record<string, number> = {
          twilio: Number(twilio.totalPriceMicros),
          deepgram: (Number(deepgram.totalAudioSeconds) * rate("deepgram", "stream_minute")) / 60,
          elevenlabs: Number(eleven.totalCharacters) * rate("elevenlabs", "character"),
          cerebras: tokensCost(llm, "cerebras"),
          openai: tokensCost(openai, "openai"),
        };
        const res = await fetch(`${stack.baseUrl}/api/calls/${r.call.id}/cost`, { headers: { Authorization: `Bearer ${r.token}` } });
        const ledger = (await res.json()) as CostBody;
        return { ledger, rows: Object.keys(vendor).map((s) => ({ service: s, ledgerMicros: ledger.byService[s] ?? 0, vendorMicros: Math.round(vendor[s]!) })) };
      };
      const within = (x: { ledgerMicros: number; vendorMicros: number }) => Math.abs(x.ledgerMicros - x.vendorMicros) <= Math.ceil(x.vendorMicros * 0.01);
      // The post-call memory extraction (an LLM request after the call) is priced into the ledger too; it finishes shortly after the call.
      let { ledger, rows } = await compare();
      for (let i = 0; i < 40 && !rows.every(within); i++) {
        await new Promise((res2) => setTimeout(res2, 500));
        ({ ledger, rows } = await compare());
      }
      cost = ledger;
      const total = rows.reduce((a, x) => a + x.ledgerMicros, 0) + (cost.byService.platform ?? 0);
      // The numbers for docs/money.md (vendor cost of a real 5-minute call at seed prices).
      console.log(JSON.stringify({ rows, platform: cost.byService.platform, ledgerTotalMicros: total, durationS: r.call.durationS }));
      for (const row of rows) {
        if (row.vendorMicros === 0) {
          expect(row.ledgerMicros, row.service).toBe(0);
          continue;
        }
        expect(Math.abs(row.ledgerMicros - row.vendorMicros), `${row.service}: ledger ${row.ledgerMicros} vs bill ${row.vendorMicros}`).toBeLessThanOrEqual(Math.ceil(row.vendorMicros * 0.01));
      }
      expect(cost.byService.platform).toBe(20_000);
      expect(cost.totalMicros).toBe(Object.values(cost.byService).reduce((a, b) => a + b, 0));
    },
    480_000,
  );

  it(
    "a short call is paid from credits for its started minute; a call nobody answers costs nothing",
    async () => {
      const paid = await runScriptedCall({ baseUrl: stack.baseUrl, twilioUrl: url("twilio"), persona: "brad", scenario: friendly, durationMinutes: 5, timeoutMs: 90_000 });
      expect(paid.call.isFreeTrial).toBe(false);
      expect(paid.call.priceMicros).toBe(4_990_000);
      const auth = { Authorization: `Bearer ${paid.token}` };
      let charge: number | null = null;
      for (let i = 0; i < 50 && charge === null; i++) {
        charge = ((await (await fetch(`${stack.baseUrl}/api/calls/${paid.call.id}/cost`, { headers: auth })).json()) as CostBody).chargeMicros;
        if (charge === null) await new Promise((res) => setTimeout(res, 200));
      }
      expect(charge).toBe(990_000);
      const missed = await runScriptedCall({ baseUrl: stack.baseUrl, twilioUrl: url("twilio"), persona: "brad", scenario: { name: "no-answer", answer: "no-answer" }, durationMinutes: 3, timeoutMs: 120_000 });
      expect(missed.call.status).toBe("no_answer");
      const billing = (await (await fetch(`${stack.baseUrl}/api/user/billing`, { headers: auth })).json()) as { creditBalanceMicros: number; ledger: { kind: string; amountMicros: number; callId: string | null }[] };
      const forCall = (id: string) => billing.ledger.filter((e) => e.callId === id).map((e) => [e.kind, e.amountMicros]);
      expect(forCall(paid.call.id).sort()).toEqual([
        ["call_charge", -4_990_000],
        ["refund", 4_000_000],
      ]);
      expect(forCall(missed.call.id).sort()).toEqual([
        ["call_charge", -3_990_000],
        ["refund", 3_990_000],
      ]);
      expect(billing.creditBalanceMicros).toBe(100_000_000 - 990_000);
    },
    300_000,
  );
});
