/**
 * The pipeline hooks money uses, on the deterministic fakes with fake time: a scripted line after
 * the current turn (budget warning, extension offer), ending with a custom goodbye (budget cut-off)
 * and moving the end of the call later (accepted extension).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeChatModel, FakePhone, FakeSynthesizer, FakeTranscriber } from "../providers/fakes";
import { CallPipeline, type PipelineConfig } from "../pipeline/call-pipeline";
import type { PipelineEvent, TurnRecord } from "../pipeline/events";
import { BUDGET_GOODBYE, BUDGET_WARNING } from "./cost-meter";

function setup(config: Partial<PipelineConfig>) {
  const events: PipelineEvent[] = [];
  const llm = new FakeChatModel({ provider: "cerebras", reply: () => "Sure thing.", ttftMs: 100, tokenMs: 15 });
  // eslint-disable-next-line prefer-const
  let phone: FakePhone;
  const pipeline = new CallPipeline({
    providers: { transcriber: new FakeTranscriber(), llm, tts: new FakeSynthesizer() },
    send: (json) => phone.receive(json),
    onEvent: (e) => events.push(e),
    systemPrompt: "You are Brad.",
    greeting: { text: "Hey, it's Brad." },
    config,
  });
  phone = new FakePhone({ deliver: (m) => pipeline.onTwilioMessage(m) });
  const persona = (): TurnRecord[] => events.flatMap((e) => (e.type === "turn" && e.turn.speaker === "persona" ? [e.turn] : []));
  const hangup = () => events.find((e) => e.type === "hangup-request");
  return { events, phone, pipeline, persona, hangup };
}

async function until(pred: () => boolean, maxMs = 30_000): Promise<void> {
  for (let t = 0; t < maxMs; t += 20) {
    if (pred()) return;
    await vi.advanceTimersByTimeAsync(20);
  }
  throw new Error(`condition not met within ${maxMs} ms`);
}

describe("pipeline hooks for money", () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_700_000_000_000 }));
  afterEach(() => vi.useRealTimers());

  it("says the budget warning, then ends with the budget goodbye and asks to hang up", async () => {
    const c = setup({ rules: { maxDurationMs: 120_000 } });
    await c.pipeline.prepare();
    c.phone.start();
    await until(() => c.persona().length >= 1);
    c.pipeline.say(BUDGET_WARNING);
    await until(() => c.persona().length >= 2);
    c.pipeline.endWithGoodbye(BUDGET_GOODBYE, "duration-limit");
    await until(() => c.hangup() !== undefined);
    expect(c.persona().map((t) => t.kind)).toEqual(["greeting", "warning", "goodbye"]);
    expect(c.phone.heard).toContain(BUDGET_WARNING);
    expect(c.phone.heard).toContain(BUDGET_GOODBYE);
    const goodbye = c.persona()[2]!;
    expect(goodbye.text).toBe(BUDGET_GOODBYE);
    expect(c.hangup()!.at).toBeGreaterThanOrEqual(goodbye.endedAt);
    // well before the 2-minute limit
    expect(c.hangup()!.at - 1_700_000_000_000).toBeLessThan(60_000);
    await c.pipeline.stop();
  });

  it("an extension moves the end (and its warning) later", async () => {
    const c = setup({ rules: { maxDurationMs: 20_000, warningBeforeMs: 5_000, goodbyeText: "Time's up, bye!" } });
    await c.pipeline.prepare();
    c.phone.start();
    const started = Date.now();
    await until(() => c.persona().length >= 1);
    c.pipeline.extendBy(30_000);
    await until(() => c.hangup() !== undefined, 80_000);
    const goodbye = c.persona().find((t) => t.kind === "goodbye")!;
    expect(goodbye.startedAt - started).toBeGreaterThanOrEqual(50_000);
    const warning = c.persona().find((t) => t.kind === "warning")!;
    expect(warning.startedAt - started).toBeGreaterThanOrEqual(45_000);
    await c.pipeline.stop();
  });
});
