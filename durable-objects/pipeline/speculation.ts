/**
 * LLM requests of the pipeline, as `LlmRun`s that can start before anyone consumes them:
 *
 * - A run streams from the primary model; if it fails before the first token or the first token
 *   takes longer than `firstTokenTimeoutMs`, it aborts that request and switches to the
 *   fallback model (reporting `onFallback` so the pipeline can speak a filler). A failure after
 *   tokens arrived ends the run with what it has.
 * - Output is buffered, so a run started speculatively (on a stable interim transcript) can be
 *   adopted later by the real turn, which then reads everything from the beginning.
 * - `sameUtterance` decides whether a speculative run's input matches the final transcript.
 */
import type { ChatMessage, ChatModel, Clock, ProviderName } from "../providers/types";
import { ProviderError } from "../providers/types";
import type { UsageRecord } from "./events";

/** Lower-case, punctuation-free, single-spaced text for comparing transcripts. */
export function normalizeUtterance(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s']/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
}

export function sameUtterance(a: string, b: string): boolean {
  return normalizeUtterance(a) === normalizeUtterance(b);
}

export interface LlmRunOptions {
  primary: ChatModel;
  fallback?: ChatModel;
  messages: ChatMessage[];
  clock: Clock;
  /** Bound on the primary's first token before switching to the fallback. @default 1200 */
  firstTokenTimeoutMs?: number;
  /** Bound on the fallback's first token before giving up. @default 4000 */
  fallbackFirstTokenTimeoutMs?: number;
  speculative: boolean;
  onUsage(usage: UsageRecord): void;
  onFallback?(reason: Error): void;
}

export class LlmRun {
  readonly controller = new AbortController();
  readonly startedAt: number;
  /** The user text this run answers (for speculation matching). */
  userText = "";
  speculative: boolean;
  private readonly chunks: string[] = [];
  firstTokenAt: number | null = null;
  provider: ProviderName | null = null;
  fallbackUsed = false;
  done = false;
  error: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly opts: LlmRunOptions) {
    this.startedAt = opts.clock.now();
    this.speculative = opts.speculative;
  }

  get text(): string {
    return this.chunks.join("");
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  abort(): void {
    if (!this.controller.signal.aborted) this.controller.abort();
    this.finish();
  }

  /** Runs the request(s). Resolves when done; never rejects (errors land in `error`). */
  async run(): Promise<void> {
    try {
      const first = await this.attempt(this.opts.primary, this.opts.firstTokenTimeoutMs ?? 1200);
      if (first === "ok" || this.aborted) return;
      if (!this.opts.fallback) {
        this.error = first;
        return;
      }
      this.fallbackUsed = true;
      this.opts.onFallback?.(first);
      const second = await this.attempt(this.opts.fallback, this.opts.fallbackFirstTokenTimeoutMs ?? 4000);
      if (second !== "ok" && !this.aborted) this.error = second;
    } finally {
      this.finish();
    }
  }

  /** Streams text from the start of the reply, waiting for more until the run is done. */
  async *stream(): AsyncIterable<string> {
    let i = 0;
    for (;;) {
      while (i < this.chunks.length) yield this.chunks[i++] ?? "";
      if (this.done || this.aborted) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  private finish(): void {
    this.done = true;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** "ok" when the model produced tokens (even if it broke later); an Error when it failed before any. */
  private async attempt(model: ChatModel, firstTokenTimeoutMs: number): Promise<"ok" | Error> {
    const clock = this.opts.clock;
    const ac = new AbortController();
    const onOuterAbort = (): void => ac.abort();
    this.controller.signal.addEventListener("abort", onOuterAbort, { once: true });
    let slow = false;
    let gotToken = false;
    let usageSeen = false;
    let deltas = 0;
    const timer = clock.setTimeout(() => {
      if (!gotToken) {
        slow = true;
        ac.abort();
      }
    }, firstTokenTimeoutMs);
    try {
      for await (const d of model.stream(this.opts.messages, { signal: ac.signal })) {
        if (this.aborted) return "ok";
        if (d.type === "text") {
          if (!gotToken) {
            gotToken = true;
            clock.clearTimeout(timer);
            this.firstTokenAt = clock.now();
            this.provider = model.provider;
          }
          this.chunks.push(d.text);
          deltas++;
          this.notify();
        } else if (d.type === "usage") {
          usageSeen = true;
          this.opts.onUsage({
            kind: "llm",
            provider: d.provider,
            model: d.model,
            promptTokens: d.promptTokens,
            completionTokens: d.completionTokens,
            speculative: this.speculative,
            estimated: false,
          });
        }
      }
      if (!gotToken) return new ProviderError(model.provider, "empty reply", { retryable: true });
      return "ok";
    } catch (err) {
      // A request refused with an HTTP status was never processed: nothing to bill.
      if (err instanceof ProviderError && err.status !== undefined) usageSeen = true;
      if (this.aborted) return "ok";
      if (gotToken) {
        this.error = err instanceof Error ? err : new Error(String(err));
        return "ok";
      }
      if (slow) {
        return new ProviderError(model.provider, `no first token within ${firstTokenTimeoutMs} ms`, { retryable: true });
      }
      return err instanceof Error ? err : new Error(String(err));
    } finally {
      clock.clearTimeout(timer);
      this.controller.signal.removeEventListener("abort", onOuterAbort);
      // Aborted/broken requests still cost their prompt (and whatever was generated): estimate it.
      if (!usageSeen) {
        const promptChars = this.opts.messages.reduce((n, m) => n + m.content.length, 0);
        this.opts.onUsage({
          kind: "llm",
          provider: model.provider,
          model: model.model,
          promptTokens: Math.ceil(promptChars / 4),
          completionTokens: deltas,
          speculative: this.speculative,
          estimated: true,
        });
      }
    }
  }
}
