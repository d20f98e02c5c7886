/**
 * OpenAI-compatible chat completions over SSE as a `ChatModel`; used for Cerebras (primary) and
 * OpenAI (fallback) with different `baseUrl`/`model`/`provider`.
 *
 * Parses `data:` events incrementally (no buffering of the whole body), yields text and
 * tool-call deltas as they arrive, then one `usage` delta (from `stream_options.include_usage`)
 * and a `finish` delta; stops at `[DONE]`. Non-2xx responses and mid-stream `error` events throw
 * `ProviderError`. It does not retry: fallback policy belongs to the pipeline.
 */
import {
  ProviderError,
  type ChatDelta,
  type ChatMessage,
  type ChatModel,
  type ChatStreamOptions,
  type ProviderName,
} from "./types";

export interface OpenAICompatibleOptions {
  /** e.g. "https://api.cerebras.ai/v1" or "https://api.openai.com/v1" (the path `/chat/completions` is appended). */
  baseUrl: string;
  apiKey: string;
  model: string;
  /** Name used in errors and usage events. @default "openai" */
  provider?: ProviderName;
  /** Sent as `reasoning_effort` when set (Cerebras gpt-oss: "low"). @default undefined */
  reasoningEffort?: "none" | "low" | "medium" | "high";
  /** @default 0.7 */
  temperature?: number;
  /** @default 300 */
  maxTokens?: number;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

export class OpenAICompatibleChatModel implements ChatModel {
  readonly provider: ProviderName;
  readonly model: string;

  constructor(private readonly opts: OpenAICompatibleOptions) {
    this.provider = opts.provider ?? "openai";
    this.model = opts.model;
  }

  async *stream(messages: readonly ChatMessage[], opts: ChatStreamOptions = {}): AsyncIterable<ChatDelta> {
    const body: Record<string, unknown> = {
      model: this.model,
      stream: true,
      stream_options: { include_usage: true },
      messages,
      max_completion_tokens: opts.maxTokens ?? this.opts.maxTokens ?? 300,
      temperature: this.opts.temperature ?? 0.7,
    };
    if (this.opts.reasoningEffort) body.reasoning_effort = this.opts.reasoningEffort;
    if (opts.tools?.length) {
      body.tools = opts.tools;
      body.tool_choice = "auto";
    }
    if (opts.responseFormat) body.response_format = opts.responseFormat;

    const doFetch = this.opts.fetch ?? fetch;
    let res: Response;
    try {
      res = await doFetch(`${this.opts.baseUrl.replace(/\/$/, "")}/chat/completions`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "text/event-stream",
          authorization: `Bearer ${this.opts.apiKey}`,
        },
        body: JSON.stringify(body),
        signal: opts.signal,
      });
    } catch (err) {
      if (isAbort(err, opts.signal)) throw err;
      throw new ProviderError(this.provider, `request failed: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    const requestId = res.headers.get("x-request-id") ?? undefined;
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => "");
      throw new ProviderError(this.provider, `HTTP ${res.status}: ${errorMessage(text)}`, { status: res.status, requestId });
    }

    let usage: { prompt: number; completion: number } | null = null;
    let finish: string | null = null;
    try {
      for await (const data of sseData(res.body)) {
        if (data === "[DONE]") break;
        let chunk: Record<string, unknown>;
        try {
          chunk = JSON.parse(data) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (chunk.error) {
          throw new ProviderError(this.provider, `stream error: ${errorMessage(JSON.stringify(chunk))}`, { requestId });
        }
        const u = chunk.usage as { prompt_tokens?: number; completion_tokens?: number } | null | undefined;
        if (u && typeof u === "object") usage = { prompt: u.prompt_tokens ?? 0, completion: u.completion_tokens ?? 0 };
        const choices = Array.isArray(chunk.choices) ? (chunk.choices as Array<Record<string, unknown>>) : [];
        for (const choice of choices) {
          const delta = (choice.delta ?? {}) as {
            content?: string | null;
            tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }>;
          };
          if (typeof delta.content === "string" && delta.content.length > 0) yield { type: "text", text: delta.content };
          for (const tc of delta.tool_calls ?? []) {
            yield {
              type: "tool-call",
              index: tc.index ?? 0,
              id: tc.id,
              name: tc.function?.name,
              argumentsDelta: tc.function?.arguments ?? "",
            };
          }
          if (typeof choice.finish_reason === "string") finish = choice.finish_reason;
        }
      }
    } catch (err) {
      if (err instanceof ProviderError || isAbort(err, opts.signal)) throw err;
      throw new ProviderError(this.provider, `stream broke: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
        requestId,
      });
    }
    if (usage) {
      yield {
        type: "usage",
        provider: this.provider,
        model: this.model,
        promptTokens: usage.prompt,
        completionTokens: usage.completion,
      };
    }
    yield { type: "finish", reason: finish ?? "stop" };
  }
}

/** Yields the `data:` payload of each SSE event (multi-line data joined with "\n"). */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncIterable<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        let line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.endsWith("\r")) line = line.slice(0, -1);
        if (line === "") {
          if (data.length) yield data.join("\n");
          data = [];
        } else if (line.startsWith("data:")) {
          data.push(line.slice(line.charCodeAt(5) === 32 ? 6 : 5));
        }
      }
    }
    buf += decoder.decode();
    if (buf.startsWith("data:")) data.push(buf.slice(buf.charCodeAt(5) === 32 ? 6 : 5).replace(/\r?\n$/, ""));
    if (data.length) yield data.join("\n");
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}

function errorMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    if (typeof j.error === "string") return j.error;
    return j.error?.message ?? j.message ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}

function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || (err instanceof Error && err.name === "AbortError");
}
