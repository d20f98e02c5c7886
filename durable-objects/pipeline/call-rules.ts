/**
 * Call rules as pure logic (the pipeline supplies the clock and timers): the duration limit with
 * one spoken warning before the end and a goodbye at the end, and voicemail detection from
 * Twilio's `AnsweredBy` or from the first caller utterance.
 */

export interface CallRulesOptions {
  /** Hard limit of the conversation, from stream start. @default 600000 (10 min) */
  maxDurationMs?: number;
  /** Warn this long before the limit (once). @default 30000 */
  warningBeforeMs?: number;
  /** @default "Just a heads up, we have about thirty seconds left." */
  warningText?: string;
  /** @default "That's our time. Thanks for chatting, talk soon. Bye!" */
  goodbyeText?: string;
  /** Message left on a voicemail. @default "Hi, it's your scheduled call. Sorry I missed you, I'll try again later. Bye!" */
  voicemailMessage?: string;
  /** Hang up this long after the goodbye/voicemail started even if playback never confirms. @default 15000 */
  hangupGraceMs?: number;
  /** Phrases that mark a voicemail greeting in the first caller utterance. */
  voicemailPhrases?: string[];
}

export const DEFAULT_VOICEMAIL_PHRASES = [
  "leave a message",
  "leave your message",
  "after the beep",
  "after the tone",
  "at the tone",
  "not available",
  "unavailable",
  "can't come to the phone",
  "cannot come to the phone",
  "can't take your call",
  "voicemail",
  "voice mail",
  "mailbox",
  "record your message",
];

export interface RuleSchedule {
  /** When to speak the warning (absolute clock ms), null if the call is too short to warn. */
  warnAt: number | null;
  endAt: number;
}

export class CallRules {
  readonly maxDurationMs: number;
  readonly warningBeforeMs: number;
  readonly warningText: string;
  readonly goodbyeText: string;
  readonly voicemailMessage: string;
  readonly hangupGraceMs: number;
  private readonly phrases: string[];
  private warned = false;
  private ended = false;

  constructor(opts: CallRulesOptions = {}) {
    this.maxDurationMs = opts.maxDurationMs ?? 600_000;
    this.warningBeforeMs = opts.warningBeforeMs ?? 30_000;
    this.warningText = opts.warningText ?? "Just a heads up, we have about thirty seconds left.";
    this.goodbyeText = opts.goodbyeText ?? "That's our time. Thanks for chatting, talk soon. Bye!";
    this.voicemailMessage =
      opts.voicemailMessage ?? "Hi, it's your scheduled call. Sorry I missed you, I'll try again later. Bye!";
    this.hangupGraceMs = opts.hangupGraceMs ?? 15_000;
    this.phrases = (opts.voicemailPhrases ?? DEFAULT_VOICEMAIL_PHRASES).map((p) => p.toLowerCase());
  }

  schedule(startedAt: number): RuleSchedule {
    const endAt = startedAt + this.maxDurationMs;
    const warnAt = this.maxDurationMs > this.warningBeforeMs * 2 ? endAt - this.warningBeforeMs : null;
    return { warnAt, endAt };
  }

  /** True exactly once: the warning should be spoken now. */
  takeWarning(): boolean {
    if (this.warned || this.ended) return false;
    this.warned = true;
    return true;
  }

  /** True exactly once: the call is at its limit. */
  takeEnd(): boolean {
    if (this.ended) return false;
    this.ended = true;
    return true;
  }

  /** Twilio AMD result (`AnsweredBy`): machine_start, machine_end_beep, machine_end_silence, machine_end_other, fax. */
  isMachine(answeredBy: string | undefined): boolean {
    if (!answeredBy) return false;
    return answeredBy.startsWith("machine_") || answeredBy === "fax";
  }

  isVoicemailGreeting(text: string): boolean {
    const t = text.toLowerCase().replace(/[’]/g, "'");
    return this.phrases.some((p) => t.includes(p));
  }
}
