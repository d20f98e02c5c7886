/**
 * The scripted callee: what the person at a sandbox phone number does when the emulator calls
 * it. A scenario is plain JSON (documented in sandbox/twilio/README.md, examples in
 * sandbox/scenarios/). This module validates scenarios and holds the default one; the call
 * engine (call.ts) executes them.
 */

/** How the phone reacts to the incoming call. */
export type AnswerMode = "human" | "voicemail" | "busy" | "no-answer" | "failed";

/** Conditions that must hold before a step runs (all given ones, in this order). */
export interface StepWhen {
  /** Wait until the persona has spoken since this step became current, then is silent this long. */
  personaSilentMs?: number;
  /**
   * Wait for the persona to start speaking (since this step became current; if it is already
   * speaking then, count from then), then this long — a barge-in or a backchannel.
   */
  personaSpeakingMs?: number;
  /** Then wait this long. */
  pauseMs?: number;
  /** Give up waiting for the persona after this long and run the step anyway. @default 20000 */
  timeoutMs?: number;
}

export type Step =
  | ({ say: string } & StepWhen)
  | ({ backchannel: string } & StepWhen)
  | ({ press: string } & StepWhen)
  | ({ wait: number } & StepWhen)
  | ({ hangup: true } & StepWhen);

export interface Scenario {
  name?: string;
  /** @default "human" */
  answer?: AnswerMode;
  /** Rings before answering (human/voicemail). One ring = the `ringMs` knob. @default 2 */
  rings?: number;
  /** Voicemail greeting spoken when the call is answered as voicemail. */
  greeting?: string;
  /** Voicemail hangs up after this much silence following the beep. @default 5000 */
  voicemailSilenceMs?: number;
  /** Voicemail: silence between pickup and the greeting, as an answering machine leaves. @default 300 */
  greetingDelayMs?: number;
  /** What the person does once the call is connected (human only). */
  steps?: Step[];
  /** After the last step, hang up after this much persona silence (0 = stay on the line). @default 0 */
  hangupAfterSilenceMs?: number;
}

/** An answering machine's silence between pickup and its greeting. */
export const DEFAULT_GREETING_DELAY_MS = 300;

export const DEFAULT_VOICEMAIL_GREETING = "Hi, you've reached Sam. I can't take your call right now, please leave a message after the beep.";

/** Used for numbers without a registered scenario and without a connected phone page. */
export const DEFAULT_SCENARIO: Scenario = {
  name: "default-friendly",
  answer: "human",
  rings: 2,
  steps: [
    { say: "Hello?", pauseMs: 400 },
    { say: "Oh hi! Yes, now is a good time.", personaSilentMs: 700, timeoutMs: 8000 },
    { say: "That sounds great, thank you.", personaSilentMs: 700, timeoutMs: 8000 },
    { say: "Okay, bye!", personaSilentMs: 700, timeoutMs: 8000 },
    { hangup: true, personaSilentMs: 1500, timeoutMs: 5000 },
  ],
};

const WHEN_KEYS = ["personaSilentMs", "personaSpeakingMs", "pauseMs", "timeoutMs"] as const;
const ACTION_KEYS = ["say", "backchannel", "press", "wait", "hangup"] as const;
const MODES: readonly AnswerMode[] = ["human", "voicemail", "busy", "no-answer", "failed"];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function nonNegative(v: unknown, where: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new Error(`${where} must be a non-negative number`);
  return v;
}

/** Validates an unknown JSON value as a scenario; throws an Error saying what is wrong. */
export function parseScenario(input: unknown): Scenario {
  if (!isRecord(input)) throw new Error("scenario must be a JSON object");
  const out: Scenario = {};
  if (input.name !== undefined) {
    if (typeof input.name !== "string") throw new Error("name must be a string");
    out.name = input.name;
  }
  if (input.answer !== undefined) {
    if (typeof input.answer !== "string" || !MODES.includes(input.answer as AnswerMode)) {
      throw new Error(`answer must be one of ${MODES.join(", ")}`);
    }
    out.answer = input.answer as AnswerMode;
  }
  const rings = nonNegative(input.rings, "rings");
  if (rings !== undefined) out.rings = rings;
  if (input.greeting !== undefined) {
    if (typeof input.greeting !== "string") throw new Error("greeting must be a string");
    out.greeting = input.greeting;
  }
  const vms = nonNegative(input.voicemailSilenceMs, "voicemailSilenceMs");
  if (vms !== undefined) out.voicemailSilenceMs = vms;
  const gd = nonNegative(input.greetingDelayMs, "greetingDelayMs");
  if (gd !== undefined) out.greetingDelayMs = gd;
  const has = nonNegative(input.hangupAfterSilenceMs, "hangupAfterSilenceMs");
  if (has !== undefined) out.hangupAfterSilenceMs = has;
  if (input.steps !== undefined) {
    if (!Array.isArray(input.steps)) throw new Error("steps must be an array");
    out.steps = input.steps.map((raw, i) => parseStep(raw, `steps[${i}]`));
  }
  return out;
}

function parseStep(raw: unknown, where: string): Step {
  if (!isRecord(raw)) throw new Error(`${where} must be an object`);
  const actions = ACTION_KEYS.filter((k) => raw[k] !== undefined);
  if (actions.length !== 1) throw new Error(`${where} needs exactly one of ${ACTION_KEYS.join(", ")}`);
  const when: StepWhen = {};
  for (const k of WHEN_KEYS) {
    const v = nonNegative(raw[k], `${where}.${k}`);
    if (v !== undefined) when[k] = v;
  }
  for (const k of Object.keys(raw)) {
    if (!(WHEN_KEYS as readonly string[]).includes(k) && !(ACTION_KEYS as readonly string[]).includes(k)) {
      throw new Error(`${where}: unknown field ${k}`);
    }
  }
  const action = actions[0];
  const value = action ? raw[action] : undefined;
  switch (action) {
    case "say":
    case "backchannel":
      if (typeof value !== "string" || value.length === 0) throw new Error(`${where}.${action} must be a non-empty string`);
      return action === "say" ? { say: value, ...when } : { backchannel: value, ...when };
    case "press":
      if (typeof value !== "string" || !/^[0-9*#w]+$/.test(value)) throw new Error(`${where}.press must be digits 0-9 * # (w = 500 ms pause)`);
      return { press: value, ...when };
    case "wait":
      return { wait: nonNegative(value, `${where}.wait`) ?? 0, ...when };
    default:
      if (value !== true) throw new Error(`${where}.hangup must be true`);
      return { hangup: true, ...when };
  }
}
