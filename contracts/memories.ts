/**
 * Memory per user–persona relationship (`/api/personas/:id/memories…`): long-term facts
 * (category + content, with the call they came from) and recent call summaries. Editing and
 * deleting facts, and "forget everything". A deleted fact is never brought back. Pure zod.
 */
import { z } from "zod";
import { Id, IsoDate, SingleLine } from "./common";

export const FACT_CATEGORIES = ["job", "family", "goals", "preferences", "events", "inside_jokes", "other"] as const;
export const FactCategory = z.enum(FACT_CATEGORIES);
export type FactCategory = z.infer<typeof FactCategory>;

export const Memory = z.object({
  id: Id,
  kind: z.enum(["fact", "summary"]),
  /** Facts: one of FACT_CATEGORIES; summaries: "call". */
  category: z.string(),
  content: z.string(),
  topics: z.array(z.string()),
  outcome: z.string().nullable(),
  /** 1 (trivia) … 5 (central). */
  importance: z.number().int(),
  sourceCallId: Id.nullable(),
  createdAt: IsoDate,
  updatedAt: IsoDate,
});
export type Memory = z.infer<typeof Memory>;

export const MemoriesResponse = z.object({
  personaId: Id,
  personaName: z.string(),
  facts: z.array(Memory),
  /** Newest first. */
  summaries: z.array(Memory),
});
export type MemoriesResponse = z.infer<typeof MemoriesResponse>;

export const MemoryResponse = z.object({ memory: Memory });

/** `POST /api/personas/:id/memories` — tell the persona a fact yourself. */
export const CreateMemoryRequest = z.object({
  category: FactCategory.default("other"),
  content: SingleLine.min(1).max(500),
  importance: z.number().int().min(1).max(5).default(3),
});
export type CreateMemoryRequest = z.infer<typeof CreateMemoryRequest>;

/** `PUT /api/personas/:id/memories/:memoryId` */
export const UpdateMemoryRequest = z.object({
  category: FactCategory.optional(),
  content: SingleLine.min(1).max(500).optional(),
  importance: z.number().int().min(1).max(5).optional(),
});
export type UpdateMemoryRequest = z.infer<typeof UpdateMemoryRequest>;

/** `DELETE /api/personas/:id/memories` (forget everything) answers with how much was forgotten. */
export const ForgetAllResponse = z.object({ ok: z.literal(true), forgotten: z.number().int() });
