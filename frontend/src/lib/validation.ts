/**
 * Field rules for the SPA's forms. The limits mirror the API's zod schemas (contracts/) so the
 * user hears about a problem before the round trip; the server stays the authority and its
 * `validation_failed` details are shown on the same fields.
 */
import type { Rule } from "../composables/useForm";
import type { PersonaVisibility } from "../api/types";

export const LIMITS = {
  nameMax: 80,
  emailMax: 254,
  passwordMin: 8,
  passwordMax: 128,
  personaNameMax: 60,
  taglineMax: 120,
  descriptionMax: 2000,
  categoryMax: 40,
  systemPromptMin: 10,
  systemPromptMax: 8000,
  traitsMax: 12,
  traitMax: 40,
  greetingMax: 500,
} as const;

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

/** Password policy: 8–128 characters, any printable characters (spaces and symbols welcome). */
export function password<T>(): Rule<string, T> {
  return (value) => {
    if (value.length < LIMITS.passwordMin) return `Use at least ${LIMITS.passwordMin} characters.`;
    if (value.length > LIMITS.passwordMax) return `Use at most ${LIMITS.passwordMax} characters.`;
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

/** True when `tz` is an IANA time zone this browser knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

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

/** Rules for the persona editor, mirroring the API's persona schema. */
export const personaRules = {
  name: [required<PersonaFormValues>("Give your persona a name."), maxLength<PersonaFormValues>(LIMITS.personaNameMax, "Name")],
  tagline: [maxLength<PersonaFormValues>(LIMITS.taglineMax, "Tagline")],
  description: [maxLength<PersonaFormValues>(LIMITS.descriptionMax, "Description")],
  category: [maxLength<PersonaFormValues>(LIMITS.categoryMax, "Category")],
  systemPrompt: [
    required<PersonaFormValues>("Describe how this persona talks and behaves."),
    minLength<PersonaFormValues>(LIMITS.systemPromptMin, "The personality prompt"),
    maxLength<PersonaFormValues>(LIMITS.systemPromptMax, "The personality prompt"),
  ],
  traitsText: [
    (value: string) => {
      const traits = parseTraits(value);
      if (traits.length > LIMITS.traitsMax) return `Use at most ${LIMITS.traitsMax} traits.`;
      const long = traits.find((t) => t.length > LIMITS.traitMax);
      return long ? `Keep each trait under ${LIMITS.traitMax} characters ("${long.slice(0, 20)}…" is too long).` : null;
    },
  ],
  voiceId: [required<PersonaFormValues>("Choose a voice.")],
  greeting: [maxLength<PersonaFormValues>(LIMITS.greetingMax, "Greeting")],
  accentColor: [hexColor<PersonaFormValues>()],
};
