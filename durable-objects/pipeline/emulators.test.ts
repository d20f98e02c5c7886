/**
 * The real provider adapters inside the real pipeline, against the sandbox vendor emulators
 * (Deepgram, ElevenLabs, OpenAI-compatible LLM) over real sockets and real time, with a
 * FakePhone standing in for Twilio. Checks the wire formats agree end to end: the callee's
 * sandbox-voice speech is transcribed, answered and spoken back, and the bills see the usage.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDeepgramEmulator } from "../../sandbox/deepgram/server";
import { startElevenLabsEmulator } from "../../sandbox/elevenlabs/server";
import { startLlmEmulator } from "../../sandbox/llm/server";
import { FakePhone } from "../providers/fakes";
import { createProviders } from "../providers/index";
import { connectNodeWebSocket } from "../providers/node-websocket";
import { CallPipeline } from "./call-pipeline";
import type { PipelineEvent, TurnRecord } from "./events";

type Handle = { close(): Promise<void> };
const handles: Handle[] = [];
let deepgram: Awaited<ReturnType<typeof startDeepgramEmulator>>;
let elevenlabs: Awaited<ReturnType<typeof startElevenLabsEmulator>>;
let cerebras: Awaited<ReturnType<typeof startLlmEmulator>>;
let openai: Awaited<ReturnType<typeof startLlmEmulator>>;

beforeAll(async () => {
  deepgram = await startDeepgramEmulator({ port: 0, apiKey: "dg-test" });
  elevenlabs = await startElevenLabsEmulator({ port: 0, apiKey: "xi-test" });
  cerebras = await startLlmEmulator({ port: 0, flavor: "cerebras", name: "cerebras" });
  openai = await startLlmEmulator({ port: 0, flavor: "openai", name: "openai" });
  handles.push(deepgram, elevenlabs, cerebras, openai);
});
afterAll(async () => {
  await Promise.all(handles.map((h) => h.close()));
});

async function waitFor(pred: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

function makeCall() {
  const providers = createProviders({
    connectWebSocket: connectNodeWebSocket,
    deepgram: { apiKey: "dg-test", baseUrl: deepgram.url, reconnectBackoffMs: 50 },
    elevenlabs: { apiKey: "xi-test", voiceId: "pNInz6obpgDQGcFmaJgB", baseUrl: elevenlabs.url },
    llm: { apiKey: "csk-test", baseUrl: cerebras.baseUrl, model: "gpt-oss-120b", reasoningEffort: "low" },
    fallbackLlm: { apiKey: "sk-test", baseUrl: openai.baseUrl, model: "gpt-4o-mini" },
  });
  const events: PipelineEvent[] = [];
  // eslint-disable-next-line prefer-const
  let phone: FakePhone;
  const pipeline = new CallPipeline({
    providers,
    send: (json) => phone.receive(json),
    onEvent: (e) => events.push(e),
    systemPrompt: "You are Brad, a friendly fitness coach calling to check in.",
    greeting: { text: "Hey, it's Brad. Got a minute?" },
  });
  phone = new FakePhone({ deliver: (m) => pipeline.onTwilioMessage(m) });
  const turns = (): TurnRecord[] => events.flatMap((e) => (e.type === "turn" ? [e.turn] : []));
  return { pipeline, phone, events, turns };
}

describe("pipeline on the sandbox emulators", () => {
  it("loses no caller words when Deepgram drops mid-utterance", async () => {
    const { pipeline, phone, events, turns } = makeCall();
    // The first Deepgram connection dies 2.8 s in: while the callee is talking.
    deepgram.knobs.set({ closeAfterMs: 2800 });
    try {
      await pipeline.prepare();
      deepgram.knobs.set({ closeAfterMs: null });
      phone.start();
      await waitFor(() => turns().length >= 1, 8000);
      phone.say("I did a long run by the river this morning. ");
      await waitFor(() => turns().some((t) => t.speaker === "caller"), 15_000);
      expect(events.some((e) => e.type === "error" && e.where === "stt" && !e.fatal)).toBe(true);
      expect(turns().find((t) => t.speaker === "caller")?.text.toLowerCase()).toBe("i did a long run by the river this morning.");
    } finally {
      phone.stopClock();
      await pipeline.stop();
    }
  });


  it("finishes the greeting when the ElevenLabs socket drops mid-sentence", async () => {
    const { pipeline, phone, events, turns } = makeCall();
    elevenlabs.knobs.set({ closeAfterMs: 300 });
    try {
      await pipeline.prepare();
      elevenlabs.knobs.set({ closeAfterMs: null });
      phone.start();
      await waitFor(() => turns().length >= 1, 8000);
      expect(events.some((e) => e.type === "error" && e.where === "tts" && !e.fatal)).toBe(true);
      expect(phone.heard).toBe("Hey, it's Brad. Got a minute? ");
      expect(turns()[0]?.text).toBe("Hey, it's Brad. Got a minute?");
    } finally {
      phone.stopClock();
      await pipeline.stop();
    }
  });

  it("greets, hears the callee, replies, and every vendor bills the call", async () => {
    const providers = createProviders({
      connectWebSocket: connectNodeWebSocket,
      deepgram: { apiKey: "dg-test", baseUrl: deepgram.url },
      elevenlabs: { apiKey: "xi-test", voiceId: "pNInz6obpgDQGcFmaJgB", baseUrl: elevenlabs.url },
      llm: { apiKey: "csk-test", baseUrl: cerebras.baseUrl, model: "gpt-oss-120b", reasoningEffort: "low" },
      fallbackLlm: { apiKey: "sk-test", baseUrl: openai.baseUrl, model: "gpt-4o-mini" },
    });
    const events: PipelineEvent[] = [];
    // eslint-disable-next-line prefer-const
    let phone: FakePhone;
    const pipeline = new CallPipeline({
      providers,
      send: (json) => phone.receive(json),
      onEvent: (e) => events.push(e),
      systemPrompt: "You are Brad, a friendly fitness coach calling to check in.",
      greeting: { text: "Hey, it's Brad. Got a minute?" },
    });
    phone = new FakePhone({ deliver: (m) => pipeline.onTwilioMessage(m) });
    const turns = (): TurnRecord[] => events.flatMap((e) => (e.type === "turn" ? [e.turn] : []));
    try {
      await pipeline.prepare();
      phone.start();
      await waitFor(() => turns().length >= 1, 8000);
      expect(phone.heard).toContain("Hey, it's Brad. Got a minute?");

      phone.say("Sure, I went running this morning. ");
      await waitFor(() => turns().filter((t) => t.speaker === "persona").length >= 2, 15_000);
      const caller = turns().find((t) => t.speaker === "caller");
      expect(caller?.text.toLowerCase()).toContain("running this morning");
      const reply = turns().filter((t) => t.speaker === "persona")[1]!;
      expect(reply.text.length).toBeGreaterThan(5);
      expect(phone.heard.replace(/\s+/g, " ")).toContain(reply.text.replace(/\s+/g, " "));
      expect(reply.latency).toMatchObject({ interrupted: false, llmProvider: "cerebras" });
      expect(reply.latency?.firstMarkAt).not.toBeNull();
    } finally {
      phone.stopClock();
      await pipeline.stop();
    }
    expect(deepgram.bill().totalAudioSeconds).toBeGreaterThan(1);
    expect(elevenlabs.bill().totalCharacters).toBeGreaterThan(20);
    expect(cerebras.bill().total.requests).toBeGreaterThanOrEqual(1);
    expect(phone.maxBufferedMs).toBeLessThanOrEqual(220);
  });
});
