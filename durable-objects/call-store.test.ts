/** The stored shape of a finished pipeline turn: speaker mapping, ISO times, latency from the end of caller speech. */
import { describe, expect, it } from "vitest";
import { latencyOf, toCallTurn } from "./call-store";
import type { TurnLatency, TurnRecord } from "./pipeline/events";

const base: TurnLatency = {
  referenceAt: 10_000,
  speechEndAt: 10_000,
  finalTranscriptAt: 10_200,
  llmStartAt: 9_900,
  llmFirstTokenAt: 10_380,
  ttsFirstByteAt: 10_540,
  firstAudioSentAt: 10_541,
  firstMarkAt: 11_900,
  sttMs: 200,
  llmTtftMs: 180,
  ttsTtfbMs: 160,
  responseMs: 541,
  heardMs: 1_900,
  interrupted: false,
  speculative: "hit",
  fallbackUsed: false,
  llmProvider: "cerebras",
};

describe("call-store mapping", () => {
  it("maps a persona reply with its latency breakdown (ms from the end of caller speech)", () => {
    const turn: TurnRecord = { index: 4, speaker: "persona", text: "Sure.", startedAt: 10_000, endedAt: 12_000, interrupted: false, latency: base };
    const t = toCallTurn(turn, 7);
    expect(t).toMatchObject({ seq: 7, speaker: "assistant", text: "Sure.", interrupted: false });
    expect(t.startedAt).toBe(new Date(10_000).toISOString());
    expect(t.latency).toMatchObject({
      endOfSpeechToFinalMs: 200,
      llmFirstTokenMs: 380,
      ttsFirstByteMs: 540,
      firstAudioSentMs: 541,
      firstMarkHeardMs: 1_900,
      speculative: true,
      fallback: false,
    });
  });

  it("leaves stages that did not happen null (a greeting has no caller speech)", () => {
    const greeting: TurnLatency = { ...base, speechEndAt: null, finalTranscriptAt: null, llmFirstTokenAt: null, sttMs: null, speculative: "none", fallbackUsed: true };
    const l = latencyOf({ index: 0, speaker: "persona", text: "Hi!", startedAt: 0, endedAt: 1, interrupted: true, latency: greeting });
    expect(l).toMatchObject({ endOfSpeechToFinalMs: null, llmFirstTokenMs: null, speculative: false, fallback: true });
  });

  it("maps a caller turn to the user speaker without latency", () => {
    const t = toCallTurn({ index: 1, speaker: "caller", text: "Hello?", startedAt: 5, endedAt: 900, interrupted: false }, 1);
    expect(t).toMatchObject({ speaker: "user", latency: null });
  });
});
