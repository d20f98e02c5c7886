/**
 * Configuration: `parseEnv(env)` validates the Worker bindings once per entry point (fetch,
 * scheduled, Durable Object constructor) and returns a typed, frozen `Config`. Vendor keys may be
 * empty (the local emulators accept anything); the database URL and JWT secret may not. It does
 * not read `process.env` and never logs values.
 */
import { z } from "zod";

const url = z.url();
const optionalSecret = z.string().default("");

const EnvSchema = z.object({
  /** "local" (`npm start`) enables demo data; any other value (production, staging, test…) does not. */
  APP_ENV: z.string().trim().min(1).default("production"),
  PUBLIC_BASE_URL: url,
  DATABASE_URL: z.string().min(1, "DATABASE_URL is required"),
  NEON_FETCH_ENDPOINT: z.union([z.literal(""), url]).default(""),
  JWT_SECRET: z.string().min(16, "JWT_SECRET must be at least 16 characters"),
  ADMIN_TOKEN: optionalSecret,
  LLM_MODEL: z.string().min(1).default("gpt-oss-120b"),
  LLM_FALLBACK_MODEL: z.string().min(1).default("gpt-4o-mini"),
  CEREBRAS_BASE_URL: url,
  OPENAI_BASE_URL: url,
  DEEPGRAM_BASE_URL: url,
  ELEVENLABS_BASE_URL: url,
  TWILIO_BASE_URL: url,
  TWILIO_VERIFY_BASE_URL: url,
  STRIPE_BASE_URL: url,
  WORKOS_BASE_URL: url,
  TWILIO_ACCOUNT_SID: optionalSecret,
  TWILIO_AUTH_TOKEN: optionalSecret,
  TWILIO_PHONE_NUMBER: optionalSecret,
  TWILIO_VERIFY_SERVICE_SID: optionalSecret,
  DEEPGRAM_API_KEY: optionalSecret,
  ELEVENLABS_API_KEY: optionalSecret,
  CEREBRAS_API_KEY: optionalSecret,
  OPENAI_API_KEY: optionalSecret,
  STRIPE_SECRET_KEY: optionalSecret,
  STRIPE_WEBHOOK_SECRET: optionalSecret,
  WORKOS_API_KEY: optionalSecret,
  WORKOS_CLIENT_ID: optionalSecret,
  /** Optional JSON object of call-pipeline overrides (benchmarks flip `speculation`); empty = defaults. */
  PIPELINE_CONFIG_JSON: z.string().default(""),
});

/** The `PipelineConfig` keys a deployment (or `npm run bench`) may override; a subset of durable-objects/pipeline's config. */
const PipelineOverridesSchema = z
  .object({
    speculation: z.boolean(),
    speculationStableMs: z.number().int().min(0).max(10_000),
    leadMs: z.number().int().min(20).max(10_000),
    tickMs: z.number().int().min(5).max(1_000),
    turnTimeoutMs: z.number().int().min(100).max(60_000),
    finalizeOnVadStop: z.boolean(),
    firstTokenTimeoutMs: z.number().int().min(100).max(60_000),
  })
  .partial()
  .strict();

export type PipelineOverrides = z.infer<typeof PipelineOverridesSchema>;

function parsePipelineOverrides(json: string): PipelineOverrides | string {
  if (json.trim() === "") return {};
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return "PIPELINE_CONFIG_JSON: not valid JSON";
  }
  const parsed = PipelineOverridesSchema.safeParse(raw);
  if (!parsed.success) return `PIPELINE_CONFIG_JSON: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"} ${i.message}`).join(", ")}`;
  return parsed.data;
}

/** Typed configuration derived from the bindings. */
export interface Config {
  appEnv: string;
  /** True when APP_ENV is "local" (`npm start`): demo data is seeded. */
  isLocal: boolean;
  publicBaseUrl: string;
  database: { url: string; fetchEndpoint: string };
  auth: { jwtSecret: string; adminToken: string; issuer: string; audience: string };
  models: { llm: string; llmFallback: string };
  baseUrls: {
    cerebras: string;
    openai: string;
    deepgram: string;
    elevenlabs: string;
    twilio: string;
    twilioVerify: string;
    stripe: string;
    workos: string;
  };
  keys: {
    twilioAccountSid: string;
    twilioAuthToken: string;
    twilioPhoneNumber: string;
    twilioVerifyServiceSid: string;
    deepgram: string;
    elevenlabs: string;
    cerebras: string;
    openai: string;
    stripeSecret: string;
    stripeWebhookSecret: string;
    workosApiKey: string;
    workosClientId: string;
  };
  /** Call-pipeline overrides from `PIPELINE_CONFIG_JSON` (spread over the pipeline defaults by the CallSession). */
  pipeline: PipelineOverrides;
}

/** Thrown when bindings are missing or malformed; the message names the fields, never their values. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const cache = new WeakMap<object, Config>();

/** Validate the bindings (cached per env object) and build the `Config`. */
export function parseEnv(env: object): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid Worker configuration — ${fields.join("; ")}`);
  }
  const e = parsed.data;
  const pipeline = parsePipelineOverrides(e.PIPELINE_CONFIG_JSON);
  if (typeof pipeline === "string") throw new ConfigError(`Invalid Worker configuration — ${pipeline}`);
  const config: Config = {
    appEnv: e.APP_ENV,
    isLocal: e.APP_ENV === "local",
    publicBaseUrl: e.PUBLIC_BASE_URL.replace(/\/+$/, ""),
    database: { url: e.DATABASE_URL, fetchEndpoint: e.NEON_FETCH_ENDPOINT },
    auth: {
      jwtSecret: e.JWT_SECRET,
      adminToken: e.ADMIN_TOKEN,
      issuer: "call-me-back",
      audience: "call-me-back-api",
    },
    models: { llm: e.LLM_MODEL, llmFallback: e.LLM_FALLBACK_MODEL },
    baseUrls: {
      cerebras: e.CEREBRAS_BASE_URL,
      openai: e.OPENAI_BASE_URL,
      deepgram: e.DEEPGRAM_BASE_URL,
      elevenlabs: e.ELEVENLABS_BASE_URL,
      twilio: e.TWILIO_BASE_URL,
      twilioVerify: e.TWILIO_VERIFY_BASE_URL,
      stripe: e.STRIPE_BASE_URL,
      workos: e.WORKOS_BASE_URL,
    },
    keys: {
      twilioAccountSid: e.TWILIO_ACCOUNT_SID,
      twilioAuthToken: e.TWILIO_AUTH_TOKEN,
      twilioPhoneNumber: e.TWILIO_PHONE_NUMBER,
      twilioVerifyServiceSid: e.TWILIO_VERIFY_SERVICE_SID,
      deepgram: e.DEEPGRAM_API_KEY,
      elevenlabs: e.ELEVENLABS_API_KEY,
      cerebras: e.CEREBRAS_API_KEY,
      openai: e.OPENAI_API_KEY,
      stripeSecret: e.STRIPE_SECRET_KEY,
      stripeWebhookSecret: e.STRIPE_WEBHOOK_SECRET,
      workosApiKey: e.WORKOS_API_KEY,
      workosClientId: e.WORKOS_CLIENT_ID,
    },
    pipeline,
  };
  Object.freeze(config);
  cache.set(env, config);
  return config;
}
