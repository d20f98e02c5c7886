/**
 * CallSession: one Durable Object per call, kept thin. It holds the call's setup and state in its
 * SQLite storage, accepts the media socket (Twilio's Media Stream, or the browser speaking the same
 * JSON protocol), runs the pure `CallPipeline` over the real vendor adapters (workerd WebSocket
 * factory), pre-warms STT/TTS and the greeting while the phone rings, and writes every finished
 * turn and timeline event to storage the moment it happens; an alarm copies them to Postgres in
 * batches (idempotent keys), so a restart loses at most audio in flight. It serves the live SSE
 * stream (`LiveEvent`s: snapshot first, ended last), hangs up via Twilio REST when the pipeline
 * asks, and at the end writes the transcript to R2 and finalizes the call once.
 */
import { DurableObject } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Call, CallEndReason, CallStatus, CallTurn, LiveEvent } from "../contracts/calls";
import { createDb, type Db } from "../worker/db/client";
import { callTurns, calls } from "../worker/db/schema";
import { parseEnv, type Config } from "../worker/env";
import { createLogger, type Logger } from "../worker/log";
import { finalizeCall, recordEndReason, type CallOutcome } from "../worker/services/call-finalize";
import { insertCostEventsQuery, meteredChatModel, refreshCallCostQuery } from "../worker/services/costs";
import { searchPastCalls } from "../worker/services/history";
import { memoryChatModel } from "../worker/services/memory-extraction";
import { STREAM_ROUTE_HEADER, STREAM_TOKEN_PARAM, verifyStartToken, type StreamTokenPurpose } from "../worker/services/stream-token";
import { insertEventsQuery } from "../worker/services/timeline";
import { hangupCall } from "../worker/services/twilio-rest";
import { CallStore, INITIAL_STATE, toCallTurn, type CallSetup, type CallState, type StoredEvent } from "./call-store";
import { CallMoney } from "./money/call-money";
import { saysYes, type MeterEffect } from "./money/cost-meter";
import { CallPipeline, type PipelineConfig } from "./pipeline/call-pipeline";
import { pastCallSearchTool, withTools } from "./pipeline/tools";
import type { HangupReason, PipelineEvent } from "./pipeline/events";
import { connectWorkerdWebSocket, createProviders } from "./providers/index";
import type { ChatMessage } from "./providers/types";
import { parseTwilioMessage } from "./twilio/protocol";
import { StreamGate, type StreamVerdict } from "./twilio/stream-gate";

/** Hook for DTMF digits (the money engineer's "press 1 to extend" plugs in here). */
export type DtmfHook = (session: { callId: string; userId: string }, digit: string) => void | Promise<void>;
const dtmfHooks: DtmfHook[] = [];
/** Registers a DTMF hook (module scope: call at import time). */
export function onCallDtmf(hook: DtmfHook): void {
  dtmfHooks.push(hook);
}

/** The live cost ticker and budget checks run this often while the call is connected. */
const MONEY_TICK_MS = 2_000;
/**
 * Flush batches to Postgres this long after the first unflushed write: a turn's writes (the turn,
 * its usage and cost events) land within about a second of each other and go out as one batch,
 * and the ops timeline sees a live call at most this late. `finish` flushes at once.
 */
const FLUSH_DELAY_MS = 1_000;
/** A browser call that never connects its socket is canceled after this long (it would block new calls). */
const BROWSER_CONNECT_TIMEOUT_MS = 120_000;
/** A media socket must send a valid `start` this soon after connecting, or it is closed. */
const STREAM_START_TIMEOUT_MS = 10_000;
/** Media sockets waiting for their `start` at once; more are refused (429). */
const MAX_PENDING_STREAMS = 4;
/** WebSocket close code for a refused media socket (policy violation). */
const CLOSE_POLICY = 1008;
/** Spoken when a call resumes after the Durable Object restarted. */
const RESUME_GREETING = "Sorry, we got cut off for a second. Where were we?";

const HANGUP_REASON: Record<HangupReason, CallEndReason> = {
  "duration-limit": "duration_limit",
  voicemail: "voicemail",
  "caller-hangup": "caller_hung_up",
  "stt-failed": "error",
};

const encoder = new TextEncoder();

function closeSocket(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // already closed
  }
}

export class CallSession extends DurableObject<Env> {
  private readonly store: CallStore;
  private readonly config: Config;
  private readonly log: Logger;
  private setupInfo: CallSetup | null = null;
  private state: CallState = { ...INITIAL_STATE };
  private pipeline: CallPipeline | null = null;
  private preparing: Promise<void> | null = null;
  private socket: WebSocket | null = null;
  /** Cost ledger, budget and extension logic for this call (durable-objects/money). */
  private money: CallMoney | null = null;
  private moneyTimer: ReturnType<typeof setInterval> | null = null;
  private viewers = new Set<WritableStreamDefaultWriter<Uint8Array>>();
  private speaking: "persona" | "caller" | "none" = "none";
  private eventSeq = 0;
  private finishing: Promise<void> | null = null;
  /** Media sockets connected but not yet past their `start` check. */
  private readonly pendingStreams = new Set<StreamGate>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = parseEnv(env);
    this.store = new CallStore(ctx.storage.sql);
    this.setupInfo = this.store.get<CallSetup>("setup");
    this.state = { ...INITIAL_STATE, ...(this.store.get<CallState>("state") ?? {}) };
    this.eventSeq = this.store.eventCount();
    this.log = createLogger({ component: "call-session", ...(this.setupInfo ? { callId: this.setupInfo.callId } : {}) });
  }

  private get db(): Db {
    return createDb(this.config);
  }

  private get callId(): string {
    if (!this.setupInfo) throw new Error("call session has no setup");
    return this.setupInfo.callId;
  }

  // ─────────────────────────────────────────────────────────────── RPC from the Worker

  /** Stores the call's setup (idempotent: a second call with the same id is ignored). */
  async setup(setup: CallSetup): Promise<void> {
    if (this.setupInfo) return;
    this.setupInfo = setup;
    this.store.put("setup", setup);
    this.saveState({});
    this.event("status", "twilio", `call created (${setup.transport})`, { status: "queued" }, "status:queued");
    if (setup.transport === "browser") {
      this.store.put("connectDeadline", Date.now() + BROWSER_CONNECT_TIMEOUT_MS);
      await this.ctx.storage.setAlarm(Date.now() + BROWSER_CONNECT_TIMEOUT_MS);
    }
  }

  async setTwilioCallSid(sid: string): Promise<void> {
    if (!this.setupInfo) return;
    this.setupInfo = { ...this.setupInfo, twilioCallSid: sid };
    this.store.put("setup", this.setupInfo);
  }

  /** A non-terminal status from Twilio; `ringing` pre-warms the vendor sockets and the greeting. */
  async status(status: CallStatus, answeredBy?: string | null): Promise<void> {
    if (!this.setupInfo || this.state.finished) return;
    this.setStatus(status);
    if (answeredBy) this.answeredBy(answeredBy);
    if (status === "ringing" || status === "in_progress") this.prewarm();
  }

  /** Async AMD result. */
  async answeredBy(value: string): Promise<void> {
    if (!this.setupInfo) return;
    this.saveState({ answeredBy: value });
    this.event("amd", "twilio", `answered by ${value}`, { answeredBy: value }, "amd");
    this.pipeline?.onAnsweredBy(value);
  }

  /** The call reached a terminal state (Twilio callback, or placement failed): wrap up once. */
  async terminal(outcome: CallOutcome): Promise<void> {
    if (!this.setupInfo) {
      return;
    }
    await this.finish(outcome);
  }

  /** The user pressed "End call". */
  async end(): Promise<void> {
    if (!this.setupInfo || this.state.finished) return;
    await this.requestHangup("user_ended", "ended by the user");
  }

  /** Marks a stream token / browser ticket used; false when it was used before. */
  private async consumeTicket(jti: string): Promise<boolean> {
    const key = `ticket:${jti}`;
    if (this.store.get<boolean>(key)) return false;
    this.store.put(key, true);
    return true;
  }

  /** Live state for the Worker (detail page, tests). */
  async snapshot(): Promise<{ state: CallState; turns: CallTurn[] }> {
    return { state: this.state, turns: this.store.turns() };
  }

  /** Local/test only: shorten the call's duration limit before it is answered (duration-limit tests). */
  async debugSetDurationLimit(seconds: number): Promise<boolean> {
    if (!this.config.isLocal || !this.setupInfo || this.pipeline) return false;
    this.setupInfo = { ...this.setupInfo, durationLimitS: Math.max(10, Math.round(seconds)) };
    this.store.put("setup", this.setupInfo);
    return true;
  }

  /** Local/test only: drop this instance as an eviction or crash would (storage survives). */
  async simulateRestart(): Promise<void> {
    if (!this.config.isLocal) return;
    this.ctx.abort("simulated restart");
  }

  // ─────────────────────────────────────────────────────────────── HTTP: media socket and SSE

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/stream") return this.acceptStream(request);
    if (url.pathname === "/events") return this.events(request);
    return new Response("not found", { status: 404 });
  }

  /**
   * Accepts a media socket from the Worker (Twilio's route checked the signature; the browser
   * route only that this is a live browser call). Nothing reaches the pipeline, and no audio is
   * sent, until the socket's `start` carries this call's valid, unused token in
   * `customParameters` (StreamGate); otherwise it is closed with 1008 and a `stream.refused` event.
   */
  private acceptStream(request: Request): Response {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return new Response("expected websocket", { status: 426 });
    if (!this.setupInfo || this.state.finished) return new Response("call is not live", { status: 409 });
    const purpose: StreamTokenPurpose = this.setupInfo.transport === "browser" ? "browser" : "twilio";
    if (request.headers.get(STREAM_ROUTE_HEADER) !== purpose) return new Response("not found", { status: 404 });
    if (this.socket) return new Response("stream already connected", { status: 409 });
    if (this.pendingStreams.size >= MAX_PENDING_STREAMS) return new Response("too many unauthenticated streams", { status: 429 });
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    server.binaryType = "arraybuffer";
    server.accept();
    let pipeline: CallPipeline | null = null;
    const gate: StreamGate = new StreamGate({
      verify: (params) => this.verifyStreamStart(params, purpose),
      accept: (start) => {
        this.pendingStreams.delete(gate);
        if (this.socket || this.state.finished) return closeSocket(server, CLOSE_POLICY, "stream already connected");
        this.socket = server;
        pipeline = this.ensurePipeline();
        this.onStreamStart();
        pipeline.onTwilioMessage(start);
      },
      refuse: (reason) => {
        this.pendingStreams.delete(gate);
        this.log.warn("media stream refused", { reason, transport: this.setupInfo?.transport });
        this.event("stream.refused", purpose, `media stream refused: ${reason}`, { reason });
        closeSocket(server, CLOSE_POLICY, `refused: ${reason}`);
      },
      secretParams: [STREAM_TOKEN_PARAM],
      timeoutMs: STREAM_START_TIMEOUT_MS,
    });
    this.pendingStreams.add(gate);
    server.addEventListener("message", (ev) => {
      if (typeof ev.data !== "string") return;
      if (!pipeline) return gate.offer(ev.data);
      const parsed = parseTwilioMessage(ev.data);
      if (!parsed.ok) return;
      const msg = parsed.message;
      if (msg.event === "start") this.onStreamStart();
      pipeline.onTwilioMessage(msg);
      if (msg.event === "stop") void this.onStreamEnded("stop");
    });
    const ended = (how: string) => {
      if (this.socket === server) return void this.onStreamEnded(how);
      gate.close();
      this.pendingStreams.delete(gate);
    };
    server.addEventListener("close", () => ended("close"));
    server.addEventListener("error", () => ended("error"));
    return new Response(null, { status: 101, webSocket: client });
  }

  /** The stream token / browser ticket in a `start`: this call's, this transport's, not used before. */
  private async verifyStreamStart(params: Record<string, string>, purpose: StreamTokenPurpose): Promise<StreamVerdict> {
    const check = await verifyStartToken(this.config.auth.jwtSecret, params, { callId: this.callId, purpose });
    if (!check.ok) return check;
    if (!(await this.consumeTicket(check.claims.jti))) return { ok: false, reason: "token already used" };
    return { ok: true };
  }

  private events(request: Request): Response {
    const header = request.headers.get("X-Call");
    if (!header || !this.setupInfo) return new Response("not found", { status: 404 });
    const base = JSON.parse(decodeURIComponent(header)) as Call;
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const call: Call = {
      ...base,
      status: this.state.status,
      endReason: this.state.endReason ?? base.endReason,
      answeredBy: this.state.answeredBy ?? base.answeredBy,
    };
    void this.write(writer, { type: "snapshot", call, turns: this.store.turns(), speaking: this.speaking });
    if (this.state.finished) {
      void this.write(writer, this.endedEvent()).then(() => writer.close().catch(() => {}));
    } else {
      this.viewers.add(writer);
      request.signal?.addEventListener("abort", () => this.viewers.delete(writer));
    }
    return new Response(readable, {
      headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache, no-transform", Connection: "keep-alive" },
    });
  }

  private async write(writer: WritableStreamDefaultWriter<Uint8Array>, event: LiveEvent): Promise<void> {
    try {
      await writer.write(encoder.encode(`data: ${JSON.stringify(event)}\n\n`));
    } catch {
      this.viewers.delete(writer);
    }
  }

  private broadcast(event: LiveEvent): void {
    for (const w of this.viewers) void this.write(w, event);
  }

  private endedEvent(): LiveEvent {
    return { type: "ended", status: this.state.status, reason: this.state.endReason, durationS: this.state.durationS };
  }

  // ─────────────────────────────────────────────────────────────── pipeline wiring

  private pipelineConfig(): Partial<PipelineConfig> {
    const limitMs = (this.setupInfo?.durationLimitS ?? 300) * 1000;
    const elapsed = this.state.streamStartedAt ? Date.now() - this.state.streamStartedAt : 0;
    // config.pipeline: deployment overrides from PIPELINE_CONFIG_JSON (the benchmark turns speculation off).
    return { ...this.config.pipeline, rules: { maxDurationMs: Math.max(5_000, limitMs - elapsed) } };
  }

  private ensurePipeline(): CallPipeline {
    if (this.pipeline) return this.pipeline;
    const setup = this.setupInfo as CallSetup;
    const c = this.config;
    const vendors = createProviders({
      connectWebSocket: connectWorkerdWebSocket,
      deepgram: { apiKey: c.keys.deepgram, baseUrl: c.baseUrls.deepgram },
      elevenlabs: { apiKey: c.keys.elevenlabs, baseUrl: c.baseUrls.elevenlabs, voiceId: setup.voiceId },
      llm: { baseUrl: c.baseUrls.cerebras, apiKey: c.keys.cerebras, model: c.models.llm, reasoningEffort: "low" },
      fallbackLlm: { baseUrl: c.baseUrls.openai, apiKey: c.keys.openai, model: c.models.llmFallback },
    });
    // The persona can look up older calls (full-text search over this user's earlier transcripts).
    const tools = [pastCallSearchTool((query) => searchPastCalls(this.db, { userId: setup.userId, personaId: setup.personaId, currentCallId: setup.callId }, query))];
    const providers = {
      ...vendors,
      llm: withTools(vendors.llm, tools),
      fallbackLlm: vendors.fallbackLlm ? withTools(vendors.fallbackLlm, tools) : undefined,
    };
    const earlier = this.store.turns();
    const history: ChatMessage[] = earlier
      .filter((t) => t.text.trim() && t.speaker !== "system")
      .map((t) => ({ role: t.speaker === "user" ? "user" : "assistant", content: t.text }));
    const greeting = history.length > 0 ? { text: RESUME_GREETING } : setup.greeting ? { text: setup.greeting } : undefined;
    this.pipeline = new CallPipeline({
      providers,
      send: (json) => {
        try {
          this.socket?.send(json);
        } catch {
          // socket closing; the close handler ends the call
        }
      },
      onEvent: (e) => this.onPipelineEvent(e),
      systemPrompt: setup.systemPrompt,
      history,
      greeting,
      answeredBy: this.state.answeredBy ?? undefined,
      onDtmf: (digit) => this.onDtmf(digit),
      config: this.pipelineConfig(),
    });
    return this.pipeline;
  }

  /** Opens STT/TTS and prepares the greeting while the phone rings. */
  private prewarm(): void {
    if (this.preparing || this.state.finished) return;
    const pipeline = this.ensurePipeline();
    this.preparing = pipeline.prepare().catch((err: unknown) => {
      this.log.warn("pre-warm failed", { err });
      this.event("provider.error", "pipeline", "vendor sockets failed to open", { fatal: true });
      void this.requestHangup("error", "vendor sockets failed to open");
    });
  }

  private onStreamStart(): void {
    if (!this.state.streamStartedAt) this.saveState({ streamStartedAt: Date.now() });
    this.event("stream.start", "twilio", "media stream started", {}, "stream.start");
    this.startMoney(this.state.streamStartedAt ?? Date.now());
    if (this.setupInfo?.transport === "browser") void this.markAnswered();
    this.prewarm();
  }

  private async markAnswered(): Promise<void> {
    this.setStatus("in_progress");
    await this.db
      .update(calls)
      .set({ status: "in_progress", answeredAt: sql`COALESCE(${calls.answeredAt}, now())`, updatedAt: new Date() })
      .where(sql`${calls.id} = ${this.callId} AND ${calls.status} IN ('queued', 'initiated', 'ringing')`)
      .catch((err: unknown) => this.log.warn("status write failed", { err }));
  }

  private async onStreamEnded(how: string): Promise<void> {
    if (!this.socket && !this.pipeline) return;
    const socket = this.socket;
    this.socket = null;
    try {
      socket?.close(1000, "call ended");
    } catch {
      // already closed
    }
    this.event("stream.end", "twilio", `media stream ended (${how})`, {}, "stream.end");
    await this.pipeline?.stop();
    this.scheduleFlush();
    // A browser call has no Twilio status callback: the socket closing ends it.
    if (this.setupInfo?.transport === "browser") {
      await this.finish({ status: "completed", endReason: this.state.endReason ?? "caller_hung_up" });
    }
  }

  private onPipelineEvent(e: PipelineEvent): void {
    switch (e.type) {
      case "turn": {
        if (!e.turn.text.trim() && e.turn.speaker === "persona") return;
        const seq = this.store.nextSeq();
        const turn = toCallTurn(e.turn, seq);
        this.store.addTurn(turn);
        this.event(
          "turn",
          "pipeline",
          `${turn.speaker === "user" ? "caller" : "persona"}${turn.interrupted ? " (interrupted)" : ""}: ${turn.text.slice(0, 200)}`,
          { seq, kind: e.turn.kind ?? null, latency: turn.latency },
          `turn:${seq}`,
        );
        if (turn.speaker === "user" && this.speaking === "caller") this.setSpeaking("none");
        if (turn.speaker === "user" && this.money?.offerOpen(Date.now()) && saysYes(turn.text)) void this.acceptExtension();
        this.broadcast({ type: "turn", turn });
        return;
      }
      case "transcript-interim":
        if (this.speaking !== "persona") this.setSpeaking("caller");
        this.broadcast({ type: "interim", text: e.text });
        return;
      case "speaking-state":
        this.setSpeaking(e.speaking ? "persona" : "none");
        return;
      case "usage":
        this.event("usage", e.usage.provider, `${e.usage.kind} usage`, { ...e.usage });
        void this.callMoney()
          ?.record(e.usage, e.at)
          .catch((err: unknown) => this.log.warn("pricing usage failed", { err }));
        return;
      case "latency":
        return;
      case "barge-in":
        this.event("barge_in", "pipeline", `caller interrupted; heard: ${e.heardText.slice(0, 200)}`, { turnIndex: e.turnIndex });
        return;
      case "voicemail":
        this.saveState({ endReason: this.state.endReason ?? "voicemail" });
        void recordEndReason(this.db, this.callId, "voicemail").catch(() => {});
        this.event("voicemail", "pipeline", `voicemail detected (${e.source})`, { source: e.source });
        this.broadcast({ type: "notice", message: "Voicemail detected" });
        return;
      case "hangup-request":
        void this.requestHangup(HANGUP_REASON[e.reason], `pipeline: ${e.reason}`);
        return;
      case "dtmf":
        this.event("dtmf", "twilio", `keypad ${e.digit}`, { digit: e.digit });
        return;
      case "error": {
        const provider = "provider" in e.error ? String(e.error.provider) : e.where;
        this.event(e.fatal ? "provider.error" : "provider.retry", provider, `${e.where}: ${e.error.message.slice(0, 300)}`, { fatal: e.fatal });
        if (e.fatal) void this.requestHangup("error", `${e.where} failed`);
        return;
      }
    }
  }

  private onDtmf(digit: string): void {
    const setup = this.setupInfo;
    if (!setup) return;
    if (digit === "1" && this.money?.offerOpen(Date.now())) void this.acceptExtension();
    for (const hook of dtmfHooks) {
      void Promise.resolve()
        .then(() => hook({ callId: setup.callId, userId: setup.userId }, digit))
        .catch((err: unknown) => this.log.warn("dtmf hook failed", { err }));
    }
  }

  private setSpeaking(who: "persona" | "caller" | "none"): void {
    if (this.speaking === who) return;
    this.speaking = who;
    this.broadcast({ type: "speaking", who });
  }

  private setStatus(status: CallStatus): void {
    if (this.state.status === status) return;
    this.saveState({ status });
    this.event("status", "twilio", `status ${status}`, { status }, `status:${status}`);
    this.broadcast({ type: "status", status, at: new Date().toISOString() });
  }

  /** Ends the call from our side: records why, then hangs up via Twilio (phone) or closes the socket (browser). */
  private async requestHangup(reason: CallEndReason, why: string): Promise<void> {
    if (this.state.hangupRequested || this.state.finished) return;
    this.saveState({ hangupRequested: true, endReason: this.state.endReason ?? reason });
    this.event("hangup", "pipeline", `hanging up: ${why}`, { reason }, "hangup");
    await recordEndReason(this.db, this.callId, this.state.endReason ?? reason).catch((err: unknown) =>
      this.log.warn("end reason write failed", { err }),
    );
    const setup = this.setupInfo as CallSetup;
    if (setup.transport === "phone" && setup.twilioCallSid) {
      try {
        await hangupCall(this.config, setup.twilioCallSid);
        return; // Twilio's `completed` callback calls terminal()
      } catch (err) {
        this.log.warn("twilio hangup failed", { err });
        this.event("provider.error", "twilio", "hang-up request failed", {});
      }
    }
    const socket = this.socket;
    if (socket) {
      await this.onStreamEnded("hangup");
    }
    const status: CallStatus = this.state.status === "in_progress" || this.state.streamStartedAt ? "completed" : "canceled";
    await this.finish({ status, endReason: this.state.endReason ?? reason });
  }

  /** Terminal: stop the pipeline, close sockets, flush, write the transcript, finalize. Once. */
  private finish(outcome: CallOutcome): Promise<void> {
    this.finishing ??= this.doFinish(outcome).catch((err: unknown) => {
      this.finishing = null;
      this.log.error("finishing the call failed", { err });
      throw err;
    });
    return this.finishing;
  }

  private async doFinish(outcome: CallOutcome): Promise<void> {
    if (this.state.finished) return;
    const socket = this.socket;
    this.socket = null;
    try {
      socket?.close(1000, "call ended");
    } catch {
      // already closed
    }
    await this.pipeline?.stop();
    await this.stopMoney();
    const status = outcome.status ?? "completed";
    const endReason = this.state.endReason ?? outcome.endReason ?? null;
    const durationS =
      outcome.durationS ?? (this.state.streamStartedAt ? Math.max(0, Math.round((Date.now() - this.state.streamStartedAt) / 1000)) : 0);
    this.saveState({ status, endReason, durationS });
    this.event("status", "twilio", `status ${status}`, { status }, `status:${status}`);
    await this.flush();
    const setup = this.setupInfo as CallSetup;
    const transcriptKey = `transcripts/${setup.userId}/${setup.callId}.json`;
    const turns = this.store.turns();
    try {
      await this.env.TRANSCRIPTS.put(
        transcriptKey,
        JSON.stringify({ callId: setup.callId, personaId: setup.personaId, personaName: setup.personaName, status, endReason, durationS, turns }),
        { httpMetadata: { contentType: "application/json" } },
      );
      await this.db.update(calls).set({ transcriptKey }).where(sql`${calls.id} = ${setup.callId}`);
    } catch (err) {
      this.log.warn("transcript write failed", { err });
    }
    // Post-call LLM work (summary, facts) is priced into this call's cost ledger.
    const memoryLlm = meteredChatModel(memoryChatModel(this.config), { db: this.db, callId: setup.callId, keyPrefix: "post:memory", onError: (err) => this.log.warn("post-call cost failed", { err }) });
    const memory = { llm: memoryLlm, defer: (work: Promise<unknown>) => this.ctx.waitUntil(work) };
    const finalized = await finalizeCall({ db: this.db, log: this.log, config: this.config, memory }, setup.callId, {
      ...outcome,
      status,
      ...(endReason ? { endReason } : {}),
      ...(outcome.durationS !== undefined ? { durationS: outcome.durationS } : this.state.streamStartedAt ? { durationS } : {}),
    });
    const endedReason = finalized?.endReason ?? endReason;
    this.saveState({ finished: true, status: finalized?.status ?? status, endReason: endedReason, durationS: finalized?.durationS ?? durationS });
    this.broadcast({ type: "status", status: this.state.status, at: new Date().toISOString() });
    const ended = this.endedEvent();
    for (const w of [...this.viewers]) {
      await this.write(w, ended);
      await w.close().catch(() => {});
    }
    this.viewers.clear();
  }

  // ─────────────────────────────────────────────────────────────── money

  private callMoney(): CallMoney | null {
    const setup = this.setupInfo;
    if (!setup) return null;
    this.money ??= new CallMoney({ storage: this.ctx.storage, db: () => this.db, config: this.config, callId: setup.callId, userId: setup.userId, log: this.log });
    return this.money;
  }

  /** The call is connected: bill it, then every 2 s advance the meter, act on its effects and push the live cost. */
  private startMoney(connectedAt: number): void {
    const money = this.callMoney();
    if (!money || this.moneyTimer || this.state.finished) return;
    void money.connect(connectedAt).catch((err: unknown) => this.log.warn("cost meter failed to start", { err }));
    this.moneyTimer = setInterval(() => void this.moneyTick(), MONEY_TICK_MS);
  }

  private async moneyTick(): Promise<void> {
    const money = this.money;
    if (!money || this.state.finished) return;
    try {
      const now = Date.now();
      for (const effect of await money.tick(now)) this.onMoneyEffect(effect);
      const snap = money.snapshot(now);
      if (snap) this.broadcast({ type: "cost", totalMicros: snap.totalMicros, byService: snap.byService });
      this.scheduleFlush();
    } catch (err) {
      this.log.warn("cost meter tick failed", { err });
    }
  }

  /** Final tick (the last started minute), then stop the ticker. */
  private async stopMoney(): Promise<void> {
    if (this.moneyTimer) clearInterval(this.moneyTimer);
    this.moneyTimer = null;
    const money = this.money;
    if (!money || !this.state.streamStartedAt) return;
    try {
      await money.tick(Date.now());
      const snap = money.snapshot(Date.now());
      if (snap) this.broadcast({ type: "cost", totalMicros: snap.totalMicros, byService: snap.byService });
    } catch (err) {
      this.log.warn("final cost tick failed", { err });
    }
  }

  private onMoneyEffect(e: MeterEffect): void {
    switch (e.type) {
      case "warn":
        this.event("budget.warning", "money", e.message, { spentMicros: e.spentMicros, limitMicros: e.limitMicros }, "budget.warning");
        this.broadcast({ type: "notice", message: "You're close to your spending limit" });
        this.pipeline?.say(e.message);
        return;
      case "cutoff":
        this.saveState({ endReason: this.state.endReason ?? "budget_limit" });
        void recordEndReason(this.db, this.callId, "budget_limit").catch(() => {});
        this.event("budget.cutoff", "money", e.message, { spentMicros: e.spentMicros, limitMicros: e.limitMicros }, "budget.cutoff");
        this.broadcast({ type: "notice", message: "Spending limit reached: ending the call" });
        // The goodbye is spoken, then the pipeline asks to hang up; the recorded reason (budget_limit) wins.
        if (this.pipeline) this.pipeline.endWithGoodbye(e.message, "duration-limit");
        else void this.requestHangup("budget_limit", "budget limit reached");
        return;
      case "offer-extension":
        this.event("extension.offer", "money", e.message, { minutes: e.minutes, priceMicros: e.priceMicros }, "extension.offer");
        this.pipeline?.say(e.message);
        return;
      case "extended":
        this.event("extension.accepted", "money", e.message, { extensions: e.extensions, durationLimitS: e.durationLimitS, chargedMicros: e.chargedMicros }, `extension:${e.extensions}`);
        if (this.setupInfo) {
          const added = e.durationLimitS - this.setupInfo.durationLimitS;
          this.setupInfo = { ...this.setupInfo, durationLimitS: e.durationLimitS };
          this.store.put("setup", this.setupInfo);
          if (added > 0) this.pipeline?.extendBy(added * 1000);
        }
        this.broadcast({ type: "notice", message: "Call extended" });
        this.pipeline?.say(e.message);
        return;
    }
  }

  /** The caller said yes / pressed 1 while the extension offer was open. */
  private async acceptExtension(): Promise<void> {
    try {
      const effect = await this.money?.accept(Date.now());
      if (effect) this.onMoneyEffect(effect);
      else this.event("extension.failed", "money", "extension not charged", {});
    } catch (err) {
      this.log.warn("extension failed", { err });
    }
  }

  // ─────────────────────────────────────────────────────────────── persistence

  private saveState(patch: Partial<CallState>): void {
    this.state = { ...this.state, ...patch };
    this.store.put("state", this.state);
  }

  /** Writes a timeline event to storage now; the alarm copies it to Postgres. */
  private event(type: string, service: string | null, message: string, data: Record<string, unknown>, key?: string): void {
    if (!this.setupInfo) return;
    this.eventSeq += 1;
    const e: StoredEvent = { key: key ?? `seq:${this.eventSeq}`, at: Date.now(), type, service, message, data };
    this.store.addEvent(e);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    void this.ctx.storage.getAlarm().then((at) => {
      const due = Date.now() + FLUSH_DELAY_MS;
      if (at === null || at > due) return this.ctx.storage.setAlarm(due);
    });
  }

  override async alarm(): Promise<void> {
    await this.flush();
    const deadline = this.store.get<number>("connectDeadline");
    if (deadline !== null && !this.state.streamStartedAt && !this.state.finished) {
      if (Date.now() >= deadline) {
        await this.finish({ status: "canceled", endReason: "not_answered" });
      } else {
        await this.ctx.storage.setAlarm(deadline);
      }
    }
  }

  /**
   * Copies unflushed cost events, turns and timeline events to Postgres (each idempotent) in one
   * `db.batch` — one HTTP request, one transaction — then drops / marks them flushed locally.
   * A failed batch leaves everything in place for the next flush.
   */
  private async flush(): Promise<void> {
    if (!this.setupInfo) return;
    const { callId, userId } = this.setupInfo;
    const money = this.callMoney();
    for (let round = 0; round < 20; round++) {
      const costs = money ? await money.pending() : { keys: [], events: [] };
      const { turns, events } = this.store.unflushed();
      const statements: BatchItem<"pg">[] = [];
      if (costs.events.length > 0) {
        statements.push(insertCostEventsQuery(this.db, { callId, userId }, costs.events), refreshCallCostQuery(this.db, callId));
      }
      if (turns.length > 0) {
        statements.push(
          this.db
            .insert(callTurns)
            .values(
              turns.map((t) => ({
                callId,
                seq: t.seq,
                speaker: t.speaker,
                text: t.text,
                interrupted: t.interrupted,
                startedAt: new Date(t.startedAt),
                endedAt: t.endedAt ? new Date(t.endedAt) : null,
                latency: (t.latency ?? null) as Record<string, number | boolean | null> | null,
              })),
            )
            .onConflictDoNothing({ target: [callTurns.callId, callTurns.seq] }),
        );
      }
      if (events.length > 0) {
        statements.push(
          insertEventsQuery(
            this.db,
            events.map((e) => ({ callId, eventKey: e.key, at: new Date(e.at), type: e.type, service: e.service, message: e.message, data: e.data })),
          ),
        );
      }
      const [first, ...rest] = statements;
      if (!first) return;
      await this.db.batch([first, ...rest]);
      await money?.dropFlushed(costs.keys);
      this.store.markFlushed(
        turns.map((t) => t.seq),
        events.map((e) => e.key),
      );
    }
  }
}
