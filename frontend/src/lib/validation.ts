/**
 * Field rules for the SPA's forms. The limits mirror the API's zod schemas (contracts/) so the
 * user hears about a problem before the round trip; the server stays the authority and its
 * `validation_failed` details are shown on the same fields.
 */
import type { ZodType } from "zod";
import { AccentColor, CreatePersonaRequest, PASSWORD_MAX, PASSWORD_MIN } from "../../../contracts";
import type { PersonaVisibility } from "../api/types";
import type { Rule } from "../composables/useForm";

/** Limits shown in hints and checked with friendly messages (a unit test keeps them equal to the contract's). */
export const LIMITS = {
  nameMax: 100,
  emailMax: 254,
  passwordMin: PASSWORD_MIN,
  passwordMax: PASSWORD_MAX,
  personaNameMax: 80,
  taglineMax: 160,
  descriptionMax: 2000,
  categoryMax: 40,
  systemPromptMax: 8000,
  traitsMax: 12,
  traitMax: 40,
  greetingMax: 500,
} as const;

/** A rule that runs a contract zod schema and reports its first issue (the final authority). */
export function matches<T>(schema: ZodType, map: (value: string) => unknown = (v) => v): Rule<string, T> {
  return (value) => {
    const result = schema.safeParse(map(value));
    return result.success ? null : (result.error.issues[0]?.message ?? "This value isn't valid.");
  };
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const E164_RE = /^\+[1-9]\d{6,14}$/;
const HEX_RE = /^#[0-9a-fA-F]{6}$/;

export function required<T>(message = "This field is required."): Rule<string, T> {
  return (value) => (value.trim() === "" ? message : null);
}

export function maxLength<T>(max: number, label = "This"): Rule<string, T> {
  return (value) => (value.trim().length > max ? `${label} must be ${max} characters or fewer.` : null);
}

export function minLength<T>(min: number, label = "This"): Rule<string, T> {
  return (value) => (value.trim().length > 0 && value.trim().length < min ? `${label} must be at least ${min} characters.` : null);
}

export function email<T>(): Rule<string, T> {
  return (value) => (value.trim() !== "" && !EMAIL_RE.test(value.trim()) ? "Enter an email address like name@example.com." : null);
}

/** Password policy: 8–128 characters (code points), any printable characters (spaces and symbols welcome). */
export function password<T>(): Rule<string, T> {
  return (value) => {
    const length = [...value].length;
    if (length < LIMITS.passwordMin) return `Use at least ${LIMITS.passwordMin} characters.`;
    if (length > LIMITS.passwordMax) return `Use at most ${LIMITS.passwordMax} characters.`;
    return null;
  };
}

/** Strips the formatting people type in phone numbers: spaces, dashes, dots, brackets. */
export function normalizePhone(value: string): string {
  return value.replace(/[\s\-().]/g, "");
}

/** Optional E.164 phone number (after removing spaces and punctuation). */
export function e164<T>(): Rule<string, T> {
  return (value) => {
    const phone = normalizePhone(value);
    if (phone === "") return null;
    if (!phone.startsWith("+")) return "Start with + and your country code, e.g. +1 for the US or +44 for the UK.";
    return E164_RE.test(phone) ? null : "That doesn't look like a full international number (e.g. +1 415 555 0100).";
  };
}

export function hexColor<T>(): Rule<string, T> {
  return (value) => (HEX_RE.test(value) ? null : "Pick a colour (#RRGGBB).");
}

const fields = CreatePersonaRequest.shape;

/** True when `tz` is an IANA time zone this browser knows (the contract's own check). */
export { isIanaTimeZone as isTimeZone } from "../../../contracts";

/** Splits a comma-separated list of traits, trimming and dropping empties and duplicates. */
export function parseTraits(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of text.split(",")) {
    const trait = raw.trim();
    const key = trait.toLowerCase();
    if (trait && !seen.has(key)) {
      seen.add(key);
      out.push(trait);
    }
  }
  return out;
}

/** The persona editor's values (traits edited as comma-separated text). */
export interface PersonaFormValues {
  name: string;
  tagline: string;
  description: string;
  category: string;
  systemPrompt: string;
  traitsText: string;
  voiceId: string;
  greeting: string;
  visibility: PersonaVisibility;
  accentColor: string;
}

type P = PersonaFormValues;

/**
 * Rules for the persona editor: friendly messages for the common cases, then the contract's own
 * field schema (CreatePersonaRequest) so the form accepts exactly what the API accepts.
 */
export const personaRules = {
  name: [required<P>("Give your persona a name."), maxLength<P>(LIMITS.personaNameMax, "Name"), matches<P>(fields.name)],
  tagline: [maxLength<P>(LIMITS.taglineMax, "Tagline"), matches<P>(fields.tagline)],
  description: [maxLength<P>(LIMITS.descriptionMax, "Description"), matches<P>(fields.description)],
  category: [maxLength<P>(LIMITS.categoryMax, "Category"), matches<P>(fields.category, (v) => v.trim() || "custom")],
  systemPrompt: [
    required<P>("Describe how this persona talks and behaves."),
    maxLength<P>(LIMITS.systemPromptMax, "The personality prompt"),
    matches<P>(fields.systemPrompt),
  ],
  traitsText: [
    (value: string) => {
      const traits = parseTraits(value);
      if (traits.length > LIMITS.traitsMax) return `Use at most ${LIMITS.traitsMax} traits.`;
      const long = traits.find((t) => t.length > LIMITS.traitMax);
      return long ? `Keep each trait to ${LIMITS.traitMax} characters or fewer ("${long.slice(0, 20)}…" is too long).` : null;
    },
    matches<P>(fields.traits, parseTraits),
  ],
  voiceId: [required<P>("Choose a voice."), matches<P>(fields.voiceId)],
  greeting: [maxLength<P>(LIMITS.greetingMax, "Greeting"), matches<P>(fields.greeting)],
  accentColor: [hexColor<P>(), matches<P>(AccentColor)],
};
