/**
 * Storage for one call inside its CallSession Durable Object (SQLite-backed storage, synchronous
 * `sql.exec`): the call's setup and state, every finished turn and every timeline event written the
 * moment they happen, each with a `flushed` flag so batches can be copied to Postgres idempotently
 * (turns by `(call_id, seq)`, events by `event_key`) and a restarted object rebuilds from here.
 * Also the pure mapping from pipeline turn records to the contract's `CallTurn`.
 */
import type { CallEndReason, CallStatus, CallTurn, TurnLatency } from "../contracts/calls";
import type { TurnRecord } from "./pipeline/events";

/** What the Worker hands the Durable Object when a call is created. */
export interface CallSetup {
  callId: string;
  userId: string;
  personaId: string;
  personaName: string;
  systemPrompt: string;
  voiceId: string;
  greeting: string | null;
  durationLimitS: number;
  transport: "phone" | "browser";
  twilioCallSid: string | null;
  createdAt: string;
}

/** Lifecycle state kept across restarts. */
export interface CallState {
  status: CallStatus;
  endReason: CallEndReason | null;
  /** Epoch ms the media stream started (duration limit counts from here). */
  streamStartedAt: number | null;
  answeredBy: string | null;
  /** The pipeline asked to hang up (or the user ended the call). */
  hangupRequested: boolean;
  /** Terminal: sockets closed, transcript written, call finalized. */
  finished: boolean;
  durationS: number | null;
}

export const INITIAL_STATE: CallState = {
  status: "queued",
  endReason: null,
  streamStartedAt: null,
  answeredBy: null,
  hangupRequested: false,
  finished: false,
  durationS: null,
};

export interface StoredEvent {
  key: string;
  at: number;
  type: string;
  service: string | null;
  message: string;
  data: Record<string, unknown>;
}

const round = (v: number | null | undefined): number | null => (typeof v === "number" && Number.isFinite(v) ? Math.round(v) : null);
const since = (ref: number | null, at: number | null): number | null => (ref === null || at === null ? null : Math.max(0, Math.round(at - ref)));

/** The latency breakdown stored with a turn: contract fields (ms from the end of caller speech) plus stage durations. */
export function latencyOf(turn: TurnRecord): (Partial<TurnLatency> & Record<string, number | boolean | null>) | null {
  const l = turn.latency;
  if (!l) return null;
  const ref = l.referenceAt;
  return {
    endOfSpeechToFinalMs: l.speechEndAt !== null && l.finalTranscriptAt !== null ? since(l.speechEndAt, l.finalTranscriptAt) : null,
    llmFirstTokenMs: since(ref, l.llmFirstTokenAt),
    ttsFirstByteMs: since(ref, l.ttsFirstByteAt),
    firstAudioSentMs: round(l.responseMs) ?? since(ref, l.firstAudioSentAt),
    firstMarkHeardMs: round(l.heardMs) ?? since(ref, l.firstMarkAt),
    speculative: l.speculative === "hit",
    fallback: l.fallbackUsed,
    sttMs: round(l.sttMs),
    llmTtftMs: round(l.llmTtftMs),
    ttsTtfbMs: round(l.ttsTtfbMs),
  };
}

/** A finished pipeline turn as the contract's CallTurn with its call-wide sequence number. */
export function toCallTurn(turn: TurnRecord, seq: number): CallTurn {
  return {
    seq,
    speaker: turn.speaker === "caller" ? "user" : "assistant",
    text: turn.text,
    interrupted: turn.interrupted,
    startedAt: new Date(turn.startedAt).toISOString(),
    endedAt: new Date(turn.endedAt).toISOString(),
    latency: latencyOf(turn),
  };
}

/** Synchronous storage over the Durable Object's SQLite. */
export class CallStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS turns (seq INTEGER PRIMARY KEY, body TEXT NOT NULL, flushed INTEGER NOT NULL DEFAULT 0)`);
    sql.exec(
      `CREATE TABLE IF NOT EXISTS events (key TEXT PRIMARY KEY, at INTEGER NOT NULL, body TEXT NOT NULL, flushed INTEGER NOT NULL DEFAULT 0)`,
    );
  }

  get<T>(k: string): T | null {
    const row = this.sql.exec<{ v: string }>(`SELECT v FROM kv WHERE k = ?`, k).toArray()[0];
    return row ? (JSON.parse(row.v) as T) : null;
  }

  put(k: string, v: unknown): void {
    this.sql.exec(`INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, k, JSON.stringify(v));
  }

  nextSeq(): number {
    const row = this.sql.exec<{ n: number | null }>(`SELECT MAX(seq) AS n FROM turns`).toArray()[0];
    return (row?.n ?? -1) + 1;
  }

  addTurn(turn: CallTurn): void {
    this.sql.exec(`INSERT OR IGNORE INTO turns (seq, body) VALUES (?, ?)`, turn.seq, JSON.stringify(turn));
  }

  turns(): CallTurn[] {
    return this.sql
      .exec<{ body: string }>(`SELECT body FROM turns ORDER BY seq`)
      .toArray()
      .map((r) => JSON.parse(r.body) as CallTurn);
  }

  addEvent(e: StoredEvent): void {
    this.sql.exec(`INSERT OR IGNORE INTO events (key, at, body) VALUES (?, ?, ?)`, e.key, e.at, JSON.stringify(e));
  }

  eventCount(): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM events`).toArray()[0]?.n ?? 0;
  }

  unflushed(limit = 200): { turns: CallTurn[]; events: StoredEvent[] } {
    const turns = this.sql
      .exec<{ body: string }>(`SELECT body FROM turns WHERE flushed = 0 ORDER BY seq LIMIT ?`, limit)
      .toArray()
      .map((r) => JSON.parse(r.body) as CallTurn);
    const events = this.sql
      .exec<{ body: string }>(`SELECT body FROM events WHERE flushed = 0 ORDER BY at LIMIT ?`, limit)
      .toArray()
      .map((r) => JSON.parse(r.body) as StoredEvent);
    return { turns, events };
  }

  markFlushed(turnSeqs: number[], eventKeys: string[]): void {
    for (const s of turnSeqs) this.sql.exec(`UPDATE turns SET flushed = 1 WHERE seq = ?`, s);
    for (const k of eventKeys) this.sql.exec(`UPDATE events SET flushed = 1 WHERE key = ?`, k);
  }

  hasUnflushed(): boolean {
    const t = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM turns WHERE flushed = 0`).toArray()[0]?.n ?? 0;
    const e = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM events WHERE flushed = 0`).toArray()[0]?.n ?? 0;
    return t + e > 0;
  }
}
