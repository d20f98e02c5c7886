/**
 * Deterministic in-process fakes implementing the real provider interfaces, for pipeline unit
 * tests (never used by the running product, which always talks to real adapters — pointed at
 * the sandbox emulators when keyless):
 *
 * - `FakeTranscriber`: decodes the sandbox voice from the audio it is fed and behaves like
 *   Deepgram: interim results per word, `is_final`+`speech_final` after `endpointingMs` of
 *   silence, `UtteranceEnd`, `Finalize`. Knobs turn endpoints off to exercise fallbacks.
 * - `FakeChatModel`: replies chosen by a function of the conversation, with scripted
 *   time-to-first-token, token pace and failures per call; records calls and aborts.
 * - `FakeSynthesizer`: multi-context TTS producing sandbox-voice μ-law with per-chunk alignment.
 * - `FakePhone`: the Twilio side of a call — plays outbound frames in real time (fake clock),
 *   echoes marks, honours `clear`, records what the callee heard, and speaks scripted lines.
 */
import { SpeechDecoder, encodeSpeech } from "../../sandbox/codec/speech-codec";
import { base64ToBytes, bytesToBase64 } from "../pipeline/audio";
import type { TwilioInbound } from "../twilio/protocol";
import {
  ProviderError,
  realClock,
  type Alignment,
  type ChatDelta,
  type ChatMessage,
  type ChatModel,
  type ChatStreamOptions,
  type Clock,
  type SpeechSynthesizer,
  type TimerHandle,
  type Transcriber,
  type TranscriberConnectOptions,
  type TranscriberHandlers,
  type TranscriberSession,
  type TtsHandlers,
  type TtsSession,
} from "./types";

function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const h = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clock.clearTimeout(h);
      reject(abortError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function abortError(): Error {
  const e = new Error("aborted");
  e.name = "AbortError";
  return e;
}

// ---------------------------------------------------------------- STT

export interface FakeTranscriberOptions {
  clock?: Clock;
  /** Silence after the last word before `is_final` (+ `speech_final`). @default 300 */
  endpointingMs?: number;
  /** Emit `speech_final` on endpointing. @default true */
  speechFinal?: boolean;
  /** Emit `is_final` on endpointing at all (false: only Finalize produces finals). @default true */
  endpointing?: boolean;
  /** Emit `UtteranceEnd` after this much silence (0 = never). @default 1000 */
  utteranceEndMs?: number;
  /** Delay of the `from_finalize` result after `Finalize`. @default 40 */
  finalizeDelayMs?: number;
  /** Rewrites final transcripts (an STT revising its interim words). */
  reviseFinal?(text: string): string;
}

export class FakeTranscriber implements Transcriber {
  readonly provider = "fake-stt";
  readonly sessions: FakeTranscriberSession[] = [];
  constructor(readonly opts: FakeTranscriberOptions = {}) {}

  async connect(opts: TranscriberConnectOptions): Promise<TranscriberSession> {
    const s = new FakeTranscriberSession(this.opts, opts.handlers);
    this.sessions.push(s);
    return s;
  }
}

export class FakeTranscriberSession implements TranscriberSession {
  private readonly decoder = new SpeechDecoder();
  private readonly clock: Clock;
  private words: string[] = [];
  private word = "";
  private silenceMs = 0;
  private sinceUtteranceEnd = false;
  private bytes = 0;
  finalizeCount = 0;
  keepAliveCount = 0;
  closed = false;

  constructor(
    private readonly opts: FakeTranscriberOptions,
    private readonly handlers: TranscriberHandlers,
  ) {
    this.clock = opts.clock ?? realClock;
  }

  get audioMsSent(): number {
    return this.bytes / 8;
  }

  sendAudio(bytes: Uint8Array): void {
    if (this.closed) return;
    this.bytes += bytes.length;
    const chunk = this.decoder.push(bytes);
    for (const c of chunk.chars) {
      if (c.char === " ") this.endWord();
      else this.word += c.char;
    }
    if (chunk.voiced) {
      this.silenceMs = 0;
      return;
    }
    const before = this.silenceMs;
    this.silenceMs += bytes.length / 8;
    const endpointing = this.opts.endpointingMs ?? 300;
    if (before < endpointing && this.silenceMs >= endpointing && this.opts.endpointing !== false) {
      this.endWord();
      if (this.words.length > 0) this.emitFinal(this.opts.speechFinal !== false, false);
    }
    const ue = this.opts.utteranceEndMs ?? 1000;
    if (ue > 0 && before < ue && this.silenceMs >= ue && this.sinceUtteranceEnd) {
      this.sinceUtteranceEnd = false;
      this.handlers.onUtteranceEnd?.(0);
    }
  }

  private endWord(): void {
    if (!this.word) return;
    this.words.push(this.word);
    this.word = "";
    this.sinceUtteranceEnd = true;
    this.handlers.onTranscript({
      transcript: this.words.join(" "),
      isFinal: false,
      speechFinal: false,
      fromFinalize: false,
      wordCount: this.words.length,
      confidence: 0.9,
      startMs: 0,
      durationMs: 0,
    });
  }

  private emitFinal(speechFinal: boolean, fromFinalize: boolean): void {
    const said = this.words.join(" ");
    const transcript = this.opts.reviseFinal ? this.opts.reviseFinal(said) : said;
    const n = this.words.length;
    this.words = [];
    this.handlers.onTranscript({
      transcript,
      isFinal: true,
      speechFinal,
      fromFinalize,
      wordCount: n,
      confidence: 0.95,
      startMs: 0,
      durationMs: 0,
    });
  }

  finalize(): void {
    this.finalizeCount++;
    this.clock.setTimeout(() => {
      if (this.closed) return;
      // A word still being spoken stays pending (its end has not been heard yet).
      if (this.silenceMs > 0) this.endWord();
      if (this.words.length > 0) this.emitFinal(false, true);
    }, this.opts.finalizeDelayMs ?? 40);
  }

  keepAlive(): void {
    this.keepAliveCount++;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

// ---------------------------------------------------------------- LLM

export interface FakeCallBehaviour {
  /** Time to first token. */
  ttftMs?: number;
  /** Fail with this HTTP status before the first token. */
  status?: number;
  /** Fail after this many tokens. */
  breakAfterTokens?: number;
}

export interface FakeChatModelOptions {
  clock?: Clock;
  provider?: string;
  model?: string;
  /** The reply for a conversation (last message is the newest user turn). */
  reply(messages: readonly ChatMessage[]): string;
  /** @default 150 */
  ttftMs?: number;
  /** Gap between tokens (words). @default 15 */
  tokenMs?: number;
  /** Per-call overrides, consumed in order. */
  script?: FakeCallBehaviour[];
}

export interface FakeCall {
  messages: ChatMessage[];
  startedAt: number;
  aborted: boolean;
  completed: boolean;
}

export class FakeChatModel implements ChatModel {
  readonly provider: string;
  readonly model: string;
  readonly calls: FakeCall[] = [];
  private readonly clock: Clock;

  constructor(private readonly opts: FakeChatModelOptions) {
    this.provider = opts.provider ?? "fake-llm";
    this.model = opts.model ?? "fake-model";
    this.clock = opts.clock ?? realClock;
  }

  async *stream(messages: readonly ChatMessage[], opts: ChatStreamOptions = {}): AsyncIterable<ChatDelta> {
    const call: FakeCall = { messages: [...messages], startedAt: this.clock.now(), aborted: false, completed: false };
    this.calls.push(call);
    const b = this.opts.script?.shift() ?? {};
    const signal = opts.signal;
    const onAbort = (): void => {
      call.aborted = true;
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await sleep(this.clock, b.ttftMs ?? this.opts.ttftMs ?? 150, signal);
      if (b.status) throw new ProviderError(this.provider, `HTTP ${b.status}: fake failure`, { status: b.status });
      const tokens = this.opts.reply(messages).match(/\S+\s*/g) ?? [];
      let n = 0;
      for (const tok of tokens) {
        if (n > 0) await sleep(this.clock, this.opts.tokenMs ?? 15, signal);
        if (b.breakAfterTokens !== undefined && n >= b.breakAfterTokens) {
          throw new ProviderError(this.provider, "stream broke", { retryable: true });
        }
        yield { type: "text", text: tok };
        n++;
      }
      const prompt = messages.reduce((a, m) => a + Math.ceil(m.content.length / 4), 0);
      yield { type: "usage", provider: this.provider, model: this.model, promptTokens: prompt, completionTokens: n };
      yield { type: "finish", reason: "stop" };
      call.completed = true;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

// ---------------------------------------------------------------- TTS

export interface FakeSynthesizerOptions {
  clock?: Clock;
  /** Time from a context's first flush to its first audio. @default 80 */
  ttfbMs?: number;
  /** Sandbox-voice speaking rate. @default 60 */
  msPerChar?: number;
  /** Audio per emitted chunk (not frame aligned on purpose). @default 250 */
  chunkMs?: number;
  /** Gap between chunks (faster than real time). @default 20 */
  chunkIntervalMs?: number;
  /** Send alignment with audio. @default true */
  alignment?: boolean;
}

interface FakeContext {
  id: string;
  pending: string;
  jobs: string[];
  generating: boolean;
  closed: boolean;
  cancelled: boolean;
  final: boolean;
  started: boolean;
}

export class FakeSynthesizer implements SpeechSynthesizer {
  readonly provider = "fake-tts";
  readonly sessions: FakeTtsSession[] = [];
  constructor(readonly opts: FakeSynthesizerOptions = {}) {}

  async connect(handlers: TtsHandlers): Promise<TtsSession> {
    const s = new FakeTtsSession(this.opts, handlers);
    this.sessions.push(s);
    return s;
  }
}

export class FakeTtsSession implements TtsSession {
  readonly contexts = new Map<string, FakeContext>();
  /** Every message, for assertions: [kind, contextId, text?]. */
  readonly log: Array<[string, string, string?]> = [];
  private readonly clock: Clock;
  closed = false;

  constructor(
    private readonly opts: FakeSynthesizerOptions,
    private readonly handlers: TtsHandlers,
  ) {
    this.clock = opts.clock ?? realClock;
  }

  startContext(id: string): void {
    this.log.push(["start", id]);
    this.contexts.set(id, { id, pending: "", jobs: [], generating: false, closed: false, cancelled: false, final: false, started: false });
  }

  sendText(id: string, text: string): void {
    this.log.push(["text", id, text]);
    const c = this.contexts.get(id);
    if (c && !c.closed) c.pending += text;
  }

  flush(id: string): void {
    this.log.push(["flush", id]);
    const c = this.contexts.get(id);
    if (!c || c.closed || !c.pending) return;
    c.jobs.push(c.pending);
    c.pending = "";
    if (!c.generating) void this.generate(c);
  }

  closeContext(id: string): void {
    this.log.push(["close", id]);
    const c = this.contexts.get(id);
    if (!c || c.closed) return;
    c.closed = true;
    c.pending = "";
    if (!c.generating) this.finish(c);
  }

  cancelContext(id: string): void {
    this.log.push(["cancel", id]);
    const c = this.contexts.get(id);
    if (!c || c.final) return;
    c.closed = true;
    c.cancelled = true;
    c.pending = "";
    c.jobs.length = 0;
    this.finish(c);
  }

  keepAlive(): void {
    this.log.push(["keepalive", ""]);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private finish(c: FakeContext): void {
    if (c.final) return;
    c.final = true;
    this.clock.setTimeout(() => this.handlers.onFinal(c.id), 1);
  }

  private async generate(c: FakeContext): Promise<void> {
    c.generating = true;
    const msPerChar = this.opts.msPerChar ?? 60;
    const chunkBytes = Math.max(1, Math.round((this.opts.chunkMs ?? 250) * 8)) + 37;
    while (c.jobs.length > 0 && !this.closed) {
      const text = c.jobs.shift() ?? "";
      if (!c.started) {
        c.started = true;
        await sleep(this.clock, this.opts.ttfbMs ?? 80);
      }
      const speech = encodeSpeech(text, msPerChar);
      const charBytes = speech.audio.length / Math.max(1, speech.alignment.chars.length);
      for (let off = 0; off < speech.audio.length && !this.closed && !c.cancelled; off += chunkBytes) {
        const end = Math.min(speech.audio.length, off + chunkBytes);
        const alignment = this.opts.alignment === false ? null : alignmentFor(speech.alignment, off, end, charBytes);
        this.handlers.onAudio(c.id, speech.audio.slice(off, end), alignment);
        await sleep(this.clock, this.opts.chunkIntervalMs ?? 20);
      }
    }
    c.generating = false;
    if (c.closed) this.finish(c);
  }
}

/** Alignment for the characters whose audio STARTS inside [off, end), relative to `off`. */
function alignmentFor(a: Alignment, off: number, end: number, charBytes: number): Alignment {
  const out: Alignment = { chars: [], charStartTimesMs: [], charsDurationsMs: [] };
  for (let i = 0; i < a.chars.length; i++) {
    const start = i * charBytes;
    if (start >= off && start < end) {
      out.chars.push(a.chars[i] ?? "");
      out.charStartTimesMs.push((start - off) / 8);
      out.charsDurationsMs.push(a.charsDurationsMs[i] ?? 0);
    }
  }
  return out;
}

// ---------------------------------------------------------------- Twilio side

export interface FakePhoneOptions {
  clock?: Clock;
  /** Where the phone's messages go (the pipeline's `onTwilioMessage`). */
  deliver(msg: TwilioInbound): void;
  streamSid?: string;
  callSid?: string;
  customParameters?: Record<string, string>;
  /** Sandbox-voice rate of the callee. @default 60 */
  msPerChar?: number;
}

/**
 * The callee's phone plus Twilio's media buffer: consumes one 20 ms frame per tick, echoes
 * marks when the audio before them has played, drops its buffer on `clear` (echoing the
 * outstanding marks), and sends the callee's audio (speech or silence) every 20 ms.
 */
export class FakePhone {
  readonly streamSid: string;
  readonly sent: string[] = [];
  readonly received: Array<{ event: string; name?: string; at: number }> = [];
  /** Text the callee actually heard (decoded from played frames). */
  heard = "";
  /** Largest number of buffered (unplayed) ms seen. */
  maxBufferedMs = 0;
  clears = 0;
  private readonly clock: Clock;
  private readonly decoder = new SpeechDecoder();
  private readonly queue: Array<Uint8Array | string> = [];
  private speech: Uint8Array[] = [];
  private timer: TimerHandle | null = null;
  private chunk = 0;
  private running = false;
  private startedAt: number | null = null;
  private ticks = 0;

  constructor(private readonly opts: FakePhoneOptions) {
    this.clock = opts.clock ?? realClock;
    this.streamSid = opts.streamSid ?? "MZfake0000000000000000000000000000";
  }

  /** Sink for the pipeline's `send`. */
  readonly receive = (json: string): void => {
    const msg = JSON.parse(json) as { event: string; media?: { payload: string }; mark?: { name: string } };
    this.received.push({ event: msg.event, name: msg.mark?.name, at: this.clock.now() });
    if (msg.event === "media" && msg.media) {
      // Twilio plays any payload length: queue it as 20 ms frames (the last one may be short).
      const bytes = base64ToBytes(msg.media.payload);
      for (let off = 0; off < bytes.length; off += 160) this.queue.push(bytes.subarray(off, Math.min(bytes.length, off + 160)));
      const buffered = this.queue.filter((x) => typeof x !== "string").length * 20;
      if (buffered > this.maxBufferedMs) this.maxBufferedMs = buffered;
    } else if (msg.event === "mark" && msg.mark) {
      this.queue.push(msg.mark.name);
      this.echoLeadingMarks();
    } else if (msg.event === "clear") {
      this.clears++;
      const marks = this.queue.filter((x): x is string => typeof x === "string");
      this.queue.length = 0;
      for (const m of marks) this.echo(m);
    }
  };

  /** Sends `connected` + `start` and starts the 20 ms clock. */
  start(): void {
    this.opts.deliver({ event: "connected", protocol: "Call", version: "1.0.0" });
    this.opts.deliver({
      event: "start",
      sequenceNumber: "1",
      streamSid: this.streamSid,
      start: {
        streamSid: this.streamSid,
        accountSid: "ACfake",
        callSid: this.opts.callSid ?? "CAfake",
        tracks: ["inbound"],
        customParameters: this.opts.customParameters ?? {},
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
      },
    });
    this.running = true;
    this.tick();
  }

  /** The callee says `text` now (queued after anything still being said). */
  say(text: string): void {
    const audio = encodeSpeech(text, this.opts.msPerChar ?? 60).audio;
    for (let i = 0; i < audio.length; i += 160) this.speech.push(audio.subarray(i, i + 160));
  }

  /** Whether the callee is still speaking. */
  get speaking(): boolean {
    return this.speech.length > 0;
  }

  pressDigit(digit: string): void {
    this.opts.deliver({ event: "dtmf", streamSid: this.streamSid, dtmf: { track: "inbound_track", digit } });
  }

  hangUp(): void {
    this.stopClock();
    this.opts.deliver({ event: "stop", streamSid: this.streamSid, stop: { accountSid: "ACfake", callSid: "CAfake" } });
  }

  stopClock(): void {
    this.running = false;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Ms of outbound audio buffered right now. */
  get bufferedMs(): number {
    return this.queue.filter((x) => typeof x !== "string").length * 20;
  }

  /** Plays/sends every 20 ms frame due by now (drift-free under real timers), then re-arms. */
  private tick(): void {
    if (!this.running) return;
    const now = this.clock.now();
    this.startedAt ??= now;
    const due = Math.floor((now - this.startedAt) / 20) + 1;
    while (this.ticks < due && this.running) {
      this.ticks++;
      this.frame();
    }
    const nextAt = this.startedAt + this.ticks * 20;
    this.timer = this.clock.setTimeout(() => this.tick(), Math.max(1, nextAt - this.clock.now()));
  }

  private frame(): void {
    // Play one frame of persona audio.
    const next = this.queue.findIndex((x) => typeof x !== "string");
    if (next >= 0) {
      const frame = this.queue.splice(next, 1)[0];
      if (frame instanceof Uint8Array) for (const c of this.decoder.push(frame).chars) this.heard += c.char;
    }
    this.echoLeadingMarks();
    // Send one frame of callee audio.
    const out = this.speech.shift() ?? SILENT_FRAME;
    this.opts.deliver({
      event: "media",
      sequenceNumber: String(this.chunk + 3),
      streamSid: this.streamSid,
      media: { track: "inbound", chunk: String(++this.chunk), timestamp: String(this.chunk * 20), payload: bytesToBase64(out) },
    });
  }

  private echoLeadingMarks(): void {
    while (typeof this.queue[0] === "string") this.echo(this.queue.shift() as string);
  }

  /** Echoes arrive as separate socket messages, never inside the pipeline's own `send`. */
  private echo(name: string): void {
    queueMicrotask(() => this.opts.deliver({ event: "mark", streamSid: this.streamSid, mark: { name } }));
  }
}

const SILENT_FRAME = new Uint8Array(160).fill(0xff);
