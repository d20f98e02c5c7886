/**
 * After a call: `processCallMemory(deps, callId)` asks the LLM (JSON-schema structured output,
 * validated with zod) for a short summary, topics, outcome and facts about the user, then
 *  - stores the summary as the call's `summary` memory (key `call:<id>`, so it is written once),
 *  - merges the facts into long-term memory by `category:key` with the source call and time
 *    (a newer mention updates the text; a deleted fact — tombstone — stays deleted),
 *  - copies the summary to `calls.summary`, and
 *  - stores the transcript JSON in R2 (`transcripts/{userId}/{personaId}/{callId}.json`) when a
 *    bucket is given and the call has none yet.
 * Calls without anything said by the user are skipped. It never throws for a bad LLM answer: the
 * result says what happened. It does not decide when to run (finalizeCall calls it).
 */
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import { FACT_CATEGORIES } from "../../contracts/memories";
import { OpenAICompatibleChatModel } from "../../durable-objects/providers/openai-compatible";
import type { ChatMessage, ChatModel } from "../../durable-objects/providers/types";
import type { Db } from "../db/client";
import { callTurns, calls, memories, personas } from "../db/schema";
import type { Config } from "../env";
import type { Logger } from "../log";
import { factKey } from "./memory";

export const CallMemoryExtraction = z.object({
  summary: z.string().trim().min(1).max(1000),
  topics: z.array(z.string().trim().min(1).max(80)).max(12).catch([]),
  outcome: z.string().trim().max(300).catch(""),
  facts: z
    .array(
      z.object({
        category: z.enum(FACT_CATEGORIES).catch("other"),
        key: z.string().trim().max(80).catch(""),
        fact: z.string().trim().min(1).max(500),
        importance: z.number().int().min(1).max(5).catch(3),
      }),
    )
    .max(30)
    .catch([]),
});
export type CallMemoryExtraction = z.infer<typeof CallMemoryExtraction>;

/** The JSON schema sent as `response_format` (mirrors CallMemoryExtraction). */
export const EXTRACTION_JSON_SCHEMA = {
  name: "call_memory",
  strict: true,
  schema: {
    type: "object",
    additionalProperties: false,
    required: ["summary", "topics", "outcome", "facts"],
    properties: {
      summary: { type: "string", description: "One or two sentences: what the call was about." },
      topics: { type: "array", items: { type: "string" }, maxItems: 8 },
      outcome: { type: "string", description: "What was decided or planned, if anything." },
      facts: {
        type: "array",
        maxItems: 20,
        items: {
          type: "object",
          additionalProperties: false,
          required: ["category", "key", "fact", "importance"],
          properties: {
            category: { type: "string", enum: [...FACT_CATEGORIES] },
            key: { type: "string", description: "Short stable label, e.g. 'training' or 'employer'." },
            fact: { type: "string", description: "The fact as a short sentence about the user." },
            importance: { type: "integer", minimum: 1, maximum: 5 },
          },
        },
      },
    },
  },
} as const;

export interface MemoryDeps {
  db: Db;
  llm: ChatModel;
  log?: Logger;
  /** Where transcripts are archived (the TRANSCRIPTS binding). */
  transcripts?: R2Bucket;
}

export type MemoryResult =
  | { status: "stored"; summaryId: string; facts: number; suppressed: number }
  | { status: "skipped"; reason: "unknown_call" | "nothing_said" | "already_processed" }
  | { status: "failed"; reason: string };

/** The LLM used for post-call memory: the primary model (Cerebras, or its emulator keyless). */
export function memoryChatModel(config: Config, fetchImpl?: typeof fetch): ChatModel {
  return new OpenAICompatibleChatModel({
    provider: "cerebras",
    baseUrl: config.baseUrls.cerebras,
    apiKey: config.keys.cerebras,
    model: config.models.llm,
    temperature: 0.2,
    maxTokens: 1200,
    fetch: fetchImpl,
  });
}

function systemPrompt(personaName: string): string {
  return [
    `You keep the memory of ${personaName} (the AI persona) about the person ${personaName} phones.`,
    "Read the call transcript and return JSON only, matching the schema: a short summary (1-2 sentences),",
    "the topics, the outcome, and facts worth remembering next time about the person called (job, family,",
    `goals, preferences, events, inside jokes), only from what they said about themselves; nothing about ${personaName}.`,
  ].join(" ");
}

async function complete(llm: ChatModel, messages: ChatMessage[]): Promise<string> {
  let text = "";
  for await (const d of llm.stream(messages, { responseFormat: { type: "json_schema", json_schema: EXTRACTION_JSON_SCHEMA }, maxTokens: 1200 })) {
    if (d.type === "text") text += d.text;
  }
  return text;
}

/** Parse and validate the model's JSON (tolerates a fenced block). */
export function parseExtraction(text: string): CallMemoryExtraction | null {
  const trimmed = text.trim().replace(/^```(?:json)?\s*/i, "").replace(/```\s*$/, "");
  let raw: unknown;
  try {
    raw = JSON.parse(trimmed);
  } catch {
    return null;
  }
  const parsed = CallMemoryExtraction.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

export async function processCallMemory(deps: MemoryDeps, callId: string): Promise<MemoryResult> {
  const { db } = deps;
  const [call] = await db
    .select({ call: calls, personaName: personas.name })
    .from(calls)
    .innerJoin(personas, eq(personas.id, calls.personaId))
    .where(eq(calls.id, callId))
    .limit(1);
  if (!call) return { status: "skipped", reason: "unknown_call" };
  const { userId, personaId } = call.call;
  const summaryKey = `call:${callId}`;
  const [existing] = await db
    .select({ id: memories.id })
    .from(memories)
    .where(and(eq(memories.userId, userId), eq(memories.personaId, personaId), eq(memories.kind, "summary"), eq(memories.key, summaryKey)))
    .limit(1);
  if (existing) return { status: "skipped", reason: "already_processed" };

  const turns = await db.select().from(callTurns).where(eq(callTurns.callId, callId)).orderBy(asc(callTurns.seq));
  const spoken = turns.filter((t) => t.speaker !== "system" && t.text.trim());
  if (!spoken.some((t) => t.speaker === "user")) return { status: "skipped", reason: "nothing_said" };

  if (deps.transcripts && !call.call.transcriptKey) {
    const key = `transcripts/${userId}/${personaId}/${callId}.json`;
    try {
      await deps.transcripts.put(
        key,
        JSON.stringify({
          callId,
          userId,
          personaId,
          turns: spoken.map((t) => ({ seq: t.seq, speaker: t.speaker, text: t.text, interrupted: t.interrupted, startedAt: t.startedAt.toISOString() })),
        }),
        { httpMetadata: { contentType: "application/json" } },
      );
      await db.update(calls).set({ transcriptKey: key }).where(and(eq(calls.id, callId), isNull(calls.transcriptKey)));
    } catch (err) {
      deps.log?.warn("transcript archive failed", { callId, err });
    }
  }

  const personaLabel = call.personaName.replace(/[^\p{L}\p{N} ]/gu, "").trim() || "Persona";
  const label = (speaker: string) => (speaker === "user" ? "User" : personaLabel);
  const transcript = spoken.map((t) => `${label(t.speaker)}: ${t.text.replace(/\s+/g, " ").trim()}`).join("\n");
  let extraction: CallMemoryExtraction | null = null;
  try {
    extraction = parseExtraction(
      await complete(deps.llm, [
        { role: "system", content: systemPrompt(personaLabel) },
        { role: "user", content: `Transcript of the call with ${personaLabel}:\n${transcript}` },
      ]),
    );
  } catch (err) {
    deps.log?.warn("memory extraction failed", { callId, err });
    return { status: "failed", reason: "llm_error" };
  }
  if (!extraction) {
    deps.log?.warn("memory extraction returned invalid JSON", { callId });
    return { status: "failed", reason: "invalid_output" };
  }

  const now = new Date();
  const [summary] = await db
    .insert(memories)
    .values({
      userId,
      personaId,
      kind: "summary",
      category: "call",
      key: summaryKey,
      content: extraction.summary,
      topics: extraction.topics,
      outcome: extraction.outcome || null,
      sourceCallId: callId,
      createdAt: call.call.endedAt ?? now,
    })
    .onConflictDoNothing()
    .returning({ id: memories.id });
  if (!summary) return { status: "skipped", reason: "already_processed" };

  let stored = 0;
  let suppressed = 0;
  const seen = new Set<string>();
  for (const f of extraction.facts) {
    const key = factKey(f.category, f.key || f.fact);
    if (seen.has(key)) continue;
    seen.add(key);
    const rows = await db
      .insert(memories)
      .values({ userId, personaId, kind: "fact", category: f.category, key, content: f.fact, importance: f.importance, sourceCallId: callId })
      .onConflictDoUpdate({
        target: [memories.userId, memories.personaId, memories.kind, memories.key],
        set: { content: f.fact, importance: sql`GREATEST(${memories.importance}, ${f.importance})`, sourceCallId: callId, updatedAt: now },
        // A deleted fact keeps its tombstone: extraction never revives it.
        setWhere: isNull(memories.deletedAt),
      })
      .returning({ id: memories.id });
    if (rows.length) stored++;
    else suppressed++;
  }
  await db.update(calls).set({ summary: extraction.summary, updatedAt: now }).where(eq(calls.id, callId));
  deps.log?.info("call memory stored", { callId, facts: stored, suppressed });
  return { status: "stored", summaryId: summary.id, facts: stored, suppressed };
}
