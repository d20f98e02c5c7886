/**
 * Calls: `placeCall` is the one path for "Call me now", scheduled calls and browser calls — it
 * checks the user may call (persona readable, verified phone for phone calls, no concurrent call
 * via the `calls_one_active_per_user` index), creates the call row, hands the call's setup to its
 * CallSession Durable Object and, for phone calls, asks Twilio for an outbound call whose inline
 * TwiML connects a bidirectional Media Stream to that Durable Object (the URL names only the call;
 * the signed stream token rides in a `<Parameter>`, checked by the Durable Object at `start`).
 * Also: the Call DTO, call detail with turns, monotonic status updates from Twilio callbacks, and
 * ending a call on the user's request.
 */
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import VoiceResponse from "twilio/lib/twiml/VoiceResponse";
import { CALL_OPTIONS, EXTENSION, type Call, type CallMinutes, type CallStatus, type CallTurn, type TurnLatency } from "../../contracts/calls";
import type { CallSetup } from "../../durable-objects/call-store";
import type { Db } from "../db/client";
import { callTurns, calls, personas, userPersonaRelationships, users } from "../db/schema";
import type { Config } from "../env";
import { AppError, conflict, notFound, postgresCode } from "../errors";
import { maskPhone, type Logger } from "../log";
import { authorizeCallPayment } from "./billing";
import { finalizeCall } from "./call-finalize";
import { buildCallPrompt } from "./memory";
import { signStreamToken, STREAM_TOKEN_PARAM } from "./stream-token";
import { createCall, TwilioError } from "./twilio-rest";
import { latencyView } from "./timeline";

export interface CallDeps {
  db: Db;
  config: Config;
  callSessions: Env["CALL_SESSION"];
  log?: Logger;
}

export type CallRow = typeof calls.$inferSelect;

/** Seconds a phone rings before Twilio gives up. */
export const RING_TIMEOUT_S = 30;
/** Validity of the stream token in the TwiML (ringing + answering fits well inside). */
export const STREAM_TOKEN_TTL_S = 300;
/** Twilio's TimeLimit is the call limit plus this margin (the Durable Object ends the call first). */
export const TIME_LIMIT_MARGIN_S = 60;

const ACTIVE: CallStatus[] = ["queued", "initiated", "ringing", "in_progress"];
const RANK: Record<CallStatus, number> = {
  queued: 0,
  initiated: 1,
  ringing: 2,
  in_progress: 3,
  completed: 4,
  busy: 4,
  no_answer: 4,
  failed: 4,
  canceled: 4,
};

export function isTerminal(status: CallStatus): boolean {
  return RANK[status] === 4;
}

/** Twilio's `CallStatus` value (`in-progress`, `no-answer`…) as ours, or null if unknown. */
export function fromTwilioStatus(value: string | undefined): CallStatus | null {
  switch (value) {
    case "queued":
    case "initiated":
    case "ringing":
    case "completed":
    case "busy":
    case "failed":
    case "canceled":
      return value;
    case "in-progress":
    case "answered":
      return "in_progress";
    case "no-answer":
      return "no_answer";
    default:
      return null;
  }
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toCallDto(row: CallRow, personaName: string): Call {
  return {
    id: row.id,
    personaId: row.personaId,
    personaName,
    transport: row.transport,
    toPhoneMasked: row.toPhone ? maskPhone(row.toPhone) : null,
    status: row.status,
    endReason: row.endReason,
    answeredBy: row.answeredBy,
    durationLimitS: row.durationLimitS,
    durationS: row.durationS,
    priceMicros: row.priceMicros,
    chargeMicros: row.chargeMicros,
    costMicros: row.costMicros,
    isFreeTrial: row.isFreeTrial,
    createdAt: row.createdAt.toISOString(),
    answeredAt: iso(row.answeredAt),
    endedAt: iso(row.endedAt),
  };
}

/** A stored latency object as the contract's TurnLatency (unknown keys dropped). */
export function toLatencyDto(raw: Record<string, unknown> | null): Partial<TurnLatency> | null {
  return latencyView(raw);
}

/** The call row and persona name if `userId` owns the call, else 404. */
export async function getOwnedCall(db: Db, userId: string, callId: string): Promise<{ row: CallRow; personaName: string }> {
  const rows = await db
    .select({ row: calls, personaName: personas.name })
    .from(calls)
    .innerJoin(personas, eq(personas.id, calls.personaId))
    .where(and(eq(calls.id, callId), eq(calls.userId, userId)))
    .limit(1);
  const r = rows[0];
  if (!r) throw notFound("Call");
  return r;
}

export async function getCallTurns(db: Db, callId: string): Promise<CallTurn[]> {
  const rows = await db.select().from(callTurns).where(eq(callTurns.callId, callId)).orderBy(asc(callTurns.seq));
  return rows.map((t) => ({
    seq: t.seq,
    speaker: t.speaker,
    text: t.text,
    interrupted: t.interrupted,
    startedAt: t.startedAt.toISOString(),
    endedAt: iso(t.endedAt),
    latency: toLatencyDto(t.latency),
  }));
}

export async function getCallDetail(db: Db, userId: string, callId: string): Promise<{ call: Call; turns: CallTurn[] }> {
  const { row, personaName } = await getOwnedCall(db, userId, callId);
  return { call: toCallDto(row, personaName), turns: await getCallTurns(db, callId) };
}

export interface PlaceCallInput {
  userId: string;
  personaId: string;
  durationMinutes: CallMinutes;
  transport: "phone" | "browser";
  scheduledCallId?: string | null;
}

/**
 * The stream URL Twilio connects to (ws(s) of PUBLIC_BASE_URL); Twilio signs exactly this URL.
 * It names the call and nothing secret.
 */
export function streamUrl(publicBaseUrl: string, callId: string): string {
  return `${publicBaseUrl.replace(/^http/, "ws")}/twilio/stream/${callId}`;
}

/** `<Connect><Stream>` to the call's Durable Object; the stream token is a `<Parameter>`, never in the URL. */
export function streamTwiml(config: Pick<Config, "publicBaseUrl">, callId: string, token: string): string {
  const response = new VoiceResponse();
  const connect = response.connect();
  const stream = connect.stream({
    url: streamUrl(config.publicBaseUrl, callId),
    statusCallback: `${config.publicBaseUrl}/twilio/stream-status/${callId}`,
    statusCallbackMethod: "POST",
  });
  stream.parameter({ name: "callId", value: callId });
  stream.parameter({ name: STREAM_TOKEN_PARAM, value: token });
  return response.toString();
}

export async function placeCall(deps: CallDeps, input: PlaceCallInput): Promise<Call> {
  const { db, config } = deps;
  const personaRows = await db
    .select({ persona: personas, rel: userPersonaRelationships })
    .from(personas)
    .leftJoin(
      userPersonaRelationships,
      and(eq(userPersonaRelationships.personaId, personas.id), eq(userPersonaRelationships.userId, input.userId)),
    )
    .where(
      and(
        eq(personas.id, input.personaId),
        sql`${personas.deletedAt} IS NULL`,
        sql`(${personas.isSystem} OR ${personas.visibility} = 'public' OR ${personas.ownerId} = ${input.userId})`,
      ),
    )
    .limit(1);
  const p = personaRows[0];
  if (!p) throw notFound("Persona");
  const [user] = await db.select().from(users).where(eq(users.id, input.userId)).limit(1);
  if (!user) throw notFound("User");
  if (input.transport === "phone" && (!user.phone || !user.phoneVerifiedAt)) {
    throw new AppError("forbidden", "Verify your phone number before placing a call");
  }
  const option = CALL_OPTIONS.find((o) => o.minutes === input.durationMinutes) ?? CALL_OPTIONS[1];
  let row: CallRow | undefined;
  try {
    [row] = await db
      .insert(calls)
      .values({
        userId: input.userId,
        personaId: p.persona.id,
        scheduledCallId: input.scheduledCallId ?? null,
        transport: input.transport,
        toPhone: input.transport === "phone" ? user.phone : null,
        status: "queued",
        durationLimitS: option.minutes * 60,
        priceMicros: option.priceMicros,
      })
      .returning();
  } catch (err) {
    if (postgresCode(err) === "23505") throw conflict("You already have a call in progress");
    throw err;
  }
  if (!row) throw new Error("call insert returned nothing");
  let call = row;
  // Money: free trial, credits or a manual-capture card hold for the price — before dialling.
  try {
    const paid = await authorizeCallPayment({ db, config }, { callId: call.id, userId: call.userId, minutes: option.minutes });
    call = { ...call, priceMicros: paid.priceMicros, isFreeTrial: paid.isFreeTrial };
  } catch (err) {
    await finalizeCall(deps, call.id, { status: "failed", endReason: "error", error: "payment not authorised" });
    throw err;
  }

  const setup: CallSetup = {
    callId: call.id,
    userId: call.userId,
    personaId: p.persona.id,
    personaName: p.persona.name,
    // persona prompt + the user's override + long-term facts + recent summaries, within the memory budget
    systemPrompt: (await buildCallPrompt(db, { userId: call.userId, personaId: p.persona.id })).prompt,
    voiceId: p.rel?.customVoiceId ?? p.persona.voiceId,
    greeting: p.persona.greeting,
    durationLimitS: call.durationLimitS,
    transport: call.transport,
    twilioCallSid: null,
    createdAt: call.createdAt.toISOString(),
  };
  const stub = deps.callSessions.get(deps.callSessions.idFromName(call.id));
  try {
    await stub.setup(setup);
  } catch (err) {
    await finalizeCall(deps, call.id, { status: "failed", endReason: "error", error: "call session unavailable" });
    throw err;
  }
  if (call.transport === "browser") return toCallDto(call, p.persona.name);

  const { token } = await signStreamToken(config.auth.jwtSecret, { callId: call.id, purpose: "twilio" }, STREAM_TOKEN_TTL_S);
  try {
    const created = await createCall(config, {
      to: user.phone as string,
      twiml: streamTwiml(config, call.id, token),
      statusCallback: `${config.publicBaseUrl}/twilio/status/${call.id}`,
      timeoutS: RING_TIMEOUT_S,
      // Room for an accepted extension (+5 min); the pipeline enforces the bought time itself.
      timeLimitS: call.durationLimitS + (call.isFreeTrial ? 0 : EXTENSION.minutes * 60) + TIME_LIMIT_MARGIN_S,
      asyncAmdStatusCallback: `${config.publicBaseUrl}/twilio/amd/${call.id}`,
    });
    const [updated] = await db
      .update(calls)
      .set({ twilioCallSid: created.sid, updatedAt: new Date() })
      .where(eq(calls.id, call.id))
      .returning();
    await stub.setTwilioCallSid(created.sid);
    deps.log?.info("call placed", { callId: call.id, userId: call.userId, to: maskPhone(user.phone as string) });
    return toCallDto(updated ?? call, p.persona.name);
  } catch (err) {
    const message = err instanceof TwilioError ? err.message : "could not reach Twilio";
    deps.log?.warn("call placement failed", { callId: call.id, err });
    await stub.terminal({ status: "failed", endReason: "error", error: message }).catch(() =>
      finalizeCall(deps, call.id, { status: "failed", endReason: "error", error: message }),
    );
    throw new AppError("internal", "The call could not be placed. Please try again.", { status: 502 });
  }
}

export interface StatusUpdate {
  status: CallStatus;
  answeredBy?: string | null;
  durationS?: number;
}

/**
 * Applies a status from a Twilio callback, monotonically: a status is only written over an
 * earlier one (queued < initiated < ringing < in_progress < terminal), so out-of-order or
 * duplicated callbacks never move a call backwards. Returns true when the row changed.
 */
export async function applyCallStatus(db: Db, callId: string, update: StatusUpdate): Promise<boolean> {
  const lower = (Object.keys(RANK) as CallStatus[]).filter((s) => RANK[s] < RANK[update.status]);
  if (lower.length === 0) return false;
  const rows = await db
    .update(calls)
    .set({
      status: update.status,
      ...(update.status === "ringing" ? { ringingAt: sql`COALESCE(${calls.ringingAt}, now())` } : {}),
      ...(update.status === "in_progress" ? { answeredAt: sql`COALESCE(${calls.answeredAt}, now())` } : {}),
      ...(update.answeredBy ? { answeredBy: update.answeredBy } : {}),
      ...(isTerminal(update.status) && update.durationS !== undefined ? { durationS: update.durationS } : {}),
      updatedAt: new Date(),
    })
    .where(and(eq(calls.id, callId), inArray(calls.status, lower)))
    .returning({ id: calls.id });
  return rows.length > 0;
}

/** Is the call still live (not terminal)? */
export function isActive(status: CallStatus): boolean {
  return ACTIVE.includes(status);
}
