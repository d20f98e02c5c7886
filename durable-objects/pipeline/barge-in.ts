/**
 * The barge-in gate: decides whether caller speech heard while the persona is audible is a real
 * interruption. It decides on the first interim word, with prefix logic:
 *
 * - a transcript that could still become a backchannel ("uh-huh", "yeah", "okay", "mm-hmm",
 *   "right"… — every word so far is a backchannel word, the last one possibly a partial "Yea")
 *   never interrupts, however long it is voiced;
 * - as soon as a word (even a partial one, "So") can no longer be part of a backchannel, it
 *   interrupts once the caller has `minVoicedMs` of locally detected voice (the noise guard);
 * - voice with no transcript at all (noise, a TV) interrupts only after `noTranscriptVoicedMs`;
 * - nothing counts during the first `echoGuardMs` of persona audio (the phone leg has no echo
 *   cancellation).
 *
 * While the greeting plays and the caller has not said anything yet, pickup words ("Hello?",
 * "Hi, who's this?") count as backchannel words too (`pickup: true`), so answering the phone
 * does not cut the greeting; "Hello, I can't talk now" still interrupts at "can't".
 * Pure functions, no state.
 */

export interface BargeInOptions {
  /** @default true */
  enabled?: boolean;
  /** Voiced caller speech (local VAD) needed besides a non-backchannel word. @default 160 */
  minVoicedMs?: number;
  /** Voiced caller speech that interrupts without any transcript (noise guard). @default 700 */
  noTranscriptVoicedMs?: number;
  /** Ignore caller speech during the first ms of each persona turn's audio. @default 250 */
  echoGuardMs?: number;
}

const BACKCHANNEL_WORDS = new Set([
  "uh-huh", "uh", "huh", "mm-hmm", "mhm", "mmhmm", "mm", "hmm", "hm", "mmm", "yeah", "yea", "yep", "yes", "ya",
  "okay", "ok", "right", "sure", "alright", "cool", "ah", "oh", "um", "umm", "aha", "i", "see", "got", "it",
  "nice", "wow", "true", "exactly", "totally", "gotcha", "all",
]);
const BACKCHANNEL_PHRASES = new Set(["i see", "got it", "all right", "uh huh", "mm hmm", "oh okay", "oh yeah", "yeah yeah", "okay okay", "right right", "yes yes"]);
/** Only inside their phrases ("i see", "got it", "all right"), never alone. */
const PHRASE_ONLY = new Set(["i", "see", "got", "it", "all"]);
/** How people answer the phone. */
const PICKUP_WORDS = new Set([
  "hello", "hallo", "hullo", "hi", "hey", "hiya", "yes", "yeah", "yo", "who's", "whos", "who", "is", "this", "it",
  "calling", "speaking", "there", "oh", "um", "uh",
]);
/** A backchannel or pickup utterance is short; more words than this is talk. */
const MAX_BACKCHANNEL_WORDS = 3;
const MAX_PICKUP_WORDS = 5;

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
  if (w.length > MAX_BACKCHANNEL_WORDS) return false;
  return w.every((x) => BACKCHANNEL_WORDS.has(x) && !PHRASE_ONLY.has(x));
}

/** True when the text is only a phone pickup ("Hello?", "Hi, who's this?", "Yes, hello"). Empty text is not. */
export function isPickup(text: string): boolean {
  const w = words(text);
  if (w.length === 0 || w.length > MAX_PICKUP_WORDS) return false;
  return w.every((x) => PICKUP_WORDS.has(x) || BACKCHANNEL_WORDS.has(x));
}

const isPrefixOfAny = (partial: string, set: ReadonlySet<string>): boolean => {
  for (const w of set) if (w.startsWith(partial)) return true;
  return false;
};

/**
 * True while an interim transcript (whose last word may be unfinished) could still turn out to
 * be only a backchannel (or, with `pickup`, a phone pickup): every complete word is in the list
 * and the last one is a prefix of a list word. Empty text is not.
 */
export function couldBeBackchannel(text: string, pickup = false): boolean {
  const w = words(text);
  if (w.length === 0) return false;
  if (w.length > (pickup ? MAX_PICKUP_WORDS : MAX_BACKCHANNEL_WORDS)) return false;
  const inList = (x: string): boolean => BACKCHANNEL_WORDS.has(x) || (pickup && PICKUP_WORDS.has(x));
  const last = w[w.length - 1] ?? "";
  if (!w.slice(0, -1).every(inList)) return false;
  return isPrefixOfAny(last, BACKCHANNEL_WORDS) || (pickup && isPrefixOfAny(last, PICKUP_WORDS));
}

export interface BargeInInput {
  /** Transcript heard so far in the caller's current utterance (finals + interim). */
  text: string;
  /** Voiced ms of the caller's current speech run (local VAD). */
  voicedMs: number;
  /** How long the current persona turn has been audible. */
  personaAudibleForMs: number;
  /** The greeting is playing and the caller has not had a turn yet: pickup words do not interrupt. */
  pickup?: boolean;
}

export function shouldBargeIn(input: BargeInInput, opts: BargeInOptions = {}): boolean {
  if (opts.enabled === false) return false;
  if (input.personaAudibleForMs < (opts.echoGuardMs ?? 250)) return false;
  if (words(input.text).length === 0) return input.voicedMs >= (opts.noTranscriptVoicedMs ?? 700);
  if (couldBeBackchannel(input.text, input.pickup === true)) return false;
  return input.voicedMs >= (opts.minVoicedMs ?? 160);
}
