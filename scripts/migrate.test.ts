/**
 * `migrateDatabase` / `seedDatabase` against a fresh local database: every drizzle-kit migration
 * applies through the neon-http migrator, a second run is a no-op, and the seed is idempotent.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { neon, neonConfig } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNeonHttpServer, type NeonHttpServer } from "../sandbox/pg/server";
import { MIGRATIONS_FOLDER, migrateDatabase, seedDatabase } from "./migrate";

let server: NeonHttpServer;
beforeAll(async () => {
  server = await startNeonHttpServer({ database: "migrate_test" });
  neonConfig.fetchEndpoint = server.fetchEndpoint;
});
afterAll(async () => {
  await server?.close();
});

describe("migrateDatabase", () => {
  it("applies every migration once and records it", async () => {
    const journal = JSON.parse(await readFile(join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as {
      entries: unknown[];
    };
    await migrateDatabase(server.connectionString, server.fetchEndpoint);
    await migrateDatabase(server.connectionString, server.fetchEndpoint);
    const sql = neon(server.connectionString);
    const [applied] = await sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`;
    expect(applied?.n).toBe(journal.entries.length);
    const tables = await sql`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`;
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(["users", "personas"]));
  });

  it("seeds idempotently (local accounts only when asked)", async () => {
    const sql = neon(server.connectionString);
    await seedDatabase(server.connectionString, server.fetchEndpoint, { local: false });
    expect(await sql`SELECT count(*)::int AS n FROM users`).toEqual([{ n: 0 }]);
    await seedDatabase(server.connectionString, server.fetchEndpoint, { local: true });
    await seedDatabase(server.connectionString, server.fetchEndpoint, { local: true });
    const [users] = await sql`SELECT count(*)::int AS n FROM users`;
    const [system] = await sql`SELECT count(*)::int AS n FROM personas WHERE is_system`;
    expect(users?.n).toBe(2);
    expect(system?.n).toBeGreaterThan(0);
  });
});
