/**
 * The barge-in gate: decides whether caller speech heard while the persona is audible is a real
 * interruption. One-word backchannels ("uh-huh", "yeah", "okay", "right"…) never interrupt;
 * otherwise it takes `minWords` words (from interim transcripts, so it is fast) or
 * `minVoicedMs` of locally detected voice, and nothing counts during the first `echoGuardMs` of
 * persona audio (the phone leg has no echo cancellation). Pure functions, no state.
 */

export interface BargeInOptions {
  /** @default true */
  enabled?: boolean;
  /** Words (not all backchannels) that interrupt. @default 2 */
  minWords?: number;
  /** Voiced caller speech (local VAD) that interrupts unless the transcript so far is a backchannel. @default 500 */
  minVoicedMs?: number;
  /** Ignore caller speech during the first ms of each persona turn's audio. @default 250 */
  echoGuardMs?: number;
}

const BACKCHANNEL_WORDS = new Set([
  "uh-huh", "uh", "huh", "mm-hmm", "mhm", "mmhmm", "mm", "hmm", "hm", "mmm", "yeah", "yea", "yep", "yes", "ya",
  "okay", "ok", "right", "sure", "alright", "cool", "ah", "oh", "um", "umm", "aha", "i", "see", "got", "it",
  "nice", "wow", "true", "exactly", "totally", "gotcha",
]);
const BACKCHANNEL_PHRASES = new Set(["i see", "got it", "all right", "uh huh", "mm hmm", "oh okay", "oh yeah", "yeah yeah", "okay okay", "right right", "yes yes"]);

/** Lower-cased words without punctuation (inner hyphens/apostrophes kept). */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s'-]/gu, " ")
    .split(/\s+/)
    .map((w) => w.replace(/^['-]+|['-]+$/g, ""))
    .filter(Boolean);
}

/** True when the text is only acknowledgement noise ("uh-huh", "yeah okay", "mm-hmm right"). Empty text is not. */
export function isBackchannel(text: string): boolean {
  const w = words(text);
  if (w.length === 0) return false;
  if (BACKCHANNEL_PHRASES.has(w.join(" "))) return true;
  if (w.length > 3) return false;
  // "i", "see", "got", "it" only count inside their phrases.
  const standalone = w.filter((x) => !["i", "see", "got", "it"].includes(x));
  return standalone.length === w.length && w.every((x) => BACKCHANNEL_WORDS.has(x));
}

export interface BargeInInput {
  /** Transcript heard so far in the caller's current utterance (finals + interim). */
  text: string;
  /** Voiced ms of the caller's current speech run (local VAD). */
  voicedMs: number;
  /** How long the current persona turn has been audible. */
  personaAudibleForMs: number;
}

export function shouldBargeIn(input: BargeInInput, opts: BargeInOptions = {}): boolean {
  if (opts.enabled === false) return false;
  if (input.personaAudibleForMs < (opts.echoGuardMs ?? 250)) return false;
  if (isBackchannel(input.text)) return false;
  if (words(input.text).length >= (opts.minWords ?? 2)) return true;
  return input.voicedMs >= (opts.minVoicedMs ?? 500);
}
