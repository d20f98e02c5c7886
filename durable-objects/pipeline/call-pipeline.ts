/**
 * One phone call's conversation loop, independent of the runtime: Twilio Media Stream messages
 * in, Twilio messages and `PipelineEvent`s out, vendors behind the provider interfaces, time
 * behind an injected `Clock`.
 *
 *   inbound media ─▶ STT (Deepgram) ──▶ TurnTaker ──▶ caller turn ──▶ LlmRun (primary → fallback)
 *        │ local VAD: Finalize on a short pause,             ▲ speculative run from that pause
 *        │ turn end at the VAD stop, barge-in gate            │ (used only if the VAD stop confirms it)
 *        ▼                                        SentenceChunker ─▶ TTS context per persona turn
 *   Playback (20 ms frames, ≤ leadMs ahead, marks) ◀──────────────────────────┘
 *
 * Persona turns are serialized: one is current (generating and/or playing); scripted turns
 * (warning) queue behind it. A barge-in sends `clear`, aborts the LLM run, closes the TTS
 * context and stores only what the caller heard. The Durable Object owns sockets, persistence
 * and the actual hang-up; this class only asks for it (`hangup-request`).
 */
import type {
  ChatMessage,
  ChatModel,
  Clock,
  SpeechSynthesizer,
  TimerHandle,
  Transcriber,
  TranscriberSession,
  TranscriptResult,
  TtsSession,
} from "../providers/types";
import { ProviderError, countNonSpace, indexAfterNonSpace, realClock } from "../providers/types";
import type { TwilioInbound } from "../twilio/protocol";
import { base64ToBytes, EnergyVad, type VadOptions } from "./audio";
import { isBackchannel, isPickup, shouldBargeIn, words, type BargeInOptions } from "./barge-in";
import { CallRules, type CallRulesOptions } from "./call-rules";
import type { HangupReason, PersonaTurnKind, PipelineEvent, TurnLatency, UsageRecord } from "./events";
import { Playback } from "./playback";
import { runBackground } from "./run-background";
import { SentenceChunker, type SentenceChunkerOptions } from "./sentence-chunker";
import { LlmRun, sameUtterance } from "./speculation";
import { TurnTaker, type CallerTurn } from "./turn-taking";

export interface PipelineProviders {
  transcriber: Transcriber;
  tts: SpeechSynthesizer;
  /** Primary model (Cerebras). */
  llm: ChatModel;
  /** Fallback model (OpenAI) used when the primary fails or is slow to its first token. */
  fallbackLlm?: ChatModel;
}

export interface PipelineConfig {
  /** Max audio ahead of real time at Twilio. @default 200 */
  leadMs: number;
  /** Pacer tick, and the most audio per outbound `media` message. @default 60 */
  tickMs: number;
  /** Wait this long past the expected end of a turn's audio for its end mark. @default 1500 */
  markGraceMs: number;
  vad: VadOptions;
  /** Silence fallback for a caller turn without speech_final/UtteranceEnd. @default 1200 */
  turnTimeoutMs: number;
  /** Send Deepgram `Finalize` when local VAD detects the end of speech (at `pauseMs`, else at the stop). @default true */
  finalizeOnVadStop: boolean;
  /**
   * Quiet inside a speech run (before the VAD stop) that counts as a pause: `Finalize` is sent
   * early and the speculative LLM run starts; the turn still ends only at the VAD stop.
   * A value ≥ `vad.stopMs` turns the early path off. @default 80
   */
  pauseMs: number;
  bargeIn: BargeInOptions;
  /** Start the LLM before the turn is confirmed (at a pause, or on a stable interim). @default true */
  speculation: boolean;
  /** Interim unchanged this long (caller quiet) starts speculation when no pause did. @default 250 */
  speculationStableMs: number;
  /** Primary LLM first-token bound before falling back. @default 1200 */
  firstTokenTimeoutMs: number;
  /** @default 4000 */
  fallbackFirstTokenTimeoutMs: number;
  /** Spoken when the pipeline switches to the fallback model. @default "One sec…" */
  fillerText: string;
  /** Spoken when no model produced a reply. */
  errorReplyText: string;
  chunker: SentenceChunkerOptions;
  rules: CallRulesOptions;
}

export const DEFAULT_PIPELINE_CONFIG: PipelineConfig = {
  leadMs: 200,
  tickMs: 60,
  markGraceMs: 1500,
  vad: {},
  turnTimeoutMs: 1200,
  finalizeOnVadStop: true,
  pauseMs: 80,
  bargeIn: {},
  speculation: true,
  speculationStableMs: 250,
  firstTokenTimeoutMs: 1200,
  fallbackFirstTokenTimeoutMs: 4000,
  fillerText: "One sec…",
  errorReplyText: "Sorry, I lost my train of thought there. Could you say that again?",
  chunker: {},
  rules: {},
};

export interface GreetingOptions {
  /** Prepared greeting text: spoken as is, no LLM round-trip. */
  text?: string;
  /** Instruction for an LLM-generated greeting (used when `text` is absent). */
  instruction?: string;
}

export interface CallPipelineOptions {
  providers: PipelineProviders;
  /** Sends a serialized message on the Twilio Media Stream socket. */
  send(json: string): void;
  onEvent(event: PipelineEvent): void;
  /** Persona system prompt. */
  systemPrompt: string;
  /** Earlier conversation (user/assistant messages) to continue from. */
  history?: ChatMessage[];
  greeting?: GreetingOptions;
  /** Twilio AMD result if known before the stream starts (else read from `start.customParameters.AnsweredBy`). */
  answeredBy?: string;
  onDtmf?(digit: string): void;
  clock?: Clock;
  config?: Partial<PipelineConfig>;
}

interface PersonaTurn {
  index: number;
  kind: PersonaTurnKind;
  contextId: string;
  run: LlmRun | null;
  scriptedText: string | null;
  /** Text sent to TTS so far, exactly as sent (the alignment maps onto it). */
  text: string;
  segments: number;
  chunker: SentenceChunker;
  startedAt: number;
  latency: TurnLatency;
  interrupted: boolean;
  finished: boolean;
  ttsFinal: boolean;
  ttsChars: number;
  fillerSpoken: boolean;
  interruptible: boolean;
  afterPlayed: (() => void) | null;
}

type Mode = "idle" | "live" | "ending" | "voicemail" | "stopped";

export class CallPipeline {
  private readonly clock: Clock;
  private readonly cfg: PipelineConfig;
  private readonly vad: EnergyVad;
  private readonly turnTaker: TurnTaker;
  private readonly playback: Playback;
  private readonly rules: CallRules;
  private readonly history: ChatMessage[];
  private stt: TranscriberSession | null = null;
  private tts: TtsSession | null = null;
  private preparing: Promise<void> | null = null;
  private mode: Mode = "idle";
  private streamSid: string | null = null;
  private streamStartedAt: number | null = null;
  private turnCounter = 0;
  private callerTurns = 0;
  private current: PersonaTurn | null = null;
  private readonly queued: PersonaTurn[] = [];
  private readonly byContext = new Map<string, PersonaTurn>();
  private readonly byIndex = new Map<number, PersonaTurn>();
  private speculative: LlmRun | null = null;
  /** A speculative run was started for the caller's current utterance. */
  private speculatedThisUtterance = false;
  private stableTimer: TimerHandle | null = null;
  private lastInterim = "";
  private readonly timers: TimerHandle[] = [];
  private warnTimer: TimerHandle | null = null;
  private endTimer: TimerHandle | null = null;
  /** Added to the rules' duration limit by accepted extensions. */
  private extendedMs = 0;
  private sttReportedMs = 0;
  private preSttAudio: Uint8Array[] = [];
  private hangupRequested = false;
  private pendingVoicemailMessage = false;
  private greetingPrepared = false;
  /** The caller is in a pause (quiet ≥ pauseMs) of the current speech run. */
  private paused = false;
  /** A Finalize went out at this run's pause and the caller has not resumed since. */
  private earlyFinalizeSent = false;
  /** When the greeting finished (played or cut), for the pickup rule. */
  private greetingEndedAt: number | null = null;
  /** A pickup said over the greeting, recorded once the greeting has finished (so the transcript reads greeting, then pickup). */
  private pendingPickup: CallerTurn | null = null;

  constructor(private readonly opts: CallPipelineOptions) {
    this.clock = opts.clock ?? realClock;
    this.cfg = { ...DEFAULT_PIPELINE_CONFIG, ...opts.config };
    this.vad = new EnergyVad(this.cfg.vad);
    this.rules = new CallRules(this.cfg.rules);
    this.history = [...(opts.history ?? [])];
    this.turnTaker = new TurnTaker({
      clock: this.clock,
      timeoutMs: this.cfg.turnTimeoutMs,
      isSpeaking: () => this.vad.speaking,
      onTurn: (t) => this.onCallerTurn(t),
    });
    this.playback = new Playback({
      clock: this.clock,
      send: (json) => this.opts.send(json),
      leadMs: this.cfg.leadMs,
      tickMs: this.cfg.tickMs,
      markGraceMs: this.cfg.markGraceMs,
      onAudibleChange: (speaking) => this.emit({ type: "speaking-state", speaking, at: this.clock.now() }),
      onFirstFrame: (turn, at) => {
        const t = this.byIndex.get(turn);
        if (t) t.latency.firstAudioSentAt ??= at;
      },
      onMarkEchoed: (turn, _segment, at) => {
        const t = this.byIndex.get(turn);
        if (t) t.latency.firstMarkAt ??= at;
      },
      onTurnPlayed: (turn) => this.onPersonaTurnPlayed(turn),
    });
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * Pre-warms while the phone rings: opens the STT and TTS sockets and prepares the greeting
   * (LLM text and TTS audio are generated and held until the stream starts). Idempotent.
   */
  prepare(): Promise<void> {
    this.preparing ??= this.doPrepare();
    return this.preparing;
  }

  /** Same as `prepare()`, for callers that do not pre-warm; the call begins on Twilio `start`. */
  start(): Promise<void> {
    return this.prepare();
  }

  private async doPrepare(): Promise<void> {
    const [sttResult, ttsResult] = await Promise.allSettled([
      this.opts.providers.transcriber.connect({
        handlers: {
          onTranscript: (r) => this.onTranscript(r),
          onUtteranceEnd: () => this.turnTaker.onUtteranceEnd(),
          onSpeechStarted: () => this.checkBargeIn(),
          onReconnecting: (e) => this.emitError("stt", e, false),
          onError: (e) => {
            this.emitError("stt", e, true);
            this.requestHangup("stt-failed");
          },
        },
      }),
      this.opts.providers.tts.connect({
        onAudio: (ctx, audio, alignment) => this.onTtsAudio(ctx, audio, alignment),
        onFinal: (ctx) => this.onTtsFinal(ctx),
        onReconnecting: (e) => this.emitError("tts", e, false),
        onError: (e) => this.emitError("tts", e, false),
      }),
    ]);
    if (sttResult.status === "rejected" || ttsResult.status === "rejected") {
      // Do not leak the socket that did open.
      if (sttResult.status === "fulfilled") await sttResult.value.close();
      if (ttsResult.status === "fulfilled") await ttsResult.value.close();
      throw sttResult.status === "rejected" ? sttResult.reason : (ttsResult as PromiseRejectedResult).reason;
    }
    const stt = sttResult.value;
    const tts = ttsResult.value;
    if (this.mode === "stopped") {
      await Promise.all([stt.close(), tts.close()]);
      return;
    }
    this.stt = stt;
    this.tts = tts;
    for (const chunk of this.preSttAudio) stt.sendAudio(chunk);
    this.preSttAudio = [];
    this.prepareGreeting();
  }

  private prepareGreeting(): void {
    if (this.greetingPrepared || this.mode === "voicemail" || this.mode === "stopped") return;
    if (this.rules.isMachine(this.opts.answeredBy)) return;
    this.greetingPrepared = true;
    const g = this.opts.greeting ?? {};
    if (g.text) {
      this.beginPersonaTurn({ kind: "greeting", scriptedText: g.text });
      return;
    }
    const instruction =
      g.instruction ?? "(The call has just connected and the person said hello. Greet them in one or two short sentences.)";
    const run = this.newRun([...this.messages(), { role: "user", content: instruction }], false);
    this.beginPersonaTurn({ kind: "greeting", run });
  }

  /** Feeds one parsed Twilio Media Stream message. */
  onTwilioMessage(msg: TwilioInbound): void {
    if (this.mode === "stopped") return;
    switch (msg.event) {
      case "media":
        if (msg.media.track && msg.media.track !== "inbound" && msg.media.track !== "inbound_track") return;
        this.onInboundAudio(base64ToBytes(msg.media.payload));
        return;
      case "mark":
        this.playback.onMark(msg.mark.name);
        return;
      case "start":
        this.onStreamStart(msg.streamSid, msg.start.customParameters.AnsweredBy ?? this.opts.answeredBy);
        return;
      case "dtmf":
        this.emit({ type: "dtmf", digit: msg.dtmf.digit, at: this.clock.now() });
        this.opts.onDtmf?.(msg.dtmf.digit);
        return;
      case "stop":
        void this.stop();
        return;
      case "connected":
        return;
    }
  }

  /**
   * Twilio's answering-machine detection result when it arrives after the stream started
   * (async AMD callback): `machine_*`/`fax` switches the call to leaving a voicemail.
   */
  onAnsweredBy(answeredBy: string): void {
    if (this.mode === "live" && this.callerTurns === 0 && this.rules.isMachine(answeredBy)) this.enterVoicemail("amd");
  }

  /** Ends the call loop: records the persona turn in progress (heard part), closes vendor sockets. */
  async stop(): Promise<void> {
    if (this.mode === "stopped") return;
    const cur = this.current;
    for (const t of this.queued.splice(0)) t.run?.abort();
    this.mode = "stopped";
    if (cur && !cur.finished) this.interruptPersona(cur, false);
    this.speculative?.abort();
    this.speculative = null;
    this.clearStableTimer();
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.turnTaker.reset();
    this.playback.stop();
    this.reportSttUsage();
    const stt = this.stt;
    const tts = this.tts;
    this.stt = null;
    this.tts = null;
    await Promise.all([stt?.close(), tts?.close()]);
  }

  /** Conversation so far (what the caller heard of each persona turn). */
  get conversation(): readonly ChatMessage[] {
    return this.history;
  }

  /** Playback diagnostics for tests and benchmarks. */
  get maxLeadObservedMs(): number {
    return this.playback.maxLeadObservedMs;
  }

  // ------------------------------------------------------------------ stream start & rules

  private onStreamStart(streamSid: string, answeredBy: string | undefined): void {
    if (this.streamSid) return;
    this.streamSid = streamSid;
    const now = this.clock.now();
    this.streamStartedAt = now;
    this.mode = "live";
    for (const t of [this.current, ...this.queued]) if (t && t.latency.referenceAt === null) t.latency.referenceAt = now;
    this.scheduleRules(now);
    if (this.rules.isMachine(answeredBy)) {
      this.enterVoicemail("amd");
    }
    this.playback.setStreamSid(streamSid);
    // Without STT/TTS sockets there is no call: a failure here is fatal (the DO hangs up).
    runBackground("prepare", () => this.prepare(), (err, label) => this.emitError(label, err, true));
  }

  /** (Re)arms the warning and end timers for the current limit (the rules' limit plus extensions). */
  private scheduleRules(now: number): void {
    if (this.streamStartedAt === null) return;
    for (const t of [this.warnTimer, this.endTimer]) if (t) this.clock.clearTimeout(t);
    const sched = this.rules.schedule(this.streamStartedAt + this.extendedMs);
    this.warnTimer = sched.warnAt !== null && sched.warnAt > now ? this.clock.setTimeout(() => this.onWarning(), sched.warnAt - now) : null;
    this.endTimer = this.clock.setTimeout(() => this.onDurationLimit(), Math.max(0, sched.endAt - now));
    for (const t of [this.warnTimer, this.endTimer]) if (t) this.timers.push(t);
  }

  /** Speak a scripted line after the current turn (budget warning, extension offer). Live calls only. */
  say(text: string): void {
    if (this.mode !== "live") return;
    this.beginPersonaTurn({ kind: "warning", scriptedText: text, queue: true });
  }

  /** Move the end of the call `ms` later (an accepted extension); the warning moves with it. */
  extendBy(ms: number): void {
    if (this.mode !== "live" || ms <= 0) return;
    this.extendedMs += ms;
    this.scheduleRules(this.clock.now());
  }

  /**
   * End the call now as the duration limit does — cut the current turn, speak `goodbyeText`
   * (not interruptible), then ask to hang up with `reason` — e.g. when the budget is reached.
   */
  endWithGoodbye(goodbyeText: string, reason: HangupReason): void {
    if (this.mode === "stopped" || this.mode === "voicemail" || this.mode === "ending") return;
    this.rules.takeEnd();
    this.mode = "ending";
    this.abortSpeculation();
    for (const t of this.queued.splice(0)) t.run?.abort();
    const cur = this.current;
    if (cur && !cur.finished) this.interruptPersona(cur, true);
    this.beginPersonaTurn({ kind: "goodbye", scriptedText: goodbyeText, interruptible: false, afterPlayed: () => this.requestHangup(reason) });
    this.timers.push(this.clock.setTimeout(() => this.requestHangup(reason), this.rules.hangupGraceMs));
  }

  private onWarning(): void {
    if (this.mode !== "live" || !this.rules.takeWarning()) return;
    this.beginPersonaTurn({ kind: "warning", scriptedText: this.rules.warningText, queue: true });
  }

  private onDurationLimit(): void {
    if (this.mode === "stopped" || this.mode === "voicemail" || !this.rules.takeEnd()) return;
    this.mode = "ending";
    this.abortSpeculation();
    for (const t of this.queued.splice(0)) t.run?.abort();
    const cur = this.current;
    if (cur && !cur.finished) this.interruptPersona(cur, true);
    this.beginPersonaTurn({
      kind: "goodbye",
      scriptedText: this.rules.goodbyeText,
      interruptible: false,
      afterPlayed: () => this.requestHangup("duration-limit"),
    });
    this.timers.push(this.clock.setTimeout(() => this.requestHangup("duration-limit"), this.rules.hangupGraceMs));
  }

  private enterVoicemail(source: "amd" | "transcript"): void {
    if (this.mode === "voicemail" || this.mode === "stopped") return;
    this.mode = "voicemail";
    this.emit({ type: "voicemail", source, at: this.clock.now() });
    this.abortSpeculation();
    for (const t of this.queued.splice(0)) t.run?.abort();
    const cur = this.current;
    if (cur && !cur.finished) this.interruptPersona(cur, true);
    this.greetingPrepared = true;
    // Speak after the greeting (caller side) goes quiet, so the message lands after the beep.
    if (this.vad.speaking) this.pendingVoicemailMessage = true;
    else this.speakVoicemailMessage();
    this.timers.push(this.clock.setTimeout(() => this.requestHangup("voicemail"), this.rules.hangupGraceMs + 30_000));
  }

  private speakVoicemailMessage(): void {
    this.pendingVoicemailMessage = false;
    this.beginPersonaTurn({
      kind: "voicemail",
      scriptedText: this.rules.voicemailMessage,
      interruptible: false,
      afterPlayed: () => this.requestHangup("voicemail"),
    });
  }

  private requestHangup(reason: HangupReason): void {
    if (this.hangupRequested) return;
    this.hangupRequested = true;
    this.emit({ type: "hangup-request", reason, at: this.clock.now() });
  }

  // ------------------------------------------------------------------ inbound audio & STT

  private onInboundAudio(bytes: Uint8Array): void {
    const stt = this.stt;
    if (stt) stt.sendAudio(bytes);
    else if (this.preSttAudio.length < 500) this.preSttAudio.push(bytes);
    const transition = this.vad.push(bytes);
    if (transition === "start") {
      this.paused = false;
      this.earlyFinalizeSent = false;
      this.turnTaker.onVadStart();
    } else if (transition === "stop") {
      this.paused = false;
      const finalizeNow = this.cfg.finalizeOnVadStop && !this.earlyFinalizeSent;
      this.earlyFinalizeSent = false;
      if (finalizeNow) this.turnTaker.noteFinalizeSent();
      // Ends the turn at once if the early Finalize's result is already in.
      this.turnTaker.onVadStop(this.vad.stopMs);
      if (finalizeNow) this.stt?.finalize();
      if (this.pendingVoicemailMessage && this.mode === "voicemail") this.speakVoicemailMessage();
      this.maybeSpeculate();
    } else if (this.vad.speaking) {
      const quiet = this.vad.trailingQuietMs;
      if (this.paused && quiet === 0) this.onSpeechResumed();
      else if (!this.paused && quiet >= this.cfg.pauseMs && this.cfg.pauseMs < this.vad.stopMs) this.onPause();
    }
    if (this.vad.speaking && this.current) this.checkBargeIn();
  }

  /** Quiet for `pauseMs` inside a speech run: Finalize early and speculate; the VAD stop still ends the turn. */
  private onPause(): void {
    this.paused = true;
    if (this.cfg.finalizeOnVadStop && this.stt) {
      this.earlyFinalizeSent = true;
      this.turnTaker.noteFinalizeSent();
      this.stt.finalize();
    }
    this.maybeSpeculate();
  }

  /** Voice again after a pause: the speculative run (if any) is a miss; keep accumulating. */
  private onSpeechResumed(): void {
    this.paused = false;
    this.earlyFinalizeSent = false;
    this.turnTaker.onSpeechResumed();
    this.abortSpeculation();
  }

  private onTranscript(r: TranscriptResult): void {
    if (this.mode === "stopped") return;
    if (!r.isFinal && r.transcript) {
      if (r.transcript !== this.lastInterim) {
        this.lastInterim = r.transcript;
        this.emit({ type: "transcript-interim", text: r.transcript, at: this.clock.now() });
      }
    }
    this.turnTaker.onTranscript(r);
    if (this.current) this.checkBargeIn();
    this.onTranscriptChangedForSpeculation();
  }

  private onCallerTurn(turn: CallerTurn): void {
    this.lastInterim = "";
    this.clearStableTimer();
    if (this.mode === "stopped") return;
    const cur = this.current;
    // A pickup ("Hello?", "Hi, who's this?") over the greeting, or begun while it played: a caller
    // turn in the transcript, but no interruption and no separate reply — the greeting answers it.
    const greetingPlaying = cur !== null && !cur.finished && this.isPickupTime(cur);
    const begunInGreeting = this.callerTurns === 0 && this.greetingEndedAt !== null && turn.startedAt <= this.greetingEndedAt;
    if ((greetingPlaying || begunInGreeting) && this.mode === "live" && isPickup(turn.text)) {
      this.speculatedThisUtterance = false;
      this.abortSpeculation();
      this.callerTurns++;
      if (greetingPlaying) this.pendingPickup = turn;
      else this.recordCallerTurn(turn);
      return;
    }
    if (cur && !cur.finished) {
      if (isBackchannel(turn.text) || !cur.interruptible) {
        this.speculatedThisUtterance = false;
        // "uh-huh" while the persona talks is not a turn.
        if (!cur.interruptible && !isBackchannel(turn.text)) this.recordCallerTurn(turn);
        this.abortSpeculation();
        return;
      }
      this.bargeIn(cur);
    }
    this.recordCallerTurn(turn);
    this.callerTurns++;
    if (this.callerTurns === 1 && this.mode === "live" && this.rules.isVoicemailGreeting(turn.text)) {
      this.abortSpeculation();
      this.enterVoicemail("transcript");
      return;
    }
    if (this.mode !== "live") {
      this.abortSpeculation();
      return;
    }
    const spec = this.speculative;
    this.speculative = null;
    const speculated = this.speculatedThisUtterance;
    this.speculatedThisUtterance = false;
    let run: LlmRun;
    let speculative: TurnLatency["speculative"] = "none";
    if (spec && !spec.aborted && !(spec.done && spec.error) && sameUtterance(spec.userText, turn.text)) {
      run = spec;
      speculative = "hit";
    } else {
      spec?.abort();
      if (spec || speculated) speculative = "miss";
      run = this.newRun(this.messages(), false);
    }
    this.beginPersonaTurn({
      kind: "reply",
      run,
      latency: {
        speechEndAt: turn.speechEndAt,
        finalTranscriptAt: turn.finalAt,
        referenceAt: turn.speechEndAt ?? turn.finalAt,
        speculative,
      },
    });
  }

  private recordCallerTurn(turn: CallerTurn): void {
    this.reportSttUsage();
    const index = ++this.turnCounter;
    this.history.push({ role: "user", content: turn.text });
    this.emit({
      type: "turn",
      turn: {
        index,
        speaker: "caller",
        text: turn.text,
        startedAt: turn.startedAt,
        endedAt: turn.finalAt,
        interrupted: false,
      },
    });
  }

  // ------------------------------------------------------------------ barge-in

  private checkBargeIn(): void {
    const cur = this.current;
    if (!cur || cur.finished || cur.interrupted || !cur.interruptible) return;
    if (this.mode !== "live") return;
    const firstAudio = cur.latency.firstAudioSentAt;
    const audible = this.playback.audible && firstAudio !== null;
    const now = this.clock.now();
    const text = this.turnTaker.text;
    // Before any audio there is no echo to guard against; the caller simply kept talking.
    const audibleFor = audible ? now - firstAudio : Number.POSITIVE_INFINITY;
    const pickup = this.isPickupTime(cur);
    if (!shouldBargeIn({ text, voicedMs: this.vad.voicedMs, personaAudibleForMs: audibleFor, pickup }, this.cfg.bargeIn)) return;
    this.bargeIn(cur);
  }

  /** The greeting is current and the caller has not had a turn: their first words are a pickup. */
  private isPickupTime(cur: PersonaTurn): boolean {
    return cur.kind === "greeting" && this.callerTurns === 0;
  }

  private bargeIn(cur: PersonaTurn): void {
    const heard = this.interruptPersona(cur, true);
    this.emit({ type: "barge-in", turnIndex: cur.index, heardText: heard, at: this.clock.now() });
    // The interrupted reply is gone; anything queued behind it (a warning) still plays later.
  }

  /** Stops a persona turn now and records what the caller heard. Returns the heard text. */
  private interruptPersona(t: PersonaTurn, sendClear: boolean): string {
    if (t.finished) return "";
    t.interrupted = true;
    t.latency.interrupted = true;
    const heardChars = sendClear ? this.playback.cancelTurn(t.index) : this.playback.heardChars(t.index);
    t.run?.abort();
    if (!t.ttsFinal) {
      this.tts?.cancelContext(t.contextId);
      this.reportTtsUsage(t);
    }
    const heard = cutToHeard(t.text, indexAfterNonSpace(t.text, heardChars));
    this.finishPersonaTurn(t, heard);
    return heard;
  }

  // ------------------------------------------------------------------ speculation

  private onTranscriptChangedForSpeculation(): void {
    if (!this.cfg.speculation || this.mode !== "live") return;
    const text = this.turnTaker.text;
    const spec = this.speculative;
    if (spec && !sameUtterance(spec.userText, text)) this.abortSpeculation();
    this.clearStableTimer();
    if (!text || (this.current && !this.current.finished)) return;
    // In a pause the newest text (e.g. the early Finalize's result) is the best guess now.
    if (this.paused) {
      this.maybeSpeculate();
      return;
    }
    this.stableTimer = this.clock.setTimeout(() => {
      this.stableTimer = null;
      this.maybeSpeculate();
    }, this.cfg.speculationStableMs);
  }

  private maybeSpeculate(): void {
    if (!this.cfg.speculation || this.mode !== "live") return;
    if (this.callerTurns === 0 && this.rules.isVoicemailGreeting(this.turnTaker.text)) return;
    if (this.current && !this.current.finished) return;
    // Only while the caller is quiet (in a pause or after the VAD stop).
    if (this.vad.speaking && !this.paused) return;
    const text = this.turnTaker.text;
    if (!text || isBackchannel(text) || words(text).length === 0) return;
    if (this.speculative && sameUtterance(this.speculative.userText, text)) return;
    this.abortSpeculation();
    const run = this.newRun([...this.messages(), { role: "user", content: text }], true);
    run.userText = text;
    this.speculative = run;
    this.speculatedThisUtterance = true;
  }

  private abortSpeculation(): void {
    this.speculative?.abort();
    this.speculative = null;
  }

  private clearStableTimer(): void {
    if (this.stableTimer !== null) this.clock.clearTimeout(this.stableTimer);
    this.stableTimer = null;
  }

  // ------------------------------------------------------------------ persona turns

  private messages(): ChatMessage[] {
    return [{ role: "system", content: this.opts.systemPrompt }, ...this.history];
  }

  private newRun(messages: ChatMessage[], speculative: boolean): LlmRun {
    const run: LlmRun = new LlmRun({
      primary: this.opts.providers.llm,
      fallback: this.opts.providers.fallbackLlm,
      messages,
      clock: this.clock,
      firstTokenTimeoutMs: this.cfg.firstTokenTimeoutMs,
      fallbackFirstTokenTimeoutMs: this.cfg.fallbackFirstTokenTimeoutMs,
      speculative,
      onUsage: (u) => this.emitUsage(u),
      onFallback: (reason) => {
        this.emitError("llm", reason, false);
        const t = [this.current, ...this.queued].find((x) => x?.run === run);
        if (t) this.speakFiller(t);
      },
    });
    runBackground("llm", () => run.run(), (err, label) => this.onBackgroundError(err, label));
    return run;
  }

  private beginPersonaTurn(spec: {
    kind: PersonaTurnKind;
    run?: LlmRun;
    scriptedText?: string;
    latency?: Partial<TurnLatency>;
    interruptible?: boolean;
    afterPlayed?: () => void;
    queue?: boolean;
  }): void {
    const index = ++this.turnCounter;
    const now = this.clock.now();
    const run = spec.run ?? null;
    const t: PersonaTurn = {
      index,
      kind: spec.kind,
      contextId: `t${index}`,
      run,
      scriptedText: spec.scriptedText ?? null,
      text: "",
      segments: 0,
      chunker: new SentenceChunker(this.cfg.chunker),
      startedAt: now,
      latency: {
        referenceAt: spec.kind === "greeting" ? this.streamStartedAt : null,
        speechEndAt: null,
        finalTranscriptAt: null,
        llmStartAt: run ? run.startedAt : null,
        llmFirstTokenAt: null,
        ttsFirstByteAt: null,
        firstAudioSentAt: null,
        firstMarkAt: null,
        sttMs: null,
        llmTtftMs: null,
        ttsTtfbMs: null,
        responseMs: null,
        heardMs: null,
        interrupted: false,
        speculative: "none",
        fallbackUsed: false,
        llmProvider: null,
        ...spec.latency,
      },
      interrupted: false,
      finished: false,
      ttsFinal: false,
      ttsChars: 0,
      fillerSpoken: false,
      interruptible: spec.interruptible ?? true,
      afterPlayed: spec.afterPlayed ?? null,
    };
    this.byContext.set(t.contextId, t);
    this.byIndex.set(index, t);
    if (spec.queue && this.current && !this.current.finished) {
      this.queued.push(t);
      return;
    }
    this.activate(t);
  }

  private activate(t: PersonaTurn): void {
    this.current = t;
    this.playback.beginTurn(t.index);
    this.tts?.startContext(t.contextId);
    runBackground(`turn ${t.index}`, () => this.produce(t), (err, label) => this.onBackgroundError(err, label));
  }

  /** Streams the turn's text into TTS, sentence by sentence. */
  private async produce(t: PersonaTurn): Promise<void> {
    if (!this.tts) await this.prepare();
    if (t.interrupted || t.finished) return;
    if (t.scriptedText !== null) {
      for (const chunk of t.chunker.push(t.scriptedText)) this.speak(t, chunk);
    } else if (t.run) {
      const run = t.run;
      if (run.fallbackUsed && run.firstTokenAt === null) this.speakFiller(t);
      for await (const piece of run.stream()) {
        if (t.interrupted) return;
        if (t.latency.llmFirstTokenAt === null) t.latency.llmFirstTokenAt = run.firstTokenAt ?? this.clock.now();
        for (const chunk of t.chunker.push(piece)) this.speak(t, chunk);
      }
      if (t.interrupted) return;
      t.latency.fallbackUsed = run.fallbackUsed;
      t.latency.llmProvider = run.provider;
      if (run.error) this.emitError("llm", run.error, false);
      if (run.error && run.firstTokenAt === null) {
        t.chunker.flush();
        for (const chunk of t.chunker.push(`${this.cfg.errorReplyText} `)) this.speak(t, chunk);
      }
    }
    for (const chunk of t.chunker.flush()) this.speak(t, chunk);
    if (t.interrupted) return;
    if (t.text.length === 0) {
      // Nothing to say: finish without audio.
      this.tts?.closeContext(t.contextId);
      t.ttsFinal = true;
      this.playback.endTurn(t.index);
      return;
    }
    this.tts?.closeContext(t.contextId);
  }

  private speak(t: PersonaTurn, chunk: string): void {
    const tts = this.tts;
    if (!tts || t.interrupted) return;
    const text = `${chunk} `;
    tts.sendText(t.contextId, text);
    tts.flush(t.contextId);
    t.text += text;
    t.ttsChars += text.length;
    this.playback.addSegmentEnd(t.index, t.segments++, countNonSpace(t.text));
  }

  private speakFiller(t: PersonaTurn): void {
    if (t.fillerSpoken || t.interrupted || t.finished || t.text.length > 0 || !this.cfg.fillerText) return;
    t.fillerSpoken = true;
    t.latency.fallbackUsed = true;
    this.speak(t, this.cfg.fillerText);
  }

  private onTtsAudio(contextId: string, audio: Uint8Array, alignment: Parameters<Playback["pushAudio"]>[2]): void {
    const t = this.byContext.get(contextId);
    if (!t || t.interrupted || t.finished) return;
    t.latency.ttsFirstByteAt ??= this.clock.now();
    this.playback.pushAudio(t.index, audio, alignment);
  }

  private onTtsFinal(contextId: string): void {
    const t = this.byContext.get(contextId);
    if (!t || t.ttsFinal) return;
    t.ttsFinal = true;
    this.reportTtsUsage(t);
    if (!t.interrupted) this.playback.endTurn(t.index);
  }

  private onPersonaTurnPlayed(index: number): void {
    const t = this.byIndex.get(index);
    // Interrupted turns were already recorded with the heard part by `interruptPersona`.
    if (!t || t.finished || t.interrupted) return;
    this.finishPersonaTurn(t, t.text.trim());
    t.afterPlayed?.();
  }

  private finishPersonaTurn(t: PersonaTurn, heardText: string): void {
    if (t.finished) return;
    t.finished = true;
    if (t.kind === "greeting") this.greetingEndedAt = this.clock.now();
    this.byContext.delete(t.contextId);
    const now = this.clock.now();
    const l = t.latency;
    if (t.run) {
      l.fallbackUsed = l.fallbackUsed || t.run.fallbackUsed;
      l.llmProvider ??= t.run.provider;
    }
    deriveLatency(l);
    if (heardText) this.history.push({ role: "assistant", content: heardText });
    // A turn the caller never heard a single frame of (cancelled before audio) is not a turn.
    if (heardText || l.firstAudioSentAt !== null) this.emit({
      type: "turn",
      turn: {
        index: t.index,
        speaker: "persona",
        kind: t.kind,
        text: heardText,
        generatedText: t.text.trim(),
        startedAt: t.startedAt,
        endedAt: now,
        interrupted: t.interrupted,
        latency: { ...l },
      },
    });
    this.emit({ type: "latency", turnIndex: t.index, latency: { ...l } });
    const pickup = this.pendingPickup;
    this.pendingPickup = null;
    if (pickup) this.recordCallerTurn(pickup);
    if (this.current === t) {
      this.current = null;
      const next = this.queued.shift();
      if (next && this.mode !== "stopped") this.activate(next);
    }
    // Keep lookups bounded.
    if (this.byIndex.size > 16) {
      const oldest = this.byIndex.keys().next().value;
      if (oldest !== undefined) this.byIndex.delete(oldest);
    }
  }

  // ------------------------------------------------------------------ events & usage

  private emit(e: PipelineEvent): void {
    this.opts.onEvent(e);
  }

  private emitUsage(usage: UsageRecord): void {
    this.emit({ type: "usage", usage, at: this.clock.now() });
  }

  private reportSttUsage(): void {
    const sent = this.stt?.audioMsSent ?? this.sttReportedMs;
    const delta = sent - this.sttReportedMs;
    if (delta <= 0) return;
    this.sttReportedMs = sent;
    this.emitUsage({ kind: "stt", provider: this.opts.providers.transcriber.provider, audioMs: delta });
  }

  private reportTtsUsage(t: PersonaTurn): void {
    if (t.ttsChars <= 0) return;
    this.emitUsage({ kind: "tts", provider: this.opts.providers.tts.provider, characters: t.ttsChars });
    t.ttsChars = 0;
  }

  private emitError(where: string, error: unknown, fatal: boolean): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.emit({ type: "error", where, error: err, fatal, at: this.clock.now() });
  }

  private onBackgroundError(err: unknown, label: string): void {
    this.emitError(label, err instanceof ProviderError || err instanceof Error ? err : new Error(String(err)), false);
  }
}

/** Cuts `text` to the first `chars` characters, dropping a partially heard trailing word. */
export function cutToHeard(text: string, chars: number): string {
  if (chars <= 0) return "";
  if (chars >= text.length) return text.trim();
  const head = text.slice(0, chars);
  const nextChar = text[chars] ?? " ";
  if (/\s/.test(nextChar) || /\s$/.test(head)) return head.trim();
  const lastSpace = head.search(/\s\S*$/);
  return lastSpace > 0 ? head.slice(0, lastSpace).trim() : "";
}

function deriveLatency(l: TurnLatency): void {
  const diff = (a: number | null, b: number | null): number | null => (a !== null && b !== null ? Math.max(0, b - a) : null);
  l.sttMs = diff(l.speechEndAt, l.finalTranscriptAt);
  // Measured from when the turn could use a token (a speculative hit may have it before the final: 0).
  const from =
    l.llmStartAt !== null && l.finalTranscriptAt !== null ? Math.max(l.llmStartAt, l.finalTranscriptAt) : l.llmStartAt;
  l.llmTtftMs = diff(from, l.llmFirstTokenAt);
  l.ttsTtfbMs = diff(l.llmFirstTokenAt, l.ttsFirstByteAt);
  l.responseMs = diff(l.referenceAt, l.firstAudioSentAt);
  l.heardMs = diff(l.referenceAt, l.firstMarkAt);
}
