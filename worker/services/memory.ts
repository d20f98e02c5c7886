/**
 * Memory per user–persona relationship: the editor's reads and writes (list facts + recent
 * summaries, add / edit / delete a fact, forget everything) and `buildCallPrompt`, the system
 * prompt of every call (persona prompt + the user's override + long-term facts + recent summaries
 * within `budget_settings.max_memory_tokens`). Deleting sets `deleted_at` — a tombstone that keeps
 * the fact out of every later prompt (summaries restating it are left out too) and stops
 * extraction from writing it again.
 * Post-call extraction lives in memory-extraction.ts.
 */
import { and, desc, eq, isNotNull, isNull } from "drizzle-orm";
import type { CreateMemoryRequest, MemoriesResponse, Memory, UpdateMemoryRequest } from "../../contracts/memories";
import type { Db } from "../db/client";
import { budgetSettings, memories, personas, userPersonaRelationships, users } from "../db/schema";
import { notFound } from "../errors";
import { getPersona } from "./personas";
import { composePrompt, type ComposedPrompt } from "./prompt-builder";

type MemoryRow = typeof memories.$inferSelect;

/** Recent context: how many call summaries a prompt (and the editor) shows. */
export const RECENT_SUMMARIES = 5;
/** Default memory budget when the user has no budget_settings row (same as the column default). */
export const DEFAULT_MAX_MEMORY_TOKENS = 1200;
/** Facts considered for a prompt (ranked, then cut to the budget). */
const MAX_FACTS_CONSIDERED = 200;

export function toMemoryDto(row: MemoryRow): Memory {
  return {
    id: row.id,
    kind: row.kind,
    category: row.category,
    content: row.content,
    topics: row.topics ?? [],
    outcome: row.outcome,
    importance: row.importance,
    sourceCallId: row.sourceCallId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Stable identity of a fact for merging: `category:slug`. */
export function factKey(category: string, text: string): string {
  const slug = text
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^\p{L}\p{N}]+/gu, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 80);
  return `${category}:${slug || "fact"}`;
}

const live = (userId: string, personaId: string) =>
  and(eq(memories.userId, userId), eq(memories.personaId, personaId), isNull(memories.deletedAt));

/** Live facts (most important, then most recent first) and the newest summaries. */
export async function loadMemory(
  db: Db,
  userId: string,
  personaId: string,
  opts: { facts?: number; summaries?: number } = {},
): Promise<{ facts: MemoryRow[]; summaries: MemoryRow[] }> {
  const [facts, summaries] = await db.batch([
    db
      .select()
      .from(memories)
      .where(and(live(userId, personaId), eq(memories.kind, "fact")))
      .orderBy(desc(memories.importance), desc(memories.updatedAt))
      .limit(opts.facts ?? MAX_FACTS_CONSIDERED),
    db
      .select()
      .from(memories)
      .where(and(live(userId, personaId), eq(memories.kind, "summary")))
      .orderBy(desc(memories.createdAt))
      .limit(opts.summaries ?? RECENT_SUMMARIES),
  ]);
  return { facts, summaries };
}

export async function listMemories(db: Db, userId: string, personaId: string): Promise<MemoriesResponse> {
  const persona = await getPersona(db, userId, personaId);
  const { facts, summaries } = await loadMemory(db, userId, personaId, { facts: 500, summaries: 20 });
  return { personaId, personaName: persona.name, facts: facts.map(toMemoryDto), summaries: summaries.map(toMemoryDto) };
}

/** A fact the user tells the persona directly (merges with an identical live fact). */
export async function addFact(db: Db, userId: string, personaId: string, input: CreateMemoryRequest): Promise<Memory> {
  await getPersona(db, userId, personaId);
  const key = factKey(input.category, input.content);
  const [row] = await db
    .insert(memories)
    .values({ userId, personaId, kind: "fact", category: input.category, key, content: input.content, importance: input.importance })
    .onConflictDoUpdate({
      target: [memories.userId, memories.personaId, memories.kind, memories.key],
      // Told again explicitly by the user: it is live again.
      set: { content: input.content, importance: input.importance, deletedAt: null, updatedAt: new Date() },
    })
    .returning();
  return toMemoryDto(row!);
}

async function ownFact(db: Db, userId: string, personaId: string, memoryId: string): Promise<MemoryRow> {
  const [row] = await db
    .select()
    .from(memories)
    .where(and(eq(memories.id, memoryId), live(userId, personaId)))
    .limit(1);
  if (!row) throw notFound("Memory");
  return row;
}

/** Edit a fact's text, category or importance (summaries too: their text). */
export async function updateMemory(db: Db, userId: string, personaId: string, memoryId: string, input: UpdateMemoryRequest): Promise<Memory> {
  const row = await ownFact(db, userId, personaId, memoryId);
  const patch: Partial<typeof memories.$inferInsert> = { updatedAt: new Date() };
  if (input.content !== undefined) patch.content = input.content;
  if (input.importance !== undefined) patch.importance = input.importance;
  if (input.category !== undefined && row.kind === "fact") patch.category = input.category;
  const [updated] = await db.update(memories).set(patch).where(and(eq(memories.id, row.id), isNull(memories.deletedAt))).returning();
  if (!updated) throw notFound("Memory");
  return toMemoryDto(updated);
}

/** Delete one memory (tombstone: it never comes back through extraction). */
export async function deleteMemory(db: Db, userId: string, personaId: string, memoryId: string): Promise<void> {
  const row = await ownFact(db, userId, personaId, memoryId);
  await db.update(memories).set({ deletedAt: new Date(), updatedAt: new Date() }).where(eq(memories.id, row.id));
}

/** Forget everything this persona knows about the user (facts and summaries). */
export async function forgetAll(db: Db, userId: string, personaId: string): Promise<number> {
  await getPersona(db, userId, personaId);
  const rows = await db
    .update(memories)
    .set({ deletedAt: new Date(), updatedAt: new Date() })
    .where(live(userId, personaId))
    .returning({ id: memories.id });
  return rows.length;
}

export interface BuildPromptOptions {
  userId: string;
  personaId: string;
  /** Overrides budget_settings.max_memory_tokens. */
  maxTokens?: number;
}

/**
 * The system prompt for a call: persona prompt, the user's relationship override, live facts and
 * the last RECENT_SUMMARIES summaries, most relevant first, within the memory token budget.
 * Deleted memories are never included. Throws 404 for an unknown persona.
 */
export async function buildCallPrompt(db: Db, opts: BuildPromptOptions): Promise<ComposedPrompt> {
  const [ctx] = await db
    .select({
      personaPrompt: personas.systemPrompt,
      override: userPersonaRelationships.customSystemPrompt,
      userName: users.name,
      timezone: users.timezone,
      budget: budgetSettings.maxMemoryTokens,
    })
    .from(personas)
    .innerJoin(users, eq(users.id, opts.userId))
    .leftJoin(userPersonaRelationships, and(eq(userPersonaRelationships.personaId, personas.id), eq(userPersonaRelationships.userId, opts.userId)))
    .leftJoin(budgetSettings, eq(budgetSettings.userId, opts.userId))
    .where(eq(personas.id, opts.personaId))
    .limit(1);
  if (!ctx) throw notFound("Persona");
  const { facts, summaries } = await loadMemory(db, opts.userId, opts.personaId);
  const forgotten = await db
    .select({ content: memories.content })
    .from(memories)
    .where(and(eq(memories.userId, opts.userId), eq(memories.personaId, opts.personaId), eq(memories.kind, "fact"), isNotNull(memories.deletedAt)))
    .limit(500);
  const firstName = ctx.userName.trim().split(/\s+/)[0] ?? null;
  return composePrompt({
    personaPrompt: ctx.personaPrompt,
    override: ctx.override,
    userName: firstName,
    timezone: ctx.timezone,
    facts: facts.map((f) => ({ id: f.id, category: f.category, content: f.content, importance: f.importance, updatedAt: f.updatedAt })),
    summaries: summaries.map((s) => ({ id: s.id, content: s.content, at: s.createdAt })),
    forgotten: forgotten.map((f) => f.content),
    maxMemoryTokens: opts.maxTokens ?? ctx.budget ?? DEFAULT_MAX_MEMORY_TOKENS,
  });
}
