/**
 * Deepgram live transcription (`/v1/listen`, Nova) as a `Transcriber`.
 *
 * - Auth: `Authorization: Token <key>`; μ-law 8 kHz mono is sent as binary messages, untouched
 *   but batched: frames are collected into one message per `batchMs` (100 ms) of audio, and the
 *   partial batch goes out first on `finalize()`, `close()` and a due KeepAlive, so the end of a
 *   turn is never delayed. `audioMsSent` counts audio actually sent.
 * - Keepalive: `{"type":"KeepAlive"}` after `keepAliveMs` without audio (Deepgram closes at 10 s).
 * - Drops: on an unexpected close the session reconnects with backoff and buffers every byte
 *   sent meanwhile (up to `maxBufferMs`). It also keeps the audio the dead connection had not
 *   finalised yet (everything after the end of the last `is_final` result), so the replay on the
 *   new connection is "unfinalised audio + the gap", in order: no caller words are lost and none
 *   are finalised twice. Stream timestamps restart at 0 on the new connection.
 * - It does not interpret turns: results are handed to the pipeline as they arrive.
 */
import {
  ProviderError,
  messageText,
  realClock,
  type Clock,
  type ConnectWebSocket,
  type TimerHandle,
  type Transcriber,
  type TranscriberConnectOptions,
  type TranscriberHandlers,
  type TranscriberSession,
  type TranscriptResult,
  type WebSocketLike,
} from "./types";

export interface DeepgramOptions {
  apiKey: string;
  connectWebSocket: ConnectWebSocket;
  /** @default "wss://api.deepgram.com" */
  baseUrl?: string;
  /** @default "nova-3" */
  model?: string;
  /** @default "en-US" */
  language?: string;
  /** Deepgram endpointing silence, ms. @default 300 */
  endpointingMs?: number;
  /** `UtteranceEnd` gap, ms (Deepgram minimum 1000). @default 1000 */
  utteranceEndMs?: number;
  /** Send KeepAlive after this long without audio. @default 4000 */
  keepAliveMs?: number;
  /** Reconnect attempts per drop before giving up. @default 5 */
  maxReconnectAttempts?: number;
  /** First reconnect backoff, doubled per attempt. @default 200 */
  reconnectBackoffMs?: number;
  /** Audio collected into one binary message; 0 sends every `sendAudio` as is. @default 100 */
  batchMs?: number;
  /** Audio kept while disconnected; older audio is dropped beyond this. @default 30000 */
  maxBufferMs?: number;
  clock?: Clock;
}

const OPEN = 1;

/** Builds the `/v1/listen` URL with the query Deepgram expects for Twilio audio. */
export function deepgramListenUrl(opts: DeepgramOptions): string {
  const base = (opts.baseUrl ?? "wss://api.deepgram.com").replace(/^http/, "ws").replace(/\/$/, "");
  const q = new URLSearchParams({
    model: opts.model ?? "nova-3",
    language: opts.language ?? "en-US",
    encoding: "mulaw",
    sample_rate: "8000",
    channels: "1",
    interim_results: "true",
    endpointing: String(opts.endpointingMs ?? 300),
    utterance_end_ms: String(opts.utteranceEndMs ?? 1000),
    vad_events: "true",
    smart_format: "true",
    punctuate: "true",
  });
  return `${base}/v1/listen?${q.toString()}`;
}

export class DeepgramTranscriber implements Transcriber {
  readonly provider = "deepgram";
  constructor(private readonly opts: DeepgramOptions) {}

  async connect(opts: TranscriberConnectOptions): Promise<TranscriberSession> {
    const session = new DeepgramSession(this.opts, opts.handlers);
    await session.open();
    opts.signal?.addEventListener("abort", () => void session.close(), { once: true });
    return session;
  }
}

class DeepgramSession implements TranscriberSession {
  private ws: WebSocketLike | null = null;
  private readonly clock: Clock;
  private closing = false;
  private reconnecting = false;
  /** Audio sent while disconnected, replayed on reconnect. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Audio sent on the current connection that no `is_final` result covers yet. */
  private retained: Uint8Array[] = [];
  /** Connection byte offset of `retained[0]`. */
  private retainedFrom = 0;
  private retainedBytes = 0;
  private lastSendAt = 0;
  private keepAliveTimer: TimerHandle | null = null;
  private sentBytes = 0;
  /** Bytes per batched message (`batchMs` × 8). */
  private readonly batchBytes: number;
  /** Audio collected for the next message: `batch[0, batchLen)`; a fresh buffer after each send. */
  private batch: Uint8Array | null = null;
  private batchLen = 0;

  constructor(
    private readonly opts: DeepgramOptions,
    private readonly handlers: TranscriberHandlers,
  ) {
    this.clock = opts.clock ?? realClock;
    this.batchBytes = Math.max(0, Math.round((opts.batchMs ?? 100) * 8));
  }

  get audioMsSent(): number {
    return this.sentBytes / 8;
  }

  async open(): Promise<void> {
    let ws: WebSocketLike;
    try {
      ws = await this.opts.connectWebSocket(deepgramListenUrl(this.opts), {
        Authorization: `Token ${this.opts.apiKey}`,
      });
    } catch (err) {
      throw toProviderError(err);
    }
    this.attach(ws);
    this.lastSendAt = this.clock.now();
    this.scheduleKeepAlive();
  }

  private attach(ws: WebSocketLike): void {
    this.ws = ws;
    ws.addEventListener("message", (ev) => {
      void messageText(ev.data).then((text) => this.onMessage(text));
    });
    ws.addEventListener("close", (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closing) return;
      void this.reconnect(new ProviderError("deepgram", `socket closed (${ev.code} ${ev.reason})`, { retryable: true }));
    });
    ws.addEventListener("error", () => {
      // A close event follows; reconnection is handled there.
    });
  }

  private onMessage(text: string): void {
    if (!text) return;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof msg !== "object" || msg === null) return;
    const m = msg as Record<string, unknown>;
    switch (m.type) {
      case "Results": {
        const r = parseResults(m);
        if (!r) break;
        if (r.isFinal) this.release(Math.round((r.startMs + r.durationMs) * 8));
        this.handlers.onTranscript(r);
        break;
      }
      case "UtteranceEnd":
        this.handlers.onUtteranceEnd?.(Math.round(Number(m.last_word_end ?? 0) * 1000));
        break;
      case "SpeechStarted":
        this.handlers.onSpeechStarted?.(Math.round(Number(m.timestamp ?? 0) * 1000));
        break;
      default:
        break;
    }
  }

  sendAudio(bytes: Uint8Array): void {
    if (this.closing || bytes.length === 0) return;
    const cap = this.batchBytes;
    if (this.batchLen + bytes.length > cap) {
      this.flush();
      if (bytes.length >= cap) return this.transmit(bytes);
    }
    this.batch ??= new Uint8Array(cap);
    this.batch.set(bytes, this.batchLen);
    this.batchLen += bytes.length;
    if (this.batchLen === cap) this.flush();
  }

  /** Sends the partial batch now (before Finalize/CloseStream/KeepAlive). */
  private flush(): void {
    const batch = this.batch;
    if (!batch || this.batchLen === 0) return;
    const chunk = this.batchLen === batch.length ? batch : batch.subarray(0, this.batchLen);
    this.batch = null;
    this.batchLen = 0;
    this.transmit(chunk);
  }

  /** Sends one message of audio, or buffers it while disconnected. */
  private transmit(bytes: Uint8Array): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN || this.reconnecting) {
      this.buffer(bytes);
      return;
    }
    ws.send(bytes);
    this.sentBytes += bytes.length;
    this.retain(bytes);
    this.lastSendAt = this.clock.now();
  }

  /** Keeps a reference (the pipeline never reuses sent buffers) until a final covers it. */
  private retain(bytes: Uint8Array): void {
    this.retained.push(bytes);
    this.retainedBytes += bytes.length;
    const maxBytes = (this.opts.maxBufferMs ?? 30_000) * 8;
    while (this.retainedBytes > maxBytes && this.retained.length > 1) this.dropRetained();
  }

  /** Forgets retained audio before connection byte offset `end` (a batch straddling it is cut there). */
  private release(end: number): void {
    while (this.retained.length > 0 && this.retainedFrom + (this.retained[0]?.length ?? 0) <= end) this.dropRetained();
    const first = this.retained[0];
    if (first && this.retainedFrom < end) {
      const cut = end - this.retainedFrom;
      this.retained[0] = first.subarray(cut);
      this.retainedFrom = end;
      this.retainedBytes -= cut;
    }
  }

  private dropRetained(): void {
    const first = this.retained.shift();
    if (!first) return;
    this.retainedFrom += first.length;
    this.retainedBytes -= first.length;
  }

  private buffer(bytes: Uint8Array): void {
    this.pending.push(bytes.slice());
    this.pendingBytes += bytes.length;
    const maxBytes = (this.opts.maxBufferMs ?? 30_000) * 8;
    while (this.pendingBytes > maxBytes && this.pending.length > 1) {
      this.pendingBytes -= this.pending.shift()?.length ?? 0;
    }
  }

  finalize(): void {
    if (this.closing) return;
    this.flush();
    this.sendControl('{"type":"Finalize"}');
  }

  keepAlive(): void {
    this.flush();
    this.sendControl('{"type":"KeepAlive"}');
  }

  private sendControl(json: string): void {
    const ws = this.ws;
    if (ws && ws.readyState === OPEN && !this.reconnecting) ws.send(json);
  }

  private scheduleKeepAlive(): void {
    const every = this.opts.keepAliveMs ?? 4000;
    this.keepAliveTimer = this.clock.setTimeout(() => {
      if (this.closing) return;
      if (this.batchLen > 0) this.flush();
      else if (this.clock.now() - this.lastSendAt >= every) {
        this.keepAlive();
        this.lastSendAt = this.clock.now();
      }
      this.scheduleKeepAlive();
    }, every);
  }

  private async reconnect(cause: ProviderError): Promise<void> {
    if (this.reconnecting || this.closing) return;
    this.reconnecting = true;
    this.handlers.onReconnecting?.(cause);
    const attempts = this.opts.maxReconnectAttempts ?? 5;
    let backoff = this.opts.reconnectBackoffMs ?? 200;
    let lastError: ProviderError = cause;
    for (let i = 0; i < attempts && !this.closing; i++) {
      if (i > 0) {
        await new Promise<void>((r) => this.clock.setTimeout(r, backoff));
        backoff *= 2;
      }
      try {
        const ws = await this.opts.connectWebSocket(deepgramListenUrl(this.opts), {
          Authorization: `Token ${this.opts.apiKey}`,
        });
        if (this.closing) {
          ws.close(1000);
          return;
        }
        this.attach(ws);
        this.reconnecting = false;
        // Unfinalised audio of the dead connection, then the gap, on a fresh timeline.
        const replay = [...this.retained, ...this.pending];
        this.retained = [];
        this.retainedFrom = 0;
        this.retainedBytes = 0;
        this.pending = [];
        this.pendingBytes = 0;
        for (const chunk of replay) this.transmit(chunk);
        this.handlers.onReconnected?.();
        return;
      } catch (err) {
        lastError = toProviderError(err);
        if (!lastError.retryable) break;
      }
    }
    this.reconnecting = false;
    if (!this.closing) this.handlers.onError?.(lastError);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.flush();
    this.closing = true;
    if (this.keepAliveTimer !== null) this.clock.clearTimeout(this.keepAliveTimer);
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    try {
      if (ws.readyState === OPEN) ws.send('{"type":"CloseStream"}');
      ws.close(1000, "done");
    } catch {
      // Already closed.
    }
  }
}

function parseResults(m: Record<string, unknown>): TranscriptResult | null {
  const channel = m.channel as { alternatives?: Array<{ transcript?: unknown; confidence?: unknown; words?: unknown }> } | undefined;
  const alt = channel?.alternatives?.[0];
  if (!alt) return null;
  const transcript = typeof alt.transcript === "string" ? alt.transcript : "";
  const words = Array.isArray(alt.words) ? alt.words.length : transcript.split(/\s+/).filter(Boolean).length;
  return {
    transcript,
    isFinal: m.is_final === true,
    speechFinal: m.speech_final === true,
    fromFinalize: m.from_finalize === true,
    wordCount: words,
    confidence: typeof alt.confidence === "number" ? alt.confidence : 0,
    startMs: Math.round(Number(m.start ?? 0) * 1000),
    durationMs: Math.round(Number(m.duration ?? 0) * 1000),
  };
}

/** Maps a connect failure to a ProviderError (status from a rejected upgrade when the factory reports one). */
export function toProviderError(err: unknown, provider = "deepgram"): ProviderError {
  if (err instanceof ProviderError) return err;
  const status =
    typeof err === "object" && err !== null && "status" in err && typeof err.status === "number" ? err.status : undefined;
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError(provider, `connect failed: ${message}`, { status, cause: err });
}
