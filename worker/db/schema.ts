/**
 * The whole data model in Postgres (drizzle-orm, pg-core). drizzle-kit generates `migrations/`
 * from this file; the Worker, the Durable Object flushes, the cron jobs and the scripts all use it.
 *
 * Conventions: uuid keys, timestamptz everywhere, money as integer micro-dollars (`…Micros`,
 * bigint) or Stripe's integer cents (`…Cents`) — never floats; vendor unit rates, which can be
 * fractions of a micro-dollar (LLM tokens), are `numeric`. Statuses are Postgres enums.
 */
import { sql } from "drizzle-orm";
import { CALL_STATUSES } from "../../contracts/calls";
import {
  bigint,
  boolean,
  check,
  customType,
  index,
  integer,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

const tsvector = customType<{ data: string }>({
  dataType() {
    return "tsvector";
  },
});

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();
const id = () => uuid("id").primaryKey().defaultRandom();
/** The owning user; rows go with the account. */
const userRef = () =>
  uuid("user_id")
    .notNull()
    .references(() => users.id, { onDelete: "cascade" });
/** The persona a row belongs to; rows go with the persona. */
const personaRef = () =>
  uuid("persona_id")
    .notNull()
    .references(() => personas.id, { onDelete: "cascade" });

// ── enums ────────────────────────────────────────────────────────────────────────────────────
export const userRole = pgEnum("user_role", ["user", "admin"]);
export const authMethod = pgEnum("auth_method", ["password", "workos"]);
export const personaVisibility = pgEnum("persona_visibility", ["private", "public"]);
export const callStatus = pgEnum("call_status", CALL_STATUSES);
export const callTransport = pgEnum("call_transport", ["phone", "browser"]);
export const callEndReason = pgEnum("call_end_reason", [
  "caller_hung_up",
  "persona_hung_up",
  "user_ended",
  "duration_limit",
  "budget_limit",
  "voicemail",
  "not_answered",
  "error",
]);
export const speaker = pgEnum("speaker", ["user", "assistant", "system"]);
export const phoneVerificationStatus = pgEnum("phone_verification_status", ["pending", "approved", "expired", "failed"]);
export const scheduleStatus = pgEnum("schedule_status", [
  "pending",
  "claimed",
  "completed",
  "failed",
  "missed",
  "canceled",
]);
export const recurrence = pgEnum("recurrence", ["once", "daily", "weekdays", "weekly"]);
export const costService = pgEnum("cost_service", [
  "twilio",
  "deepgram",
  "cerebras",
  "openai",
  "elevenlabs",
  "platform",
  "stripe",
]);
export const creditEntryKind = pgEnum("credit_entry_kind", ["grant", "purchase", "call_charge", "refund"]);
export const paymentKind = pgEnum("payment_kind", ["call", "extension", "credit_pack"]);
export const paymentStatus = pgEnum("payment_status", [
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
  "processing",
  "requires_capture",
  "succeeded",
  "canceled",
  "failed",
  "refunded",
  "partially_refunded",
]);
export const memoryKind = pgEnum("memory_kind", ["fact", "summary"]);
export const webhookSource = pgEnum("webhook_source", ["stripe", "twilio"]);

// ── accounts ─────────────────────────────────────────────────────────────────────────────────
export const users = pgTable(
  "users",
  {
    id: id(),
    /** Normalised: trimmed and lower-cased. */
    email: text("email").notNull(),
    /** `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`; null for SSO-only accounts. */
    passwordHash: text("password_hash"),
    name: text("name").notNull(),
    /** E.164. */
    phone: text("phone"),
    phoneVerifiedAt: timestamp("phone_verified_at", { withTimezone: true }),
    /** IANA zone used for scheduled calls. */
    timezone: text("timezone").notNull().default("UTC"),
    role: userRole("role").notNull().default("user"),
    stripeCustomerId: text("stripe_customer_id"),
    workosUserId: text("workos_user_id"),
    freeTrialUsedAt: timestamp("free_trial_used_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("users_email_key").on(t.email),
    uniqueIndex("users_workos_user_id_key").on(t.workosUserId),
    uniqueIndex("users_stripe_customer_id_key").on(t.stripeCustomerId),
    check("users_phone_e164", sql`${t.phone} IS NULL OR ${t.phone} ~ '^\\+[1-9][0-9]{6,14}$'`),
  ],
);

/** One row per issued access token (`sid` claim); logout revokes it. */
export const sessions = pgTable(
  "sessions",
  {
    id: id(),
    userId: userRef(),
    method: authMethod("method").notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [index("sessions_user_id_idx").on(t.userId), index("sessions_expires_at_idx").on(t.expiresAt)],
);

/** One-time-code verification of a user's phone (the code itself lives at Twilio Verify). */
export const phoneVerifications = pgTable(
  "phone_verifications",
  {
    id: id(),
    userId: userRef(),
    phone: text("phone").notNull(),
    status: phoneVerificationStatus("status").notNull().default("pending"),
    checkAttempts: integer("check_attempts").notNull().default(0),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [index("phone_verifications_user_idx").on(t.userId, t.createdAt)],
);

// ── personas ─────────────────────────────────────────────────────────────────────────────────
export const personas = pgTable(
  "personas",
  {
    id: id(),
    /** Stable handle for system personas ("brad", "sarah", "alex"); null for user personas. */
    slug: text("slug"),
    name: text("name").notNull(),
    tagline: text("tagline").notNull().default(""),
    description: text("description").notNull().default(""),
    category: text("category").notNull().default("custom"),
    systemPrompt: text("system_prompt").notNull(),
    traits: jsonb("traits").$type<string[]>().notNull().default([]),
    /** ElevenLabs voice id. */
    voiceId: text("voice_id").notNull(),
    /** Optional fixed opening line; otherwise the LLM greets. */
    greeting: text("greeting"),
    accentColor: text("accent_color").notNull().default("#6366f1"),
    isSystem: boolean("is_system").notNull().default(false),
    visibility: personaVisibility("visibility").notNull().default("private"),
    ownerId: uuid("owner_id").references(() => users.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("personas_slug_key").on(t.slug),
    index("personas_owner_idx").on(t.ownerId),
    index("personas_visibility_idx").on(t.visibility),
    check("personas_owner_or_system", sql`${t.isSystem} OR ${t.ownerId} IS NOT NULL`),
  ],
);

/** What one user has with one persona: overrides, favourite flag and call statistics. */
export const userPersonaRelationships = pgTable(
  "user_persona_relationships",
  {
    id: id(),
    userId: userRef(),
    personaId: personaRef(),
    relationshipType: text("relationship_type").notNull().default("friend"),
    customSystemPrompt: text("custom_system_prompt"),
    customVoiceId: text("custom_voice_id"),
    isFavorite: boolean("is_favorite").notNull().default(false),
    totalCalls: integer("total_calls").notNull().default(0),
    totalDurationS: integer("total_duration_s").notNull().default(0),
    lastCallAt: timestamp("last_call_at", { withTimezone: true }),
    /** Memory settings, e.g. `{ "remember": true }`. */
    memoryConfig: jsonb("memory_config").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("relationships_user_persona_key").on(t.userId, t.personaId)],
);

/** A user's address book of personas (the seed's `/api/contacts`). */
export const contacts = pgTable(
  "contacts",
  {
    id: id(),
    userId: userRef(),
    personaId: personaRef(),
    addedAt: timestamp("added_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("contacts_user_persona_key").on(t.userId, t.personaId)],
);

// ── calls ────────────────────────────────────────────────────────────────────────────────────
export const scheduledCalls = pgTable(
  "scheduled_calls",
  {
    id: id(),
    userId: userRef(),
    personaId: personaRef(),
    recurrence: recurrence("recurrence").notNull().default("once"),
    /** Local wall-clock time "HH:MM" in `timezone` (recurring schedules). */
    localTime: text("local_time").notNull(),
    timezone: text("timezone").notNull(),
    /** 0 = Sunday … 6 = Saturday (weekly schedules). */
    weekday: integer("weekday"),
    /** The UTC instant of the occurrence this row stands for. */
    scheduledFor: timestamp("scheduled_for", { withTimezone: true }).notNull(),
    /** When the next attempt is due (= scheduledFor, later after a retry backoff). */
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull(),
    durationMinutes: integer("duration_minutes").notNull().default(5),
    topic: text("topic"),
    status: scheduleStatus("status").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull().default(3),
    claimedAt: timestamp("claimed_at", { withTimezone: true }),
    lastCallId: uuid("last_call_id"),
    lastError: text("last_error"),
    /** The schedule row this occurrence was generated from (recurring series). */
    seriesId: uuid("series_id"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("scheduled_calls_due_idx").on(t.status, t.nextAttemptAt),
    index("scheduled_calls_user_idx").on(t.userId, t.scheduledFor),
    uniqueIndex("scheduled_calls_series_occurrence_key").on(t.seriesId, t.scheduledFor),
    check("scheduled_calls_local_time", sql`${t.localTime} ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'`),
    check("scheduled_calls_weekday", sql`${t.weekday} IS NULL OR ${t.weekday} BETWEEN 0 AND 6`),
  ],
);

export const calls = pgTable(
  "calls",
  {
    id: id(),
    userId: userRef(),
    personaId: uuid("persona_id")
      .notNull()
      .references(() => personas.id),
    scheduledCallId: uuid("scheduled_call_id").references(() => scheduledCalls.id, { onDelete: "set null" }),
    transport: callTransport("transport").notNull().default("phone"),
    /** E.164 number dialled (phone transport). */
    toPhone: text("to_phone"),
    twilioCallSid: text("twilio_call_sid"),
    status: callStatus("status").notNull().default("queued"),
    endReason: callEndReason("end_reason"),
    /** Twilio AMD result: human, machine_start, machine_end_beep, fax, unknown. */
    answeredBy: text("answered_by"),
    /** Minutes the user bought (3, 5, 10, 15) plus extensions. */
    durationLimitS: integer("duration_limit_s").notNull(),
    /** Quoted price of the call before it was placed. */
    priceMicros: bigint("price_micros", { mode: "number" }).notNull().default(0),
    isFreeTrial: boolean("is_free_trial").notNull().default(false),
    extensions: integer("extensions").notNull().default(0),
    /** What the user was finally charged. */
    chargeMicros: bigint("charge_micros", { mode: "number" }),
    /** Vendor cost so far (running total of cost_events). */
    costMicros: bigint("cost_micros", { mode: "number" }).notNull().default(0),
    durationS: integer("duration_s"),
    transcriptKey: text("transcript_key"),
    summary: text("summary"),
    error: text("error"),
    createdAt: createdAt(),
    ringingAt: timestamp("ringing_at", { withTimezone: true }),
    answeredAt: timestamp("answered_at", { withTimezone: true }),
    endedAt: timestamp("ended_at", { withTimezone: true }),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("calls_twilio_call_sid_key").on(t.twilioCallSid),
    index("calls_user_created_idx").on(t.userId, t.createdAt),
    index("calls_persona_idx").on(t.personaId),
    index("calls_status_idx").on(t.status),
    // At most one live call per user, enforced by Postgres itself.
    uniqueIndex("calls_one_active_per_user")
      .on(t.userId)
      .where(sql`${t.status} IN ('queued', 'initiated', 'ringing', 'in_progress')`),
  ],
);

/** Transcript lines, one per finished turn, with the per-turn latency breakdown. */
export const callTurns = pgTable(
  "call_turns",
  {
    id: id(),
    callId: uuid("call_id")
      .notNull()
      .references(() => calls.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    speaker: speaker("speaker").notNull(),
    text: text("text").notNull(),
    interrupted: boolean("interrupted").notNull().default(false),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull(),
    endedAt: timestamp("ended_at", { withTimezone: true }),
    /** ms: endOfSpeech→finalTranscript, →llmFirstToken, →ttsFirstByte, →firstAudioSent, →firstMarkHeard; flags. */
    latency: jsonb("latency").$type<Record<string, number | boolean | null>>(),
    search: tsvector("search").generatedAlwaysAs(sql`to_tsvector('english', coalesce(text, ''))`),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("call_turns_call_seq_key").on(t.callId, t.seq),
    index("call_turns_search_idx").using("gin", t.search),
  ],
);

/** Per-call timeline: lifecycle and pipeline events in order (status, turns, barge-ins, fallbacks…). */
export const callEvents = pgTable(
  "call_events",
  {
    id: id(),
    callId: uuid("call_id")
      .notNull()
      .references(() => calls.id, { onDelete: "cascade" }),
    /** Producer-assigned key that makes re-flushing idempotent. */
    eventKey: text("event_key").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull(),
    type: text("type").notNull(),
    service: text("service"),
    message: text("message").notNull().default(""),
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    uniqueIndex("call_events_key").on(t.callId, t.eventKey),
    index("call_events_call_at_idx").on(t.callId, t.at),
    index("call_events_type_at_idx").on(t.type, t.at),
  ],
);

// ── money ────────────────────────────────────────────────────────────────────────────────────
/** Vendor rates, versioned: the rate in force at `occurredAt` prices a cost event. */
export const servicePricing = pgTable(
  "service_pricing",
  {
    id: id(),
    service: costService("service").notNull(),
    /** e.g. outbound_minute, stream_minute, input_token, output_token, character, per_call. */
    operation: text("operation").notNull(),
    /** LLM model id; '' when the rate is not model-specific. */
    model: text("model").notNull().default(""),
    unit: text("unit").notNull(),
    /** Micro-dollars per unit; fractional for token rates. */
    rateMicros: numeric("rate_micros", { precision: 20, scale: 8 }).notNull(),
    effectiveFrom: timestamp("effective_from", { withTimezone: true }).notNull(),
    effectiveTo: timestamp("effective_to", { withTimezone: true }),
    source: text("source").notNull().default("seed"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("service_pricing_version_key").on(t.service, t.operation, t.model, t.effectiveFrom),
    check("service_pricing_rate_nonneg", sql`${t.rateMicros} >= 0`),
  ],
);

export const costEvents = pgTable(
  "cost_events",
  {
    id: id(),
    callId: uuid("call_id")
      .notNull()
      .references(() => calls.id, { onDelete: "cascade" }),
    userId: userRef(),
    /** Producer-assigned key (call id + sequence) so a re-sent batch is not counted twice. */
    eventKey: text("event_key").notNull(),
    service: costService("service").notNull(),
    operation: text("operation").notNull(),
    model: text("model").notNull().default(""),
    usageAmount: numeric("usage_amount", { precision: 20, scale: 6 }).notNull(),
    usageUnit: text("usage_unit").notNull(),
    rateMicros: numeric("rate_micros", { precision: 20, scale: 8 }).notNull(),
    costMicros: numeric("cost_micros", { precision: 20, scale: 6 }).notNull(),
    pricingId: uuid("pricing_id").references(() => servicePricing.id),
    providerRequestId: text("provider_request_id"),
    occurredAt: timestamp("occurred_at", { withTimezone: true }).notNull(),
    estimated: boolean("estimated").notNull().default(true),
    reconciledAt: timestamp("reconciled_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("cost_events_key").on(t.callId, t.eventKey),
    index("cost_events_user_time_idx").on(t.userId, t.occurredAt),
    index("cost_events_service_time_idx").on(t.service, t.occurredAt),
  ],
);

/** Append-only credit ledger; the balance is SUM(amount_micros), never stored. */
export const creditLedger = pgTable(
  "credit_ledger",
  {
    id: id(),
    userId: userRef(),
    kind: creditEntryKind("kind").notNull(),
    /** Signed: grants/purchases/refunds positive, call charges negative. */
    amountMicros: bigint("amount_micros", { mode: "number" }).notNull(),
    callId: uuid("call_id").references(() => calls.id, { onDelete: "set null" }),
    paymentId: uuid("payment_id"),
    description: text("description").notNull().default(""),
    idempotencyKey: text("idempotency_key").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("credit_ledger_idempotency_key").on(t.idempotencyKey),
    index("credit_ledger_user_idx").on(t.userId, t.createdAt),
  ],
);

export const budgetSettings = pgTable(
  "budget_settings",
  {
    userId: uuid("user_id")
      .primaryKey()
      .references(() => users.id, { onDelete: "cascade" }),
    perCallLimitMicros: bigint("per_call_limit_micros", { mode: "number" }),
    dailyLimitMicros: bigint("daily_limit_micros", { mode: "number" }),
    monthlyLimitMicros: bigint("monthly_limit_micros", { mode: "number" }),
    warnAtPercent: integer("warn_at_percent").notNull().default(80),
    autoCutoff: boolean("auto_cutoff").notNull().default(true),
    maxMemoryTokens: integer("max_memory_tokens").notNull().default(1200),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [check("budget_settings_warn_pct", sql`${t.warnAtPercent} BETWEEN 1 AND 100`)],
);

export const payments = pgTable(
  "payments",
  {
    id: id(),
    userId: userRef(),
    callId: uuid("call_id").references(() => calls.id, { onDelete: "set null" }),
    kind: paymentKind("kind").notNull(),
    stripePaymentIntentId: text("stripe_payment_intent_id"),
    stripeCheckoutSessionId: text("stripe_checkout_session_id"),
    currency: text("currency").notNull().default("usd"),
    amountCents: integer("amount_cents").notNull(),
    amountCapturedCents: integer("amount_captured_cents").notNull().default(0),
    amountRefundedCents: integer("amount_refunded_cents").notNull().default(0),
    status: paymentStatus("status").notNull(),
    description: text("description").notNull().default(""),
    /** `created` of the newest Stripe event applied, so older events arriving late are ignored. */
    lastEventCreated: bigint("last_event_created", { mode: "number" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("payments_pi_key").on(t.stripePaymentIntentId),
    uniqueIndex("payments_checkout_key").on(t.stripeCheckoutSessionId),
    index("payments_user_idx").on(t.userId, t.createdAt),
  ],
);

export const paymentMethods = pgTable(
  "payment_methods",
  {
    id: id(),
    userId: userRef(),
    stripePaymentMethodId: text("stripe_payment_method_id").notNull(),
    brand: text("brand").notNull(),
    last4: text("last4").notNull(),
    expMonth: integer("exp_month").notNull(),
    expYear: integer("exp_year").notNull(),
    isDefault: boolean("is_default").notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("payment_methods_stripe_key").on(t.stripePaymentMethodId),
    index("payment_methods_user_idx").on(t.userId),
  ],
);

/** Webhook events already processed (exactly-once handling). */
export const processedWebhookEvents = pgTable("processed_webhook_events", {
  id: text("id").primaryKey(),
  source: webhookSource("source").notNull(),
  type: text("type").notNull(),
  receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Daily comparison of the cost ledger with the vendors' own usage. */
export const reconciliationDiscrepancies = pgTable(
  "reconciliation_discrepancies",
  {
    id: id(),
    runDate: text("run_date").notNull(),
    callId: uuid("call_id").references(() => calls.id, { onDelete: "cascade" }),
    service: costService("service").notNull(),
    ledgerMicros: bigint("ledger_micros", { mode: "number" }).notNull(),
    vendorMicros: bigint("vendor_micros", { mode: "number" }).notNull(),
    diffMicros: bigint("diff_micros", { mode: "number" }).notNull(),
    createdAt: createdAt(),
    resolvedAt: timestamp("resolved_at", { withTimezone: true }),
  },
  (t) => [uniqueIndex("reconciliation_run_call_service_key").on(t.runDate, t.callId, t.service)],
);

// ── memory ───────────────────────────────────────────────────────────────────────────────────
/**
 * What a persona remembers about a user: long-term facts and per-call summaries. Deleting a
 * fact sets `deletedAt` (a tombstone) so later extraction cannot bring the same fact back.
 */
export const memories = pgTable(
  "memories",
  {
    id: id(),
    userId: userRef(),
    personaId: personaRef(),
    kind: memoryKind("kind").notNull(),
    /** Facts: job, family, goals, preferences, events, inside_jokes, other. Summaries: "call". */
    category: text("category").notNull(),
    /** Normalised identity of a fact (e.g. "goal:boston-marathon"), used for merging. */
    key: text("key").notNull(),
    content: text("content").notNull(),
    topics: text("topics").array().notNull().default(sql`ARRAY[]::text[]`),
    outcome: text("outcome"),
    importance: integer("importance").notNull().default(3),
    sourceCallId: uuid("source_call_id").references(() => calls.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("memories_user_persona_key").on(t.userId, t.personaId, t.kind, t.key),
    index("memories_user_persona_idx").on(t.userId, t.personaId, t.kind, t.createdAt),
  ],
);
