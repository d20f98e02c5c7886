/**
 * ElevenLabs text-to-speech over the multi-context WebSocket (`/multi-stream-input`) as a
 * `SpeechSynthesizer`. One socket per call; one context per persona turn, so barge-in closes a
 * context (`close_context`) and the socket survives.
 *
 * - Output `ulaw_8000`, forwarded to Twilio without resampling.
 * - Contexts end gracefully (`closeContext`): `close_context` is sent only once the audio of all
 *   flushed text has arrived (counted by alignment, ignoring whitespace) or no audio came for
 *   `drainIdleMs` — servers may drop unsent audio on `close_context`. `cancelContext` (barge-in)
 *   sends it at once.
 * - Keepalive: `{"text":"","context_id":…}` for the open context (or a `" "` init of a spare
 *   context when none is open) after `keepAliveMs` of silence; the socket also asks for
 *   `inactivity_timeout` = 180 s.
 * - Drops: the socket is reopened and every context that is not final gets the text whose
 *   audio has not arrived yet (by alignment character count) re-sent, flushed and closed as it
 *   was, so the current turn is re-synthesised from where the audio stopped.
 * - At most 5 contexts may be open; the oldest is closed if a sixth starts.
 */
import {
  ProviderError,
  countNonSpace,
  indexAfterNonSpace,
  messageText,
  realClock,
  type Alignment,
  type Clock,
  type ConnectWebSocket,
  type SpeechSynthesizer,
  type TimerHandle,
  type TtsHandlers,
  type TtsSession,
  type WebSocketLike,
} from "./types";
import { base64ToBytes } from "../pipeline/audio";
import { toProviderError } from "./deepgram";

export interface ElevenLabsOptions {
  apiKey: string;
  voiceId: string;
  connectWebSocket: ConnectWebSocket;
  /** @default "wss://api.elevenlabs.io" */
  baseUrl?: string;
  /** @default "eleven_flash_v2_5" */
  modelId?: string;
  /** @default { stability: 0.5, similarity_boost: 0.8, speed: 1 } */
  voiceSettings?: { stability?: number; similarity_boost?: number; speed?: number };
  /** Server-side idle close, seconds (max 180). @default 180 */
  inactivityTimeoutS?: number;
  /** Send a keepalive after this long without text. @default 15000 */
  keepAliveMs?: number;
  /** After `closeContext`, close anyway if no audio arrived for this long. @default 2000 */
  drainIdleMs?: number;
  /** @default 3 */
  maxReconnectAttempts?: number;
  /** @default 200 */
  reconnectBackoffMs?: number;
  clock?: Clock;
}

const OPEN = 1;
const MAX_CONTEXTS = 5;

interface ContextState {
  id: string;
  /** All text sent to the context, in order. */
  text: string;
  /** Length of `text` already flushed. */
  flushedTo: number;
  /** Non-whitespace characters whose audio has arrived (from alignment). */
  charsReceived: number;
  /** The last aligned character received was whitespace (it was voiced already). */
  lastWasSpace: boolean;
  /** `close_context` sent. */
  closed: boolean;
  /** `closeContext` asked for; `close_context` goes out once the flushed audio is in. */
  closing: boolean;
  drainTimer: TimerHandle | null;
  final: boolean;
}

export function elevenLabsUrl(opts: ElevenLabsOptions): string {
  const base = (opts.baseUrl ?? "wss://api.elevenlabs.io").replace(/^http/, "ws").replace(/\/$/, "");
  const q = new URLSearchParams({
    model_id: opts.modelId ?? "eleven_flash_v2_5",
    output_format: "ulaw_8000",
    auto_mode: "true",
    inactivity_timeout: String(Math.min(180, opts.inactivityTimeoutS ?? 180)),
    sync_alignment: "true",
  });
  return `${base}/v1/text-to-speech/${encodeURIComponent(opts.voiceId)}/multi-stream-input?${q.toString()}`;
}

export class ElevenLabsSynthesizer implements SpeechSynthesizer {
  readonly provider = "elevenlabs";
  constructor(private readonly opts: ElevenLabsOptions) {}

  async connect(handlers: TtsHandlers): Promise<TtsSession> {
    const session = new ElevenLabsSession(this.opts, handlers);
    await session.open();
    return session;
  }
}

class ElevenLabsSession implements TtsSession {
  private ws: WebSocketLike | null = null;
  private readonly clock: Clock;
  private readonly contexts = new Map<string, ContextState>();
  private closing = false;
  private reconnecting = false;
  private lastSendAt = 0;
  private keepAliveTimer: TimerHandle | null = null;
  private spare = 0;

  constructor(
    private readonly opts: ElevenLabsOptions,
    private readonly handlers: TtsHandlers,
  ) {
    this.clock = opts.clock ?? realClock;
  }

  async open(): Promise<void> {
    this.attach(await this.dial());
    this.lastSendAt = this.clock.now();
    this.scheduleKeepAlive();
  }

  private async dial(): Promise<WebSocketLike> {
    try {
      return await this.opts.connectWebSocket(elevenLabsUrl(this.opts), { "xi-api-key": this.opts.apiKey });
    } catch (err) {
      throw toProviderError(err, "elevenlabs");
    }
  }

  private attach(ws: WebSocketLike): void {
    this.ws = ws;
    ws.addEventListener("message", (ev) => {
      void this.onMessage(ev.data);
    });
    ws.addEventListener("close", (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closing) return;
      void this.reconnect(new ProviderError("elevenlabs", `socket closed (${ev.code} ${ev.reason})`, { retryable: true }));
    });
    ws.addEventListener("error", () => {
      // A close event follows.
    });
  }

  private async onMessage(data: unknown): Promise<void> {
    const text = await messageText(data);
    if (!text) return;
    let msg: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== "object" || parsed === null) return;
      msg = parsed as Record<string, unknown>;
    } catch {
      return;
    }
    const id = String(msg.contextId ?? msg.context_id ?? "");
    if (typeof msg.error === "string" || (typeof msg.message === "string" && msg.audio === undefined && msg.isFinal === undefined)) {
      this.handlers.onError?.(new ProviderError("elevenlabs", String(msg.error ?? msg.message), { retryable: false }));
      return;
    }
    const ctx = this.contexts.get(id);
    if (typeof msg.audio === "string" && msg.audio.length > 0) {
      // `alignment` follows the text as sent; `normalizedAlignment` may spell numbers out.
      const alignment = parseAlignment(msg.alignment) ?? parseAlignment(msg.normalizedAlignment);
      if (ctx && ctx.final) return;
      if (ctx && alignment) {
        for (const ch of alignment.chars) {
          if (ch.trim()) ctx.charsReceived++;
          ctx.lastWasSpace = !ch.trim();
        }
      }
      this.handlers.onAudio(id, base64ToBytes(msg.audio), alignment);
      if (ctx && ctx.closing && !ctx.closed) this.drainOrWait(ctx);
    }
    if (msg.isFinal === true || msg.is_final === true) {
      if (ctx) {
        if (ctx.final) return;
        ctx.final = true;
        this.contexts.delete(id);
      }
      this.handlers.onFinal(id);
    }
  }

  private send(payload: Record<string, unknown>): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN || this.reconnecting) return;
    ws.send(JSON.stringify(payload));
    this.lastSendAt = this.clock.now();
  }

  private initPayload(id: string): Record<string, unknown> {
    return {
      text: " ",
      context_id: id,
      voice_settings: { stability: 0.5, similarity_boost: 0.8, speed: 1, ...this.opts.voiceSettings },
    };
  }

  startContext(contextId: string): void {
    const open = [...this.contexts.values()].filter((c) => !c.final);
    if (open.length >= MAX_CONTEXTS) {
      const oldest = open[0];
      if (oldest) this.cancelContext(oldest.id);
    }
    this.contexts.set(contextId, {
      id: contextId,
      text: "",
      flushedTo: 0,
      charsReceived: 0,
      lastWasSpace: false,
      closed: false,
      closing: false,
      drainTimer: null,
      final: false,
    });
    this.send(this.initPayload(contextId));
  }

  sendText(contextId: string, text: string): void {
    const ctx = this.contexts.get(contextId);
    if (!ctx || ctx.closed || ctx.closing || !text) return;
    const withSpace = text.endsWith(" ") ? text : `${text} `;
    ctx.text += withSpace;
    this.send({ text: withSpace, context_id: contextId });
  }

  flush(contextId: string): void {
    const ctx = this.contexts.get(contextId);
    if (!ctx || ctx.closed || ctx.closing) return;
    ctx.flushedTo = ctx.text.length;
    this.send({ context_id: contextId, flush: true });
  }

  closeContext(contextId: string): void {
    const ctx = this.contexts.get(contextId);
    if (!ctx || ctx.closed || ctx.closing) return;
    ctx.closing = true;
    this.drainOrWait(ctx);
  }

  cancelContext(contextId: string): void {
    const ctx = this.contexts.get(contextId);
    if (!ctx || ctx.closed) return;
    ctx.closing = true;
    this.sendClose(ctx);
  }

  /** Sends `close_context` once all flushed audio is in, else (re)arms the idle fallback. */
  private drainOrWait(ctx: ContextState): void {
    if (ctx.charsReceived >= countNonSpace(ctx.text.slice(0, ctx.flushedTo))) {
      this.sendClose(ctx);
      return;
    }
    if (ctx.drainTimer !== null) this.clock.clearTimeout(ctx.drainTimer);
    ctx.drainTimer = this.clock.setTimeout(() => {
      ctx.drainTimer = null;
      if (!ctx.closed) this.sendClose(ctx);
    }, this.opts.drainIdleMs ?? 2000);
  }

  private sendClose(ctx: ContextState): void {
    if (ctx.drainTimer !== null) this.clock.clearTimeout(ctx.drainTimer);
    ctx.drainTimer = null;
    ctx.closed = true;
    this.send({ context_id: ctx.id, close_context: true });
  }

  keepAlive(): void {
    const open = [...this.contexts.values()].find((c) => !c.closed && !c.closing);
    if (open) this.send({ text: "", context_id: open.id });
    else {
      // No open context: initialising a spare one resets the socket's inactivity clock.
      const id = `keepalive-${++this.spare}`;
      this.send(this.initPayload(id));
      this.send({ context_id: id, close_context: true });
    }
  }

  private scheduleKeepAlive(): void {
    const every = this.opts.keepAliveMs ?? 15_000;
    this.keepAliveTimer = this.clock.setTimeout(() => {
      if (this.closing) return;
      if (this.clock.now() - this.lastSendAt >= every) this.keepAlive();
      this.scheduleKeepAlive();
    }, every);
  }

  private async reconnect(cause: ProviderError): Promise<void> {
    if (this.reconnecting || this.closing) return;
    this.reconnecting = true;
    this.handlers.onReconnecting?.(cause);
    let backoff = this.opts.reconnectBackoffMs ?? 200;
    let lastError = cause;
    for (let i = 0; i < (this.opts.maxReconnectAttempts ?? 3) && !this.closing; i++) {
      if (i > 0) {
        await new Promise<void>((r) => this.clock.setTimeout(r, backoff));
        backoff *= 2;
      }
      try {
        const ws = await this.dial();
        if (this.closing) {
          ws.close(1000);
          return;
        }
        this.attach(ws);
        this.reconnecting = false;
        this.resume();
        return;
      } catch (err) {
        lastError = toProviderError(err, "elevenlabs");
        if (!lastError.retryable) break;
      }
    }
    this.reconnecting = false;
    if (!this.closing) {
      for (const ctx of this.contexts.values()) if (!ctx.final) this.handlers.onFinal(ctx.id);
      this.contexts.clear();
      this.handlers.onError?.(lastError);
    }
  }

  /** Re-synthesises, on the new socket, the text of live contexts whose audio never arrived. */
  private resume(): void {
    for (const ctx of [...this.contexts.values()]) {
      if (ctx.final) continue;
      if (ctx.closed) {
        // Cancelled or fully drained before the drop: nothing more will come for it.
        ctx.final = true;
        this.contexts.delete(ctx.id);
        this.handlers.onFinal(ctx.id);
        continue;
      }
      let from = indexAfterNonSpace(ctx.text, ctx.charsReceived);
      if (ctx.lastWasSpace) while (from < ctx.text.length && /\s/.test(ctx.text[from] ?? "")) from++;
      const unsent = ctx.text.slice(from);
      this.send(this.initPayload(ctx.id));
      if (unsent.trim()) this.send({ text: unsent, context_id: ctx.id });
      if (ctx.flushedTo > from) this.send({ context_id: ctx.id, flush: true });
      // Positions restart in the new context.
      ctx.text = unsent;
      ctx.flushedTo = Math.max(0, ctx.flushedTo - from);
      ctx.charsReceived = 0;
      ctx.lastWasSpace = false;
      if (ctx.closing) this.drainOrWait(ctx);
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.keepAliveTimer !== null) this.clock.clearTimeout(this.keepAliveTimer);
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    try {
      if (ws.readyState === OPEN) ws.send('{"close_socket":true}');
      ws.close(1000, "done");
    } catch {
      // Already closed.
    }
  }
}

function parseAlignment(value: unknown): Alignment | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  if (!Array.isArray(v.chars) || !Array.isArray(v.charStartTimesMs) || !Array.isArray(v.charsDurationsMs)) return null;
  return {
    chars: v.chars.map(String),
    charStartTimesMs: v.charStartTimesMs.map(Number),
    charsDurationsMs: v.charsDurationsMs.map(Number),
  };
}
