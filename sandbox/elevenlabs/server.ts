/**
 * ElevenLabs text-to-speech emulator.
 *
 * WebSockets `/v1/text-to-speech/{voice_id}/stream-input` (single context) and
 * `/v1/text-to-speech/{voice_id}/multi-stream-input` (up to 5 contexts) with ElevenLabs' buffering
 * (chunk_length_schedule, `auto_mode` sentence triggers, `flush`, `try_trigger_generation`),
 * keepalives, EOS / `close_context` / `close_socket`, inactivity timeout and error messages; plus
 * HTTP `POST /v1/text-to-speech/{voice_id}[/stream|/with-timestamps]` and `GET /v1/voices`.
 *
 * "Synthesis" is the sandbox voice: the audio for a text is `encodeSpeech(text)` (8 kHz μ-law; also
 * `pcm_8000` little-endian), so whatever part of it a callee hears decodes back to exactly those
 * characters, and the alignment is the encoder's real per-character timing. Audio is produced
 * faster than real time (`generationSpeed`) after a time-to-first-byte, in chunks of
 * `audioChunkMs` of audio. Bills count characters actually synthesised.
 *
 * Deliberately not emulated: mp3/opus output, SSML, pronunciation dictionaries, voice_settings
 * effects on the audio (speed included), per-context inactivity timers on multi-stream sockets
 * (any message resets the socket's timer).
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { Duplex } from "node:stream";
import type { WebSocket as WsSocket, WebSocketServer as WsServer } from "ws";
import { decodeMulaw } from "../codec/mulaw";
import { encodeSpeech, FRAME_MS, type EncodedSpeech } from "../codec/speech-codec";
import {
  DueQueue,
  closeServer,
  createEmulatorServer,
  type EmulatorHandle,
  handleControl,
  jittered,
  Knobs,
  listen,
  readBody,
  sendJson,
  sleep,
} from "../shared/emulator";

const wsLib = createRequire(import.meta.url)("ws") as typeof import("ws");

export interface ElevenLabsKnobs {
  /** Time from a generation trigger to its first audio message. */
  firstByteMs: number;
  /** Audio is generated this many times faster than real time. */
  generationSpeed: number;
  /** Audio per message (whole characters, so a message may carry slightly more). */
  audioChunkMs: number;
  /** ± random spread applied to latencies. */
  jitterMs: number;
  /** Drop each socket this many ms after it opened (abnormal close), or null. */
  closeAfterMs: number | null;
  /** Overrides the `inactivity_timeout` query parameter (ms), for tests; null = use the parameter. */
  inactivityTimeoutMs: number | null;
  /** Reject every WebSocket upgrade / HTTP TTS request with this status, or null. */
  rejectConnections: number | null;
  /** Speaking rate of the sandbox voice. */
  msPerChar: number;
}

export const DEFAULT_ELEVENLABS_KNOBS: ElevenLabsKnobs = {
  firstByteMs: 150,
  generationSpeed: 4,
  audioChunkMs: 500,
  jitterMs: 0,
  closeAfterMs: null,
  inactivityTimeoutMs: null,
  rejectConnections: null,
  msPerChar: 60,
};

/** Voice ids the emulator lists; any other 20-character alphanumeric id is accepted too. */
export const KNOWN_VOICES: ReadonlyArray<{ voice_id: string; name: string; gender: string; accent: string; description: string }> = [
  { voice_id: "pNInz6obpgDQGcFmaJgB", name: "Adam", gender: "male", accent: "american", description: "deep, direct" },
  { voice_id: "EXAVITQu4vr4xnSDxMaL", name: "Sarah", gender: "female", accent: "american", description: "soft, warm" },
  { voice_id: "21m00Tcm4TlvDq8ikWAM", name: "Rachel", gender: "female", accent: "american", description: "calm" },
  { voice_id: "ErXwobaYiN019PkySvjV", name: "Antoni", gender: "male", accent: "american", description: "well-rounded" },
  { voice_id: "TxGEqnHWrfWFTfGW9XjX", name: "Josh", gender: "male", accent: "american", description: "young, energetic" },
  { voice_id: "MF3mGyEYCl7XYWbV9V6O", name: "Elli", gender: "female", accent: "american", description: "emotional" },
  { voice_id: "JBFqnCBsd6RMkjVDRZzb", name: "George", gender: "male", accent: "british", description: "warm narrator" },
];
const VOICE_ID_RE = /^[A-Za-z0-9]{20}$/;
const SUPPORTED_FORMATS = new Set(["ulaw_8000", "pcm_8000"]);
const MAX_CONTEXTS = 5;
const DEFAULT_SCHEDULE = [120, 160, 250, 290];

export interface ElevenLabsEmulatorOptions {
  port?: number;
  apiKey: string;
  knobs?: Partial<ElevenLabsKnobs>;
}

export interface ElevenLabsConnectionBill {
  connectionId: string;
  kind: "stream-input" | "multi-stream-input" | "http";
  voiceId: string;
  modelId: string;
  /** Characters synthesised on this connection (what ElevenLabs bills). */
  characters: number;
  /** Characters per context id (multi-stream; single-context uses ""). */
  contexts: Record<string, number>;
  openedAt: string;
}

export interface ElevenLabsBill {
  vendor: "elevenlabs";
  unit: "characters";
  totalCharacters: number;
  connections: ElevenLabsConnectionBill[];
}

export interface ElevenLabsEmulatorHandle extends EmulatorHandle {
  /** WebSocket base URL, e.g. `ws://127.0.0.1:8793`. */
  wsUrl: string;
  knobs: Knobs<ElevenLabsKnobs>;
  bill(connectionId?: string): ElevenLabsBill;
}

/** The close reason is limited to 123 bytes, so ElevenLabs' long messages arrive truncated. */
function closeReason(message: string): string {
  let out = message;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}

function isKnownVoice(id: string): boolean {
  return VOICE_ID_RE.test(id);
}

function encodeOutput(audio: Uint8Array, format: string): Buffer {
  if (format === "pcm_8000") {
    const pcm = decodeMulaw(audio);
    const out = Buffer.alloc(pcm.length * 2);
    for (let i = 0; i < pcm.length; i++) out.writeInt16LE(pcm[i] ?? 0, i * 2);
    return out;
  }
  return Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength);
}

interface Alignment {
  chars: string[];
  charStartTimesMs: number[];
  charsDurationsMs: number[];
}

interface Chunk {
  audio: Buffer;
  alignment: Alignment;
}

/** Splits synthesised speech into messages of ~`chunkMs` audio, on character boundaries; alignment is chunk-relative. */
function chunkSpeech(speech: EncodedSpeech, chunkMs: number, format: string): Chunk[] {
  const { chars, charStartTimesMs, charsDurationsMs } = speech.alignment;
  const chunks: Chunk[] = [];
  let i = 0;
  while (i < chars.length) {
    const startMs = charStartTimesMs[i] ?? 0;
    let j = i;
    while (j < chars.length && (charStartTimesMs[j] ?? 0) - startMs < Math.max(chunkMs, FRAME_MS)) j++;
    const endMs = j < chars.length ? (charStartTimesMs[j] ?? speech.durationMs) : speech.durationMs;
    const audio = speech.audio.subarray((startMs * 8) | 0, (endMs * 8) | 0);
    chunks.push({
      audio: encodeOutput(audio, format),
      alignment: {
        chars: chars.slice(i, j),
        charStartTimesMs: charStartTimesMs.slice(i, j).map((t) => t - startMs),
        charsDurationsMs: charsDurationsMs.slice(i, j),
      },
    });
    i = j;
  }
  return chunks;
}

interface TtsParams {
  voiceId: string;
  modelId: string;
  outputFormat: string;
  inactivityTimeoutS: number;
  autoMode: boolean;
}

/** Parses the query string; returns an error message on bad input. */
function parseTtsParams(voiceId: string, q: URLSearchParams): TtsParams | string {
  const outputFormat = q.get("output_format") ?? "mp3_44100_128";
  if (!SUPPORTED_FORMATS.has(outputFormat)) return `The sandbox voice supports output_format ulaw_8000 or pcm_8000, not ${outputFormat}.`;
  const it = Number(q.get("inactivity_timeout") ?? "20");
  if (!Number.isFinite(it) || it < 1 || it > 180) return "inactivity_timeout must be between 1 and 180 seconds.";
  const modelId = q.get("model_id") ?? "eleven_multilingual_v2";
  if (modelId === "eleven_v3") return "The model eleven_v3 is not available over WebSockets.";
  const am = q.get("auto_mode");
  return { voiceId, modelId, outputFormat, inactivityTimeoutS: it, autoMode: am === "true" || am === "1" };
}

function keyFromRequest(req: IncomingMessage, url: URL): string | null {
  const h = req.headers["xi-api-key"];
  if (typeof h === "string") return h;
  const auth = req.headers.authorization ?? url.searchParams.get("authorization");
  if (typeof auth === "string") return auth.replace(/^bearer\s+/i, "");
  return null;
}

type Json = Record<string, unknown>;

/** `generation_config.chunk_length_schedule` of a message, clamped to 50–500 as ElevenLabs documents. */
function scheduleFrom(msg: Json): number[] | null {
  const gc = msg.generation_config;
  if (typeof gc !== "object" || gc === null) return null;
  const sched = (gc as Json).chunk_length_schedule;
  if (!Array.isArray(sched) || sched.length === 0 || !sched.every((n) => typeof n === "number")) return null;
  return (sched as number[]).map((n) => Math.min(500, Math.max(50, n)));
}

/** One synthesis context: its text buffer, chunk schedule position and scheduled audio. */
class TtsContext {
  buffer = "";
  private scheduleIdx = 0;
  /** Audio messages scheduled for sending, in order. */
  private readonly outbox = new DueQueue();
  closed = false;
  characters = 0;

  constructor(
    readonly id: string,
    private readonly schedule: number[],
    private readonly conn: TtsConnection,
  ) {}

  /** Appends text and runs the buffering rules; `flush` generates everything buffered. */
  addText(text: string, opts: { flush: boolean; tryTrigger: boolean; autoMode: boolean }): void {
    if (text.trim().length > 0 || (this.buffer.length > 0 && !/\s$/u.test(this.buffer))) this.buffer += text;
    if (opts.flush) {
      this.generate(this.buffer);
      this.buffer = "";
      return;
    }
    if (opts.autoMode) {
      const m = /^[\s\S]*[.!?…]["')\]]*(?:\s+|$)/u.exec(this.buffer);
      if (m) {
        this.generate(m[0]);
        this.buffer = this.buffer.slice(m[0].length);
      }
      return;
    }
    const threshold = this.schedule[Math.min(this.scheduleIdx, this.schedule.length - 1)] ?? 120;
    if (this.buffer.length >= threshold || (opts.tryTrigger && this.buffer.length >= 50)) {
      const cut = this.buffer.lastIndexOf(" ") + 1;
      if (cut > 0) {
        this.generate(this.buffer.slice(0, cut));
        this.buffer = this.buffer.slice(cut);
        this.scheduleIdx++;
      }
    }
  }

  /** Bills `text` and schedules its audio messages after the time to first byte, behind earlier audio. */
  generate(text: string): void {
    if (this.closed || text.length === 0) return;
    // The time to first byte counts from the text's arrival, before this emulator encodes it.
    const now = performance.now();
    const k = this.conn.knobs.value;
    const chars = Array.from(text).length;
    this.characters += chars;
    this.conn.billChars(this.id, chars);
    const speech = encodeSpeech(text, k.msPerChar);
    const chunks = chunkSpeech(speech, k.audioChunkMs, this.conn.params.outputFormat);
    let at = Math.max(now + jittered(k.firstByteMs, k.jitterMs), this.outbox.lastAt);
    for (const chunk of chunks) {
      const b64 = chunk.audio.toString("base64");
      const msg: Json = { audio: b64, isFinal: false, normalizedAlignment: chunk.alignment, alignment: chunk.alignment };
      if (this.conn.multi) msg.contextId = this.id;
      this.outbox.push(at, () => this.conn.send(msg));
      const chunkMs = (chunk.audio.length / (this.conn.params.outputFormat === "pcm_8000" ? 16 : 8));
      at += Math.max(1, chunkMs / Math.max(0.1, k.generationSpeed));
    }
  }

  /** Resolves once every scheduled message has been sent. */
  drained(): Promise<void> {
    return new Promise((resolve) => (this.outbox.idle ? resolve() : this.outbox.push(this.outbox.lastAt, resolve)));
  }

  /** Stops immediately: buffered text and unsent audio are dropped. */
  cancel(): void {
    this.closed = true;
    this.buffer = "";
    this.outbox.clear();
  }
}

/** One stream-input / multi-stream-input socket. */
class TtsConnection {
  readonly id = randomUUID();
  private readonly contexts = new Map<string, TtsContext>();
  private initialised = false;
  private authed: boolean;
  private inactivity: NodeJS.Timeout | null = null;
  private dropTimer: NodeJS.Timeout | null = null;
  private ending = false;
  private schedule = DEFAULT_SCHEDULE;

  constructor(
    private readonly ws: WsSocket,
    readonly params: TtsParams,
    readonly multi: boolean,
    readonly knobs: Knobs<ElevenLabsKnobs>,
    private readonly apiKey: string,
    headerKey: string | null,
    private readonly bill: ElevenLabsConnectionBill,
  ) {
    this.authed = headerKey === apiKey;
    if (headerKey !== null && !this.authed) {
      this.fail("invalid_api_key", "Invalid API key");
      return;
    }
    if (!isKnownVoice(params.voiceId)) {
      this.fail("voice_not_found", `A voice with voice_id ${params.voiceId} was not found.`);
      return;
    }
    this.touch();
    const closeAfter = knobs.value.closeAfterMs;
    if (closeAfter !== null) this.dropTimer = setTimeout(() => ws.terminate(), closeAfter);
    ws.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    ws.on("close", () => this.dispose());
    ws.on("error", () => this.dispose());
  }

  send(msg: Json): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(msg));
  }

  billChars(contextId: string, n: number): void {
    this.bill.characters += n;
    this.bill.contexts[contextId] = (this.bill.contexts[contextId] ?? 0) + n;
  }

  private fail(error: string, message: string): void {
    this.send({ message, error, code: 1008 });
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1008, closeReason(message));
    this.dispose();
  }

  private touch(): void {
    if (this.inactivity) clearTimeout(this.inactivity);
    const ms = this.knobs.value.inactivityTimeoutMs ?? this.params.inactivityTimeoutS * 1000;
    this.inactivity = setTimeout(() => {
      const s = Math.round(ms / 1000);
      this.fail(
        "input_timeout_exceeded",
        `Have not received a new text input within the timeout of ${s} seconds. Streaming input terminated. Please make sure to either feed the input in the timely manner, or to send the end of input text (empty string "") when done.`,
      );
    }, ms);
  }

  private dispose(): void {
    if (this.inactivity) clearTimeout(this.inactivity);
    if (this.dropTimer) clearTimeout(this.dropTimer);
    this.inactivity = null;
    this.dropTimer = null;
    for (const c of this.contexts.values()) c.cancel();
  }

  private onMessage(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (this.ending) return;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    let msg: Json;
    try {
      const parsed: unknown = JSON.parse(buf.toString("utf8"));
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || isBinary) throw new Error("not an object");
      msg = parsed as Json;
    } catch {
      this.fail("invalid_message", "Invalid message received: expected a JSON object.");
      return;
    }
    if (!this.authed) {
      const key = typeof msg.xi_api_key === "string" ? msg.xi_api_key : typeof msg.authorization === "string" ? msg.authorization.replace(/^bearer\s+/i, "") : null;
      if (key !== this.apiKey) {
        this.fail("invalid_api_key", key === null ? "You must be authenticated to use this endpoint." : "Invalid API key");
        return;
      }
      this.authed = true;
    }
    this.touch();
    if (!this.initialised) {
      this.initialised = true;
      this.schedule = scheduleFrom(msg) ?? this.schedule;
    }
    if (this.multi) this.onMulti(msg);
    else this.onSingle(msg);
  }

  private context(id: string, schedule: number[] = this.schedule): TtsContext | null {
    const existing = this.contexts.get(id);
    if (existing) return existing;
    if (this.contexts.size >= MAX_CONTEXTS) {
      this.fail(
        "max_active_conversations",
        `Maximum simultaneous contexts per WebSocket connection exceeded (${MAX_CONTEXTS}). Please close an existing context before opening a new one.`,
      );
      return null;
    }
    const ctx = new TtsContext(id, schedule, this);
    this.contexts.set(id, ctx);
    return ctx;
  }

  private onSingle(msg: Json): void {
    const ctx = this.context("");
    if (!ctx) return;
    const text = typeof msg.text === "string" ? msg.text : "";
    if (text === "") {
      void this.endAll();
      return;
    }
    ctx.addText(text, { flush: msg.flush === true, tryTrigger: msg.try_trigger_generation === true, autoMode: this.params.autoMode });
  }

  private onMulti(msg: Json): void {
    if (msg.close_socket === true) {
      void this.endAll();
      return;
    }
    const id = typeof msg.context_id === "string" ? msg.context_id : "";
    if (msg.close_context === true) {
      const ctx = this.contexts.get(id);
      if (ctx) {
        ctx.cancel();
        this.contexts.delete(id);
        this.send({ isFinal: true, contextId: id });
      }
      return;
    }
    const text = typeof msg.text === "string" ? msg.text : "";
    const flush = msg.flush === true;
    // `{"text":"","context_id":…}` is a keepalive; it neither creates nor ends a context.
    if (text === "" && !flush) return;
    // A first message (or a flush) for an unknown id opens a context, with its own generation_config if given.
    const ctx = this.context(id, scheduleFrom(msg) ?? this.schedule);
    if (!ctx) return;
    ctx.addText(text, { flush, tryTrigger: msg.try_trigger_generation === true, autoMode: this.params.autoMode });
  }

  /** EOS / close_socket: generate what is buffered, wait for it, send isFinal, close 1000. */
  private async endAll(): Promise<void> {
    this.ending = true;
    if (this.inactivity) clearTimeout(this.inactivity);
    const ctxs = [...this.contexts.values()];
    for (const c of ctxs) {
      c.generate(c.buffer);
      c.buffer = "";
    }
    await Promise.all(ctxs.map((c) => c.drained()));
    if (this.multi) for (const c of ctxs) this.send({ isFinal: true, contextId: c.id });
    else this.send({ isFinal: true });
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000);
    this.dispose();
  }
}

function voiceJson(v: (typeof KNOWN_VOICES)[number]): Json {
  return {
    voice_id: v.voice_id,
    name: v.name,
    category: "premade",
    description: v.description,
    labels: { gender: v.gender, accent: v.accent, age: "middle_aged", use_case: "conversational" },
    preview_url: null,
    available_for_tiers: [],
    settings: { stability: 0.5, similarity_boost: 0.75, style: 0, use_speaker_boost: true, speed: 1 },
    high_quality_base_model_ids: ["eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_multilingual_v2"],
  };
}

function elevenError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { detail: { status: code, message } });
}

/** Starts the ElevenLabs emulator on 127.0.0.1. */
export async function startElevenLabsEmulator(opts: ElevenLabsEmulatorOptions): Promise<ElevenLabsEmulatorHandle> {
  const knobs = new Knobs<ElevenLabsKnobs>({ ...DEFAULT_ELEVENLABS_KNOBS, ...opts.knobs });
  const bills = new Map<string, ElevenLabsConnectionBill>();
  const sockets = new Set<WsSocket>();

  const bill = (connectionId?: string): ElevenLabsBill => {
    const rows = [...bills.values()].filter((b) => !connectionId || b.connectionId === connectionId);
    return {
      vendor: "elevenlabs",
      unit: "characters",
      totalCharacters: rows.reduce((s, b) => s + b.characters, 0),
      connections: rows.map((b) => ({ ...b, contexts: { ...b.contexts } })),
    };
  };

  const newBill = (kind: ElevenLabsConnectionBill["kind"], voiceId: string, modelId: string): ElevenLabsConnectionBill => {
    const b: ElevenLabsConnectionBill = { connectionId: randomUUID(), kind, voiceId, modelId, characters: 0, contexts: {}, openedAt: new Date().toISOString() };
    bills.set(b.connectionId, b);
    return b;
  };

  const ttsRoute = /^\/v1\/text-to-speech\/([^/]+)(\/stream|\/with-timestamps|\/stream\/with-timestamps)?$/;

  const server = createEmulatorServer(async (req, res) => {
    const handled = await handleControl(req, res, {
      knobs: knobs as unknown as Knobs<object>,
      bill: (q) => bill(q.get("connectionId") ?? undefined),
      reset: () => bills.clear(),
    });
    if (handled) return;
    const url = new URL(req.url ?? "/", "http://sandbox");
    const key = keyFromRequest(req, url);
    if (key !== opts.apiKey) {
      elevenError(res, 401, key === null ? "needs_authorization" : "invalid_api_key", key === null ? "Neither authorization header nor xi-api-key received, please provide one." : "Invalid API key");
      return;
    }
    if (req.method === "GET" && url.pathname === "/v1/voices") {
      sendJson(res, 200, { voices: KNOWN_VOICES.map(voiceJson), has_more: false, total_count: KNOWN_VOICES.length, next_page_token: null });
      return;
    }
    const vm = /^\/v1\/voices\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && vm) {
      const v = KNOWN_VOICES.find((x) => x.voice_id === vm[1]);
      if (v) sendJson(res, 200, voiceJson(v));
      else elevenError(res, 404, "voice_not_found", `A voice with voice_id ${vm[1]} was not found.`);
      return;
    }
    const tm = ttsRoute.exec(url.pathname);
    if (req.method === "POST" && tm) {
      await httpTts(req, res, url, tm[1] ?? "", tm[2] ?? "");
      return;
    }
    elevenError(res, 404, "not_found", "Not found in the ElevenLabs sandbox.");
  }, "elevenlabs");

  async function httpTts(req: IncomingMessage, res: ServerResponse, url: URL, voiceId: string, variant: string): Promise<void> {
    const k = knobs.value;
    if (k.rejectConnections !== null) {
      elevenError(res, k.rejectConnections, "service_unavailable", "The service is temporarily unavailable.");
      return;
    }
    if (!isKnownVoice(voiceId)) {
      elevenError(res, 404, "voice_not_found", `A voice with voice_id ${voiceId} was not found.`);
      return;
    }
    const params = parseTtsParams(voiceId, url.searchParams);
    if (typeof params === "string") {
      elevenError(res, 400, "invalid_parameters", params);
      return;
    }
    let body: Json;
    try {
      const parsed: unknown = JSON.parse((await readBody(req)).toString("utf8"));
      if (typeof parsed !== "object" || parsed === null) throw new Error("not an object");
      body = parsed as Json;
    } catch {
      elevenError(res, 400, "invalid_json", "Request body must be JSON.");
      return;
    }
    const text = typeof body.text === "string" ? body.text : "";
    if (text.trim() === "") {
      elevenError(res, 400, "empty_text", "Text must not be empty.");
      return;
    }
    const b = newBill("http", voiceId, typeof body.model_id === "string" ? body.model_id : params.modelId);
    b.characters = Array.from(text).length;
    b.contexts[""] = b.characters;
    const speech = encodeSpeech(text, k.msPerChar);
    const ttfb = jittered(k.firstByteMs, k.jitterMs);
    const genMs = (d: number) => d / Math.max(0.1, k.generationSpeed);
    if (variant.endsWith("with-timestamps")) {
      const { chars, charStartTimesMs, charsDurationsMs } = speech.alignment;
      const alignment = {
        characters: chars,
        character_start_times_seconds: charStartTimesMs.map((t) => t / 1000),
        character_end_times_seconds: charStartTimesMs.map((t, i) => (t + (charsDurationsMs[i] ?? 0)) / 1000),
      };
      await sleep(ttfb + genMs(speech.durationMs));
      sendJson(res, 200, { audio_base64: encodeOutput(speech.audio, params.outputFormat).toString("base64"), alignment, normalized_alignment: alignment });
      return;
    }
    const headers = { "content-type": params.outputFormat === "pcm_8000" ? "audio/pcm" : "audio/basic", "request-id": randomUUID(), "x-character-count": String(b.characters) };
    await sleep(ttfb);
    if (variant === "/stream") {
      res.writeHead(200, headers);
      for (const chunk of chunkSpeech(speech, k.audioChunkMs, params.outputFormat)) {
        if (res.destroyed) return;
        res.write(chunk.audio);
        await sleep(genMs(chunk.audio.length / (params.outputFormat === "pcm_8000" ? 16 : 8)));
      }
      res.end();
      return;
    }
    await sleep(genMs(speech.durationMs));
    const audio = encodeOutput(speech.audio, params.outputFormat);
    res.writeHead(200, { ...headers, "content-length": audio.length });
    res.end(audio);
  }

  const wss: WsServer = new wsLib.WebSocketServer({ noServer: true });
  const wsRoute = /^\/v1\/text-to-speech\/([^/]+)\/(stream-input|multi-stream-input)$/;

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://sandbox");
    const m = wsRoute.exec(url.pathname);
    const forced = knobs.value.rejectConnections;
    if (!m || forced !== null) {
      const status = m ? (forced ?? 503) : 404;
      const text = JSON.stringify({ detail: { status: m ? "service_unavailable" : "not_found", message: m ? "The service is temporarily unavailable." : "Not found." } });
      socket.write(`HTTP/1.1 ${status} Error\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
      socket.destroy();
      return;
    }
    const voiceId = decodeURIComponent(m[1] ?? "");
    const multi = m[2] === "multi-stream-input";
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on("close", () => sockets.delete(ws));
      const params = parseTtsParams(voiceId, url.searchParams);
      if (typeof params === "string") {
        ws.send(JSON.stringify({ message: params, error: "invalid_request", code: 1008 }));
        ws.close(1008, closeReason(params));
        return;
      }
      const b = newBill(multi ? "multi-stream-input" : "stream-input", voiceId, params.modelId);
      new TtsConnection(ws, params, multi, knobs, opts.apiKey, keyFromRequest(req, url), b);
    });
  });

  const port = await listen(server, opts.port ?? 0);
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    knobs,
    bill,
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      await closeServer(server);
    },
  };
}
