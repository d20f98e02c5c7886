/**
 * Turn-taking for the caller side: accumulates Deepgram `is_final` segments and decides when the
 * caller's turn is over.
 *
 * - `speech_final` ends the turn (primary signal); so does the result of a `Finalize` sent on a
 *   local VAD stop, if the caller is still quiet when it arrives. A `Finalize` sent early (on a
 *   short pause, `noteFinalizeSent()`) whose result arrives while the caller is still inside the
 *   VAD hangover does not end the turn then: it ends it at the VAD stop, unless the caller
 *   resumed (`onSpeechResumed()`) or new words arrived in between.
 * - `UtteranceEnd` ends it if words are pending but no `speech_final` came.
 * - A silence timeout ends it otherwise: `timeoutMs` after the last transcript activity or local
 *   VAD stop, while the caller is not speaking, with whatever text exists (finals, else the last
 *   interim). So a turn never hangs on a missing endpoint.
 * Timers come from the injected clock; the module has no other side effects.
 */
import type { Clock, TimerHandle, TranscriptResult } from "../providers/types";

export type TurnEndReason = "speech_final" | "finalize" | "utterance_end" | "timeout";

export interface CallerTurn {
  text: string;
  reason: TurnEndReason;
  /** When the caller stopped speaking (VAD stop minus its hangover), if known. */
  speechEndAt: number | null;
  /** When the final text became available. */
  finalAt: number;
  startedAt: number;
}

export interface TurnTakerOptions {
  clock: Clock;
  /** Silence fallback. @default 1200 */
  timeoutMs?: number;
  /** Whether the caller is speaking right now (local VAD); the timeout waits while true. */
  isSpeaking(): boolean;
  onTurn(turn: CallerTurn): void;
}

export class TurnTaker {
  private finals: string[] = [];
  private interim = "";
  private startedAt: number | null = null;
  private speechEndAt: number | null = null;
  private timer: TimerHandle | null = null;
  private readonly timeoutMs: number;
  /** A Finalize was sent and the caller has not resumed since. */
  private awaitingFinalize = false;
  /** That Finalize's result arrived while the caller was still (VAD-)speaking, with nothing new after it. */
  private finalizedInHangover = false;

  constructor(private readonly opts: TurnTakerOptions) {
    this.timeoutMs = opts.timeoutMs ?? 1200;
  }

  /** Finals so far plus the current interim: what the caller has said in this turn. */
  get text(): string {
    return joinText([...this.finals, this.interim]);
  }

  get hasPending(): boolean {
    return this.finals.length > 0 || this.interim.trim().length > 0;
  }

  onTranscript(r: TranscriptResult): void {
    const now = this.opts.clock.now();
    const t = r.transcript.trim();
    if (t && this.startedAt === null) this.startedAt = now;
    if (r.isFinal) {
      if (t) this.finals.push(t);
      this.interim = "";
      if (r.speechFinal && this.finals.length > 0) {
        this.complete("speech_final");
        return;
      }
      // The result of a Finalize we sent because local VAD heard the caller stop: if they are
      // still quiet, that is the end of the turn (Pipecat's trick for a fast final).
      if (r.fromFinalize && this.finals.length > 0 && !this.opts.isSpeaking()) {
        this.complete("finalize");
        return;
      }
      if (r.fromFinalize) {
        // Still inside the hangover: the VAD stop decides.
        this.finalizedInHangover = this.awaitingFinalize && this.finals.length > 0;
        this.awaitingFinalize = false;
      } else if (t) {
        this.finalizedInHangover = false;
      }
    } else {
      this.interim = t;
      if (t) this.finalizedInHangover = false;
    }
    if (this.hasPending) this.arm();
  }

  onUtteranceEnd(): void {
    if (this.hasPending) this.complete("utterance_end");
  }

  onVadStart(): void {
    this.speechEndAt = null;
  }

  /** Local VAD says the caller stopped; `quietMs` is the hangover already elapsed. */
  onVadStop(quietMs: number): void {
    this.speechEndAt = this.opts.clock.now() - quietMs;
    if (this.finalizedInHangover && this.finals.length > 0 && !this.interim) {
      this.complete("finalize");
      return;
    }
    this.arm();
  }

  /** A `Finalize` was sent to the transcriber (its result may end the turn). */
  noteFinalizeSent(): void {
    this.awaitingFinalize = true;
    this.finalizedInHangover = false;
  }

  /** The caller spoke again after a short pause: an earlier Finalize's result no longer ends the turn. */
  onSpeechResumed(): void {
    this.awaitingFinalize = false;
    this.finalizedInHangover = false;
  }

  /** When the caller stopped speaking last (for latency and speculation). */
  get lastSpeechEndAt(): number | null {
    return this.speechEndAt;
  }

  reset(): void {
    this.finals = [];
    this.interim = "";
    this.startedAt = null;
    this.awaitingFinalize = false;
    this.finalizedInHangover = false;
    this.disarm();
  }

  private arm(): void {
    this.disarm();
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = null;
      if (!this.hasPending) return;
      if (this.opts.isSpeaking()) {
        this.arm();
        return;
      }
      this.complete("timeout");
    }, this.timeoutMs);
  }

  private disarm(): void {
    if (this.timer !== null) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private complete(reason: TurnEndReason): void {
    const text = joinText([...this.finals, this.interim]);
    const startedAt = this.startedAt ?? this.opts.clock.now();
    const speechEndAt = this.speechEndAt;
    this.reset();
    if (!text) return;
    this.opts.onTurn({ text, reason, speechEndAt, finalAt: this.opts.clock.now(), startedAt });
  }
}

function joinText(parts: string[]): string {
  return parts.map((p) => p.trim()).filter(Boolean).join(" ");
}
