/**
 * Vitest globalSetup for the `workers` project (runs in Node, outside workerd): starts the sandbox
 * on free ports with a fresh in-memory database, migrates and seeds it, and provides the Worker
 * bindings as `workerEnv` (vitest.config.ts passes them to miniflare). The Worker inside workerd
 * reaches Postgres and the emulators over 127.0.0.1 directly. Everything stops after the run.
 */
import type { TestProject } from "vitest/node";
import { startSandbox } from "../../sandbox/index";
import { migrateDatabase, seedDatabase } from "../../scripts/migrate";

/** The origin the API tests use for `exports.default.fetch` (test/workers/helpers.ts). */
const PUBLIC_BASE_URL = "http://api.test";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const sandbox = await startSandbox({ publicBaseUrl: PUBLIC_BASE_URL, stripeWebhookUrl: null });
  try {
    const env = sandbox.workerEnv;
    const databaseUrl = env.DATABASE_URL as string;
    await migrateDatabase(databaseUrl, env.NEON_FETCH_ENDPOINT);
    await seedDatabase(databaseUrl, env.NEON_FETCH_ENDPOINT, {
      local: true,
      llmModel: env.LLM_MODEL,
      llmFallbackModel: env.LLM_FALLBACK_MODEL,
    });
    project.provide("workerEnv", env);
  } catch (err) {
    await sandbox.close();
    throw err;
  }
  return () => sandbox.close();
}
