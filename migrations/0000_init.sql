CREATE TYPE "public"."auth_method" AS ENUM('password', 'workos');--> statement-breakpoint
CREATE TYPE "public"."call_end_reason" AS ENUM('caller_hung_up', 'persona_hung_up', 'user_ended', 'duration_limit', 'budget_limit', 'voicemail', 'not_answered', 'error');--> statement-breakpoint
CREATE TYPE "public"."call_status" AS ENUM('queued', 'initiated', 'ringing', 'in_progress', 'completed', 'busy', 'no_answer', 'failed', 'canceled');--> statement-breakpoint
CREATE TYPE "public"."call_transport" AS ENUM('phone', 'browser');--> statement-breakpoint
CREATE TYPE "public"."cost_service" AS ENUM('twilio', 'deepgram', 'cerebras', 'openai', 'elevenlabs', 'platform', 'stripe');--> statement-breakpoint
CREATE TYPE "public"."credit_entry_kind" AS ENUM('grant', 'purchase', 'call_charge', 'refund');--> statement-breakpoint
CREATE TYPE "public"."memory_kind" AS ENUM('fact', 'summary');--> statement-breakpoint
CREATE TYPE "public"."payment_kind" AS ENUM('call', 'extension', 'credit_pack');--> statement-breakpoint
CREATE TYPE "public"."payment_status" AS ENUM('requires_payment_method', 'requires_confirmation', 'requires_action', 'processing', 'requires_capture', 'succeeded', 'canceled', 'failed', 'refunded', 'partially_refunded');--> statement-breakpoint
CREATE TYPE "public"."persona_visibility" AS ENUM('private', 'public');--> statement-breakpoint
CREATE TYPE "public"."phone_verification_status" AS ENUM('pending', 'approved', 'expired', 'failed');--> statement-breakpoint
CREATE TYPE "public"."recurrence" AS ENUM('once', 'daily', 'weekdays', 'weekly');--> statement-breakpoint
CREATE TYPE "public"."schedule_status" AS ENUM('pending', 'claimed', 'completed', 'failed', 'missed', 'canceled');--> statement-breakpoint
CREATE TYPE "public"."speaker" AS ENUM('user', 'assistant', 'system');--> statement-breakpoint
CREATE TYPE "public"."user_role" AS ENUM('user', 'admin');--> statement-breakpoint
CREATE TYPE "public"."webhook_source" AS ENUM('stripe', 'twilio');--> statement-breakpoint
CREATE TABLE "budget_settings" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"per_call_limit_micros" bigint,
	"daily_limit_micros" bigint,
	"monthly_limit_micros" bigint,
	"warn_at_percent" integer DEFAULT 80 NOT NULL,
	"auto_cutoff" boolean DEFAULT true NOT NULL,
	"max_memory_tokens" integer DEFAULT 1200 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "budget_settings_warn_pct" CHECK ("budget_settings"."warn_at_percent" BETWEEN 1 AND 100)
);
--> statement-breakpoint
CREATE TABLE "call_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"call_id" uuid NOT NULL,
	"event_key" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"type" text NOT NULL,
	"service" text,
	"message" text DEFAULT '' NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "call_turns" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"call_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"speaker" "speaker" NOT NULL,
	"text" text NOT NULL,
	"interrupted" boolean DEFAULT false NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"latency" jsonb,
	"search" "tsvector" GENERATED ALWAYS AS (to_tsvector('english', coalesce(text, ''))) STORED,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "calls" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"persona_id" uuid NOT NULL,
	"scheduled_call_id" uuid,
	"transport" "call_transport" DEFAULT 'phone' NOT NULL,
	"to_phone" text,
	"twilio_call_sid" text,
	"status" "call_status" DEFAULT 'queued' NOT NULL,
	"end_reason" "call_end_reason",
	"answered_by" text,
	"duration_limit_s" integer NOT NULL,
	"price_micros" bigint DEFAULT 0 NOT NULL,
	"is_free_trial" boolean DEFAULT false NOT NULL,
	"extensions" integer DEFAULT 0 NOT NULL,
	"charge_micros" bigint,
	"cost_micros" bigint DEFAULT 0 NOT NULL,
	"duration_s" integer,
	"transcript_key" text,
	"summary" text,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ringing_at" timestamp with time zone,
	"answered_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "contacts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"persona_id" uuid NOT NULL,
	"added_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cost_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"call_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"event_key" text NOT NULL,
	"service" "cost_service" NOT NULL,
	"operation" text NOT NULL,
	"model" text DEFAULT '' NOT NULL,
	"usage_amount" numeric(20, 6) NOT NULL,
	"usage_unit" text NOT NULL,
	"rate_micros" numeric(20, 8) NOT NULL,
	"cost_micros" numeric(20, 6) NOT NULL,
	"pricing_id" uuid,
	"provider_request_id" text,
	"occurred_at" timestamp with time zone NOT NULL,
	"estimated" boolean DEFAULT true NOT NULL,
	"reconciled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_ledger" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"kind" "credit_entry_kind" NOT NULL,
	"amount_micros" bigint NOT NULL,
	"call_id" uuid,
	"payment_id" uuid,
	"description" text DEFAULT '' NOT NULL,
	"idempotency_key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "memories" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"persona_id" uuid NOT NULL,
	"kind" "memory_kind" NOT NULL,
	"category" text NOT NULL,
	"key" text NOT NULL,
	"content" text NOT NULL,
	"topics" text[] DEFAULT ARRAY[]::text[] NOT NULL,
	"outcome" text,
	"importance" integer DEFAULT 3 NOT NULL,
	"source_call_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "payment_methods" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"stripe_payment_method_id" text NOT NULL,
	"brand" text NOT NULL,
	"last4" text NOT NULL,
	"exp_month" integer NOT NULL,
	"exp_year" integer NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"call_id" uuid,
	"kind" "payment_kind" NOT NULL,
	"stripe_payment_intent_id" text,
	"stripe_checkout_session_id" text,
	"currency" text DEFAULT 'usd' NOT NULL,
	"amount_cents" integer NOT NULL,
	"amount_captured_cents" integer DEFAULT 0 NOT NULL,
	"amount_refunded_cents" integer DEFAULT 0 NOT NULL,
	"status" "payment_status" NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"last_event_created" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "personas" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"slug" text,
	"name" text NOT NULL,
	"tagline" text DEFAULT '' NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"category" text DEFAULT 'custom' NOT NULL,
	"system_prompt" text NOT NULL,
	"traits" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"voice_id" text NOT NULL,
	"greeting" text,
	"accent_color" text DEFAULT '#6366f1' NOT NULL,
	"is_system" boolean DEFAULT false NOT NULL,
	"visibility" "persona_visibility" DEFAULT 'private' NOT NULL,
	"owner_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "personas_owner_or_system" CHECK ("personas"."is_system" OR "personas"."owner_id" IS NOT NULL)
);
--> statement-breakpoint
CREATE TABLE "phone_verifications" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"phone" text NOT NULL,
	"status" "phone_verification_status" DEFAULT 'pending' NOT NULL,
	"check_attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "processed_webhook_events" (
	"id" text PRIMARY KEY NOT NULL,
	"source" "webhook_source" NOT NULL,
	"type" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reconciliation_discrepancies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"run_date" text NOT NULL,
	"call_id" uuid,
	"service" "cost_service" NOT NULL,
	"ledger_micros" bigint NOT NULL,
	"vendor_micros" bigint NOT NULL,
	"diff_micros" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "scheduled_calls" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"persona_id" uuid NOT NULL,
	"recurrence" "recurrence" DEFAULT 'once' NOT NULL,
	"local_time" text NOT NULL,
	"timezone" text NOT NULL,
	"weekday" integer,
	"scheduled_for" timestamp with time zone NOT NULL,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"duration_minutes" integer DEFAULT 5 NOT NULL,
	"topic" text,
	"status" "schedule_status" DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 3 NOT NULL,
	"claimed_at" timestamp with time zone,
	"last_call_id" uuid,
	"last_error" text,
	"series_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "scheduled_calls_local_time" CHECK ("scheduled_calls"."local_time" ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
	CONSTRAINT "scheduled_calls_weekday" CHECK ("scheduled_calls"."weekday" IS NULL OR "scheduled_calls"."weekday" BETWEEN 0 AND 6)
);
--> statement-breakpoint
CREATE TABLE "service_pricing" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"service" "cost_service" NOT NULL,
	"operation" text NOT NULL,
	"model" text DEFAULT '' NOT NULL,
	"unit" text NOT NULL,
	"rate_micros" numeric(20, 8) NOT NULL,
	"effective_from" timestamp with time zone NOT NULL,
	"effective_to" timestamp with time zone,
	"source" text DEFAULT 'seed' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "service_pricing_rate_nonneg" CHECK ("service_pricing"."rate_micros" >= 0)
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"method" "auth_method" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "user_persona_relationships" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"persona_id" uuid NOT NULL,
	"relationship_type" text DEFAULT 'friend' NOT NULL,
	"custom_system_prompt" text,
	"custom_voice_id" text,
	"is_favorite" boolean DEFAULT false NOT NULL,
	"total_calls" integer DEFAULT 0 NOT NULL,
	"total_duration_s" integer DEFAULT 0 NOT NULL,
	"last_call_at" timestamp with time zone,
	"memory_config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" text NOT NULL,
	"password_hash" text,
	"name" text NOT NULL,
	"phone" text,
	"phone_verified_at" timestamp with time zone,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"role" "user_role" DEFAULT 'user' NOT NULL,
	"stripe_customer_id" text,
	"workos_user_id" text,
	"free_trial_used_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_phone_e164" CHECK ("users"."phone" IS NULL OR "users"."phone" ~ '^\+[1-9][0-9]{6,14}$')
);
--> statement-breakpoint
ALTER TABLE "budget_settings" ADD CONSTRAINT "budget_settings_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_events" ADD CONSTRAINT "call_events_call_id_calls_id_fk" FOREIGN KEY ("call_id") REFERENCES "public"."calls"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_turns" ADD CONSTRAINT "call_turns_call_id_calls_id_fk" FOREIGN KEY ("call_id") REFERENCES "public"."calls"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_persona_id_personas_id_fk" FOREIGN KEY ("persona_id") REFERENCES "public"."personas"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_scheduled_call_id_scheduled_calls_id_fk" FOREIGN KEY ("scheduled_call_id") REFERENCES "public"."scheduled_calls"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_persona_id_personas_id_fk" FOREIGN KEY ("persona_id") REFERENCES "public"."personas"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cost_events" ADD CONSTRAINT "cost_events_call_id_calls_id_fk" FOREIGN KEY ("call_id") REFERENCES "public"."calls"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cost_events" ADD CONSTRAINT "cost_events_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cost_events" ADD CONSTRAINT "cost_events_pricing_id_service_pricing_id_fk" FOREIGN KEY ("pricing_id") REFERENCES "public"."service_pricing"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_ledger" ADD CONSTRAINT "credit_ledger_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_ledger" ADD CONSTRAINT "credit_ledger_call_id_calls_id_fk" FOREIGN KEY ("call_id") REFERENCES "public"."calls"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memories" ADD CONSTRAINT "memories_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memories" ADD CONSTRAINT "memories_persona_id_personas_id_fk" FOREIGN KEY ("persona_id") REFERENCES "public"."personas"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memories" ADD CONSTRAINT "memories_source_call_id_calls_id_fk" FOREIGN KEY ("source_call_id") REFERENCES "public"."calls"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_methods" ADD CONSTRAINT "payment_methods_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_call_id_calls_id_fk" FOREIGN KEY ("call_id") REFERENCES "public"."calls"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "personas" ADD CONSTRAINT "personas_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "phone_verifications" ADD CONSTRAINT "phone_verifications_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reconciliation_discrepancies" ADD CONSTRAINT "reconciliation_discrepancies_call_id_calls_id_fk" FOREIGN KEY ("call_id") REFERENCES "public"."calls"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheduled_calls" ADD CONSTRAINT "scheduled_calls_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheduled_calls" ADD CONSTRAINT "scheduled_calls_persona_id_personas_id_fk" FOREIGN KEY ("persona_id") REFERENCES "public"."personas"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_persona_relationships" ADD CONSTRAINT "user_persona_relationships_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_persona_relationships" ADD CONSTRAINT "user_persona_relationships_persona_id_personas_id_fk" FOREIGN KEY ("persona_id") REFERENCES "public"."personas"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "call_events_key" ON "call_events" USING btree ("call_id","event_key");--> statement-breakpoint
CREATE INDEX "call_events_call_at_idx" ON "call_events" USING btree ("call_id","at");--> statement-breakpoint
CREATE INDEX "call_events_type_at_idx" ON "call_events" USING btree ("type","at");--> statement-breakpoint
CREATE UNIQUE INDEX "call_turns_call_seq_key" ON "call_turns" USING btree ("call_id","seq");--> statement-breakpoint
CREATE INDEX "call_turns_search_idx" ON "call_turns" USING gin ("search");--> statement-breakpoint
CREATE UNIQUE INDEX "calls_twilio_call_sid_key" ON "calls" USING btree ("twilio_call_sid");--> statement-breakpoint
CREATE INDEX "calls_user_created_idx" ON "calls" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "calls_persona_idx" ON "calls" USING btree ("persona_id");--> statement-breakpoint
CREATE INDEX "calls_status_idx" ON "calls" USING btree ("status");--> statement-breakpoint
CREATE UNIQUE INDEX "calls_one_active_per_user" ON "calls" USING btree ("user_id") WHERE "calls"."status" IN ('queued', 'initiated', 'ringing', 'in_progress');--> statement-breakpoint
CREATE UNIQUE INDEX "contacts_user_persona_key" ON "contacts" USING btree ("user_id","persona_id");--> statement-breakpoint
CREATE UNIQUE INDEX "cost_events_key" ON "cost_events" USING btree ("call_id","event_key");--> statement-breakpoint
CREATE INDEX "cost_events_user_time_idx" ON "cost_events" USING btree ("user_id","occurred_at");--> statement-breakpoint
CREATE INDEX "cost_events_service_time_idx" ON "cost_events" USING btree ("service","occurred_at");--> statement-breakpoint
CREATE UNIQUE INDEX "credit_ledger_idempotency_key" ON "credit_ledger" USING btree ("idempotency_key");--> statement-breakpoint
CREATE INDEX "credit_ledger_user_idx" ON "credit_ledger" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "memories_user_persona_key" ON "memories" USING btree ("user_id","persona_id","kind","key");--> statement-breakpoint
CREATE INDEX "memories_user_persona_idx" ON "memories" USING btree ("user_id","persona_id","kind","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "payment_methods_stripe_key" ON "payment_methods" USING btree ("stripe_payment_method_id");--> statement-breakpoint
CREATE INDEX "payment_methods_user_idx" ON "payment_methods" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "payments_pi_key" ON "payments" USING btree ("stripe_payment_intent_id");--> statement-breakpoint
CREATE UNIQUE INDEX "payments_checkout_key" ON "payments" USING btree ("stripe_checkout_session_id");--> statement-breakpoint
CREATE INDEX "payments_user_idx" ON "payments" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "personas_slug_key" ON "personas" USING btree ("slug");--> statement-breakpoint
CREATE INDEX "personas_owner_idx" ON "personas" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "personas_visibility_idx" ON "personas" USING btree ("visibility");--> statement-breakpoint
CREATE INDEX "phone_verifications_user_idx" ON "phone_verifications" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "reconciliation_run_call_service_key" ON "reconciliation_discrepancies" USING btree ("run_date","call_id","service");--> statement-breakpoint
CREATE INDEX "scheduled_calls_due_idx" ON "scheduled_calls" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "scheduled_calls_user_idx" ON "scheduled_calls" USING btree ("user_id","scheduled_for");--> statement-breakpoint
CREATE UNIQUE INDEX "scheduled_calls_series_occurrence_key" ON "scheduled_calls" USING btree ("series_id","scheduled_for");--> statement-breakpoint
CREATE UNIQUE INDEX "service_pricing_version_key" ON "service_pricing" USING btree ("service","operation","model","effective_from");--> statement-breakpoint
CREATE INDEX "sessions_user_id_idx" ON "sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "sessions_expires_at_idx" ON "sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "relationships_user_persona_key" ON "user_persona_relationships" USING btree ("user_id","persona_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_key" ON "users" USING btree ("email");--> statement-breakpoint
CREATE UNIQUE INDEX "users_workos_user_id_key" ON "users" USING btree ("workos_user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_stripe_customer_id_key" ON "users" USING btree ("stripe_customer_id");