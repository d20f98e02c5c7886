/**
 * Database client: drizzle over Neon's HTTP driver. `createDb(config)` returns one drizzle
 * instance per isolate and connection string. When `NEON_FETCH_ENDPOINT` is set (local server on
 * PGlite) the driver's global `fetchEndpoint` points there; otherwise the driver talks to Neon.
 * No interactive transactions exist on this driver: use `db.batch([...])` or atomic statements.
 */
import { neon, neonConfig } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-http";
import type { NeonHttpDatabase } from "drizzle-orm/neon-http";
import type { Config } from "../env";
import * as schema from "./schema";

export type Db = NeonHttpDatabase<typeof schema>;

const cache = new Map<string, Db>();

/** drizzle(neon-http) for the configured database, cached per isolate. */
export function createDb(config: Pick<Config, "database">): Db {
  const { url, fetchEndpoint } = config.database;
  if (fetchEndpoint) {
    neonConfig.fetchEndpoint = () => fetchEndpoint;
  }
  const key = `${fetchEndpoint}\n${url}`;
  let db = cache.get(key);
  if (!db) {
    db = drizzle(neon(url), { schema });
    cache.set(key, db);
  }
  return db;
}
