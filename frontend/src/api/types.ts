/**
 * The API's data shapes as the SPA sees them (mirrors /work/notes/api-contract.md and the
 * backend's zod schemas in contracts/). Dates are ISO-8601 strings; money is integer micros.
 */

/** Error codes the API's error envelope uses. */
export type ApiErrorCode =
  | "bad_request"
  | "validation_failed"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "rate_limited"
  | "payload_too_large"
  | "internal";

/** Body of every non-2xx response. */
export interface ErrorEnvelope {
  error: { code: string; message: string; details?: unknown };
}

export interface User {
  id: string;
  email: string;
  name: string;
  phone: string | null;
  phoneVerified: boolean;
  timezone: string;
  role: "user" | "admin";
  credits: { balanceMicros: number };
  freeTrialAvailable: boolean;
  createdAt: string;
}

export interface AuthResponse {
  token: string;
  user: User;
}

export interface RegisterInput {
  email: string;
  password: string;
  name: string;
  phone?: string;
}

export interface LoginInput {
  email: string;
  password: string;
}

export interface ProfileInput {
  name?: string;
  phone?: string | null;
  timezone?: string;
}

export type PersonaVisibility = "private" | "public";
export type PersonaScope = "all" | "system" | "mine" | "public";

export interface PersonaStats {
  totalCalls: number;
  totalDurationS: number;
  lastCallAt: string | null;
}

export interface Persona {
  id: string;
  slug: string | null;
  name: string;
  tagline: string;
  description: string;
  category: string;
  systemPrompt: string;
  traits: string[];
  voiceId: string;
  greeting: string | null;
  accentColor: string;
  isSystem: boolean;
  visibility: PersonaVisibility;
  isOwner: boolean;
  isContact: boolean;
  isFavorite: boolean;
  stats: PersonaStats;
  createdAt: string;
  updatedAt: string;
}

export interface PersonaInput {
  name: string;
  tagline?: string;
  description?: string;
  category?: string;
  systemPrompt: string;
  traits?: string[];
  voiceId: string;
  greeting?: string;
  visibility?: PersonaVisibility;
  accentColor?: string;
}

export interface Relationship {
  personaId: string;
  relationshipType: string;
  customSystemPrompt: string | null;
  customVoiceId: string | null;
  isFavorite: boolean;
  totalCalls: number;
  totalDurationS: number;
  lastCallAt: string | null;
}

export interface RelationshipInput {
  customSystemPrompt?: string | null;
  customVoiceId?: string | null;
  isFavorite?: boolean;
  relationshipType?: string;
}

export interface Contact {
  persona: Persona;
  addedAt: string;
}

export interface Voice {
  id: string;
  name: string;
  description: string;
}
