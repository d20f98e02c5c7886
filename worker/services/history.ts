/**
 * Call history: the caller's calls, newest first, filtered by persona / status / date and paged;
 * and transcript search — Postgres full-text search (`call_turns.search`, a generated tsvector
 * with a GIN index) over the caller's own calls, answering each call with its matching lines
 * (`ts_headline`, matches wrapped in «…»). `searchPastCalls` is the same search shaped for the
 * persona's `search_past_calls` tool during a call.
 */
import { and, count, desc, eq, gte, inArray, lt, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type { CallListItem, CallListResponse, CallSearchResult, ListCallsQuery } from "../../contracts/history";
import type { Db } from "../db/client";
import { callTurns, calls, personas, users } from "../db/schema";
import { toCallDto } from "./calls";
import { addDays, localParts, zonedTimeToUtc } from "./recurrence";

type CallRow = typeof calls.$inferSelect;

function toItem(row: CallRow, personaName: string, turnCount: number): CallListItem {
  return { ...toCallDto(row, personaName), summary: row.summary, scheduledCallId: row.scheduledCallId, turnCount };
}

const turnCountOf = sql<number>`(SELECT count(*)::int FROM ${callTurns} WHERE ${callTurns.callId} = ${calls.id})`;

export async function listCalls(db: Db, userId: string, q: ListCallsQuery): Promise<CallListResponse> {
  const filters: SQL[] = [eq(calls.userId, userId)];
  if (q.personaId) filters.push(eq(calls.personaId, q.personaId));
  if (q.status) filters.push(eq(calls.status, q.status));
  if (q.from) filters.push(gte(calls.createdAt, new Date(q.from)));
  if (q.to) filters.push(lt(calls.createdAt, new Date(q.to)));
  const where = and(...filters);
  const [rows, totals] = await db.batch([
    db
      .select({ row: calls, personaName: personas.name, turnCount: turnCountOf })
      .from(calls)
      .innerJoin(personas, eq(personas.id, calls.personaId))
      .where(where)
      .orderBy(desc(calls.createdAt), desc(calls.id))
      .limit(q.pageSize)
      .offset((q.page - 1) * q.pageSize),
    db.select({ n: count() }).from(calls).where(where),
  ]);
  return {
    calls: rows.map((r) => toItem(r.row, r.personaName, Number(r.turnCount))),
    page: q.page,
    pageSize: q.pageSize,
    total: Number(totals[0]?.n ?? 0),
  };
}

interface SearchOptions {
  personaId?: string;
  /** Calls to return. @default 10 */
  limit?: number;
  /** Matching lines per call. @default 3 */
  snippetsPerCall?: number;
  /** Leave this call out (the one in progress). */
  excludeCallId?: string;
}

/** Calls of `userId` whose transcript matches `query` (web-search syntax), best match first. */
export async function searchCalls(db: Db, userId: string, query: string, opts: SearchOptions = {}): Promise<CallSearchResult[]> {
  const tsq = sql`websearch_to_tsquery('english', ${query})`;
  const limit = opts.limit ?? 10;
  const perCall = opts.snippetsPerCall ?? 3;
  const res = await db.execute<{ call_id: string; seq: number; speaker: "user" | "assistant" | "system"; started_at: string | Date; snippet: string; rank: number; n: number }>(sql`
    WITH hits AS (
      SELECT t.call_id, t.seq, t.speaker, t.started_at,
             ts_headline('english', t.text, ${tsq}, 'StartSel=«, StopSel=», MaxWords=30, MinWords=8, MaxFragments=1') AS snippet,
             ts_rank(t.search, ${tsq}) AS rank,
             row_number() OVER (PARTITION BY t.call_id ORDER BY ts_rank(t.search, ${tsq}) DESC, t.seq) AS n
        FROM ${callTurns} t
        JOIN ${calls} c ON c.id = t.call_id
       WHERE c.user_id = ${userId}
         AND t.search @@ ${tsq}
         ${opts.personaId ? sql`AND c.persona_id = ${opts.personaId}` : sql``}
         ${opts.excludeCallId ? sql`AND c.id <> ${opts.excludeCallId}` : sql``}
    ), best AS (
      SELECT call_id, max(rank) AS best FROM hits GROUP BY call_id
    ), top AS (
      SELECT b.call_id FROM best b JOIN ${calls} c ON c.id = b.call_id
       ORDER BY b.best DESC, c.created_at DESC LIMIT ${limit}
    )
    SELECT h.call_id, h.seq, h.speaker, h.started_at, h.snippet, h.rank, h.n
      FROM hits h JOIN top USING (call_id)
     WHERE h.n <= ${perCall}
     ORDER BY h.call_id, h.seq`);
  const ids = [...new Set(res.rows.map((r) => r.call_id))];
  if (ids.length === 0) return [];
  const rows = await db
    .select({ row: calls, personaName: personas.name, turnCount: turnCountOf })
    .from(calls)
    .innerJoin(personas, eq(personas.id, calls.personaId))
    .where(inArray(calls.id, ids));
  const best = new Map<string, number>();
  for (const r of res.rows) best.set(r.call_id, Math.max(best.get(r.call_id) ?? 0, Number(r.rank)));
  rows.sort((a, b) => (best.get(b.row.id) ?? 0) - (best.get(a.row.id) ?? 0) || b.row.createdAt.getTime() - a.row.createdAt.getTime());
  return rows.map((r) => ({
    call: toItem(r.row, r.personaName, Number(r.turnCount)),
    snippets: res.rows
      .filter((h) => h.call_id === r.row.id)
      .map((h) => ({ seq: Number(h.seq), speaker: h.speaker, snippet: h.snippet, startedAt: new Date(h.started_at).toISOString() })),
  }));
}

const WEEKDAY_NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

/**
 * The local day a question names, as a UTC range: "today", "yesterday", "(last|on) Tuesday"
 * (the most recent Tuesday before today). Null when it names none.
 */
export function namedDay(query: string, now: Date, timeZone: string): { from: Date; to: Date } | null {
  const q = query.toLowerCase();
  const today = localParts(now, timeZone);
  let back: number | null = null;
  if (/\byesterday\b/.test(q)) back = 1;
  else if (/\b(today|this morning|earlier today)\b/.test(q)) back = 0;
  else {
    const day = WEEKDAY_NAMES.findIndex((d) => new RegExp(`\\b${d}\\b`).test(q));
    if (day >= 0) back = ((today.weekday - day + 7) % 7) || 7;
  }
  if (back === null) return null;
  const date = addDays(today, -back);
  const from = zonedTimeToUtc(date, 0, 0, timeZone);
  const to = zonedTimeToUtc(addDays(date, 1), 0, 0, timeZone);
  return { from, to };
}

/** The `search_past_calls` tool's answer: a compact JSON the LLM can quote from. */
export async function searchPastCalls(
  db: Db,
  ctx: { userId: string; personaId: string; currentCallId?: string },
  query: string,
): Promise<{ results: Array<{ date: string; summary: string | null; lines: string[] }> }> {
  const q = query.trim().slice(0, 200);
  if (!q) return { results: [] };
  // "What did we talk about last Tuesday": the calls of that day, by the user's clock.
  const [user] = await db.select({ timezone: users.timezone }).from(users).where(eq(users.id, ctx.userId)).limit(1);
  const day = namedDay(q, new Date(), user?.timezone ?? "UTC");
  if (day) {
    const onDay = await db
      .select({ id: calls.id, createdAt: calls.createdAt, summary: calls.summary })
      .from(calls)
      .where(
        and(
          eq(calls.userId, ctx.userId),
          eq(calls.personaId, ctx.personaId),
          gte(calls.createdAt, day.from),
          lt(calls.createdAt, day.to),
          ctx.currentCallId ? sql`${calls.id} <> ${ctx.currentCallId}` : sql`true`,
        ),
      )
      .orderBy(desc(calls.createdAt))
      .limit(3);
    if (onDay.length > 0) {
      const lines = await db
        .select({ callId: callTurns.callId, text: callTurns.text })
        .from(callTurns)
        .where(and(inArray(callTurns.callId, onDay.map((c) => c.id)), eq(callTurns.speaker, "user")))
        .orderBy(callTurns.callId, callTurns.seq);
      return {
        results: onDay.map((c) => ({
          date: c.createdAt.toISOString().slice(0, 10),
          summary: c.summary,
          lines: lines.filter((l) => l.callId === c.id).slice(0, 3).map((l) => `User: ${l.text}`),
        })),
      };
    }
  }
  let found = await searchCalls(db, ctx.userId, q, { personaId: ctx.personaId, limit: 3, excludeCallId: ctx.currentCallId });
  if (found.length === 0) {
    // Natural questions ("what did we talk about last Tuesday") rarely match every word: any word will do.
    const words = q.toLowerCase().match(/[\p{L}\p{N}']{3,}/gu) ?? [];
    if (words.length > 1) found = await searchCalls(db, ctx.userId, words.join(" OR "), { personaId: ctx.personaId, limit: 3, excludeCallId: ctx.currentCallId });
  }
  if (found.length === 0) {
    // Nothing matched: the most recent summaries are the best answer.
    const recent = await db
      .select({ createdAt: calls.createdAt, summary: calls.summary })
      .from(calls)
      .where(and(eq(calls.userId, ctx.userId), eq(calls.personaId, ctx.personaId), sql`${calls.summary} IS NOT NULL`, ctx.currentCallId ? sql`${calls.id} <> ${ctx.currentCallId}` : sql`true`))
      .orderBy(desc(calls.createdAt))
      .limit(3);
    return { results: recent.map((r) => ({ date: r.createdAt.toISOString().slice(0, 10), summary: r.summary, lines: [] })) };
  }
  return {
    results: found.map((f) => ({
      date: f.call.createdAt.slice(0, 10),
      summary: f.call.summary,
      lines: f.snippets.map((s) => `${s.speaker === "user" ? "User" : f.call.personaName}: ${s.snippet.replace(/[«»]/g, "")}`),
    })),
  };
}
