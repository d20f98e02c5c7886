/**
 * Deepgram live speech-to-text emulator: `wss://…/v1/listen` over a local WebSocket.
 *
 * Speaks Deepgram's streaming protocol (auth by `Authorization: Token <key>` or the
 * `Sec-WebSocket-Protocol: token, <key>` pair; binary frames are audio; `KeepAlive`, `Finalize`,
 * `CloseStream` text frames; `Results` / `UtteranceEnd` / `SpeechStarted` / `Metadata` out) and
 * "recognises" the sandbox voice: incoming 8 kHz μ-law is run through `SpeechDecoder`, characters
 * become words at spaces, and every result is timed by AUDIO position (bytes / 8 ms), so turn
 * detection behaves the same whether the client streams in real time or faster. A knob-controlled
 * processing latency is added before each message is sent.
 *
 * It deliberately does not transcribe real speech (non-sandbox audio only drives voice activity),
 * does not implement diarization/multichannel/keywords, nor the pre-recorded REST API.
 */
import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import type { Duplex } from "node:stream";
import type { WebSocket as WsSocket, WebSocketServer as WsServer } from "ws";
import { mulawRms } from "../codec/mulaw";
import { DEFAULT_MS_PER_CHAR, FRAME_BYTES, SpeechDecoder } from "../codec/speech-codec";
import {
  DueQueue,
  closeServer,
  createEmulatorServer,
  type EmulatorHandle,
  handleControl,
  jittered,
  Knobs,
  listen,
  sendJson,
} from "../shared/emulator";

const wsLib = createRequire(import.meta.url)("ws") as typeof import("ws");

export interface DeepgramKnobs {
  /** Processing latency added before every message the emulator sends. */
  resultLatencyMs: number;
  /** Extra latency added before a `speech_final` result (on top of the endpointing silence). */
  endpointingDelayMs: number;
  /** ± random spread applied to every latency. */
  jitterMs: number;
  /** Drop each socket this many ms after it opened (abnormal close, as a network drop), or null. */
  closeAfterMs: number | null;
  /** Reject every upgrade with this HTTP status (e.g. 401, 503), or null. */
  rejectConnections: number | null;
  /** Confidence reported for every recognised word (0–1). */
  wordConfidence: number;
  /** Close a socket that received no audio and no control message for this long (Deepgram: 10 s). */
  idleTimeoutMs: number;
  /** Audio time between interim results while characters accrue (see README: why 100). */
  interimIntervalMs: number;
  /** A segment of continuous speech longer than this is finalised (`is_final`) without an endpoint. */
  maxSegmentMs: number;
}

export const DEFAULT_DEEPGRAM_KNOBS: DeepgramKnobs = {
  resultLatencyMs: 0,
  endpointingDelayMs: 0,
  jitterMs: 0,
  closeAfterMs: null,
  rejectConnections: null,
  wordConfidence: 0.99,
  idleTimeoutMs: 10_000,
  interimIntervalMs: 100,
  maxSegmentMs: 5_000,
};

export interface DeepgramEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** The only API key accepted. */
  apiKey: string;
  /** Initial knob values (merged over the defaults; `/__sandbox/reset` restores these). */
  knobs?: Partial<DeepgramKnobs>;
}

export interface DeepgramRequestBill {
  request_id: string;
  model: string;
  /** Audio received on this stream, in seconds (what Deepgram bills). */
  audioSeconds: number;
  openedAt: string;
  closedAt: string | null;
}

export interface DeepgramBill {
  vendor: "deepgram";
  unit: "audio_seconds";
  totalAudioSeconds: number;
  requests: DeepgramRequestBill[];
}

export interface DeepgramEmulatorHandle extends EmulatorHandle {
  /** The WebSocket base URL to give an SDK or adapter, e.g. `ws://127.0.0.1:8792`. */
  wsUrl: string;
  knobs: Knobs<DeepgramKnobs>;
  bill(requestId?: string): DeepgramBill;
  /** Number of currently open `/v1/listen` sockets. */
  openSockets(): number;
}

const SUPPORTED_ENCODINGS = new Set(["mulaw"]);
const NET0001 = "Deepgram did not receive audio data or a text message within the timeout window. See https://dpgr.am/net0001";

interface ListenParams {
  model: string;
  sampleRate: number;
  channels: number;
  interimResults: boolean;
  /** Silence (ms) after speech that ends an utterance; null = endpointing disabled. */
  endpointingMs: number | null;
  utteranceEndMs: number | null;
  vadEvents: boolean;
  punctuate: boolean;
}

function boolParam(q: URLSearchParams, name: string, dflt: boolean): boolean {
  const v = q.get(name);
  if (v === null) return dflt;
  return v === "true" || v === "1";
}

/** Parses and validates the documented query parameters; returns an error message on bad input. */
function parseParams(q: URLSearchParams): ListenParams | string {
  const encoding = q.get("encoding");
  const sampleRateRaw = q.get("sample_rate");
  if (encoding !== null && !SUPPORTED_ENCODINGS.has(encoding)) return `Unsupported encoding for this sandbox: ${encoding}. Use encoding=mulaw.`;
  if (encoding !== null && sampleRateRaw === null) return "sample_rate is required when encoding is set.";
  const sampleRate = sampleRateRaw === null ? 8000 : Number(sampleRateRaw);
  if (sampleRate !== 8000) return `Unsupported sample_rate for this sandbox: ${sampleRateRaw}. Use 8000.`;
  const channels = Number(q.get("channels") ?? "1");
  if (!Number.isInteger(channels) || channels !== 1) return "Only channels=1 is supported by this sandbox.";
  const ep = q.get("endpointing");
  let endpointingMs: number | null = 10; // Deepgram's default endpointing
  if (ep === "false") endpointingMs = null;
  else if (ep === "true") endpointingMs = 10;
  else if (ep !== null) {
    const n = Number(ep);
    if (!Number.isFinite(n) || n < 0) return `Invalid endpointing: ${ep}`;
    endpointingMs = n;
  }
  const ue = q.get("utterance_end_ms");
  let utteranceEndMs: number | null = null;
  if (ue !== null) {
    const n = Number(ue);
    if (!Number.isFinite(n) || n < 0) return `Invalid utterance_end_ms: ${ue}`;
    utteranceEndMs = n;
  }
  return {
    model: q.get("model") ?? "base",
    sampleRate,
    channels,
    interimResults: boolParam(q, "interim_results", false),
    endpointingMs,
    utteranceEndMs,
    vadEvents: boolParam(q, "vad_events", false),
    punctuate: boolParam(q, "punctuate", false) || boolParam(q, "smart_format", false),
  };
}

/** Reads the API key from `Authorization: Token …` or `Sec-WebSocket-Protocol: token, …`. */
function presentedKey(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  if (typeof auth === "string") {
    const m = /^token\s+(.+)$/i.exec(auth.trim());
    return m?.[1] ?? null;
  }
  const proto = req.headers["sec-websocket-protocol"];
  if (typeof proto === "string") {
    const parts = proto.split(",").map((p) => p.trim());
    const i = parts.findIndex((p) => p.toLowerCase() === "token");
    if (i >= 0) return parts[i + 1] ?? null;
  }
  return null;
}

function rejectUpgrade(socket: Duplex, status: number, body: Record<string, unknown>, requestId: string): void {
  const text = JSON.stringify(body);
  const reason = status === 401 ? "Unauthorized" : status === 400 ? "Bad Request" : status === 404 ? "Not Found" : status === 429 ? "Too Many Requests" : "Service Unavailable";
  socket.write(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n` +
      `dg-request-id: ${requestId}\r\ndg-error: ${String(body.err_msg ?? reason)}\r\nconnection: close\r\n\r\n${text}`,
  );
  socket.destroy();
}

interface Word {
  word: string;
  start: number;
  end: number;
  confidence: number;
  punctuated_word: string;
}

interface PendingChar {
  char: string;
  atMs: number;
}

const MODEL_INFO: Record<string, { name: string; version: string; arch: string; uuid: string }> = {
  "nova-3": { name: "general-nova-3", version: "2025-07-31.0", arch: "nova-3", uuid: "40bd3654-e622-47c4-a111-63a61b23bfe5" },
  "nova-2": { name: "2-general-nova", version: "2024-01-09.29447", arch: "nova-2", uuid: "c0d1a568-ce81-4fea-97e7-bd45cb1fdf3c" },
  "nova-2-phonecall": { name: "2-phonecall-nova", version: "2024-01-09.29447", arch: "nova-2", uuid: "b1a8a3a1-79c4-4cc4-a98a-2d6c9d0bd0a6" },
};
function modelInfo(model: string): { name: string; version: string; arch: string; uuid: string } {
  return MODEL_INFO[model] ?? { name: model, version: "2025-01-01.0", arch: model, uuid: "a1b2c3d4-0000-4000-8000-000000000000" };
}

const secs = (ms: number): number => Math.round(ms) / 1000;

/** Lower-cased word without surrounding punctuation (apostrophes kept), like Deepgram's `word`. */
function bareWord(token: string): string {
  return token.toLowerCase().replace(/^[^\p{L}\p{N}']+|[^\p{L}\p{N}']+$/gu, "");
}

/** One `/v1/listen` stream: decoder state, segmenting and the ordered, delayed send queue. */
class ListenSession {
  private readonly decoder = new SpeechDecoder();
  private readonly sha = createHash("sha256");
  private bytes = 0;
  /** Words finished (space seen) but not yet in an `is_final` result. */
  private words: Word[] = [];
  /** Characters of the word being spoken. */
  private current: PendingChar[] = [];
  /** Audio time (ms) where the next segment starts. */
  private segmentStartMs = 0;
  private speaking = false;
  private lastVoiceMs = 0;
  /** End (ms) of the newest recognised word, for UtteranceEnd. */
  private lastWordEndMs: number | null = null;
  private utteranceEndSent = true;
  /** Whether the next word starts a sentence (capitalised when punctuating). */
  private sentenceStart = true;
  private lastInterimMs = 0;
  private charsSinceInterim = 0;
  private readonly outbox = new DueQueue();
  private idleTimer: NodeJS.Timeout | null = null;
  private lastActivity = 0;
  private dropTimer: NodeJS.Timeout | null = null;
  private closing = false;
  readonly bill: DeepgramRequestBill;

  constructor(
    readonly requestId: string,
    private readonly ws: WsSocket,
    private readonly params: ListenParams,
    private readonly knobs: Knobs<DeepgramKnobs>,
  ) {
    this.bill = { request_id: this.requestId, model: params.model, audioSeconds: 0, openedAt: new Date().toISOString(), closedAt: null };
    this.touch();
    const closeAfter = knobs.value.closeAfterMs;
    if (closeAfter !== null) this.dropTimer = setTimeout(() => this.ws.terminate(), closeAfter);
    ws.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    ws.on("close", () => this.dispose());
    ws.on("error", () => this.dispose());
  }

  private get nowMs(): number {
    return this.bytes / 8;
  }

  /** Marks activity; the idle timer re-arms itself lazily, so a frame costs no timer churn. */
  private touch(): void {
    this.lastActivity = Date.now();
    if (this.idleTimer) return;
    const check = (): void => {
      const idleFor = Date.now() - this.lastActivity;
      const limit = this.knobs.value.idleTimeoutMs;
      if (idleFor < limit) {
        this.idleTimer = setTimeout(check, limit - idleFor);
        return;
      }
      this.idleTimer = null;
      if (this.ws.readyState === this.ws.OPEN) this.ws.close(1011, NET0001);
    };
    this.idleTimer = setTimeout(check, this.knobs.value.idleTimeoutMs);
  }

  private dispose(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.dropTimer) clearTimeout(this.dropTimer);
    this.idleTimer = null;
    this.dropTimer = null;
    this.outbox.clear();
    this.bill.closedAt ??= new Date().toISOString();
  }

  /** Sends `msg` after the processing latency, never overtaking an earlier message. */
  private send(msg: object, extraDelayMs = 0): Promise<void> {
    const k = this.knobs.value;
    const delay = jittered(k.resultLatencyMs + extraDelayMs, k.jitterMs);
    const text = JSON.stringify(msg);
    return new Promise((resolve) => {
      const fire = (): void => {
        if (this.ws.readyState === this.ws.OPEN) this.ws.send(text);
        resolve();
      };
      if (delay <= 0 && this.outbox.idle) fire();
      else this.outbox.push(performance.now() + delay, fire);
    });
  }

  private onMessage(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (this.closing) return;
    this.touch();
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (isBinary) {
      // An empty binary frame is Deepgram's legacy "close stream" signal.
      if (buf.byteLength === 0) void this.closeStream();
      else this.onAudio(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(buf.toString("utf8"));
    } catch {
      return; // Deepgram ignores unparseable text frames
    }
    const type = typeof msg === "object" && msg !== null ? (msg as { type?: unknown }).type : undefined;
    if (type === "KeepAlive") return;
    if (type === "Finalize") this.finalize(true);
    else if (type === "CloseStream") void this.closeStream();
  }

  private onAudio(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.sha.update(chunk);
    this.bill.audioSeconds = (this.bytes + chunk.length) / (this.params.sampleRate * this.params.channels);
    // Voice activity and endpointing are evaluated per 20 ms frame, however the client chunks.
    for (let off = 0; off < chunk.length; off += FRAME_BYTES) this.onFrame(chunk.subarray(off, off + FRAME_BYTES));
  }

  private onFrame(frame: Uint8Array): void {
    const frameStartMs = this.nowMs;
    this.bytes += frame.length;
    const decoded = this.decoder.push(frame);
    const voiced = decoded.voiced || mulawRms(frame) > 500;
    if (voiced) {
      if (!this.speaking) {
        this.speaking = true;
        const onsetMs = decoded.chars[0]?.atMs ?? frameStartMs;
        if (this.params.vadEvents) void this.send({ type: "SpeechStarted", channel: [0], timestamp: secs(onsetMs) });
      }
      this.lastVoiceMs = this.nowMs;
    }
    for (const c of decoded.chars) this.addChar(c.char, c.atMs);
    this.afterAudio();
  }

  private addChar(char: string, atMs: number): void {
    if (/\s/u.test(char)) {
      this.completeWord();
      return;
    }
    this.current.push({ char, atMs });
    this.charsSinceInterim++;
  }

  private completeWord(): void {
    if (this.current.length === 0) return;
    const token = this.current.map((c) => c.char).join("");
    const first = this.current[0]!;
    const last = this.current[this.current.length - 1]!;
    const endMs = last.atMs + DEFAULT_MS_PER_CHAR;
    const word = bareWord(token) || token;
    this.words.push({
      word,
      start: secs(first.atMs),
      end: secs(endMs),
      confidence: this.knobs.value.wordConfidence,
      punctuated_word: this.punctuated(token, word),
    });
    this.sentenceStart = /[.?!]["')\]]*$/u.test(token);
    this.current = [];
    this.lastWordEndMs = endMs;
    this.utteranceEndSent = false;
  }

  private afterAudio(): void {
    const now = this.nowMs;
    const p = this.params;
    const silentFor = now - this.lastVoiceMs;
    // Silence after a character completes the word in progress.
    if (silentFor > 0 && this.current.length > 0) this.completeWord();
    if (this.speaking && silentFor > 0 && silentFor >= (p.endpointingMs ?? 300)) {
      this.speaking = false;
      if (p.endpointingMs !== null && this.words.length > 0) this.emitFinal({ speechFinal: true, fromFinalize: false });
    }
    if (now - this.segmentStartMs >= this.knobs.value.maxSegmentMs) {
      // Long continuous speech is finalised without an endpoint; long silence yields an empty
      // final result, as Deepgram sends while nothing is said.
      if (this.words.length > 0 || (!this.speaking && this.current.length === 0)) this.emitFinal({ speechFinal: false, fromFinalize: false });
    }
    // Interim results as words accrue.
    if (p.interimResults && this.charsSinceInterim > 0 && now - this.lastInterimMs >= this.knobs.value.interimIntervalMs) {
      this.emitInterim();
    }
    // UtteranceEnd after a gap with no words (needs interim_results, like Deepgram).
    if (
      p.interimResults &&
      p.utteranceEndMs !== null &&
      !this.utteranceEndSent &&
      this.lastWordEndMs !== null &&
      this.current.length === 0 &&
      now - this.lastWordEndMs >= p.utteranceEndMs
    ) {
      if (this.words.length > 0) this.emitFinal({ speechFinal: false, fromFinalize: false });
      this.utteranceEndSent = true;
      void this.send({ type: "UtteranceEnd", channel: [0, 1], last_word_end: secs(this.lastWordEndMs) });
    }
  }

  /** With punctuate/smart_format the word as spoken, sentence starts capitalised; else the bare word. */
  private punctuated(token: string, word: string): string {
    if (!this.params.punctuate) return word;
    return this.sentenceStart ? token.charAt(0).toUpperCase() + token.slice(1) : token;
  }

  private currentAsWord(): Word | null {
    if (this.current.length === 0) return null;
    const token = this.current.map((c) => c.char).join("");
    const first = this.current[0]!;
    const last = this.current[this.current.length - 1]!;
    const word = bareWord(token) || token;
    return {
      word,
      start: secs(first.atMs),
      end: secs(last.atMs + DEFAULT_MS_PER_CHAR),
      confidence: Math.min(this.knobs.value.wordConfidence, 0.9),
      punctuated_word: this.punctuated(token, word),
    };
  }

  private results(words: Word[], startMs: number, endMs: number, extra: { is_final: boolean; speech_final: boolean; from_finalize?: boolean }): object {
    const info = modelInfo(this.params.model);
    const transcript = words.map((w) => (this.params.punctuate ? w.punctuated_word : w.word)).join(" ");
    const confidence = words.length === 0 ? 0 : Math.min(...words.map((w) => w.confidence));
    return {
      type: "Results",
      channel_index: [0, 1],
      duration: secs(Math.max(0, endMs - startMs)),
      start: secs(startMs),
      is_final: extra.is_final,
      speech_final: extra.speech_final,
      ...(extra.from_finalize !== undefined ? { from_finalize: extra.from_finalize } : {}),
      channel: { alternatives: [{ transcript, confidence, words }] },
      metadata: {
        request_id: this.requestId,
        model_info: { name: info.name, version: info.version, arch: info.arch },
        model_uuid: info.uuid,
      },
    };
  }

  private emitInterim(): void {
    const words = [...this.words];
    const partial = this.currentAsWord();
    if (partial) words.push(partial);
    this.lastInterimMs = this.nowMs;
    this.charsSinceInterim = 0;
    if (words.length === 0) return;
    void this.send(this.results(words, this.segmentStartMs, this.nowMs, { is_final: false, speech_final: false }));
  }

  /** Emits an `is_final` result for the completed words and starts a new segment. */
  private emitFinal(opts: { speechFinal: boolean; fromFinalize: boolean }): Promise<void> {
    const words = this.words;
    this.words = [];
    const endMs = this.nowMs;
    const msg = this.results(words, this.segmentStartMs, endMs, {
      is_final: true,
      speech_final: opts.speechFinal,
      from_finalize: opts.fromFinalize,
    });
    this.segmentStartMs = endMs;
    this.lastInterimMs = endMs;
    this.charsSinceInterim = 0;
    return this.send(msg, opts.speechFinal ? this.knobs.value.endpointingDelayMs : 0);
  }

  /** `Finalize`: flush everything heard so far, including a word in progress. */
  private finalize(fromFinalize: boolean): Promise<void> {
    this.completeWord();
    return this.emitFinal({ speechFinal: false, fromFinalize });
  }

  private async closeStream(): Promise<void> {
    this.closing = true;
    this.completeWord();
    if (this.words.length > 0) await this.emitFinal({ speechFinal: false, fromFinalize: false });
    const info = modelInfo(this.params.model);
    await this.send({
      type: "Metadata",
      transaction_key: "deprecated",
      request_id: this.requestId,
      sha256: this.sha.digest("hex"),
      created: this.bill.openedAt,
      duration: this.bill.audioSeconds,
      channels: this.params.channels,
      models: [info.uuid],
      model_info: { [info.uuid]: { name: info.name, version: info.version, arch: info.arch } },
    });
    this.bill.closedAt = new Date().toISOString();
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000);
  }
}

/** Starts the Deepgram emulator on 127.0.0.1. */
export async function startDeepgramEmulator(opts: DeepgramEmulatorOptions): Promise<DeepgramEmulatorHandle> {
  const knobs = new Knobs<DeepgramKnobs>({ ...DEFAULT_DEEPGRAM_KNOBS, ...opts.knobs });
  const requests = new Map<string, DeepgramRequestBill>();
  const sockets = new Set<WsSocket>();

  const bill = (requestId?: string): DeepgramBill => {
    const rows = [...requests.values()].filter((r) => !requestId || r.request_id === requestId);
    const total = rows.reduce((s, r) => s + r.audioSeconds, 0);
    return { vendor: "deepgram", unit: "audio_seconds", totalAudioSeconds: Math.round(total * 1000) / 1000, requests: rows.map((r) => ({ ...r })) };
  };

  const server = createEmulatorServer(async (req, res) => {
    const handled = await handleControl(req, res, {
      knobs: knobs as unknown as Knobs<object>,
      bill: (q) => bill(q.get("request_id") ?? q.get("requestId") ?? undefined),
      reset: () => requests.clear(),
    });
    if (handled) return;
    const url = new URL(req.url ?? "/", "http://sandbox");
    if (url.pathname === "/v1/listen") {
      sendJson(res, 426, { err_code: "UPGRADE_REQUIRED", err_msg: "Use a WebSocket connection for live streaming." });
      return;
    }
    sendJson(res, 404, { err_code: "NOT_FOUND", err_msg: "Not found in the Deepgram sandbox." });
  }, "deepgram");

  const wss: WsServer = new wsLib.WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has("token") ? "token" : false),
  });

  const requestIds = new WeakMap<IncomingMessage, string>();
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const requestId = randomUUID();
    requestIds.set(req, requestId);
    const url = new URL(req.url ?? "/", "http://sandbox");
    if (url.pathname !== "/v1/listen") {
      rejectUpgrade(socket, 404, { err_code: "NOT_FOUND", err_msg: "Not found.", request_id: requestId }, requestId);
      return;
    }
    const forced = knobs.value.rejectConnections;
    if (forced !== null) {
      const body =
        forced === 401
          ? { err_code: "INVALID_AUTH", err_msg: "Invalid credentials.", request_id: requestId }
          : { err_code: "SERVICE_UNAVAILABLE", err_msg: "The service is temporarily unavailable.", request_id: requestId };
      rejectUpgrade(socket, forced, body, requestId);
      return;
    }
    if (presentedKey(req) !== opts.apiKey) {
      rejectUpgrade(socket, 401, { err_code: "INVALID_AUTH", err_msg: "Invalid credentials.", request_id: requestId }, requestId);
      return;
    }
    const params = parseParams(url.searchParams);
    if (typeof params === "string") {
      rejectUpgrade(socket, 400, { err_code: "Bad Request", err_msg: params, request_id: requestId }, requestId);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on("close", () => sockets.delete(ws));
      const session = new ListenSession(requestId, ws, params, knobs);
      requests.set(session.requestId, session.bill);
    });
  });
  // Echo the request id like Deepgram's `dg-request-id` response header.
  wss.on("headers", (headers, req) => headers.push(`dg-request-id: ${requestIds.get(req) ?? randomUUID()}`));

  const port = await listen(server, opts.port ?? 0);
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    knobs,
    bill,
    openSockets: () => sockets.size,
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      await closeServer(server);
    },
  };
}
