/**
 * Starts the whole local platform in one call: Postgres behind the Neon SQL-over-HTTP protocol
 * (PGlite) and every vendor emulator (Twilio, Deepgram, ElevenLabs, Cerebras- and OpenAI-flavoured
 * LLM, Stripe, WorkOS), each on 127.0.0.1. Returns their URLs, the live handles (for tests that
 * drive knobs, scenarios and webhooks) and `workerEnv`: every string binding of the Worker's `Env`,
 * pointing the unchanged Worker code at the emulators with fixed, clearly fake sandbox secrets.
 *
 * `JWT_SECRET` is random per start, or persisted in `${dataDir}/jwt-secret` when a `dataDir` is
 * given so sessions survive restarts. Node only; never bundled into the Worker.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startDeepgramEmulator, type DeepgramEmulatorHandle } from "./deepgram/server";
import { startElevenLabsEmulator, type ElevenLabsEmulatorHandle } from "./elevenlabs/server";
import { startLlmEmulator, type LlmEmulatorHandle } from "./llm/server";
import { startNeonHttpServer, type NeonHttpServer } from "./pg/server";
import { startNeonHttpServerInThread } from "./pg/thread";
import { startStripeEmulator, type StripeEmulatorHandle } from "./stripe/server";
import { startTwilioEmulator, type TwilioEmulatorHandle } from "./twilio/server";
import { startWorkosEmulator, type WorkosEmulatorHandle } from "./workos/server";

export type SandboxService = "pg" | "twilio" | "deepgram" | "elevenlabs" | "llm" | "openai" | "stripe" | "workos";

/** Fixed ports used by `npm start` (docs/design.md); tests pass nothing (all ports free). */
export const DEFAULT_PORTS: Record<SandboxService, number> = {
  pg: 8790,
  twilio: 8791,
  deepgram: 8792,
  elevenlabs: 8793,
  llm: 8794,
  stripe: 8795,
  workos: 8796,
  openai: 8797,
};

/** Clearly fake credentials the emulators accept (and the Worker is given). */
export const SANDBOX_SECRETS = {
  ADMIN_TOKEN: "sandbox-admin-token",
  TWILIO_ACCOUNT_SID: "AC5a4db0c5000000000000000000000000",
  TWILIO_AUTH_TOKEN: "sandbox-twilio-auth-token",
  TWILIO_PHONE_NUMBER: "+15005550006",
  TWILIO_VERIFY_SERVICE_SID: "VA5a4db0c5000000000000000000000000",
  DEEPGRAM_API_KEY: "sandbox-deepgram-key",
  ELEVENLABS_API_KEY: "sandbox-elevenlabs-key",
  CEREBRAS_API_KEY: "sandbox-cerebras-key",
  OPENAI_API_KEY: "sandbox-openai-key",
  STRIPE_SECRET_KEY: "sk_test_sandbox",
  STRIPE_WEBHOOK_SECRET: "whsec_sandbox",
  WORKOS_API_KEY: "sk_test_sandbox_workos",
  WORKOS_CLIENT_ID: "client_sandbox",
} as const;

export const SANDBOX_MODELS = { LLM_MODEL: "gpt-oss-120b", LLM_FALLBACK_MODEL: "gpt-4o-mini" } as const;

export interface SandboxOptions {
  /** Ports per service; missing ones bind any free port. */
  ports?: Partial<Record<SandboxService, number>>;
  /** Persist Postgres (`${dataDir}/pg`) and the JWT secret; in memory when absent. */
  dataDir?: string;
  /** Where the Worker is reachable from the emulators (Twilio/Stripe callbacks), e.g. `http://127.0.0.1:8787`. */
  publicBaseUrl: string;
  /** Database name inside the local Postgres. @default "callmeback" */
  database?: string;
  /** Where Stripe delivers webhooks; `null` turns delivery off. @default `${publicBaseUrl}/stripe/webhook` */
  stripeWebhookUrl?: string | null;
  /** Emulator log lines (Twilio); silent by default. */
  log?: (line: string) => void;
  /** Run Postgres (PGlite) in a worker thread so its synchronous queries never stall the emulators (the benchmark); needs tsx. */
  pgThread?: boolean;
}

export interface SandboxEmulators {
  pg: NeonHttpServer;
  twilio: TwilioEmulatorHandle;
  deepgram: DeepgramEmulatorHandle;
  elevenlabs: ElevenLabsEmulatorHandle;
  /** Cerebras-flavoured (the primary model). */
  llm: LlmEmulatorHandle;
  /** OpenAI-flavoured (the fallback model). */
  openai: LlmEmulatorHandle;
  stripe: StripeEmulatorHandle;
  workos: WorkosEmulatorHandle;
}

export interface Sandbox {
  urls: Record<SandboxService, string> & { pgFetchEndpoint: string; twilioPhone: string };
  /** Every string binding of the Worker's Env (worker-configuration.d.ts), pointing at the sandbox. */
  workerEnv: Record<string, string>;
  emulators: SandboxEmulators;
  close(): Promise<void>;
}

async function jwtSecret(dataDir: string | undefined): Promise<string> {
  const fresh = randomBytes(32).toString("base64url");
  if (!dataDir) return fresh;
  const file = join(dataDir, "jwt-secret");
  try {
    const existing = (await readFile(file, "utf8")).trim();
    if (existing.length >= 32) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${fresh}\n`, { mode: 0o600 });
  return fresh;
}

/** Starts Postgres and every emulator; on any failure the ones already started are closed. */
export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const ports = opts.ports ?? {};
  const publicBaseUrl = opts.publicBaseUrl.replace(/\/+$/, "");
  const s = SANDBOX_SECRETS;
  const started: { close(): Promise<void> }[] = [];
  const track = async <T extends { close(): Promise<void> }>(p: Promise<T>): Promise<T> => {
    const handle = await p;
    started.push(handle);
    return handle;
  };
  const closeAll = async (): Promise<void> => {
    const all = started.splice(0).reverse();
    await Promise.allSettled(all.map((h) => h.close()));
  };

  try {
    const secret = await jwtSecret(opts.dataDir);
    const stripeWebhookUrl =
      opts.stripeWebhookUrl === undefined ? `${publicBaseUrl}/stripe/webhook` : opts.stripeWebhookUrl ?? undefined;
    // Emulators start concurrently; Postgres (the slow one) too.
    const [pg, twilio, deepgram, elevenlabs, llm, openai, stripe, workos] = await Promise.all([
      track(
        (opts.pgThread ? startNeonHttpServerInThread : startNeonHttpServer)({
          port: ports.pg,
          dataDir: opts.dataDir ? join(opts.dataDir, "pg") : undefined,
          database: opts.database,
        }),
      ),
      track(
        startTwilioEmulator({
          port: ports.twilio,
          accountSid: s.TWILIO_ACCOUNT_SID,
          authToken: s.TWILIO_AUTH_TOKEN,
          verifyServiceSid: s.TWILIO_VERIFY_SERVICE_SID,
          log: opts.log,
        }),
      ),
      track(startDeepgramEmulator({ port: ports.deepgram, apiKey: s.DEEPGRAM_API_KEY })),
      track(startElevenLabsEmulator({ port: ports.elevenlabs, apiKey: s.ELEVENLABS_API_KEY })),
      track(
        startLlmEmulator({ port: ports.llm, name: "cerebras", flavor: "cerebras", apiKeys: [s.CEREBRAS_API_KEY] }),
      ),
      track(startLlmEmulator({ port: ports.openai, name: "openai", flavor: "openai", apiKeys: [s.OPENAI_API_KEY] })),
      track(
        startStripeEmulator({
          port: ports.stripe,
          secretKey: s.STRIPE_SECRET_KEY,
          webhookSecret: s.STRIPE_WEBHOOK_SECRET,
          webhookUrl: stripeWebhookUrl,
        }),
      ),
      track(startWorkosEmulator({ port: ports.workos, apiKey: s.WORKOS_API_KEY, clientId: s.WORKOS_CLIENT_ID })),
    ]);

    const workerEnv: Record<string, string> = {
      APP_ENV: "local",
      PUBLIC_BASE_URL: publicBaseUrl,
      ...SANDBOX_MODELS,
      DATABASE_URL: pg.connectionString,
      NEON_FETCH_ENDPOINT: pg.fetchEndpoint,
      JWT_SECRET: secret,
      CEREBRAS_BASE_URL: llm.baseUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      DEEPGRAM_BASE_URL: deepgram.wsUrl,
      ELEVENLABS_BASE_URL: elevenlabs.wsUrl,
      TWILIO_BASE_URL: twilio.url,
      TWILIO_VERIFY_BASE_URL: twilio.verifyUrl,
      STRIPE_BASE_URL: stripe.url,
      WORKOS_BASE_URL: workos.url,
      ...s,
    };

    return {
      urls: {
        pg: pg.url,
        pgFetchEndpoint: pg.fetchEndpoint,
        twilio: twilio.url,
        twilioPhone: twilio.phoneUrl,
        deepgram: deepgram.url,
        elevenlabs: elevenlabs.url,
        llm: llm.url,
        openai: openai.url,
        stripe: stripe.url,
        workos: workos.url,
      },
      workerEnv,
      emulators: { pg, twilio, deepgram, elevenlabs, llm, openai, stripe, workos },
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
