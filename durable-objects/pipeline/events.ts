/**
 * Internal event and record types of the call pipeline (plain TS unions, no runtime validation:
 * they never cross a trust boundary). The Durable Object subscribes with `onEvent` and persists
 * `turn` events as they arrive.
 */
import type { ProviderError, ProviderName } from "../providers/types";

export type Speaker = "caller" | "persona";

/** Why a persona turn was spoken. */
export type PersonaTurnKind = "greeting" | "reply" | "warning" | "goodbye" | "voicemail" | "error-apology";

/**
 * Per-turn latency: absolute timestamps (clock ms) plus derived durations. Fields are null
 * when the stage did not happen (e.g. no caller speech before a greeting).
 */
export interface TurnLatency {
  /** What the response time is measured from: caller speech end (else final) for replies, stream start for a greeting. */
  referenceAt: number | null;
  /** Caller stopped speaking (local VAD), if this turn answers the caller. */
  speechEndAt: number | null;
  /** Final transcript of the caller turn available. */
  finalTranscriptAt: number | null;
  /** LLM request started (may precede the final when speculative). */
  llmStartAt: number | null;
  llmFirstTokenAt: number | null;
  ttsFirstByteAt: number | null;
  firstAudioSentAt: number | null;
  /** First mark of the turn echoed by Twilio: the caller has heard audio. */
  firstMarkAt: number | null;
  /** Derived: speechEnd→final, final→first token (0 if the token was already there), etc. */
  sttMs: number | null;
  llmTtftMs: number | null;
  ttsTtfbMs: number | null;
  /** referenceAt → first audio frame sent: the number the caller feels. */
  responseMs: number | null;
  /** referenceAt → first mark echoed. */
  heardMs: number | null;
  interrupted: boolean;
  speculative: "hit" | "miss" | "none";
  fallbackUsed: boolean;
  llmProvider: ProviderName | null;
}

export interface TurnRecord {
  /** Sequence number within the call (caller and persona turns share it). */
  index: number;
  speaker: Speaker;
  /** Caller: final transcript. Persona: the text the caller actually heard. */
  text: string;
  /** Persona: the full text generated (differs from `text` when interrupted). */
  generatedText?: string;
  kind?: PersonaTurnKind;
  startedAt: number;
  endedAt: number;
  interrupted: boolean;
  latency?: TurnLatency;
}

export type UsageRecord =
  | { kind: "stt"; provider: ProviderName; audioMs: number }
  | {
      kind: "llm";
      provider: ProviderName;
      model: string;
      promptTokens: number;
      completionTokens: number;
      speculative: boolean;
      /** Counted locally (≈ chars/4 prompt, one token per delta): the request was aborted or broke before its usage chunk. */
      estimated: boolean;
    }
  | { kind: "tts"; provider: ProviderName; characters: number };

export type HangupReason = "duration-limit" | "voicemail" | "caller-hangup" | "stt-failed";

export type PipelineEvent =
  | { type: "turn"; turn: TurnRecord }
  | { type: "transcript-interim"; text: string; at: number }
  | { type: "speaking-state"; speaking: boolean; at: number }
  | { type: "usage"; usage: UsageRecord; at: number }
  | { type: "latency"; turnIndex: number; latency: TurnLatency }
  | { type: "barge-in"; turnIndex: number; heardText: string; at: number }
  | { type: "voicemail"; source: "amd" | "transcript"; at: number }
  | { type: "hangup-request"; reason: HangupReason; at: number }
  | { type: "dtmf"; digit: string; at: number }
  | { type: "error"; where: string; error: ProviderError | Error; fatal: boolean; at: number };
