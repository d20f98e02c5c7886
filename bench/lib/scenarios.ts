/**
 * Scripted callees for the benchmark (Twilio emulator scenario format, sandbox/twilio/README.md).
 * Every latency turn waits until the persona has spoken and then been quiet for a while, so each
 * caller utterance ends in silence and yields one clean voice-to-voice sample; barge-in turns
 * speak over a reply the persona is in the middle of; backchannel turns say "uh-huh"-type words
 * over a reply, which must never interrupt it.
 */
import { couldBeBackchannel } from "../../durable-objects/pipeline/barge-in";
import type { Scenario, Step } from "../../sandbox/twilio/scenario";

/** Short, distinct caller lines (the sandbox LLM answers by content, so they vary the replies). */
export const CALLER_LINES = [
  "I went for a run this morning.",
  "Work has been pretty busy lately.",
  "I want to sleep more this week.",
  "My sister visits on Saturday.",
  "I cooked pasta for dinner.",
  "The weather is great today.",
  "I started reading a new book.",
  "I am thinking about a new job.",
  "We adopted a cat last month.",
  "I signed up for a yoga class.",
  "My knee hurts a little.",
  "I finished the big report.",
  "I want to learn to swim.",
  "The kids start school soon.",
  "I am saving for a trip.",
  "I called my mom yesterday.",
] as const;

export const BARGE_IN_LINE = "Sorry, can I stop you there?";
/** Questions that get a multi-sentence answer the caller can interrupt. */
export const LONG_ANSWER_LINES = [
  "Tell me about your weekend plans.",
  "What do you think about running?",
  "How should I plan my week?",
  "What did you do today?",
] as const;

const WAIT = { personaSilentMs: 400, timeoutMs: 15_000 } as const;

/** `turns` caller utterances, each after the persona finished speaking, then a hang-up. */
export function latencyScenario(turns: number, offset = 0): Scenario {
  const steps: Step[] = [];
  for (let k = 0; k < turns; k++) steps.push({ say: CALLER_LINES[(k + offset) % CALLER_LINES.length] as string, ...WAIT });
  steps.push({ hangup: true, ...WAIT });
  return { name: "bench-latency", answer: "human", rings: 1, steps };
}

/**
 * `n` rounds of: ask a question after the persona is quiet, then talk over its answer
 * `speakingMs` after it becomes audible. Ends with a hang-up once the persona is quiet.
 */
export function bargeInScenario(n: number, speakingMs = 600, offset = 0): Scenario {
  const steps: Step[] = [];
  for (let k = 0; k < n; k++) {
    steps.push({ say: LONG_ANSWER_LINES[(k + offset) % LONG_ANSWER_LINES.length] as string, ...WAIT });
    steps.push({ say: BARGE_IN_LINE, personaSpeakingMs: speakingMs, timeoutMs: 10_000 });
  }
  steps.push({ hangup: true, ...WAIT });
  return { name: "bench-barge-in", answer: "human", rings: 1, steps };
}

/** One-word acknowledgements the backchannel rounds say over the persona. */
export const BACKCHANNEL_LINES = ["uh-huh", "yeah", "okay", "mm-hmm", "right"] as const;

/**
 * `n` rounds of: ask a question after the persona is quiet, then say `perReply` backchannels
 * over its answer, the first `speakingMs` after it becomes audible and each next one
 * `speakingMs` after the previous (if the persona still speaks). Ends with a hang-up.
 */
export function backchannelScenario(n: number, perReply = 2, speakingMs = 700, offset = 0): Scenario {
  const steps: Step[] = [];
  let b = offset;
  for (let k = 0; k < n; k++) {
    steps.push({ say: LONG_ANSWER_LINES[(k + offset) % LONG_ANSWER_LINES.length] as string, ...WAIT });
    for (let j = 0; j < perReply; j++) {
      steps.push({ backchannel: BACKCHANNEL_LINES[b++ % BACKCHANNEL_LINES.length] as string, personaSpeakingMs: speakingMs, timeoutMs: 10_000 });
    }
  }
  steps.push({ hangup: true, ...WAIT });
  return { name: "bench-backchannel", answer: "human", rings: 1, steps };
}

/**
 * Ms of caller audio after which the pipeline's barge-in gate (durable-objects/pipeline/barge-in.ts)
 * can first fire: the first character at which the text so far can no longer become a
 * backchannel (characters are decoded at `msPerChar`), and at least `minVoicedMs` of voice.
 * Null when the text never leaves the backchannel list (it must never interrupt).
 * A lower bound: it ignores Deepgram's interim cadence and the VAD onset.
 */
export function gateReadyMs(text: string, msPerChar: number, minVoicedMs: number): number | null {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === " ") continue;
    if (!couldBeBackchannel(text.slice(0, i + 1))) return Math.max(minVoicedMs, (i + 1) * msPerChar);
  }
  return null;
}
