/**
 * Personas contract: the `Persona` DTO, create/update bodies, list scope, the per-user
 * relationship (overrides + favourite + stats), contacts and the offered voices.
 */
import { z } from "zod";
import { Id, IsoDate, MultiLine, SingleLine } from "./common";

export const PersonaVisibility = z.enum(["private", "public"]);
export type PersonaVisibility = z.infer<typeof PersonaVisibility>;

/** ElevenLabs voice id shape (alphanumeric). */
export const VoiceId = z.string().trim().regex(/^[A-Za-z0-9]{1,64}$/, "Invalid voice id");
export const AccentColor = z.string().trim().regex(/^#[0-9a-fA-F]{6}$/, "Accent colour must be #RRGGBB");

export const PersonaStats = z.object({
  totalCalls: z.number().int(),
  totalDurationS: z.number().int(),
  lastCallAt: IsoDate.nullable(),
});
export type PersonaStats = z.infer<typeof PersonaStats>;

export const Persona = z.object({
  id: z.uuid(),
  slug: z.string().nullable(),
  name: z.string(),
  tagline: z.string(),
  description: z.string(),
  category: z.string(),
  systemPrompt: z.string(),
  traits: z.array(z.string()),
  voiceId: z.string(),
  greeting: z.string().nullable(),
  accentColor: z.string(),
  isSystem: z.boolean(),
  visibility: PersonaVisibility,
  isOwner: z.boolean(),
  isContact: z.boolean(),
  isFavorite: z.boolean(),
  stats: PersonaStats,
  createdAt: IsoDate,
  updatedAt: IsoDate,
});
export type Persona = z.infer<typeof Persona>;

const personaFields = {
  name: SingleLine.trim().min(1, "Name is required").max(80),
  tagline: SingleLine.trim().max(160),
  description: MultiLine.trim().max(2000),
  category: SingleLine.trim().min(1).max(40),
  systemPrompt: MultiLine.trim().min(1, "System prompt is required").max(8000),
  traits: z.array(SingleLine.trim().min(1).max(40)).max(12),
  voiceId: VoiceId,
  greeting: MultiLine.trim().max(500).nullable(),
  visibility: PersonaVisibility,
  accentColor: AccentColor,
};

export const CreatePersonaRequest = z.object({
  name: personaFields.name,
  tagline: personaFields.tagline.optional(),
  description: personaFields.description.optional(),
  category: personaFields.category.optional(),
  systemPrompt: personaFields.systemPrompt,
  traits: personaFields.traits.optional(),
  voiceId: personaFields.voiceId,
  greeting: personaFields.greeting.optional(),
  visibility: personaFields.visibility.optional(),
  accentColor: personaFields.accentColor.optional(),
});
export type CreatePersonaRequest = z.input<typeof CreatePersonaRequest>;

export const UpdatePersonaRequest = CreatePersonaRequest.partial();
export type UpdatePersonaRequest = z.input<typeof UpdatePersonaRequest>;

export const PersonaScope = z.enum(["all", "system", "mine", "public"]);
export type PersonaScope = z.infer<typeof PersonaScope>;
export const ListPersonasQuery = z.object({ scope: PersonaScope.default("all") });

export const PersonaResponse = z.object({ persona: Persona });
export type PersonaResponse = z.infer<typeof PersonaResponse>;
export const PersonaListResponse = z.object({ personas: z.array(Persona) });
export type PersonaListResponse = z.infer<typeof PersonaListResponse>;

export const Relationship = z.object({
  personaId: z.uuid(),
  relationshipType: z.string(),
  customSystemPrompt: z.string().nullable(),
  customVoiceId: z.string().nullable(),
  isFavorite: z.boolean(),
  totalCalls: z.number().int(),
  totalDurationS: z.number().int(),
  lastCallAt: IsoDate.nullable(),
});
export type Relationship = z.infer<typeof Relationship>;

export const UpdateRelationshipRequest = z.object({
  customSystemPrompt: MultiLine.trim().max(8000).nullable().optional(),
  customVoiceId: VoiceId.nullable().optional(),
  isFavorite: z.boolean().optional(),
  relationshipType: SingleLine.trim().min(1).max(40).optional(),
});
export type UpdateRelationshipRequest = z.input<typeof UpdateRelationshipRequest>;

export const RelationshipResponse = z.object({ relationship: Relationship });
export type RelationshipResponse = z.infer<typeof RelationshipResponse>;

export const Contact = z.object({ persona: Persona, addedAt: IsoDate });
export type Contact = z.infer<typeof Contact>;
export const AddContactRequest = z.object({ personaId: Id });
export type AddContactRequest = z.input<typeof AddContactRequest>;
export const ContactResponse = z.object({ contact: Contact });
export type ContactResponse = z.infer<typeof ContactResponse>;
export const ContactListResponse = z.object({ contacts: z.array(Contact) });
export type ContactListResponse = z.infer<typeof ContactListResponse>;

export const Voice = z.object({ id: z.string(), name: z.string(), description: z.string() });
export type Voice = z.infer<typeof Voice>;
export const VoiceListResponse = z.object({ voices: z.array(Voice) });
export type VoiceListResponse = z.infer<typeof VoiceListResponse>;
