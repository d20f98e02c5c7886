/**
 * Call history: the paginated list (`GET /api/calls`, filters by persona / status / date) and
 * transcript search (`GET /api/calls/search?q=…`, Postgres full-text search over the turns).
 * The single call with its transcript is `GET /api/calls/:id` (contracts/calls.ts). Pure zod.
 */
import { z } from "zod";
import { Call, CallStatus } from "./calls";
import { Id, IsoDate } from "./common";

/** A call in the history list: the call plus what memory wrote about it. */
export const CallListItem = Call.extend({
  summary: z.string().nullable(),
  scheduledCallId: Id.nullable(),
  turnCount: z.number().int(),
});
export type CallListItem = z.infer<typeof CallListItem>;

export const ListCallsQuery = z.object({
  personaId: Id.optional(),
  status: CallStatus.optional(),
  /** Calls created at or after this instant. */
  from: z.iso.datetime({ offset: true }).optional(),
  /** Calls created before this instant. */
  to: z.iso.datetime({ offset: true }).optional(),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
});
export type ListCallsQuery = z.infer<typeof ListCallsQuery>;

export const CallListResponse = z.object({
  calls: z.array(CallListItem),
  page: z.number().int(),
  pageSize: z.number().int(),
  total: z.number().int(),
});
export type CallListResponse = z.infer<typeof CallListResponse>;

export const SearchCallsQuery = z.object({
  q: z.string().trim().min(1, "Enter something to search for").max(200),
  personaId: Id.optional(),
  limit: z.coerce.number().int().min(1).max(50).default(10),
});
export type SearchCallsQuery = z.infer<typeof SearchCallsQuery>;

export const TranscriptSnippet = z.object({
  seq: z.number().int(),
  speaker: z.enum(["user", "assistant", "system"]),
  /** The matching line with the matched words wrapped in «…». */
  snippet: z.string(),
  startedAt: IsoDate,
});
export type TranscriptSnippet = z.infer<typeof TranscriptSnippet>;

export const CallSearchResult = z.object({ call: CallListItem, snippets: z.array(TranscriptSnippet) });
export type CallSearchResult = z.infer<typeof CallSearchResult>;
export const CallSearchResponse = z.object({ results: z.array(CallSearchResult) });
export type CallSearchResponse = z.infer<typeof CallSearchResponse>;
