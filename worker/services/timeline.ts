/**
 * The per-call timeline in Postgres (`call_events`): `recordEvent` / `recordEvents` write
 * lifecycle and pipeline events idempotently (a re-sent `eventKey` is ignored), and the reading
 * side answers the operator's questions: `searchEvents` (text / call / service / type / since,
 * newest first, only the matching lines) and `getCallTimeline` (one call, every event in order,
 * plus its turns with their latency breakdown). Event text is redacted before it is stored, so a
 * timeline never holds a full phone number or an email address. Reads only; no HTTP here.
 */
import { and, asc, desc, eq, gte, ilike, or, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { callEvents, callTurns, calls, personas } from "../db/schema";
import { maskPhone, redactText } from "../log";

/** One timeline event as a producer hands it over. */
export interface TimelineEventInput {
  callId: string;
  /** Idempotency key within the call (e.g. `status:ringing`, `turn:3`, `seq:17`); random when absent. */
  eventKey?: string;
  /** When it happened; now when absent. */
  at?: Date;
  /** Dotted kind, e.g. `status`, `stream.start`, `turn`, `barge_in`, `provider.reconnect`, `provider.fallback`, `budget.warning`, `cost.total`. */
  type: string;
  /** The vendor/component it concerns: twilio, deepgram, elevenlabs, cerebras, openai, stripe, pipeline, worker… */
  service?: string | null;
  message?: string;
  data?: Record<string, unknown>;
}

/** Largest message stored (longer text is cut). */
const MAX_MESSAGE = 2_000;

const SECRET_KEY = /pass(word)?|secret|authorization|api[-_]?key|cookie|credential|signature|^(access_|refresh_|auth_)?token$/i;

/**
 * Event data as stored: strings are redacted (phones, emails), string values under secret-looking
 * keys are dropped; numbers (e.g. `inputTokens`) and flags are kept as they are.
 */
function redactData(value: unknown, depth = 0): unknown {
  if (depth > 6) return "[depth]";
  if (typeof value === "string") return redactText(value);
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redactData(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_KEY.test(k) && typeof v !== "number" && typeof v !== "boolean") continue;
    out[k] = redactData(v, depth + 1);
  }
  return out;
}

function toRow(e: TimelineEventInput) {
  const data = redactData(e.data ?? {});
  return {
    callId: e.callId,
    eventKey: e.eventKey ?? crypto.randomUUID(),
    at: e.at ?? new Date(),
    type: e.type,
    service: e.service ?? null,
    message: redactText(e.message ?? "").slice(0, MAX_MESSAGE),
    data: (typeof data === "object" && data !== null && !Array.isArray(data) ? data : {}) as Record<string, unknown>,
  };
}

/** Store one event; a repeated `(callId, eventKey)` is a no-op. Returns true when it was new. */
export async function recordEvent(db: Db, event: TimelineEventInput): Promise<boolean> {
  const rows = await db.insert(callEvents).values(toRow(event)).onConflictDoNothing().returning({ id: callEvents.id });
  return rows.length > 0;
}

/** Store a batch in one statement (DO flushes); repeated keys are skipped. Returns how many were new. */
export async function recordEvents(db: Db, events: readonly TimelineEventInput[]): Promise<number> {
  if (events.length === 0) return 0;
  const rows = await insertEventsQuery(db, events);
  return rows.length;
}

/** The insert `recordEvents` runs (non-empty `events`), unexecuted: for a caller that batches it. */
export function insertEventsQuery(db: Db, events: readonly TimelineEventInput[]) {
  return db.insert(callEvents).values(events.map(toRow)).onConflictDoNothing().returning({ id: callEvents.id });
}

export interface SearchEventsQuery {
  /** Case-insensitive substring of the message, the type or the data. */
  text?: string;
  callId?: string;
  service?: string;
  type?: string;
  since?: Date;
  /** @default 50, at most 500 */
  limit?: number;
}

export interface EventLine {
  at: string;
  callId: string;
  type: string;
  service: string | null;
  message: string;
  data: Record<string, unknown>;
}

/** Escape `%`, `_` and `\` for ILIKE. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
}

/** Matching events, newest first. */
export async function searchEvents(db: Db, q: SearchEventsQuery): Promise<EventLine[]> {
  const where: SQL[] = [];
  if (q.callId) where.push(eq(callEvents.callId, q.callId));
  if (q.service) where.push(eq(callEvents.service, q.service));
  if (q.type) where.push(eq(callEvents.type, q.type));
  if (q.since) where.push(gte(callEvents.at, q.since));
  if (q.text) {
    const p = likePattern(q.text);
    const match = or(ilike(callEvents.message, p), ilike(callEvents.type, p), sql`${callEvents.data}::text ILIKE ${p}`);
    if (match) where.push(match);
  }
  const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
  const rows = await db
    .select({
      at: callEvents.at,
      callId: callEvents.callId,
      type: callEvents.type,
      service: callEvents.service,
      message: callEvents.message,
      data: callEvents.data,
    })
    .from(callEvents)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(callEvents.at), desc(callEvents.id))
    .limit(limit);
  return rows.map((r) => ({ ...r, at: r.at.toISOString() }));
}

/** Per-turn latency, ms from the end of the caller's speech (contracts/calls.ts TurnLatency). */
export interface TurnLatencyView {
  endOfSpeechToFinalMs: number | null;
  llmFirstTokenMs: number | null;
  ttsFirstByteMs: number | null;
  firstAudioSentMs: number | null;
  firstMarkHeardMs: number | null;
  speculative: boolean;
  fallback: boolean;
}

export interface TimelineTurn {
  seq: number;
  speaker: "user" | "assistant" | "system";
  text: string;
  interrupted: boolean;
  startedAt: string;
  endedAt: string | null;
  latency: TurnLatencyView | null;
}

export interface CallTimeline {
  call: {
    id: string;
    userId: string;
    personaId: string;
    personaName: string;
    transport: "phone" | "browser";
    toPhoneMasked: string | null;
    status: string;
    endReason: string | null;
    durationS: number | null;
    costMicros: number;
    chargeMicros: number | null;
    createdAt: string;
    answeredAt: string | null;
    endedAt: string | null;
  };
  events: EventLine[];
  turns: TimelineTurn[];
}

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** Normalise a stored `call_turns.latency` object (unknown keys dropped). */
export function latencyView(raw: Record<string, unknown> | null | undefined): TurnLatencyView | null {
  if (!raw) return null;
  return {
    endOfSpeechToFinalMs: num(raw.endOfSpeechToFinalMs),
    llmFirstTokenMs: num(raw.llmFirstTokenMs),
    ttsFirstByteMs: num(raw.ttsFirstByteMs),
    firstAudioSentMs: num(raw.firstAudioSentMs),
    firstMarkHeardMs: num(raw.firstMarkHeardMs),
    speculative: raw.speculative === true,
    fallback: raw.fallback === true,
  };
}

/** Response latency of a turn: end of caller speech → first reply audio sent (the first mark echoes after a sentence played). */
export function responseLatencyMs(l: TurnLatencyView | null): number | null {
  if (!l) return null;
  return l.firstAudioSentMs;
}

/** One call with every event in order and its turns; null when the call does not exist. */
export async function getCallTimeline(db: Db, callId: string): Promise<CallTimeline | null> {
  const [callRows, eventRows, turnRows] = await db.batch([
    db
      .select({
        id: calls.id,
        userId: calls.userId,
        personaId: calls.personaId,
        personaName: personas.name,
        transport: calls.transport,
        toPhone: calls.toPhone,
        status: calls.status,
        endReason: calls.endReason,
        durationS: calls.durationS,
        costMicros: calls.costMicros,
        chargeMicros: calls.chargeMicros,
        createdAt: calls.createdAt,
        answeredAt: calls.answeredAt,
        endedAt: calls.endedAt,
      })
      .from(calls)
      .innerJoin(personas, eq(personas.id, calls.personaId))
      .where(eq(calls.id, callId))
      .limit(1),
    db
      .select({
        at: callEvents.at,
        callId: callEvents.callId,
        type: callEvents.type,
        service: callEvents.service,
        message: callEvents.message,
        data: callEvents.data,
      })
      .from(callEvents)
      .where(eq(callEvents.callId, callId))
      // same-millisecond events: producer sequence keys (`seq:N`) in numeric order, then the rest
      .orderBy(asc(callEvents.at), sql`substring(${callEvents.eventKey} from '^seq:([0-9]{1,9})$')::int NULLS FIRST`, asc(callEvents.eventKey))
      .limit(5_000),
    db.select().from(callTurns).where(eq(callTurns.callId, callId)).orderBy(asc(callTurns.seq)),
  ]);
  const c = callRows[0];
  if (!c) return null;
  return {
    call: {
      id: c.id,
      userId: c.userId,
      personaId: c.personaId,
      personaName: c.personaName,
      transport: c.transport,
      toPhoneMasked: c.toPhone ? maskPhone(c.toPhone) : null,
      status: c.status,
      endReason: c.endReason,
      durationS: c.durationS,
      costMicros: c.costMicros,
      chargeMicros: c.chargeMicros,
      createdAt: c.createdAt.toISOString(),
      answeredAt: c.answeredAt?.toISOString() ?? null,
      endedAt: c.endedAt?.toISOString() ?? null,
    },
    events: eventRows.map((e) => ({ ...e, at: e.at.toISOString() })),
    turns: turnRows.map((t) => ({
      seq: t.seq,
      speaker: t.speaker,
      text: t.text,
      interrupted: t.interrupted,
      startedAt: t.startedAt.toISOString(),
      endedAt: t.endedAt?.toISOString() ?? null,
      latency: latencyView(t.latency),
    })),
  };
}
