/**
 * Smoke test of the workers-project wiring: the Worker answers `/health` through its own fetch
 * handler, and from inside workerd it reaches the local Postgres (Neon HTTP protocol on PGlite)
 * through the app's DB client, with migrations and the seed already applied by global-setup.
 */
import { env, exports } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../worker/db/client";
import { parseEnv } from "../../worker/env";

describe("workers smoke", () => {
  it("GET /health answers 200", async () => {
    const res = await exports.default.fetch(new Request("http://api.test/health"));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true });
  });

  it("queries the migrated, seeded database through the Worker's DB client", async () => {
    expect(env.NEON_FETCH_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sql$/);
    const db = createDb(parseEnv(env));
    const rows = await db.execute<{ n: number; now: string }>(
      sql`SELECT count(*)::int AS n, now()::text AS now FROM drizzle.__drizzle_migrations`,
    );
    expect(rows.rows[0]?.n).toBeGreaterThanOrEqual(1);
    const personas = await db.execute<{ slug: string }>(sql`SELECT slug FROM personas WHERE is_system ORDER BY slug`);
    expect(personas.rows.length).toBeGreaterThan(0);
  });
});
