/**
 * Scripted callees for the benchmark (Twilio emulator scenario format, sandbox/twilio/README.md).
 * Every latency turn waits until the persona has spoken and then been quiet for a while, so each
 * caller utterance ends in silence and yields one clean voice-to-voice sample; barge-in turns
 * speak over a reply the persona is in the middle of.
 */
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

/**
 * Ms of caller audio after which the pipeline's barge-in gate (durable-objects/pipeline/barge-in.ts)
 * can first fire: `minWords` words begun in the transcript OR `minVoicedMs` of voice, whichever
 * comes first (the second word counts once its first character has been spoken, at `msPerChar`).
 * A lower bound: it ignores Deepgram's interim cadence and the VAD onset.
 */
export function gateReadyMs(text: string, msPerChar: number, minWords: number, minVoicedMs: number): number {
  let words = 0;
  for (let i = 0; i < text.length; i++) {
    const startsWord = text[i] !== " " && (i === 0 || text[i - 1] === " ");
    if (!startsWord) continue;
    words++;
    if (words === minWords) return Math.min(minVoicedMs, (i + 1) * msPerChar);
  }
  return minVoicedMs;
}
