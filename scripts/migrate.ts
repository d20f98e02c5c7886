/**
 * `npm run db:migrate`: applies `migrations/` (drizzle-kit output) with drizzle-orm's neon-http
 * migrator, then runs the idempotent seed (system personas and the price list; plus the demo and
 * admin accounts when the target is the local database).
 *
 * Target: `DATABASE_URL` when set (a real Neon URL in production; `NEON_FETCH_ENDPOINT` is honoured
 * if also set). Without it, the local Neon HTTP endpoint on 127.0.0.1:8790 (`npm start`'s) is used
 * when it answers, otherwise one is started for the run with its data in `.data/pg`.
 * `--no-seed` skips the seed. Connection strings are never printed.
 *
 * Also exports `migrateDatabase` / `seedDatabase` for `scripts/stack.ts` and the test setups.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { neon, neonConfig } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-http";
import { migrate } from "drizzle-orm/neon-http/migrator";
import { startNeonHttpServer } from "../sandbox/pg/server";

/** The repository's drizzle-kit output folder. */
export const MIGRATIONS_FOLDER = resolve(import.meta.dirname, "..", "migrations");

/** Local defaults shared with `npm start` (docs/design.md ports). */
export const LOCAL_PG_PORT = 8790;
export const LOCAL_DATABASE = "callmeback";

function pointDriverAt(fetchEndpoint: string | undefined): void {
  // The driver's fetch endpoint is a global setting; only override it for a local endpoint.
  if (fetchEndpoint) neonConfig.fetchEndpoint = () => fetchEndpoint;
}

/** Applies every pending migration in `migrations/`; returns how long it took. */
export async function migrateDatabase(
  connectionString: string,
  fetchEndpoint?: string,
  migrationsFolder: string = MIGRATIONS_FOLDER,
): Promise<{ durationMs: number }> {
  pointDriverAt(fetchEndpoint);
  const started = performance.now();
  const db = drizzle({ client: neon(connectionString) });
  await migrate(db, { migrationsFolder });
  return { durationMs: performance.now() - started };
}

/** What `worker/db/seed.ts` accepts (mirrored here: the Worker sources type-check under Workers types only). */
export interface SeedOptions {
  /** Also seed the demo and admin accounts. */
  local: boolean;
  llmModel?: string;
  llmFallbackModel?: string;
}

interface SeedModule {
  seed(db: unknown, options: SeedOptions): Promise<Record<string, unknown>>;
}

// Loaded by a computed specifier so tsconfig.node.json does not pull the Worker sources in.
const SEED_MODULE = "../worker/db/seed.ts";
const SCHEMA_MODULE = "../worker/db/schema.ts";

/** Runs the idempotent seed (`seed(db, options)` from worker/db/seed.ts) against the database. */
export async function seedDatabase(
  connectionString: string,
  fetchEndpoint: string | undefined,
  options: SeedOptions,
): Promise<Record<string, unknown>> {
  let seedModule: SeedModule;
  let schema: Record<string, unknown>;
  try {
    seedModule = (await import(/* @vite-ignore */ SEED_MODULE)) as SeedModule;
    schema = (await import(/* @vite-ignore */ SCHEMA_MODULE)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(
      `cannot load worker/db/seed.ts or worker/db/schema.ts (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  if (typeof seedModule.seed !== "function") throw new Error("worker/db/seed.ts does not export seed(db, options)");
  pointDriverAt(fetchEndpoint);
  const db = drizzle(neon(connectionString), { schema });
  return seedModule.seed(db, options);
}

async function localServerAnswers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1_000) });
    return res.ok && ((await res.json()) as { ok?: unknown }).ok === true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const withSeed = !process.argv.includes("--no-seed");
  const seedOptions = (local: boolean): SeedOptions => ({
    local,
    llmModel: process.env.LLM_MODEL || undefined,
    llmFallbackModel: process.env.LLM_FALLBACK_MODEL || undefined,
  });
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl) {
    const fetchEndpoint = process.env.NEON_FETCH_ENDPOINT || undefined;
    const { durationMs } = await migrateDatabase(databaseUrl, fetchEndpoint);
    console.log(`migrations applied to DATABASE_URL in ${Math.round(durationMs)} ms`);
    if (withSeed) {
      await seedDatabase(databaseUrl, fetchEndpoint, seedOptions(process.env.APP_ENV === "local"));
      console.log("seed applied");
    }
    return;
  }

  const running = await localServerAnswers(LOCAL_PG_PORT);
  const server = running ? undefined : await startNeonHttpServer({ port: LOCAL_PG_PORT, dataDir: resolve(".data", "pg") });
  const url = `http://127.0.0.1:${LOCAL_PG_PORT}`;
  const connectionString = `postgresql://sandbox:sandbox@127.0.0.1:${LOCAL_PG_PORT}/${LOCAL_DATABASE}`;
  try {
    const { durationMs } = await migrateDatabase(connectionString, `${url}/sql`);
    console.log(
      `migrations applied to the local database (${running ? "running server" : ".data/pg"}) in ${Math.round(durationMs)} ms`,
    );
    if (withSeed) {
      await seedDatabase(connectionString, `${url}/sql`, seedOptions(true));
      console.log("seed applied (system personas, prices, demo and admin accounts)");
    }
  } finally {
    await server?.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    let message = err instanceof Error ? err.message : String(err);
    const cause = err instanceof Error ? err.cause : undefined;
    if (cause instanceof Error) message += ` (${cause.message})`;
    // the driver quotes a malformed connection string in its error: never print it
    const secret = process.env.DATABASE_URL;
    if (secret) message = message.split(secret).join("[DATABASE_URL]");
    console.error(`db:migrate failed: ${message}`);
    process.exitCode = 1;
  });
}
