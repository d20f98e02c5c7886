/**
 * Calls: placing a call, the call resource, phone verification, and the live event stream
 * (SSE from the call's Durable Object through the Worker to the SPA). Pure zod, shared by the
 * Worker, the Durable Object and the SPA.
 */
import { z } from "zod";
import { E164, Id, IsoDate } from "./common";

/** Call lengths a user can buy, with their prices (the seed's price list). */
export const CALL_OPTIONS = [
  { minutes: 3, priceMicros: 3_990_000 },
  { minutes: 5, priceMicros: 4_990_000 },
  { minutes: 10, priceMicros: 7_990_000 },
  { minutes: 15, priceMicros: 10_990_000 },
] as const;
export const DEFAULT_CALL_MINUTES = 5;
/** Mid-call extension: +5 minutes for $2.99. */
export const EXTENSION = { minutes: 5, priceMicros: 2_990_000 } as const;

export const CallMinutes = z.union([z.literal(3), z.literal(5), z.literal(10), z.literal(15)]);
export type CallMinutes = z.infer<typeof CallMinutes>;

/** Call lifecycle (Twilio's statuses, snake_case); also the Postgres enum `call_status`. */
export const CALL_STATUSES = [
  "queued",
  "initiated",
  "ringing",
  "in_progress",
  "completed",
  "busy",
  "no_answer",
  "failed",
  "canceled",
] as const;
export const CallStatus = z.enum(CALL_STATUSES);
export type CallStatus = z.infer<typeof CallStatus>;
export const ACTIVE_CALL_STATUSES: readonly CallStatus[] = ["queued", "initiated", "ringing", "in_progress"];

export const CallEndReason = z.enum([
  "caller_hung_up",
  "persona_hung_up",
  "user_ended",
  "duration_limit",
  "budget_limit",
  "voicemail",
  "not_answered",
  "error",
]);
export type CallEndReason = z.infer<typeof CallEndReason>;

/** `POST /api/calls` */
export const PlaceCallRequest = z.object({
  personaId: Id,
  durationMinutes: CallMinutes.default(DEFAULT_CALL_MINUTES),
  /** "phone" dials the user's verified number; "browser" talks over the page (no phone). */
  transport: z.enum(["phone", "browser"]).default("phone"),
});
export type PlaceCallRequest = z.infer<typeof PlaceCallRequest>;

/** Per-turn latency breakdown, ms from the end of the caller's speech. */
export const TurnLatency = z.object({
  endOfSpeechToFinalMs: z.number().nullable(),
  llmFirstTokenMs: z.number().nullable(),
  ttsFirstByteMs: z.number().nullable(),
  firstAudioSentMs: z.number().nullable(),
  firstMarkHeardMs: z.number().nullable(),
  speculative: z.boolean().optional(),
  fallback: z.boolean().optional(),
});
export type TurnLatency = z.infer<typeof TurnLatency>;

export const CallTurn = z.object({
  seq: z.number().int(),
  speaker: z.enum(["user", "assistant", "system"]),
  text: z.string(),
  interrupted: z.boolean(),
  startedAt: IsoDate,
  endedAt: IsoDate.nullable(),
  latency: TurnLatency.partial().nullable(),
});
export type CallTurn = z.infer<typeof CallTurn>;

export const Call = z.object({
  id: Id,
  personaId: Id,
  personaName: z.string(),
  transport: z.enum(["phone", "browser"]),
  /** Masked: all but the last 4 digits hidden. */
  toPhoneMasked: z.string().nullable(),
  status: CallStatus,
  endReason: CallEndReason.nullable(),
  answeredBy: z.string().nullable(),
  durationLimitS: z.number().int(),
  durationS: z.number().int().nullable(),
  priceMicros: z.number().int(),
  chargeMicros: z.number().int().nullable(),
  costMicros: z.number().int(),
  isFreeTrial: z.boolean(),
  createdAt: IsoDate,
  answeredAt: IsoDate.nullable(),
  endedAt: IsoDate.nullable(),
});
export type Call = z.infer<typeof Call>;

export const CallResponse = z.object({ call: Call });
export const CallDetailResponse = z.object({ call: Call, turns: z.array(CallTurn) });

/** Phone verification: `POST /api/user/phone/verify` then `POST /api/user/phone/verify/check`. */
export const StartPhoneVerificationRequest = z.object({ phone: E164.optional() });
export const CheckPhoneVerificationRequest = z.object({ code: z.string().trim().regex(/^[0-9]{4,10}$/, "Enter the code from the text message") });

/**
 * Live events (`GET /api/calls/:id/events`, text/event-stream; each SSE `data:` is one of these).
 * The first event is always a `snapshot`; `ended` is the last.
 */
export const LiveEvent = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("snapshot"),
    call: Call,
    turns: z.array(CallTurn),
    speaking: z.enum(["persona", "caller", "none"]),
  }),
  z.object({ type: z.literal("status"), status: CallStatus, at: IsoDate }),
  z.object({ type: z.literal("interim"), text: z.string() }),
  z.object({ type: z.literal("turn"), turn: CallTurn }),
  z.object({ type: z.literal("speaking"), who: z.enum(["persona", "caller", "none"]) }),
  z.object({
    type: z.literal("cost"),
    totalMicros: z.number(),
    byService: z.record(z.string(), z.number()),
  }),
  z.object({ type: z.literal("notice"), message: z.string() }),
  z.object({ type: z.literal("ended"), status: CallStatus, reason: CallEndReason.nullable(), durationS: z.number().nullable() }),
]);
export type LiveEvent = z.infer<typeof LiveEvent>;

/** `POST /api/user/phone/verify` response. */
export const StartPhoneVerificationResponse = z.object({
  status: z.enum(["pending", "already_verified"]),
  phoneMasked: z.string(),
  expiresAt: IsoDate.nullable(),
});
/** `POST /api/user/phone/verify/check` response. */
export const CheckPhoneVerificationResponse = z.object({ verified: z.literal(true) });

/**
 * `POST /api/calls/:id/ticket` → a short-lived ticket for the sockets browsers cannot add headers to:
 * purpose "browser" (single use) authenticates the browser call socket `GET /api/calls/:id/browser`
 * (`url`, which carries no secret): the socket speaks the Twilio Media Streams JSON protocol
 * (connected/start/media/mark/stop in, media/mark/clear out) and sends the ticket as
 * `start.customParameters.token`; without a valid one the socket is closed (1008) before any audio.
 * Purpose "events" lets an `EventSource` open `GET /api/calls/:id/events?ticket=`.
 */
export const CallTicketRequest = z.object({ purpose: z.enum(["browser", "events"]).default("browser") });
export const CallTicketResponse = z.object({ ticket: z.string(), url: z.string(), expiresAt: IsoDate });
