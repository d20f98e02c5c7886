/**
 * The call loop end to end with deterministic fakes and fake time: a FakePhone plays Twilio's
 * part (real-time playback of what the pipeline sends, marks, clear, callee speech in the
 * sandbox voice), the fake STT transcribes that speech from the audio, the fake LLM answers by
 * the caller's words and the fake TTS speaks sandbox voice back.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  FakeChatModel,
  FakePhone,
  FakeSynthesizer,
  FakeTranscriber,
  type FakeCallBehaviour,
  type FakeSynthesizerOptions,
  type FakeTranscriberOptions,
} from "../providers/fakes";
import { ProviderError, type ChatMessage } from "../providers/types";
import { CallPipeline, cutToHeard, type PipelineConfig } from "./call-pipeline";
import type { PipelineEvent, TurnRecord } from "./events";
import { normalizeUtterance } from "./speculation";

const REPLIES: Record<string, string> = {
  "what are we doing today": "Today we are going over your goals. First, the morning run. Then some reading.",
  "tell me a long story": "Once upon a time there was a small boat on a very big sea, and it sailed for many days and nights without ever seeing land, until one morning a bird landed on its mast.",
  "i want to go to the beach tomorrow": "The beach sounds great. Bring sunscreen.",
  "i want to go": "Go where?",
  "thanks that helps": "Glad to help.",
};

function reply(messages: readonly ChatMessage[]): string {
  const last = messages[messages.length - 1];
  return REPLIES[normalizeUtterance(last?.content ?? "")] ?? "Sure thing.";
}

interface Setup {
  stt?: FakeTranscriberOptions;
  tts?: FakeSynthesizerOptions;
  primary?: FakeCallBehaviour[];
  primaryTtftMs?: number;
  tokenMs?: number;
  config?: Partial<PipelineConfig>;
  greeting?: { text?: string; instruction?: string };
  customParameters?: Record<string, string>;
}

function setup(s: Setup = {}) {
  const events: PipelineEvent[] = [];
  const transcriber = new FakeTranscriber(s.stt);
  const llm = new FakeChatModel({ provider: "cerebras", reply, ttftMs: s.primaryTtftMs ?? 120, tokenMs: s.tokenMs ?? 15, script: s.primary });
  const fallbackLlm = new FakeChatModel({ provider: "openai", reply, ttftMs: 300, tokenMs: 15 });
  const tts = new FakeSynthesizer(s.tts);
  const dtmf: string[] = [];
  // eslint-disable-next-line prefer-const
  let phone: FakePhone;
  const pipeline = new CallPipeline({
    providers: { transcriber, llm, fallbackLlm, tts },
    send: (json) => phone.receive(json),
    onEvent: (e) => events.push(e),
    systemPrompt: "You are Brad, a friendly coach.",
    greeting: s.greeting ?? { text: "Hey, it's Brad." },
    onDtmf: (d) => dtmf.push(d),
    config: s.config,
  });
  phone = new FakePhone({ deliver: (m) => pipeline.onTwilioMessage(m), customParameters: s.customParameters });
  const turns = (): TurnRecord[] => events.flatMap((e) => (e.type === "turn" ? [e.turn] : []));
  const persona = (): TurnRecord[] => turns().filter((t) => t.speaker === "persona");
  return { events, transcriber, llm, fallbackLlm, tts, phone, pipeline, turns, persona, dtmf };
}

async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

/** Advances fake time in 20 ms steps until `pred` holds (fails after `maxMs`). */
async function until(pred: () => boolean, maxMs = 20_000): Promise<void> {
  for (let t = 0; t < maxMs; t += 20) {
    if (pred()) return;
    await advance(20);
  }
  throw new Error(`condition not met within ${maxMs} ms`);
}

async function begin(ctx: ReturnType<typeof setup>): Promise<void> {
  await ctx.pipeline.prepare();
  ctx.phone.start();
  // The greeting plays out.
  await until(() => ctx.persona().length >= 1);
}

describe("CallPipeline", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("holds a multi-turn conversation: greeting, replies, history, turn events in order", async () => {
    const c = setup();
    await begin(c);
    expect(c.phone.heard).toContain("Hey, it's Brad.");

    c.phone.say("What are we doing today? ");
    await until(() => c.persona().length >= 2);
    c.phone.say("Thanks, that helps. ");
    await until(() => c.persona().length >= 3);

    const turns = c.turns();
    expect(turns.map((t) => [t.speaker, t.text])).toEqual([
      ["persona", "Hey, it's Brad."],
      ["caller", "What are we doing today?"],
      ["persona", REPLIES["what are we doing today"]],
      ["caller", "Thanks, that helps."],
      ["persona", "Glad to help."],
    ]);
    expect(turns.map((t) => t.index)).toEqual([1, 2, 3, 4, 5]);
    expect(c.phone.heard).toContain(REPLIES["what are we doing today"]);
    expect(c.phone.heard).toContain("Glad to help.");
    // The second request carries the conversation so far after the persona prompt.
    const lastCall = c.llm.calls.filter((x) => !x.aborted).at(-1);
    expect(lastCall?.messages.map((m) => m.role)).toEqual(["system", "assistant", "user", "assistant", "user"]);
    expect(lastCall?.messages[0]?.content).toContain("You are Brad");
    expect(c.phone.clears).toBe(0);
    await c.pipeline.stop();
  });

  it("generates the greeting with the LLM when no text is prepared, audio within ~1 s of stream start", async () => {
    const c = setup({ greeting: { instruction: "Say hi." } });
    await c.pipeline.prepare();
    await advance(400); // still ringing: greeting text and audio are prepared meanwhile
    c.phone.start();
    const startAt = Date.now();
    await until(() => c.phone.received.some((m) => m.event === "media"));
    expect(Date.now() - startAt).toBeLessThan(1000);
    await until(() => c.persona().length >= 1);
    expect(c.persona()[0]?.kind).toBe("greeting");
    expect(c.persona()[0]?.latency?.responseMs).toBeLessThan(1000);
    await c.pipeline.stop();
  });

  it("barge-in: sends clear, aborts LLM and TTS context, stores only what the caller heard", async () => {
    const c = setup({ tokenMs: 300, config: { speculation: false } });
    await begin(c);
    c.phone.say("Tell me a long story. ");
    await until(() => c.phone.heard.includes("small boat"));
    c.phone.say("Wait, hold on a second. ");
    await until(() => c.events.some((e) => e.type === "barge-in"));
    await advance(100);

    expect(c.phone.clears).toBe(1);
    const story = c.persona()[1];
    expect(story?.interrupted).toBe(true);
    const full = REPLIES["tell me a long story"] ?? "";
    expect(story && story.text.length).toBeGreaterThan(5);
    expect(full.startsWith(story?.text ?? "x")).toBe(true);
    expect(story!.text.length).toBeLessThan(full.length);
    // What is stored matches what the phone actually played (to within one word).
    const heardStory = c.phone.heard.slice(c.phone.heard.indexOf("Once"));
    expect(heardStory.startsWith(story!.text)).toBe(true);
    expect(heardStory.length - story!.text.length).toBeLessThan(12);
    // The LLM stream was aborted and the TTS context closed (socket kept).
    const storyCall = c.llm.calls.find((x) => normalizeUtterance(x.messages.at(-1)?.content ?? "") === "tell me a long story");
    expect(storyCall?.aborted).toBe(true);
    const session = c.tts.sessions[0]!;
    expect(session.log.some(([k, id]) => k === "cancel" && id === `t${story!.index}`)).toBe(true);
    expect(session.closed).toBe(false);
    // The interrupted turn in history is the cut text, then the caller's interruption gets a reply.
    await until(() => c.persona().length >= 3);
    const convo = c.pipeline.conversation;
    expect(convo.find((m) => m.role === "assistant" && m.content === story!.text)).toBeTruthy();
    expect(c.turns().find((t) => t.speaker === "caller" && t.text.startsWith("Wait"))).toBeTruthy();
    await c.pipeline.stop();
  });

  it("ignores a backchannel while the persona speaks", async () => {
    const c = setup({ config: { speculation: false } });
    await begin(c);
    c.phone.say("Tell me a long story. ");
    await until(() => c.phone.heard.includes("small boat"));
    c.phone.say("uh-huh ");
    await until(() => c.persona().length >= 2, 30_000);
    expect(c.phone.clears).toBe(0);
    expect(c.events.some((e) => e.type === "barge-in")).toBe(false);
    expect(c.persona()[1]?.interrupted).toBe(false);
    expect(c.persona()[1]?.text).toBe(REPLIES["tell me a long story"]);
    expect(c.turns().some((t) => t.speaker === "caller" && /uh-huh/i.test(t.text))).toBe(false);
    await c.pipeline.stop();
  });

  it("ends the caller's turn on the silence timeout when no speech_final / UtteranceEnd / finalize result arrives", async () => {
    const c = setup({
      stt: { endpointing: false, utteranceEndMs: 0 },
      config: { finalizeOnVadStop: false, speculation: false, turnTimeoutMs: 1000 },
    });
    await begin(c);
    c.phone.say("What are we doing today? ");
    await until(() => !c.phone.speaking);
    const spokeAt = Date.now();
    await until(() => c.turns().some((t) => t.speaker === "caller"), 5000);
    const waited = Date.now() - spokeAt;
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(2000);
    await until(() => c.persona().length >= 2);
    expect(c.persona()[1]?.text).toBe(REPLIES["what are we doing today"]);
    await c.pipeline.stop();
  });

  it("sends Finalize on local VAD stop and gets the final before the endpointer would", async () => {
    const c = setup({ stt: { endpointingMs: 800, utteranceEndMs: 0 }, config: { speculation: false } });
    await begin(c);
    c.phone.say("What are we doing today? ");
    await until(() => c.turns().some((t) => t.speaker === "caller"));
    expect(c.transcriber.sessions[0]!.finalizeCount).toBeGreaterThan(0);
    await until(() => c.persona().length >= 2);
    const lat = c.persona()[1]!.latency!;
    expect(lat.sttMs).not.toBeNull();
    expect(lat.sttMs!).toBeLessThan(400);
    await c.pipeline.stop();
  });

  it("falls back to the OpenAI model with a spoken filler when the primary returns 5xx", async () => {
    const c = setup({ primary: [{ status: 503 }], config: { speculation: false } });
    await begin(c);
    c.phone.say("What are we doing today? ");
    await until(() => c.persona().length >= 2);
    const turn = c.persona()[1]!;
    expect(turn.latency?.fallbackUsed).toBe(true);
    expect(turn.latency?.llmProvider).toBe("openai");
    expect(turn.text.startsWith("One sec…")).toBe(true);
    expect(turn.text).toContain(REPLIES["what are we doing today"]);
    expect(c.phone.heard).toContain("One sec…");
    expect(c.fallbackLlm.calls).toHaveLength(1);
    expect(c.events.some((e) => e.type === "error" && e.where === "llm" && !e.fatal)).toBe(true);
    await c.pipeline.stop();
  });

  it("falls back within the first-token bound when the primary is slow", async () => {
    const c = setup({ primary: [{ ttftMs: 10_000 }], config: { speculation: false, firstTokenTimeoutMs: 1200 } });
    await begin(c);
    c.phone.say("What are we doing today? ");
    await until(() => c.persona().length >= 2);
    const turn = c.persona()[1]!;
    const l = turn.latency!;
    expect(l.fallbackUsed).toBe(true);
    expect(c.llm.calls[0]?.aborted).toBe(true);
    // Filler right at the bound; the fallback's first token ~300 ms later.
    expect(l.llmTtftMs!).toBeGreaterThanOrEqual(1200);
    expect(l.llmTtftMs!).toBeLessThan(1200 + 300 + 200);
    expect(turn.text.startsWith("One sec…")).toBe(true);
    await c.pipeline.stop();
  });

  it("warns before the duration limit, says goodbye at it, then asks to hang up", async () => {
    const c = setup({ config: { rules: { maxDurationMs: 9000, warningBeforeMs: 3000, warningText: "Heads up, little time left.", goodbyeText: "Time's up, bye!" } } });
    await begin(c);
    await until(() => c.events.some((e) => e.type === "hangup-request"), 20_000);
    const kinds = c.persona().map((t) => t.kind);
    expect(kinds).toEqual(["greeting", "warning", "goodbye"]);
    expect(c.phone.heard).toContain("Heads up, little time left.");
    expect(c.phone.heard).toContain("Time's up, bye!");
    const hangup = c.events.find((e) => e.type === "hangup-request");
    expect(hangup && hangup.type === "hangup-request" && hangup.reason).toBe("duration-limit");
    // The goodbye was heard in full before the hang-up request.
    const goodbye = c.persona()[2]!;
    expect(goodbye.text).toBe("Time's up, bye!");
    expect(hangup!.at).toBeGreaterThanOrEqual(goodbye.endedAt);
    await c.pipeline.stop();
  });

  it("cuts a reply at the duration limit (clear), says goodbye, and queues the warning behind a reply", async () => {
    const c = setup({
      tokenMs: 40,
      config: { speculation: false, rules: { maxDurationMs: 9000, warningBeforeMs: 4000, warningText: "Heads up.", goodbyeText: "Bye now!" } },
    });
    await begin(c);
    await advance(2000);
    // The long story starts ~3.5 s in: the warning (5 s) waits behind it, the limit (9 s) cuts it.
    c.phone.say("Tell me a long story. ");
    await until(() => c.events.some((e) => e.type === "hangup-request"), 20_000);
    const kinds = c.persona().map((t) => [t.kind, t.interrupted]);
    expect(kinds).toEqual([["greeting", false], ["reply", true], ["goodbye", false]]);
    expect(c.phone.clears).toBe(1);
    expect(c.phone.heard).toContain("Bye now!");
    expect(c.phone.heard).not.toContain("Heads up.");
    await c.pipeline.stop();
  });

  it("switches to voicemail when an async AMD result arrives after the stream started", async () => {
    const c = setup({ config: { rules: { voicemailMessage: "Brad here, later!" } } });
    await c.pipeline.prepare();
    c.phone.start();
    await advance(300);
    c.pipeline.onAnsweredBy("machine_end_beep");
    await until(() => c.events.some((e) => e.type === "hangup-request"));
    expect(c.events.find((e) => e.type === "voicemail")).toMatchObject({ source: "amd" });
    expect(c.phone.heard).toContain("Brad here, later!");
    expect(c.events.find((e) => e.type === "hangup-request")).toMatchObject({ reason: "voicemail" });
    await c.pipeline.stop();
  });

  it("leaves a voicemail when Twilio AMD says machine, without the greeting", async () => {
    const c = setup({ customParameters: { AnsweredBy: "machine_end_beep" }, config: { rules: { voicemailMessage: "Hi, Brad here. Call me back!" } } });
    await c.pipeline.prepare();
    c.phone.start();
    await until(() => c.events.some((e) => e.type === "hangup-request"));
    expect(c.events.find((e) => e.type === "voicemail")).toMatchObject({ source: "amd" });
    expect(c.persona().map((t) => t.kind)).toEqual(["voicemail"]);
    expect(c.phone.heard).toBe("Hi, Brad here. Call me back! ");
    expect(c.phone.heard).not.toContain("Hey, it's Brad");
    expect(c.events.find((e) => e.type === "hangup-request")).toMatchObject({ reason: "voicemail" });
    await c.pipeline.stop();
  });

  it("detects a voicemail greeting from the first utterance", async () => {
    const c = setup({ config: { rules: { voicemailMessage: "Brad here, call me back." } } });
    await c.pipeline.prepare();
    c.phone.start();
    c.phone.say("Hi, you have reached Sam. Please leave a message after the beep. ");
    await until(() => c.events.some((e) => e.type === "hangup-request"), 30_000);
    expect(c.events.find((e) => e.type === "voicemail")).toMatchObject({ source: "transcript" });
    expect(c.persona().at(-1)?.kind).toBe("voicemail");
    expect(c.phone.heard).toContain("Brad here, call me back.");
    // No reply was generated for the answering machine.
    expect(c.persona().some((t) => t.kind === "reply")).toBe(false);
    expect(c.phone.heard).not.toContain("Sure thing");
    await c.pipeline.stop();
  });

  it("paces outbound audio no more than the lead ahead of real time, in 160-byte frames", async () => {
    const c = setup({ config: { leadMs: 200, speculation: false }, tts: { chunkMs: 2000, chunkIntervalMs: 5 } });
    await begin(c);
    c.phone.say("Tell me a long story. ");
    await until(() => c.persona().length >= 2, 30_000);
    expect(c.phone.maxBufferedMs).toBeLessThanOrEqual(200);
    expect(c.pipeline.maxLeadObservedMs).toBeLessThanOrEqual(200);
    expect(c.phone.heard).toContain(REPLIES["tell me a long story"]);
    await c.pipeline.stop();
  });

  it("sends a mark per sentence and per turn end; echoed marks track what was heard", async () => {
    const c = setup({ config: { speculation: false } });
    await begin(c);
    c.phone.say("What are we doing today? ");
    await until(() => c.persona().length >= 2);
    const turnIndex = c.persona()[1]!.index;
    const marks = c.phone.received.filter((m) => m.event === "mark" && m.name?.startsWith(`t${turnIndex}-`)).map((m) => m.name);
    // Three sentences (first may be split at a clause) + end.
    expect(marks.at(-1)).toBe(`t${turnIndex}-end`);
    expect(marks.filter((m) => /-s\d+$/.test(m ?? "")).length).toBeGreaterThanOrEqual(3);
    expect(c.persona()[1]?.latency?.firstMarkAt).not.toBeNull();
    await c.pipeline.stop();
  });

  it("starts the LLM speculatively on a stable transcript and keeps it when the final matches (faster)", async () => {
    const run = async (speculation: boolean) => {
      const c = setup({ stt: { finalizeDelayMs: 350, endpointingMs: 600 }, config: { speculation } });
      await begin(c);
      c.phone.say("What are we doing today? ");
      await until(() => c.persona().length >= 2);
      const l = c.persona()[1]!.latency!;
      await c.pipeline.stop();
      return { l, calls: c.llm.calls };
    };
    const on = await run(true);
    const off = await run(false);
    expect(on.l.speculative).toBe("hit");
    expect(off.l.speculative).toBe("none");
    expect(on.calls).toHaveLength(1);
    expect(on.l.llmStartAt!).toBeLessThan(on.l.finalTranscriptAt!);
    expect(on.l.responseMs!).toBeLessThan(off.l.responseMs! - 100);
  });

  it("speculates from a short pause: Finalize once, the turn still ends at the VAD stop, audio only after it", async () => {
    const run = async (speculation: boolean) => {
      // Endpointing far away: the turn ends on our Finalize + VAD stop.
      const c = setup({ stt: { finalizeDelayMs: 60, endpointingMs: 2000, utteranceEndMs: 0 }, primaryTtftMs: 200, config: { speculation } });
      await begin(c);
      c.phone.say("What are we doing today? ");
      await until(() => c.persona().length >= 2);
      const caller = c.turns().find((t) => t.speaker === "caller")!;
      const l = c.persona()[1]!.latency!;
      const finalizes = c.transcriber.sessions[0]!.finalizeCount;
      await c.pipeline.stop();
      return { l, caller, finalizes, calls: c.llm.calls.length };
    };
    const on = await run(true);
    const off = await run(false);
    expect(on.l.speculative).toBe("hit");
    expect(on.calls).toBe(1);
    // One Finalize per utterance: the early one at the pause; none again at the VAD stop.
    expect(on.finalizes).toBe(1);
    expect(off.finalizes).toBe(1);
    // The early Finalize's result (60 ms after an 80 ms pause) did not end the turn inside the
    // 200 ms hangover: it ended at the VAD stop.
    for (const r of [on, off]) expect(r.caller.endedAt - r.l.speechEndAt!).toBeGreaterThanOrEqual(200);
    // The LLM started at the pause, ~120 ms before the VAD stop; nothing played before the turn was confirmed.
    expect(on.l.llmStartAt! - on.l.speechEndAt!).toBeLessThan(150);
    expect(on.l.firstAudioSentAt!).toBeGreaterThanOrEqual(on.caller.endedAt);
    expect(on.l.responseMs!).toBeLessThanOrEqual(off.l.responseMs! - 100);
  });

  it("a pickup 'Hello?' over the greeting is a caller turn that neither cuts the greeting nor gets a reply", async () => {
    const greeting = "Hey, it's Brad, your coach. I wanted to check in about your week and see how the running is going.";
    const c = setup({ greeting: { text: greeting } });
    await c.pipeline.prepare();
    c.phone.start();
    await until(() => c.phone.heard.includes("Brad"));
    c.phone.say("Hello? ");
    await until(() => c.turns().some((t) => t.speaker === "caller"));
    await until(() => c.persona().length >= 1);
    await advance(3000);
    expect(c.phone.clears).toBe(0);
    expect(c.events.some((e) => e.type === "barge-in")).toBe(false);
    expect(c.persona()).toHaveLength(1);
    expect(c.persona()[0]).toMatchObject({ kind: "greeting", interrupted: false, text: greeting });
    expect(c.turns().filter((t) => t.speaker === "caller").map((t) => t.text)).toEqual(["Hello?"]);
    // The transcript reads greeting, then the pickup (recorded once the greeting finished).
    expect(c.turns().map((t) => t.speaker)).toEqual(["persona", "caller"]);
    expect(c.pipeline.conversation.map((m) => m.role)).toEqual(["assistant", "user"]);
    // The next thing the caller says is answered as usual.
    c.phone.say("What are we doing today? ");
    await until(() => c.persona().length >= 2);
    expect(c.persona()[1]?.text).toBe(REPLIES["what are we doing today"]);
    await c.pipeline.stop();
  });

  it("a pickup with a real request still interrupts the greeting and is answered", async () => {
    const greeting = "Hey, it's Brad, your coach. I wanted to check in about your week and see how the running is going.";
    const c = setup({ greeting: { text: greeting } });
    await c.pipeline.prepare();
    c.phone.start();
    await until(() => c.phone.heard.includes("Brad"));
    c.phone.say("Hello? What are we doing today? ");
    await until(() => c.persona().length >= 2);
    expect(c.phone.clears).toBe(1);
    expect(c.persona()[0]).toMatchObject({ kind: "greeting", interrupted: true });
    expect(c.turns().filter((t) => t.speaker === "caller").map((t) => t.text)).toEqual(["Hello? What are we doing today?"]);
    await c.pipeline.stop();
  });

  it("discards a speculative reply when the final transcript differs (miss)", async () => {
    // The STT revises "to Mara" (interim) into "tomorrow" (final), after the VAD stop; the
    // speculative request (started at the pause) is still waiting for its first token then.
    const c = setup({ stt: { finalizeDelayMs: 300, reviseFinal: (t) => t.replace("to Mara", "tomorrow") }, primaryTtftMs: 400 });
    await begin(c);
    c.phone.say("I want to go to the beach to Mara. ");
    await until(() => c.persona().length >= 2);
    const turn = c.persona()[1]!;
    expect(c.llm.calls).toHaveLength(2);
    expect(c.llm.calls[0]?.messages.at(-1)?.content).toBe("I want to go to the beach to Mara.");
    expect(c.llm.calls[0]?.aborted).toBe(true);
    expect(turn.latency?.speculative).toBe("miss");
    expect(turn.text).toBe(REPLIES["i want to go to the beach tomorrow"]);
    expect(c.phone.heard).not.toContain("Sure thing");
    // The discarded request is still accounted for (estimated: it never reached its usage chunk).
    const llmUsage = c.events.flatMap((e) => (e.type === "usage" && e.usage.kind === "llm" ? [e.usage] : []));
    expect(llmUsage.filter((u) => u.speculative && u.estimated)).toHaveLength(1);
    expect(llmUsage.filter((u) => !u.estimated)).toHaveLength(1);
    await c.pipeline.stop();
  });

  it("aborts a speculative request when the caller resumes, keeping at most one in flight", async () => {
    // The caller pauses (local VAD stops, a speculative request starts) and resumes before the final.
    const c = setup({ stt: { endpointingMs: 2000, utteranceEndMs: 0, finalizeDelayMs: 500 }, primaryTtftMs: 400, config: { turnTimeoutMs: 1500 } });
    await begin(c);
    c.phone.say("I want to go ");
    await until(() => c.llm.calls.length >= 1);
    c.phone.say("to the beach tomorrow. ");
    await until(() => c.persona().length >= 2);
    expect(c.llm.calls[0]?.aborted).toBe(true);
    expect(c.llm.calls.filter((x) => !x.aborted && !x.completed)).toHaveLength(0);
    expect(c.persona()[1]?.text).toBe(REPLIES["i want to go to the beach tomorrow"]);
    expect(c.phone.heard).not.toContain("Go where?");
    await c.pipeline.stop();
  });

  it("records a full latency breakdown, usage and DTMF", async () => {
    const c = setup({ config: { speculation: false } });
    await begin(c);
    c.phone.pressDigit("5");
    c.phone.say("What are we doing today? ");
    await until(() => c.persona().length >= 2);
    const l = c.persona()[1]!.latency!;
    for (const k of ["speechEndAt", "finalTranscriptAt", "llmStartAt", "llmFirstTokenAt", "ttsFirstByteAt", "firstAudioSentAt", "firstMarkAt", "sttMs", "llmTtftMs", "ttsTtfbMs", "responseMs", "heardMs"] as const) {
      expect(l[k], k).not.toBeNull();
    }
    expect(l.speechEndAt!).toBeLessThanOrEqual(l.finalTranscriptAt!);
    expect(l.finalTranscriptAt!).toBeLessThanOrEqual(l.llmFirstTokenAt!);
    expect(l.llmFirstTokenAt!).toBeLessThanOrEqual(l.ttsFirstByteAt!);
    expect(l.ttsFirstByteAt!).toBeLessThanOrEqual(l.firstAudioSentAt!);
    expect(l.firstAudioSentAt!).toBeLessThanOrEqual(l.firstMarkAt!);
    expect(l.responseMs!).toBeLessThan(1500);
    expect(l).toMatchObject({ interrupted: false, speculative: "none", fallbackUsed: false, llmProvider: "cerebras" });
    expect(c.events.some((e) => e.type === "latency" && e.turnIndex === c.persona()[1]!.index)).toBe(true);

    expect(c.dtmf).toEqual(["5"]);
    expect(c.events.some((e) => e.type === "dtmf" && e.digit === "5")).toBe(true);

    await c.pipeline.stop();
    const usage = c.events.flatMap((e) => (e.type === "usage" ? [e.usage] : []));
    const sttMs = usage.reduce((a, u) => a + (u.kind === "stt" ? u.audioMs : 0), 0);
    expect(sttMs).toBeGreaterThan(1000);
    expect(usage.some((u) => u.kind === "llm" && u.provider === "cerebras" && u.completionTokens > 0 && u.promptTokens > 0)).toBe(true);
    const ttsChars = usage.reduce((a, u) => a + (u.kind === "tts" ? u.characters : 0), 0);
    expect(ttsChars).toBeGreaterThanOrEqual("Hey, it's Brad.".length + (REPLIES["what are we doing today"] ?? "").length);
  });

  it("records the heard part of the persona turn when the caller hangs up mid-sentence", async () => {
    const c = setup({ config: { speculation: false } });
    await begin(c);
    c.phone.say("Tell me a long story. ");
    await until(() => c.phone.heard.includes("small boat"));
    c.phone.hangUp();
    await advance(50);
    const story = c.persona()[1]!;
    expect(story.interrupted).toBe(true);
    expect(story.text.length).toBeGreaterThan(10);
    expect((REPLIES["tell me a long story"] ?? "").startsWith(story.text)).toBe(true);
  });
});

describe("CallPipeline provider failures", () => {
  it("reports a fatal error when a vendor socket cannot open, without leaking the other", async () => {
    const transcriber = new FakeTranscriber();
    const events: PipelineEvent[] = [];
    const pipeline = new CallPipeline({
      providers: {
        transcriber,
        llm: new FakeChatModel({ reply }),
        tts: {
          provider: "elevenlabs",
          connect: () => Promise.reject(new ProviderError("elevenlabs", "HTTP 401", { status: 401 })),
        },
      },
      send: () => undefined,
      onEvent: (e) => events.push(e),
      systemPrompt: "You are Brad.",
    });
    const phone = new FakePhone({ deliver: (m) => pipeline.onTwilioMessage(m) });
    phone.start();
    await new Promise((r) => setTimeout(r, 10));
    phone.stopClock();
    const err = events.find((e) => e.type === "error");
    expect(err).toMatchObject({ fatal: true, error: { provider: "elevenlabs", retryable: false } });
    expect(transcriber.sessions[0]?.closed).toBe(true);
    await pipeline.stop();
  });
});

describe("cutToHeard", () => {
  it("drops a partially heard trailing word", () => {
    expect(cutToHeard("Hello there friend ", 8)).toBe("Hello");
    expect(cutToHeard("Hello there friend ", 11)).toBe("Hello there");
    expect(cutToHeard("Hello there friend ", 12)).toBe("Hello there");
    expect(cutToHeard("Hello", 0)).toBe("");
    expect(cutToHeard("Hello there ", 100)).toBe("Hello there");
  });
});
