/**
 * Personas, relationships and contacts. Read rule: a persona is visible when it is not deleted
 * and is a system persona, public, or owned by the viewer; anything else is reported as 404 (never
 * "exists but forbidden"). Writes: only the owner may change a persona; system personas are
 * read-only (403); another user's public persona is readable but not writable (403). Deleting is
 * a soft delete (`deletedAt`) after which the persona is hidden everywhere.
 */
import { and, asc, desc, eq, isNull, or, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type {
  Contact,
  CreatePersonaRequest,
  Persona,
  PersonaScope,
  Relationship,
  UpdatePersonaRequest,
  UpdateRelationshipRequest,
} from "../../contracts/personas";
import type { Db } from "../db/client";
import { contacts, personas, userPersonaRelationships as rels } from "../db/schema";
import { forbidden, notFound, unauthorized } from "../errors";

type PersonaRow = typeof personas.$inferSelect;
type RelRow = typeof rels.$inferSelect;

const DEFAULT_RELATIONSHIP_TYPE = "friend";

/** SQL: persona visible to `viewerId` (null = anonymous). */
function readable(viewerId: string | null): SQL {
  const visible = viewerId
    ? or(eq(personas.isSystem, true), eq(personas.visibility, "public"), eq(personas.ownerId, viewerId))
    : or(eq(personas.isSystem, true), eq(personas.visibility, "public"));
  return and(isNull(personas.deletedAt), visible) as SQL;
}

function scopeFilter(scope: PersonaScope, viewerId: string | null): SQL | undefined {
  switch (scope) {
    case "system":
      return eq(personas.isSystem, true);
    case "public":
      return and(eq(personas.isSystem, false), eq(personas.visibility, "public"));
    case "mine":
      if (!viewerId) throw unauthorized("Sign in to list your personas");
      return eq(personas.ownerId, viewerId);
    case "all":
      return undefined;
  }
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toPersonaDto(row: PersonaRow, viewerId: string | null, rel: RelRow | null, isContact: boolean): Persona {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    tagline: row.tagline,
    description: row.description,
    category: row.category,
    systemPrompt: row.systemPrompt,
    traits: Array.isArray(row.traits) ? row.traits : [],
    voiceId: row.voiceId,
    greeting: row.greeting,
    accentColor: row.accentColor,
    isSystem: row.isSystem,
    visibility: row.visibility,
    isOwner: viewerId !== null && row.ownerId === viewerId,
    isContact,
    isFavorite: rel?.isFavorite ?? false,
    stats: {
      totalCalls: rel?.totalCalls ?? 0,
      totalDurationS: rel?.totalDurationS ?? 0,
      lastCallAt: iso(rel?.lastCallAt ?? null),
    },
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** personas ⟕ viewer's relationship ⟕ viewer's contact, filtered by `where`. */
function selectWithViewer(db: Db, viewerId: string | null, where: SQL | undefined) {
  const viewer = viewerId ?? "00000000-0000-0000-0000-000000000000";
  return db
    .select({ persona: personas, rel: rels, contactId: contacts.id, addedAt: contacts.addedAt })
    .from(personas)
    .leftJoin(rels, and(eq(rels.personaId, personas.id), eq(rels.userId, viewer)))
    .leftJoin(contacts, and(eq(contacts.personaId, personas.id), eq(contacts.userId, viewer)))
    .where(where);
}

export async function listPersonas(db: Db, viewerId: string | null, scope: PersonaScope): Promise<Persona[]> {
  const rows = await selectWithViewer(db, viewerId, and(readable(viewerId), scopeFilter(scope, viewerId))).orderBy(
    desc(personas.isSystem),
    asc(personas.name),
    asc(personas.createdAt),
  );
  return rows.map((r) => toPersonaDto(r.persona, viewerId, r.rel, r.contactId !== null));
}

export async function getPersona(db: Db, viewerId: string | null, id: string): Promise<Persona> {
  const rows = await selectWithViewer(db, viewerId, and(readable(viewerId), eq(personas.id, id))).limit(1);
  const row = rows[0];
  if (!row) throw notFound("Persona");
  return toPersonaDto(row.persona, viewerId, row.rel, row.contactId !== null);
}

/** The persona row if `viewerId` may read it, else 404. */
async function readableRow(db: Db, viewerId: string, id: string): Promise<PersonaRow> {
  const rows = await db.select().from(personas).where(and(readable(viewerId), eq(personas.id, id))).limit(1);
  const row = rows[0];
  if (!row) throw notFound("Persona");
  return row;
}

/** The persona row if `viewerId` may change it: 404 when unreadable, 403 when read-only to them. */
async function writableRow(db: Db, viewerId: string, id: string): Promise<PersonaRow> {
  const row = await readableRow(db, viewerId, id);
  if (row.isSystem) throw forbidden("System personas are read-only");
  if (row.ownerId !== viewerId) throw forbidden("Only the owner can change this persona");
  return row;
}

export async function createPersona(db: Db, ownerId: string, input: CreatePersonaRequest): Promise<Persona> {
  const [row] = await db
    .insert(personas)
    .values({
      name: input.name,
      tagline: input.tagline ?? "",
      description: input.description ?? "",
      category: input.category ?? "custom",
      systemPrompt: input.systemPrompt,
      traits: input.traits ?? [],
      voiceId: input.voiceId,
      greeting: input.greeting ?? null,
      visibility: input.visibility ?? "private",
      ...(input.accentColor ? { accentColor: input.accentColor } : {}),
      ownerId,
      isSystem: false,
    })
    .returning({ id: personas.id });
  if (!row) throw new Error("persona insert returned no row");
  return getPersona(db, ownerId, row.id);
}

export async function updatePersona(db: Db, viewerId: string, id: string, input: UpdatePersonaRequest): Promise<Persona> {
  await writableRow(db, viewerId, id);
  const patch: Partial<typeof personas.$inferInsert> = {};
  for (const key of [
    "name",
    "tagline",
    "description",
    "category",
    "systemPrompt",
    "voiceId",
    "visibility",
    "accentColor",
  ] as const) {
    const value = input[key];
    if (value !== undefined) (patch as Record<string, unknown>)[key] = value;
  }
  if (input.traits !== undefined) patch.traits = input.traits;
  if (input.greeting !== undefined) patch.greeting = input.greeting;
  if (Object.keys(patch).length > 0) {
    patch.updatedAt = new Date();
    await db
      .update(personas)
      .set(patch)
      .where(and(eq(personas.id, id), eq(personas.ownerId, viewerId), isNull(personas.deletedAt)));
  }
  return getPersona(db, viewerId, id);
}

export async function deletePersona(db: Db, viewerId: string, id: string): Promise<void> {
  await writableRow(db, viewerId, id);
  const now = new Date();
  await db
    .update(personas)
    .set({ deletedAt: now, updatedAt: now })
    .where(and(eq(personas.id, id), eq(personas.ownerId, viewerId), isNull(personas.deletedAt)));
}

// ── relationships ────────────────────────────────────────────────────────────────────────────
function toRelationshipDto(personaId: string, rel: RelRow | null): Relationship {
  return {
    personaId,
    relationshipType: rel?.relationshipType ?? DEFAULT_RELATIONSHIP_TYPE,
    customSystemPrompt: rel?.customSystemPrompt ?? null,
    customVoiceId: rel?.customVoiceId ?? null,
    isFavorite: rel?.isFavorite ?? false,
    totalCalls: rel?.totalCalls ?? 0,
    totalDurationS: rel?.totalDurationS ?? 0,
    lastCallAt: iso(rel?.lastCallAt ?? null),
  };
}

/** The viewer's relationship with a readable persona (defaults when none exists yet). */
export async function getRelationship(db: Db, userId: string, personaId: string): Promise<Relationship> {
  await readableRow(db, userId, personaId);
  const rows = await db
    .select()
    .from(rels)
    .where(and(eq(rels.userId, userId), eq(rels.personaId, personaId)))
    .limit(1);
  return toRelationshipDto(personaId, rows[0] ?? null);
}

/** Create the relationship on first use or update the given fields. */
export async function updateRelationship(
  db: Db,
  userId: string,
  personaId: string,
  input: UpdateRelationshipRequest,
): Promise<Relationship> {
  await readableRow(db, userId, personaId);
  const patch: Partial<typeof rels.$inferInsert> = {};
  if (input.customSystemPrompt !== undefined) patch.customSystemPrompt = input.customSystemPrompt || null;
  if (input.customVoiceId !== undefined) patch.customVoiceId = input.customVoiceId;
  if (input.isFavorite !== undefined) patch.isFavorite = input.isFavorite;
  if (input.relationshipType !== undefined) patch.relationshipType = input.relationshipType;
  const [row] = await db
    .insert(rels)
    .values({ userId, personaId, ...patch })
    .onConflictDoUpdate({
      target: [rels.userId, rels.personaId],
      set: { ...patch, updatedAt: new Date() },
    })
    .returning();
  return toRelationshipDto(personaId, row ?? null);
}

// ── contacts ─────────────────────────────────────────────────────────────────────────────────
export async function listContacts(db: Db, userId: string): Promise<Contact[]> {
  const rows = await selectWithViewer(db, userId, and(readable(userId), sql`${contacts.id} IS NOT NULL`)).orderBy(
    asc(contacts.addedAt),
  );
  return rows.map((r) => ({
    persona: toPersonaDto(r.persona, userId, r.rel, true),
    addedAt: (r.addedAt ?? new Date(0)).toISOString(),
  }));
}

/** Add a readable persona to the address book (idempotent). */
export async function addContact(db: Db, userId: string, personaId: string): Promise<Contact> {
  await readableRow(db, userId, personaId);
  await db.insert(contacts).values({ userId, personaId }).onConflictDoNothing({ target: [contacts.userId, contacts.personaId] });
  const rows = await selectWithViewer(db, userId, and(eq(personas.id, personaId), sql`${contacts.id} IS NOT NULL`)).limit(1);
  const row = rows[0];
  if (!row) throw notFound("Persona");
  return { persona: toPersonaDto(row.persona, userId, row.rel, true), addedAt: (row.addedAt ?? new Date()).toISOString() };
}

export async function removeContact(db: Db, userId: string, personaId: string): Promise<void> {
  const removed = await db
    .delete(contacts)
    .where(and(eq(contacts.userId, userId), eq(contacts.personaId, personaId)))
    .returning({ id: contacts.id });
  if (removed.length === 0) throw notFound("Contact");
}
