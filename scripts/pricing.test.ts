/**
 * The pricing CLI against a fresh local database: `list` shows the seeded rates; `add` appends a
 * version that ends the current one where it starts (history kept), refuses a version that does
 * not come after the newest one and rejects malformed input with the usage text.
 */
import { neon, neonConfig } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNeonHttpServer, type NeonHttpServer } from "../sandbox/pg/server";
import type { Db } from "../worker/db/client";
import * as schema from "../worker/db/schema";
import { migrateDatabase, seedDatabase } from "./migrate";
import { runPricingCli } from "./pricing";

let server: NeonHttpServer;
let db: Db;
beforeAll(async () => {
  server = await startNeonHttpServer({ database: "pricing_test" });
  neonConfig.fetchEndpoint = server.fetchEndpoint;
  await migrateDatabase(server.connectionString, server.fetchEndpoint);
  await seedDatabase(server.connectionString, server.fetchEndpoint, { local: false });
  db = drizzle(neon(server.connectionString), { schema }) as unknown as Db;
});
afterAll(async () => {
  await server?.close();
});

describe("pricing CLI", () => {
  it("lists the seeded rates and appends a version that closes the current one", async () => {
    const listed = await runPricingCli(db, ["list"]);
    expect(listed).toMatch(/twilio\s+outbound_minute\s+-\s+14000 µ\$\/minute/);
    expect(listed).toMatch(/elevenlabs\s+character\s+-\s+150 µ\$\/character/);
    const added = await runPricingCli(db, ["add", "--service", "elevenlabs", "--operation", "character", "--unit", "character", "--rate", "120", "--from", "2026-12-01T00:00:00Z"]);
    expect(added).toMatch(/^added: elevenlabs\s+character/);
    const after = (await runPricingCli(db, ["list"])).split("\n").filter((l) => l.startsWith("elevenlabs"));
    expect(after).toHaveLength(2);
    expect(after[0]).toMatch(/150 µ\$\/character\s+2025-01-01T00:00:00.000Z\s+2026-12-01T00:00:00.000Z/);
    expect(after[1]).toMatch(/120 µ\$\/character\s+2026-12-01T00:00:00.000Z\s+\(current\)\s+cli/);
    await expect(runPricingCli(db, ["add", "--service", "elevenlabs", "--operation", "character", "--unit", "character", "--rate", "110", "--from", "2026-11-30T00:00:00Z"])).rejects.toThrow(/already exists/);
    await expect(runPricingCli(db, ["add", "--service", "acme", "--operation", "x", "--unit", "u", "--rate", "1"])).rejects.toThrow(/usage:/);
    await expect(runPricingCli(db, ["add", "--service", "twilio", "--operation", "outbound_minute", "--unit", "minute", "--rate", "-1"])).rejects.toThrow(/decimal/);
    await expect(runPricingCli(db, ["frobnicate"])).rejects.toThrow(/usage:/);
  });
});
