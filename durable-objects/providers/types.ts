/**
 * The three capabilities the call pipeline needs from vendors, as small interfaces, plus the
 * runtime-neutral WebSocket/clock abstractions the adapters take and the typed `ProviderError`.
 *
 * Adapters (deepgram.ts, elevenlabs.ts, openai-compatible.ts) implement these against the real
 * wire protocols; fakes.ts implements them in-process for pipeline unit tests. Nothing here
 * imports a platform module: the Durable Object passes a workerd WebSocket factory, Node tests
 * pass one built on the `ws` package.
 */

// ---------------------------------------------------------------- runtime seams

/** The subset of the WHATWG WebSocket both workerd and the `ws` package provide. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string | ArrayBuffer | Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", listener: (ev: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (ev: { code: number; reason: string }) => void): void;
  addEventListener(type: "error", listener: (ev: unknown) => void): void;
}

/** Opens a client WebSocket with request headers (auth). Rejects if the upgrade fails. */
export type ConnectWebSocket = (url: string, headers: Record<string, string>) => Promise<WebSocketLike>;

/** Opaque timer handle. */
export type TimerHandle = unknown;

/** Injected time source so tests can use fake time and the DO real time. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock (`Date.now` + global timers). */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Converts any binary WebSocket payload (ArrayBuffer, view, Node Buffer, Blob) to bytes; null for text. */
export async function binaryToBytes(data: unknown): Promise<Uint8Array | null> {
  if (typeof data === "string") return null;
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) {
    // `ws` may deliver fragmented messages as Buffer[].
    const parts = data.filter((p): p is Uint8Array => p instanceof Uint8Array);
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
  if (typeof Blob !== "undefined" && data instanceof Blob) return new Uint8Array(await data.arrayBuffer());
  return null;
}

/** Text payload of a WebSocket message (string, or UTF-8 bytes from runtimes that deliver text as Buffer). */
export async function messageText(data: unknown): Promise<string> {
  if (typeof data === "string") return data;
  const bytes = await binaryToBytes(data);
  return bytes ? new TextDecoder().decode(bytes) : "";
}

// ---------------------------------------------------------------- errors

export type ProviderName = "deepgram" | "elevenlabs" | "cerebras" | "openai" | (string & {});

/** A vendor failure. 4xx are not retryable except 408, 429 and 499; 5xx, network and drops are. */
export class ProviderError extends Error {
  readonly provider: ProviderName;
  readonly retryable: boolean;
  readonly status?: number;
  readonly requestId?: string;

  constructor(
    provider: ProviderName,
    message: string,
    opts: { retryable?: boolean; status?: number; requestId?: string; cause?: unknown } = {},
  ) {
    super(`[${provider}] ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "ProviderError";
    this.provider = provider;
    this.status = opts.status;
    this.requestId = opts.requestId;
    this.retryable = opts.retryable ?? (opts.status === undefined ? true : isRetryableStatus(opts.status));
  }
}

/** 408/429/499 and 5xx are worth retrying; other 4xx are the caller's fault. */
export function isRetryableStatus(status: number): boolean {
  if (status === 408 || status === 429 || status === 499) return true;
  return status >= 500;
}

// ---------------------------------------------------------------- speech-to-text

export interface TranscriptResult {
  transcript: string;
  /** Deepgram `is_final`: this segment's text will not change. */
  isFinal: boolean;
  /** Deepgram `speech_final`: the endpointer thinks the caller finished the utterance. */
  speechFinal: boolean;
  /** The result was produced by a `Finalize` request. */
  fromFinalize: boolean;
  /** Number of words in this segment. */
  wordCount: number;
  confidence: number;
  /** Segment start / duration within the stream, in ms. */
  startMs: number;
  durationMs: number;
}

export interface TranscriberHandlers {
  onTranscript(result: TranscriptResult): void;
  /** Deepgram `UtteranceEnd`: a gap after the last word (fallback turn end). */
  onUtteranceEnd?(lastWordEndMs: number): void;
  /** Deepgram VAD `SpeechStarted`. */
  onSpeechStarted?(atMs: number): void;
  /** A drop was detected and the session is reconnecting (audio is buffered meanwhile). */
  onReconnecting?(error: ProviderError): void;
  onReconnected?(): void;
  /** Unrecoverable failure (reconnect attempts exhausted or auth rejected). */
  onError?(error: ProviderError): void;
}

export interface TranscriberSession {
  /**
   * Sends raw μ-law bytes (8 kHz mono). Buffered while reconnecting; never throws. The session
   * may keep a reference until the audio is finalised (for replay after a drop): do not reuse the buffer.
   */
  sendAudio(bytes: Uint8Array): void;
  /** Asks for the pending words now (Deepgram `Finalize`). */
  finalize(): void;
  keepAlive(): void;
  close(): Promise<void>;
  /** Total audio sent to the vendor, in ms (for usage). */
  readonly audioMsSent: number;
}

export interface TranscriberConnectOptions {
  handlers: TranscriberHandlers;
  signal?: AbortSignal;
}

export interface Transcriber {
  readonly provider: ProviderName;
  connect(opts: TranscriberConnectOptions): Promise<TranscriberSession>;
}

// ---------------------------------------------------------------- LLM

export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  /** assistant: tool calls the model asked for (OpenAI wire shape, sent as-is). */
  tool_calls?: ChatToolCall[];
  /** tool: the id of the call this message answers. */
  tool_call_id?: string;
}

export interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface ChatTool {
  type: "function";
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

export type ChatDelta =
  | { type: "text"; text: string }
  | { type: "tool-call"; index: number; id?: string; name?: string; argumentsDelta: string }
  | {
      type: "usage";
      provider: ProviderName;
      model: string;
      promptTokens: number;
      completionTokens: number;
    }
  | { type: "finish"; reason: string };

export interface ChatStreamOptions {
  signal?: AbortSignal;
  tools?: ChatTool[];
  responseFormat?: { type: "json_object" } | { type: "json_schema"; json_schema: Record<string, unknown> };
  maxTokens?: number;
}

export interface ChatModel {
  readonly provider: ProviderName;
  readonly model: string;
  /** Streams a reply. Throws `ProviderError` (before or during iteration); aborting ends it with an AbortError. */
  stream(messages: readonly ChatMessage[], opts?: ChatStreamOptions): AsyncIterable<ChatDelta>;
}

// ---------------------------------------------------------------- text-to-speech

/** Number of non-whitespace characters in `text` (vendors' alignment may drop or merge spaces). */
export function countNonSpace(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!(c === 32 || c === 9 || c === 10 || c === 13)) n++;
  }
  return n;
}

/** Index in `text` just after its first `n` non-whitespace characters. */
export function indexAfterNonSpace(text: string, n: number): number {
  if (n <= 0) return 0;
  let seen = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!(c === 32 || c === 9 || c === 10 || c === 13) && ++seen === n) return i + 1;
  }
  return text.length;
}

export interface Alignment {
  chars: string[];
  /** Relative to the start of this audio chunk. */
  charStartTimesMs: number[];
  charsDurationsMs: number[];
}

export interface TtsHandlers {
  /** μ-law 8 kHz audio for a context, with the characters it voices when the vendor sends them. */
  onAudio(contextId: string, audio: Uint8Array, alignment: Alignment | null): void;
  /** The context is finished (flushed and closed, or closed). */
  onFinal(contextId: string): void;
  onReconnecting?(error: ProviderError): void;
  onError?(error: ProviderError): void;
}

export interface TtsSession {
  startContext(contextId: string): void;
  /** Appends text to a context (a trailing space is added if missing). */
  sendText(contextId: string, text: string): void;
  /** Generate everything buffered in the context now. */
  flush(contextId: string): void;
  /**
   * Ends a context gracefully: audio for text already flushed still arrives, then `onFinal`.
   * (Unflushed text is dropped.)
   */
  closeContext(contextId: string): void;
  /** Ends a context now (barge-in): pending text and audio are dropped, then `onFinal`. */
  cancelContext(contextId: string): void;
  keepAlive(): void;
  close(): Promise<void>;
}

export interface SpeechSynthesizer {
  readonly provider: ProviderName;
  connect(handlers: TtsHandlers): Promise<TtsSession>;
}
