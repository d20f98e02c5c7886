/**
 * One emulated outbound Twilio call, from `queued` to a terminal status: dialing and ringing,
 * the callee's answer (scripted scenario, voicemail or the interactive phone page), answering
 * machine detection, signed status callbacks, TwiML execution (`<Say>`, `<Pause>`, `<Hangup>`,
 * `<Redirect>`, `<Connect><Stream>`), the bidirectional Media Stream client, real-time playback
 * of the app's audio with marks/clear, and the call record used by tests. Frames advance on the
 * shared 20 ms `Ticker`; nothing here opens a server.
 */
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { randomBytes, randomInt } from "node:crypto";
import type WebSocketType from "ws";
import { MULAW_SILENCE, linearToMulaw, mulawToLinear } from "../codec/mulaw";
import { FRAME_BYTES, FRAME_MS, SpeechDecoder, encodeSpeech } from "../codec/speech-codec";
import { sleep } from "../shared/emulator";
import { DEFAULT_GREETING_DELAY_MS, DEFAULT_VOICEMAIL_GREETING, type Scenario, type Step } from "./scenario";
import { twilioSignature } from "./signature";
import type { Ticker } from "./ticker";
import { parseTwiml, type StreamSpec, type Verb } from "./twiml";

const WebSocketCtor = createRequire(import.meta.url)("ws") as typeof WebSocketType;

export interface TwilioKnobs {
  /** One ring cycle (US ringback: 2 s on, 4 s off). */
  ringMs: number;
  /** From `initiated` to `ringing` (or to busy/failed). */
  dialMs: number;
  /** Extra pick-up delay after the last ring. */
  answerDelayMs: number;
  /** Added to every REST response. */
  restLatencyMs: number;
  restJitterMs: number;
  /** Probability (0–1) that a REST request answers 500. */
  rest5xxRate: number;
  /** The next N REST requests answer 500. */
  failNextRest: number;
  /** Delay before each status/stream/AMD callback is sent. */
  callbackDelayMs: number;
  /** Send every callback twice (as Twilio occasionally does). */
  duplicateCallbacks: boolean;
  /** Drop (terminate without `stop`) each media socket this long after it opened; 0 = never. */
  dropStreamAfterMs: number;
  /** Inbound media frames are sent up to this much late (order kept). */
  frameJitterMs: number;
  /** Speaking rate of the callee's sandbox voice. */
  speechMsPerChar: number;
  /** Price of one started minute, in micro-dollars. */
  pricePerMinuteMicros: number;
}

export const DEFAULT_KNOBS: TwilioKnobs = {
  ringMs: 6000,
  dialMs: 1000,
  answerDelayMs: 0,
  restLatencyMs: 0,
  restJitterMs: 0,
  rest5xxRate: 0,
  failNextRest: 0,
  callbackDelayMs: 0,
  duplicateCallbacks: false,
  dropStreamAfterMs: 0,
  frameJitterMs: 0,
  speechMsPerChar: 60,
  pricePerMinuteMicros: 14_000,
};

export type CallStatus = "queued" | "initiated" | "ringing" | "in-progress" | "completed" | "busy" | "no-answer" | "failed" | "canceled";
const TERMINAL: readonly CallStatus[] = ["completed", "busy", "no-answer", "failed", "canceled"];

export interface CreateCallParams {
  to: string;
  from: string;
  url?: string;
  method: string;
  twiml?: string;
  statusCallback?: string;
  statusCallbackMethod: string;
  statusCallbackEvents: string[];
  timeoutS: number;
  timeLimitS: number;
  machineDetection?: "Enable" | "DetectMessageEnd";
  asyncAmd: boolean;
  asyncAmdStatusCallback?: string;
  asyncAmdStatusCallbackMethod: string;
  speechThresholdMs: number;
  speechEndThresholdMs: number;
}

/** Messages between the emulator and a connected sandbox phone page. */
export type PhoneEvent =
  | { type: "incoming"; callSid: string; from: string; to: string }
  | { type: "status"; callSid: string; status: CallStatus }
  | { type: "audio"; callSid: string; payload: string }
  | { type: "said"; callSid: string; text: string };

/** How an interactive callee (the phone page) is reached. */
export interface PhoneLink {
  send(event: PhoneEvent): void;
}

export interface CallContext {
  accountSid: string;
  authToken: string;
  knobs: () => TwilioKnobs;
  ticker: Ticker;
  log: (msg: string) => void;
}

export type Callee = { kind: "scenario"; scenario: Scenario } | { kind: "interactive"; phone: PhoneLink };

interface Utterance {
  text: string;
  kind: "say" | "backchannel" | "greeting" | "beep";
  startMs: number | null;
  endMs: number | null;
  /** Stream time of the first frame, when a stream carried it. */
  streamStartMs: number | null;
  streamEndMs: number | null;
  /** The persona was audible when the callee started speaking. */
  bargeIn: boolean;
  /** Milliseconds from the end of this utterance to the first non-silent app frame received. */
  responseLatencyMs: number | null;
  /** …and to the first non-silent frame the callee heard. */
  heardLatencyMs: number | null;
  /** For barge-ins: from the start of this utterance to the app's next `clear`. */
  clearLatencyMs: number | null;
}

interface HeardSegment {
  text: string;
  source: "stream" | "say";
  startMs: number;
  endMs: number;
  streamStartMs: number | null;
  streamEndMs: number | null;
  /** A `clear` dropped audio that belonged to this segment. */
  cut: boolean;
}

interface MessageSummary {
  dir: "to-app" | "from-app";
  event: string;
  atMs: number;
  seq?: number;
  name?: string;
  digit?: string;
  /** Media only: consecutive media messages in this direction collapsed into one entry. */
  count?: number;
  toMs?: number;
  bytes?: number;
}

type QueueItem = { kind: "audio"; bytes: Uint8Array; off: number; source: "stream" | "say" } | { kind: "mark"; name: string };

interface ScriptState {
  steps: Step[];
  idx: number;
  stepStartMs: number;
  spokeSince: boolean;
  speechStartAt: number | null;
  silentOk: boolean;
  speakingOk: boolean;
  pauseFrom: number | null;
  acting: "say" | "press" | "wait" | null;
  actUntil: number;
  utterance: Utterance | null;
  done: boolean;
}

const VOICED_THRESHOLD = 400;
function isVoiced(bytes: Uint8Array, from = 0, to = bytes.length): boolean {
  for (let i = from; i < to; i++) {
    const v = mulawToLinear(bytes[i] ?? MULAW_SILENCE);
    if (v > VOICED_THRESHOLD || v < -VOICED_THRESHOLD) return true;
  }
  return false;
}

const SILENCE_FRAME = new Uint8Array(FRAME_BYTES).fill(MULAW_SILENCE);
const SILENCE_B64 = Buffer.from(SILENCE_FRAME).toString("base64");
const BEEP: Uint8Array = (() => {
  const n = 8 * 500;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = linearToMulaw(8000 * Math.sin((2 * Math.PI * 1000 * i) / 8000));
  return out;
})();

export function newSid(prefix: string): string {
  return prefix + randomBytes(16).toString("hex");
}

/** RFC 2822 date as Twilio's 2010 API prints it: `Tue, 31 Aug 2010 20:36:28 +0000`. */
export function rfc2822(d: Date): string {
  return d.toUTCString().replace("GMT", "+0000");
}

/** Integer micro-dollars → Twilio's price string (`-0.01400`), negative because it is a charge. */
export function priceString(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  const frac = String(micros % 1_000_000).padStart(6, "0").slice(0, 5);
  return `-${whole}.${frac}`;
}

export function maskNumber(e164: string): string {
  return e164.length > 4 ? `…${e164.slice(-4)}` : e164;
}

export class Call {
  readonly sid = newSid("CA");
  readonly dateCreated = new Date();
  dateUpdated = new Date();
  status: CallStatus = "queued";
  startTime: Date | null = null;
  endTime: Date | null = null;
  durationS: number | null = null;
  answeredBy: string | null = null;
  priceMicros = 0;
  billedMinutes = 0;
  readonly history: { status: CallStatus; at: string; atMs: number }[] = [];
  readonly callbacks: { kind: string; event: string; url: string; httpStatus: number | null; error?: string }[] = [];
  readonly said: Utterance[] = [];
  readonly heard: HeardSegment[] = [];
  readonly messages: MessageSummary[] = [];
  readonly marks: { name: string; receivedMs: number; echoedMs: number | null; cleared: boolean }[] = [];
  readonly clears: { atMs: number; streamMs: number | null; droppedMs: number; marksReturned: number }[] = [];
  readonly dtmf: { digit: string; atMs: number; streamMs: number | null }[] = [];
  readonly streams: { streamSid: string; url: string; startedMs: number; endedMs: number | null; end: string | null; customParameters: Record<string, string> }[] = [];
  readonly errors: string[] = [];
  readonly twimlVerbs: string[] = [];
  endReason: string | null = null;

  private readonly createdPerf = performance.now();
  private clockStart = 0;
  private framesDone = 0;
  private ticking = false;
  private endWaiters: (() => void)[] = [];
  private answerWaiter: ((answer: boolean) => void) | null = null;
  private callbackChain: Promise<void> = Promise.resolve();
  private timeLimitTimer: NodeJS.Timeout | null = null;
  private scenarioAnswer: Scenario["answer"];

  // Playback (what the callee hears).
  private queue: QueueItem[] = [];
  private bufferedBytes = 0;
  private decoder = new SpeechDecoder();
  private segment: HeardSegment | null = null;
  private lastVoicedMs = -1_000_000;
  private personaRunStart: number | null = null;
  private pendingHeardLatency: Utterance[] = [];
  private pendingResponseLatency: Utterance[] = [];
  private pendingClearLatency: Utterance[] = [];
  private sayDrainWaiter: (() => void) | null = null;

  // The callee's side.
  private speech: { bytes: Uint8Array; off: number; utt: Utterance }[] = [];
  private dtmfQueue: string[] = [];
  private nextDtmfFrame = 0;
  private script: ScriptState | null = null;
  private voicemail: { greetAtMs: number | null; beepEndMs: number | null; silenceMs: number } | null = null;
  private beepEndWaiter: (() => void) | null = null;

  // The media stream.
  private ws: WebSocketType | null = null;
  private streamSid: string | null = null;
  private streamStartFrame = 0;
  private seq = 0;
  private chunk = 0;
  private outbox: { due: number; data: string; event: string; extra: Partial<MessageSummary> }[] = [];
  private lastOutboxDue = 0;
  private openRuns: { "to-app": MessageSummary | null; "from-app": MessageSummary | null } = { "to-app": null, "from-app": null };
  private streamEnded: (() => void) | null = null;

  constructor(
    private readonly ctx: CallContext,
    readonly params: CreateCallParams,
    private readonly callee: Callee,
  ) {
    this.scenarioAnswer = callee.kind === "scenario" ? (callee.scenario.answer ?? "human") : undefined;
    this.setStatus("queued");
  }

  get isTerminal(): boolean {
    return TERMINAL.includes(this.status);
  }

  get isInteractive(): boolean {
    return this.callee.kind === "interactive";
  }

  private nowCallMs(): number {
    return performance.now() - this.clockStart;
  }

  private get callMs(): number {
    return this.framesDone * FRAME_MS;
  }

  private streamMsAt(callMs: number): number | null {
    return this.streamSid ? callMs - this.streamStartFrame * FRAME_MS : null;
  }

  private setStatus(status: CallStatus): void {
    this.status = status;
    this.dateUpdated = new Date();
    this.history.push({ status, at: this.dateUpdated.toISOString(), atMs: Math.round(performance.now() - this.createdPerf) });
    if (this.callee.kind === "interactive") this.callee.phone.send({ type: "status", callSid: this.sid, status });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Runs the call to its end. Never rejects. */
  async run(): Promise<void> {
    try {
      await this.dialAndAnswer();
    } catch (err) {
      this.errors.push(err instanceof Error ? err.message : String(err));
      if (!this.isTerminal) await this.finish(this.status === "in-progress" ? "completed" : "failed", "emulator error");
    }
  }

  private async dialAndAnswer(): Promise<void> {
    const k = this.ctx.knobs();
    await sleep(5);
    if (this.isTerminal) return;
    this.setStatus("initiated");
    this.statusCallback("initiated");
    if (await this.sleepOrEnd(k.dialMs)) return;
    if (this.scenarioAnswer === "busy") return this.finish("busy", "callee busy");
    if (this.scenarioAnswer === "failed") return this.finish("failed", "number unreachable");
    this.setStatus("ringing");
    this.statusCallback("ringing");
    const timeoutMs = this.params.timeoutS * 1000;
    let answers: boolean;
    if (this.callee.kind === "interactive") {
      this.callee.phone.send({ type: "incoming", callSid: this.sid, from: this.params.from, to: this.params.to });
      answers = await this.waitForPageAnswer(timeoutMs);
      if (this.isTerminal) return;
      if (!answers && this.status === "ringing" && this.declined) return this.finish("busy", "declined on the phone page");
    } else if (this.scenarioAnswer === "no-answer") {
      answers = false;
      if (await this.sleepOrEnd(timeoutMs)) return;
    } else {
      const rings = this.callee.scenario.rings ?? 2;
      const pickUpMs = rings * k.ringMs + k.answerDelayMs;
      if (pickUpMs > timeoutMs) {
        if (await this.sleepOrEnd(timeoutMs)) return;
        answers = false;
      } else {
        if (await this.sleepOrEnd(pickUpMs)) return;
        answers = true;
      }
    }
    if (!answers) return this.finish("no-answer", "not answered before Timeout");
    await this.answer();
  }

  private declined = false;

  private waitForPageAnswer(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => done(false), timeoutMs);
      const done = (v: boolean): void => {
        clearTimeout(t);
        this.answerWaiter = null;
        resolve(v);
      };
      this.answerWaiter = done;
      this.endWaiters.push(() => done(false));
    });
  }

  /** The phone page answered (`true`) or declined (`false`). */
  pageAnswer(answer: boolean): void {
    if (!answer) this.declined = true;
    this.answerWaiter?.(answer);
  }

  private async answer(): Promise<void> {
    this.startTime = new Date();
    // On the ticker's phase: frame k is sent on the tick where its audio ends (clockStart + (k+1)·20 ms).
    this.clockStart = this.ctx.ticker.phaseStart(performance.now());
    this.framesDone = 0;
    this.setStatus("in-progress");
    this.ticking = true;
    this.ctx.ticker.add(this.onTick);
    this.timeLimitTimer = setTimeout(() => {
      void this.hangup("completed", "TimeLimit reached");
    }, this.params.timeLimitS * 1000);
    this.statusCallback("answered");
    const isMachine = this.scenarioAnswer === "voicemail";
    if (isMachine) this.startVoicemail();

    const amd = this.params.machineDetection;
    let detect: Promise<void> = Promise.resolve();
    if (amd) {
      detect = (async () => {
        let wait: Promise<boolean>;
        if (!isMachine) {
          wait = this.sleepOrEnd(this.params.speechEndThresholdMs);
        } else if (amd === "DetectMessageEnd") {
          wait = this.waitForBeepEnd();
        } else {
          wait = this.sleepOrEnd(this.params.speechThresholdMs);
        }
        if (await wait) return;
        this.answeredBy = !isMachine ? "human" : amd === "DetectMessageEnd" ? "machine_end_beep" : "machine_start";
        if (this.params.asyncAmd && this.params.asyncAmdStatusCallback) {
          this.callback("amd", "amd", this.params.asyncAmdStatusCallback, this.params.asyncAmdStatusCallbackMethod, {
            AccountSid: this.ctx.accountSid,
            CallSid: this.sid,
            AnsweredBy: this.answeredBy,
            MachineDetectionDuration: String(Math.round(this.nowCallMs())),
          });
        }
      })();
      if (!this.params.asyncAmd) {
        await detect;
        if (this.isTerminal) return;
      }
    }
    if (!isMachine && this.callee.kind === "scenario") this.startScript(this.callee.scenario);
    await this.executeTwiml();
    if (!this.isTerminal) await this.hangup("completed", this.endReason ?? "TwiML finished");
  }

  /** Cancellable sleep: resolves `true` early if the call ended meanwhile. */
  private sleepOrEnd(ms: number): Promise<boolean> {
    if (this.isTerminal) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.endWaiters = this.endWaiters.filter((w) => w !== onEnd);
        resolve(this.isTerminal);
      }, Math.max(0, ms));
      const onEnd = (): void => {
        clearTimeout(t);
        resolve(true);
      };
      this.endWaiters.push(onEnd);
    });
  }

  /** REST `Status=canceled|completed` or the callee hanging up. */
  async hangup(status: "completed" | "canceled", reason: string): Promise<void> {
    if (this.isTerminal) return;
    if (this.status === "in-progress") {
      if (status === "canceled") return;
      await this.finish("completed", reason);
    } else {
      await this.finish("canceled", reason);
    }
  }

  private async finish(status: CallStatus, reason: string): Promise<void> {
    if (this.isTerminal) return;
    this.endReason = reason;
    if (this.ticking) {
      this.ctx.ticker.delete(this.onTick);
      this.ticking = false;
    }
    if (this.timeLimitTimer) clearTimeout(this.timeLimitTimer);
    this.closeSegment(false);
    this.closeStream("call ended");
    this.endTime = new Date();
    if (this.startTime && status === "completed") {
      this.durationS = Math.max(1, Math.round((this.endTime.getTime() - this.startTime.getTime()) / 1000));
      this.billedMinutes = Math.ceil(this.durationS / 60);
      this.priceMicros = this.billedMinutes * this.ctx.knobs().pricePerMinuteMicros;
    } else {
      this.durationS = 0;
    }
    this.setStatus(status);
    const waiters = this.endWaiters;
    this.endWaiters = [];
    for (const w of waiters) w();
    this.sayDrainWaiter?.();
    this.beepEndWaiter?.();
    this.streamEnded?.();
    this.statusCallback(status);
    this.ctx.log(`call ${this.sid} to ${maskNumber(this.params.to)} ${status}: ${reason}`);
  }

  // ---------------------------------------------------------------- callbacks

  private baseParams(): Record<string, string> {
    const p: Record<string, string> = {
      AccountSid: this.ctx.accountSid,
      ApiVersion: "2010-04-01",
      CallSid: this.sid,
      CallStatus: this.status,
      Called: this.params.to,
      Caller: this.params.from,
      Direction: "outbound-api",
      From: this.params.from,
      To: this.params.to,
    };
    if (this.answeredBy) p.AnsweredBy = this.answeredBy;
    return p;
  }

  private cbSeq = 0;

  private statusCallback(event: string): void {
    const url = this.params.statusCallback;
    if (!url) return;
    const requested = event === "completed" || TERMINAL.includes(event as CallStatus)
      ? true
      : this.params.statusCallbackEvents.includes(event);
    if (!requested) return;
    const p = this.baseParams();
    p.CallbackSource = "call-progress-events";
    p.Timestamp = rfc2822(new Date());
    p.SequenceNumber = String(this.cbSeq++);
    if (this.isTerminal) {
      p.CallDuration = String(this.durationS ?? 0);
      p.Duration = String(Math.ceil((this.durationS ?? 0) / 60));
    }
    this.callback("status", event, url, this.params.statusCallbackMethod, p);
  }

  /** Queues a signed callback; callbacks of one call are delivered in order. */
  private callback(kind: string, event: string, url: string, method: string, params: Record<string, string>): void {
    const k = this.ctx.knobs();
    const copies = k.duplicateCallbacks ? 2 : 1;
    this.callbackChain = this.callbackChain.then(async () => {
      if (k.callbackDelayMs > 0) await sleep(k.callbackDelayMs);
      for (let i = 0; i < copies; i++) {
        const res = await this.signedRequest(url, method, params).catch((err: unknown) => err as Error);
        if (res instanceof Error) this.callbacks.push({ kind, event, url: safeUrl(url), httpStatus: null, error: res.message });
        else {
          this.callbacks.push({ kind, event, url: safeUrl(url), httpStatus: res.status });
          await res.body?.cancel().catch(() => undefined);
        }
      }
    });
  }

  /** Waits until every queued callback has been delivered (tests, shutdown). */
  callbacksSettled(): Promise<void> {
    return this.callbackChain;
  }

  private signedRequest(url: string, method: string, params: Record<string, string>): Promise<Response> {
    const headers: Record<string, string> = { "user-agent": "TwilioProxy/1.1", "i-twilio-idempotency-token": newSid("") };
    if (method.toUpperCase() === "GET") {
      const u = new URL(url);
      for (const [key, v] of Object.entries(params)) u.searchParams.append(key, v);
      const full = u.toString();
      headers["x-twilio-signature"] = twilioSignature(this.ctx.authToken, full, {});
      return fetch(full, { method: "GET", headers, signal: AbortSignal.timeout(15_000) });
    }
    headers["x-twilio-signature"] = twilioSignature(this.ctx.authToken, url, params);
    headers["content-type"] = "application/x-www-form-urlencoded";
    return fetch(url, { method: "POST", headers, body: new URLSearchParams(params).toString(), signal: AbortSignal.timeout(15_000) });
  }

  // ---------------------------------------------------------------- TwiML

  private async executeTwiml(): Promise<void> {
    let verbs: Verb[];
    try {
      if (this.params.twiml !== undefined) verbs = parseTwiml(this.params.twiml);
      else verbs = await this.fetchTwiml(this.params.url ?? "", this.params.method, {});
    } catch (err) {
      this.errors.push(`TwiML: ${err instanceof Error ? err.message : String(err)}`);
      this.endReason = "application error (TwiML could not be fetched or parsed)";
      return;
    }
    await this.runVerbs(verbs, 0);
  }

  private async fetchTwiml(url: string, method: string, extra: Record<string, string>): Promise<Verb[]> {
    const res = await this.signedRequest(url, method, { ...this.baseParams(), ...extra });
    const text = await res.text();
    if (!res.ok) throw new Error(`${safeUrl(url)} answered ${res.status}`);
    return parseTwiml(text);
  }

  private async runVerbs(verbs: Verb[], depth: number): Promise<void> {
    for (const v of verbs) {
      if (this.isTerminal) return;
      if (this.redirectTo) break;
      this.twimlVerbs.push(v.verb === "unsupported" ? `${v.name} (unsupported)` : v.verb);
      if (v.verb === "Say") {
        for (let i = 0; i < v.loop && !this.isTerminal && !this.redirectTo; i++) await this.playSay(v.text);
      } else if (v.verb === "Pause") {
        await this.sleepOrEnd(v.lengthS * 1000);
      } else if (v.verb === "Hangup") {
        this.endReason = "<Hangup>";
        return;
      } else if (v.verb === "Redirect") {
        if (depth > 10) throw new Error("too many redirects");
        return this.runVerbs(await this.fetchTwiml(v.url, v.method, {}), depth + 1);
      } else if (v.verb === "Connect") {
        if (v.stream) await this.runStream(v.stream);
        if (this.isTerminal || this.redirectTo) break;
        if (v.action) {
          if (depth > 10) throw new Error("too many redirects");
          return this.runVerbs(await this.fetchTwiml(v.action, v.method, {}), depth + 1);
        }
      }
    }
    const r = this.redirectTo;
    if (r && !this.isTerminal) {
      this.redirectTo = null;
      const next = r.twiml !== undefined ? parseTwiml(r.twiml) : await this.fetchTwiml(r.url ?? "", r.method, {});
      return this.runVerbs(next, 0);
    }
  }

  private redirectTo: { twiml?: string; url?: string; method: string } | null = null;

  /**
   * REST update with `Twiml` or `Url` on an in-progress call: the current verb stops (a stream
   * gets `stop` and is closed, a `<Say>` is cut, a `<Pause>` ends) and the new TwiML runs.
   * Returns false when the call is not in progress.
   */
  redirect(to: { twiml?: string; url?: string; method: string }): boolean {
    if (this.status !== "in-progress") return false;
    if (to.twiml !== undefined) parseTwiml(to.twiml);
    this.redirectTo = to;
    this.closeStream("redirected (REST update)");
    const before = this.queue.length;
    this.queue = this.queue.filter((q) => !(q.kind === "audio" && q.source === "say"));
    if (before !== this.queue.length) this.bufferedBytes = this.queue.reduce((a, q) => a + (q.kind === "audio" ? q.bytes.length - q.off : 0), 0);
    this.sayDrainWaiter?.();
    const waiters = this.endWaiters;
    this.endWaiters = [];
    for (const w of waiters) w();
    return true;
  }

  private playSay(text: string): Promise<void> {
    const { audio } = encodeSpeech(text, this.ctx.knobs().speechMsPerChar);
    this.enqueueAudio(audio, "say");
    return new Promise((resolve) => {
      this.sayDrainWaiter = () => {
        this.sayDrainWaiter = null;
        resolve();
      };
    });
  }

  // ---------------------------------------------------------------- media stream

  private runStream(spec: StreamSpec): Promise<void> {
    return new Promise((resolve) => {
      const streamSid = newSid("MZ");
      const entry = { streamSid, url: safeUrl(spec.url), startedMs: Math.round(this.nowCallMs()), endedMs: null as number | null, end: null as string | null, customParameters: safeParameters(spec.parameters) };
      this.streams.push(entry);
      const signature = twilioSignature(this.ctx.authToken, spec.url, {});
      let ws: WebSocketType;
      try {
        ws = new WebSocketCtor(spec.url, { headers: { "x-twilio-signature": signature, "user-agent": "Twilio.TmeWs/1.0" }, perMessageDeflate: false });
      } catch (err) {
        entry.end = `error: ${err instanceof Error ? err.message : String(err)}`;
        this.streamCallback(spec, streamSid, "stream-error", entry.end);
        resolve();
        return;
      }
      this.ws = ws;
      let dropTimer: NodeJS.Timeout | null = null;
      let settled = false;
      const end = (how: string): void => {
        if (settled) return;
        settled = true;
        if (dropTimer) clearTimeout(dropTimer);
        entry.endedMs = Math.round(this.nowCallMs());
        entry.end = entry.end ?? how;
        this.flushOutbox(Number.POSITIVE_INFINITY);
        this.closeRuns();
        this.dropStreamAudio();
        this.ws = null;
        this.streamSid = null;
        this.streamEnded = null;
        this.streamCallback(spec, streamSid, how.startsWith("error") ? "stream-error" : "stream-stopped", how.startsWith("error") ? how : undefined);
        resolve();
      };
      this.streamEnded = () => end("call ended");
      ws.on("unexpected-response", (_req, res) => {
        entry.end = `error: upgrade answered ${res.statusCode}`;
        end(entry.end);
      });
      ws.on("error", (err) => {
        entry.end = entry.end ?? `error: ${err.message}`;
        end(entry.end);
      });
      ws.on("close", (code) => end(`closed by app (${code})`));
      ws.on("open", () => {
        if (this.isTerminal) {
          ws.close(1000);
          return;
        }
        this.streamSid = streamSid;
        this.seq = 0;
        this.chunk = 0;
        this.streamStartFrame = this.framesDone;
        this.lastOutboxDue = 0;
        this.sendWs({ event: "connected", protocol: "Call", version: "1.0.0" }, "connected");
        this.sendWs(
          {
            event: "start",
            sequenceNumber: String(++this.seq),
            streamSid,
            start: {
              accountSid: this.ctx.accountSid,
              streamSid,
              callSid: this.sid,
              tracks: ["inbound"],
              mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
              customParameters: spec.parameters,
            },
          },
          "start",
        );
        this.streamCallback(spec, streamSid, "stream-started");
        const dropMs = this.ctx.knobs().dropStreamAfterMs;
        if (dropMs > 0) {
          dropTimer = setTimeout(() => {
            entry.end = "dropped (dropStreamAfterMs)";
            ws.terminate();
          }, dropMs);
        }
      });
      ws.on("message", (data, isBinary) => {
        if (isBinary) return;
        this.onAppMessage(String(data));
      });
    });
  }

  private streamCallback(spec: StreamSpec, streamSid: string, event: string, error?: string): void {
    if (!spec.statusCallback) return;
    const p: Record<string, string> = {
      AccountSid: this.ctx.accountSid,
      CallSid: this.sid,
      StreamSid: streamSid,
      StreamName: spec.name ?? streamSid,
      StreamEvent: event,
      Timestamp: new Date().toISOString(),
    };
    if (error) p.StreamError = error;
    this.callback("stream", event, spec.statusCallback, spec.statusCallbackMethod ?? "POST", p);
  }

  private closeStream(reason: string): void {
    const ws = this.ws;
    if (!ws || !this.streamSid) return;
    this.flushOutbox(Number.POSITIVE_INFINITY);
    this.sendWs({ event: "stop", sequenceNumber: String(++this.seq), streamSid: this.streamSid, stop: { accountSid: this.ctx.accountSid, callSid: this.sid } }, "stop");
    this.streams[this.streams.length - 1]!.end = reason;
    ws.close(1000);
  }

  private sendWs(msg: object, event: string, extra: Partial<MessageSummary> = {}): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocketCtor.OPEN) return;
    ws.send(JSON.stringify(msg));
    this.summarise("to-app", event, extra);
  }

  private summarise(dir: "to-app" | "from-app", event: string, extra: Partial<MessageSummary>, mediaBytes = 0): void {
    const atMs = Math.round(this.streamMsAt(this.nowCallMs()) ?? 0);
    if (event === "media") {
      const run = this.openRuns[dir];
      if (run) {
        run.count = (run.count ?? 0) + 1;
        run.toMs = atMs;
        run.bytes = (run.bytes ?? 0) + mediaBytes;
        return;
      }
      const entry: MessageSummary = { dir, event, atMs, count: 1, toMs: atMs, bytes: mediaBytes, ...extra };
      this.messages.push(entry);
      this.openRuns[dir] = entry;
      return;
    }
    this.openRuns[dir] = null;
    this.messages.push({ dir, event, atMs, ...extra });
  }

  private closeRuns(): void {
    this.openRuns = { "to-app": null, "from-app": null };
  }

  private onAppMessage(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.errors.push("app sent a non-JSON text frame");
      return;
    }
    if (typeof msg !== "object" || msg === null) return;
    const m = msg as { event?: unknown; streamSid?: unknown; media?: { payload?: unknown }; mark?: { name?: unknown } };
    const event = typeof m.event === "string" ? m.event : "?";
    if (m.streamSid !== this.streamSid && event !== "?") this.errors.push(`app sent ${event} with streamSid ${String(m.streamSid)}`);
    if (event === "media") {
      const payload = typeof m.media?.payload === "string" ? m.media.payload : "";
      const bytes = new Uint8Array(Buffer.from(payload, "base64"));
      this.summarise("from-app", "media", {}, bytes.length);
      if (bytes.length === 0) return;
      if (this.pendingResponseLatency.length > 0 && isVoiced(bytes)) {
        const now = this.nowCallMs();
        for (const u of this.pendingResponseLatency) u.responseLatencyMs = Math.max(0, Math.round(now - (u.endMs ?? now)));
        this.pendingResponseLatency = [];
      }
      this.enqueueAudio(bytes, "stream");
    } else if (event === "mark") {
      const name = typeof m.mark?.name === "string" ? m.mark.name : "";
      this.summarise("from-app", "mark", { name });
      const rec = { name, receivedMs: Math.round(this.streamMsAt(this.nowCallMs()) ?? 0), echoedMs: null, cleared: false };
      this.marks.push(rec);
      if (this.queue.length === 0) this.echoMark(name, false);
      else this.queue.push({ kind: "mark", name });
    } else if (event === "clear") {
      this.summarise("from-app", "clear", {});
      this.applyClear();
    } else {
      this.summarise("from-app", event, {});
      this.errors.push(`app sent unknown event ${event}`);
    }
  }

  private echoMark(name: string, cleared: boolean): void {
    const rec = this.marks.find((r) => r.name === name && r.echoedMs === null);
    if (rec) {
      rec.echoedMs = Math.round(this.streamMsAt(this.nowCallMs()) ?? 0);
      rec.cleared = cleared;
    }
    if (!this.streamSid) return;
    this.sendWs({ event: "mark", sequenceNumber: String(++this.seq), streamSid: this.streamSid, mark: { name } }, "mark", { name, seq: this.seq });
  }

  private applyClear(): void {
    const now = this.nowCallMs();
    const droppedMs = this.bufferedBytes / 8;
    const marks = this.queue.filter((q): q is { kind: "mark"; name: string } => q.kind === "mark");
    this.queue = [];
    this.bufferedBytes = 0;
    if (droppedMs > 0 && this.segment) this.closeSegment(true);
    this.clears.push({ atMs: Math.round(now), streamMs: this.streamMsAt(now) === null ? null : Math.round(this.streamMsAt(now) ?? 0), droppedMs, marksReturned: marks.length });
    for (const u of this.pendingClearLatency) u.clearLatencyMs = Math.max(0, Math.round(now - (u.startMs ?? now)));
    this.pendingClearLatency = [];
    for (const mk of marks) this.echoMark(mk.name, true);
  }

  /** When a stream ends, audio it queued is never played (its marks are not echoed). */
  private dropStreamAudio(): void {
    const before = this.bufferedBytes;
    this.queue = this.queue.filter((q) => q.kind === "audio" && q.source === "say");
    this.bufferedBytes = this.queue.reduce((a, q) => a + (q.kind === "audio" ? q.bytes.length - q.off : 0), 0);
    if (before > this.bufferedBytes && this.segment?.source === "stream") this.closeSegment(true);
  }

  private enqueueAudio(bytes: Uint8Array, source: "stream" | "say"): void {
    this.queue.push({ kind: "audio", bytes, off: 0, source });
    this.bufferedBytes += bytes.length;
  }

  // ---------------------------------------------------------------- per-frame work

  private readonly onTick = (nowMs: number): void => {
    if (this.isTerminal) return;
    const due = Math.floor((nowMs - this.clockStart) / FRAME_MS);
    // After a stall longer than 2 s the missed frames are skipped rather than replayed.
    if (due - this.framesDone > 100) this.framesDone = due - 100;
    while (this.framesDone < due && !this.isTerminal) {
      this.frame();
      this.framesDone++;
    }
    this.flushOutbox(nowMs);
  };

  private frame(): void {
    const t = this.callMs;
    this.playFrame(t);
    this.runScript(t);
    this.calleeFrame(t);
  }

  /** Plays 160 bytes of the app's queued audio (or silence) into the callee's ear. */
  private playFrame(t: number): void {
    const out = new Uint8Array(FRAME_BYTES).fill(MULAW_SILENCE);
    let filled = 0;
    let source: "stream" | "say" | null = null;
    const echoed: string[] = [];
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.kind === "mark") {
        echoed.push(head.name);
        this.queue.shift();
        continue;
      }
      if (filled >= FRAME_BYTES) break;
      const n = Math.min(FRAME_BYTES - filled, head.bytes.length - head.off);
      out.set(head.bytes.subarray(head.off, head.off + n), filled);
      filled += n;
      head.off += n;
      this.bufferedBytes -= n;
      source = head.source;
      if (head.off >= head.bytes.length) this.queue.shift();
    }
    const voiced = filled > 0 && isVoiced(out, 0, filled);
    const decoded = this.decoder.push(out);
    if (voiced) {
      if (t - this.lastVoicedMs > 300) this.personaRunStart = t;
      this.lastVoicedMs = t + FRAME_MS;
      if (!this.segment) {
        const s = this.streamMsAt(t);
        this.segment = { text: "", source: source ?? "stream", startMs: t, endMs: t + FRAME_MS, streamStartMs: s, streamEndMs: s === null ? null : s + FRAME_MS, cut: false };
        this.heard.push(this.segment);
      }
      for (const u of this.pendingHeardLatency) u.heardLatencyMs = Math.max(0, t - (u.endMs ?? t));
      this.pendingHeardLatency = [];
      if (this.script) this.script.spokeSince = true;
    }
    if (this.segment) {
      for (const c of decoded.chars) this.segment.text += c.char;
      if (voiced) {
        this.segment.endMs = t + FRAME_MS;
        const s = this.streamMsAt(t);
        this.segment.streamEndMs = s === null ? null : s + FRAME_MS;
      } else if (t - this.segment.endMs >= 400) this.closeSegment(false);
    }
    if (filled > 0 && this.queue.length === 0 && this.bufferedBytes === 0 && source === "say") this.sayDrainWaiter?.();
    else if (filled === 0 && this.sayDrainWaiter && !this.queue.some((q) => q.kind === "audio")) this.sayDrainWaiter();
    if (this.callee.kind === "interactive") {
      this.callee.phone.send({ type: "audio", callSid: this.sid, payload: filled > 0 ? Buffer.from(out).toString("base64") : SILENCE_B64 });
    }
    if (echoed.length > 0) this.closeSegment(false);
    for (const name of echoed) this.echoMark(name, false);
  }

  private closeSegment(cut: boolean): void {
    if (!this.segment) return;
    if (cut) this.segment.cut = true;
    this.segment = null;
  }

  /** Produces the callee's next 160 bytes and sends them to the app as an inbound `media`. */
  private calleeFrame(t: number): void {
    let bytes: Uint8Array = SILENCE_FRAME;
    const head = this.speech[0];
    if (head) {
      const u = head.utt;
      if (u.startMs === null) {
        u.startMs = t;
        u.streamStartMs = this.streamMsAt(t);
        const audible = this.bufferedBytes > 0 || t - this.lastVoicedMs < 60;
        if (audible && u.kind !== "beep") {
          u.bargeIn = true;
          this.pendingClearLatency.push(u);
        }
      }
      bytes = head.bytes.subarray(head.off, head.off + FRAME_BYTES);
      head.off += FRAME_BYTES;
      if (head.off >= head.bytes.length) {
        this.speech.shift();
        u.endMs = t + FRAME_MS;
        const s = this.streamMsAt(t);
        u.streamEndMs = s === null ? null : s + FRAME_MS;
        if (u.kind !== "beep") {
          this.pendingResponseLatency = [u];
          this.pendingHeardLatency = [u];
        } else if (this.voicemail) {
          this.voicemail.beepEndMs = t + FRAME_MS;
          this.beepEndWaiter?.();
        }
      }
    }
    if (this.dtmfQueue.length > 0 && this.framesDone >= this.nextDtmfFrame) {
      const d = this.dtmfQueue.shift()!;
      if (d === "w") this.nextDtmfFrame = this.framesDone + 25;
      else {
        this.nextDtmfFrame = this.framesDone + 15;
        this.dtmf.push({ digit: d, atMs: t, streamMs: this.streamMsAt(t) });
        if (this.streamSid) {
          this.queueOut({ event: "dtmf", sequenceNumber: String(++this.seq), streamSid: this.streamSid, dtmf: { track: "inbound_track", digit: d } }, t, "dtmf", { digit: d });
        }
      }
    }
    if (!this.streamSid) return;
    this.chunk++;
    const payload = bytes === SILENCE_FRAME ? SILENCE_B64 : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
    const ts = (this.framesDone - this.streamStartFrame) * FRAME_MS;
    this.queueOut(
      { event: "media", sequenceNumber: String(++this.seq), streamSid: this.streamSid, media: { track: "inbound", chunk: String(this.chunk), timestamp: String(ts), payload } },
      t,
      "media",
      {},
    );
  }

  private queueOut(msg: object, t: number, event: string, extra: Partial<MessageSummary>): void {
    const jitter = this.ctx.knobs().frameJitterMs;
    const ideal = this.clockStart + t + FRAME_MS;
    const due = Math.max(this.lastOutboxDue, jitter > 0 ? ideal + Math.random() * jitter : ideal);
    this.lastOutboxDue = due;
    this.outbox.push({ due, data: JSON.stringify(msg), event, extra });
  }

  private flushOutbox(nowMs: number): void {
    while (this.outbox.length > 0 && this.outbox[0]!.due <= nowMs) {
      const { data, event, extra } = this.outbox.shift()!;
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocketCtor.OPEN) continue;
      ws.send(data);
      this.summarise("to-app", event, extra, event === "media" ? FRAME_BYTES : 0);
    }
    if (!this.ws) this.outbox = [];
  }

  // ---------------------------------------------------------------- the callee

  /** Queues callee speech (sandbox voice) to be sent as inbound audio. */
  say(text: string, kind: Utterance["kind"] = "say"): void {
    if (this.isTerminal || this.status !== "in-progress") return;
    const bytes = kind === "beep" ? BEEP : encodeSpeech(text, this.ctx.knobs().speechMsPerChar).audio;
    const utt: Utterance = { text, kind, startMs: null, endMs: null, streamStartMs: null, streamEndMs: null, bargeIn: false, responseLatencyMs: null, heardLatencyMs: null, clearLatencyMs: null };
    this.said.push(utt);
    this.speech.push({ bytes: padToFrames(bytes), off: 0, utt });
    if (this.callee.kind === "interactive" && kind === "say") this.callee.phone.send({ type: "said", callSid: this.sid, text });
  }

  /** Queues DTMF digits (`w` = 500 ms pause), sent about 300 ms apart. */
  press(digits: string): void {
    if (this.status !== "in-progress") return;
    for (const d of digits) if (/[0-9*#w]/.test(d)) this.dtmfQueue.push(d);
  }

  private startVoicemail(): void {
    const sc = this.callee.kind === "scenario" ? this.callee.scenario : {};
    // The greeting starts after the machine's pickup pause (runScript), then the beep.
    this.voicemail = { greetAtMs: sc.greetingDelayMs ?? DEFAULT_GREETING_DELAY_MS, beepEndMs: null, silenceMs: sc.voicemailSilenceMs ?? 5000 };
  }

  private waitForBeepEnd(): Promise<boolean> {
    if (this.voicemail?.beepEndMs !== null) return Promise.resolve(this.isTerminal);
    return new Promise((resolve) => {
      this.beepEndWaiter = () => {
        this.beepEndWaiter = null;
        resolve(this.isTerminal);
      };
    });
  }

  private startScript(scenario: Scenario): void {
    this.script = { steps: scenario.steps ?? [], idx: 0, stepStartMs: this.callMs, spokeSince: false, speechStartAt: null, silentOk: false, speakingOk: false, pauseFrom: null, acting: null, actUntil: 0, utterance: null, done: false };
    this.beginStep(this.callMs);
  }

  private beginStep(t: number): void {
    const s = this.script;
    if (!s) return;
    s.stepStartMs = t;
    s.spokeSince = t - this.lastVoicedMs < 60;
    // Already speaking when the step becomes current: count from now.
    s.speechStartAt = t - this.lastVoicedMs < 60 ? t : null;
    s.silentOk = false;
    s.speakingOk = false;
    s.pauseFrom = null;
    s.acting = null;
    s.utterance = null;
  }

  private runScript(t: number): void {
    const vm = this.voicemail;
    if (vm) {
      if (vm.greetAtMs !== null && t >= vm.greetAtMs) {
        vm.greetAtMs = null;
        const sc = this.callee.kind === "scenario" ? this.callee.scenario : {};
        this.say(sc.greeting ?? DEFAULT_VOICEMAIL_GREETING, "greeting");
        this.say("", "beep");
      }
      if (vm.beepEndMs !== null && t - Math.max(vm.beepEndMs, this.lastVoicedMs) >= vm.silenceMs && this.bufferedBytes === 0) {
        void this.hangup("completed", "voicemail: silence after the message");
      }
      return;
    }
    const s = this.script;
    if (!s || s.done) return;
    const audible = t - this.lastVoicedMs < 60;
    if (s.speechStartAt === null && audible && this.personaRunStart !== null && this.personaRunStart >= s.stepStartMs) s.speechStartAt = this.personaRunStart;
    if (s.acting) {
      const finished =
        (s.acting === "say" && s.utterance?.endMs !== null && s.utterance?.endMs !== undefined) ||
        (s.acting === "press" && this.dtmfQueue.length === 0 && this.framesDone >= this.nextDtmfFrame) ||
        (s.acting === "wait" && t >= s.actUntil);
      if (!finished) return;
      s.idx++;
      this.beginStep(t);
      return;
    }
    const step = s.steps[s.idx];
    if (!step) {
      const after = this.callee.kind === "scenario" ? (this.callee.scenario.hangupAfterSilenceMs ?? 0) : 0;
      if (after > 0 && s.spokeSince && !audible && t - this.lastVoicedMs >= after) {
        s.done = true;
        void this.hangup("completed", "callee hung up after the persona went quiet");
      }
      return;
    }
    const elapsed = t - s.stepStartMs;
    const timeout = step.timeoutMs ?? 20_000;
    if (step.personaSilentMs !== undefined && !s.silentOk) {
      if ((s.spokeSince && !audible && t - this.lastVoicedMs >= step.personaSilentMs) || elapsed >= timeout) s.silentOk = true;
      else return;
    }
    if (step.personaSpeakingMs !== undefined && !s.speakingOk) {
      if ((s.speechStartAt !== null && t - s.speechStartAt >= step.personaSpeakingMs) || elapsed >= timeout) s.speakingOk = true;
      else return;
    }
    if (s.pauseFrom === null) s.pauseFrom = t;
    if (t - s.pauseFrom < (step.pauseMs ?? 0)) return;
    if ("say" in step || "backchannel" in step) {
      const text = "say" in step ? step.say : step.backchannel;
      this.say(text, "say" in step ? "say" : "backchannel");
      s.utterance = this.said[this.said.length - 1] ?? null;
      s.acting = "say";
    } else if ("press" in step) {
      this.press(step.press);
      s.acting = "press";
    } else if ("wait" in step) {
      s.acting = "wait";
      s.actUntil = t + step.wait;
    } else {
      s.done = true;
      void this.hangup("completed", "callee hung up");
    }
  }

  // ---------------------------------------------------------------- record

  /** Everything a test wants to know about this call; no audio payloads. */
  record(): object {
    return {
      callSid: this.sid,
      to: this.params.to,
      from: this.params.from,
      status: this.status,
      callee: this.callee.kind === "interactive" ? "interactive" : (this.callee.scenario.name ?? this.scenarioAnswer ?? "scenario"),
      answeredBy: this.answeredBy,
      durationS: this.durationS,
      billedMinutes: this.billedMinutes,
      priceMicros: this.priceMicros,
      endReason: this.endReason,
      history: this.history,
      twiml: this.twimlVerbs,
      streams: this.streams,
      messages: this.messages,
      said: this.said,
      heard: this.heard,
      heardText: this.heard.map((h) => h.text).join(" ").trim(),
      marks: this.marks,
      clears: this.clears,
      dtmf: this.dtmf,
      callbacks: this.callbacks,
      errors: this.errors,
    };
  }
}

function padToFrames(bytes: Uint8Array): Uint8Array {
  const rem = bytes.length % FRAME_BYTES;
  if (rem === 0 && bytes.length > 0) return bytes;
  const out = new Uint8Array(bytes.length + (FRAME_BYTES - rem)).fill(MULAW_SILENCE);
  out.set(bytes, 0);
  return out;
}

/** Names of `<Parameter>`s whose values a record or log must not show (the app's stream token). */
const SECRET_PARAM = /token|secret|ticket|password|signature/i;

/** Stream `<Parameter>`s for records and logs: secret-looking values become "[redacted]". */
export function safeParameters(params: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, SECRET_PARAM.test(k) ? "[redacted]" : v]));
}

/** A URL without credentials or query string, for records and logs. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(invalid url)";
  }
}

export function randomCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, "0");
}
