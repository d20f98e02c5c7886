/**
 * The local Neon SQL-over-HTTP endpoint (sandbox/pg/server.ts) driven by the real driver
 * (`neon()` from @neondatabase/serverless) and by `drizzle-orm/neon-http`, exactly as the Worker
 * uses them: type round-trips, parameters, batches as one transaction, Neon-shaped errors,
 * persistence across a restart, and isolation between database names.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { neon, neonConfig, NeonDbError } from "@neondatabase/serverless";
import { eq, sql as dsql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/neon-http";
import { bigint, boolean, integer, jsonb, numeric, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNeonHttpServer, type NeonHttpServer } from "../../sandbox/pg/server";

let server: NeonHttpServer;

beforeAll(async () => {
  server = await startNeonHttpServer();
  neonConfig.fetchEndpoint = server.fetchEndpoint;
});
afterAll(async () => {
  await server?.close();
});

async function caught(p: Promise<unknown>): Promise<NeonDbError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof NeonDbError) return err;
    throw err;
  }
  throw new Error("expected the query to fail");
}

describe("types through neon()", () => {
  it("round-trips scalar types as the driver's parsers expect them", async () => {
    const sql = neon(server.connectionStringFor("types"));
    const [row] = await sql`
      SELECT true AS t, false AS f, 42::int4 AS i, 9007199254740993::int8 AS big,
             12345678901234567890.000000001::numeric AS n, 1.5::float8 AS fl,
             '2026-03-04T05:06:07.123Z'::timestamptz AS ts, '2026-03-04'::date AS d,
             'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, NULL::text AS nothing,
             'héllo ✓'::text AS s, '\\x0102ff'::bytea AS bytes`;
    expect(row).toMatchObject({ t: true, f: false, i: 42, fl: 1.5, nothing: null, s: "héllo ✓" });
    // int8 and numeric stay exact strings (the driver does not turn them into floats)
    expect(row?.big).toBe("9007199254740993");
    expect(row?.n).toBe("12345678901234567890.000000001");
    expect(row?.ts).toEqual(new Date("2026-03-04T05:06:07.123Z"));
    expect(row?.d).toBeInstanceOf(Date);
    expect(row?.u).toBe("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    expect(Buffer.from(row?.bytes as Uint8Array)).toEqual(Buffer.from([1, 2, 255]));
  });

  it("round-trips jsonb objects, arrays and strings, and text[]/int[] arrays", async () => {
    const sql = neon(server.connectionStringFor("types"));
    const [row] = await sql`
      SELECT '{"a":{"b":[1,2,"x"]},"ok":true}'::jsonb AS obj, '[1,"two",null]'::jsonb AS arr,
             '"just a string"'::jsonb AS str, ARRAY['a','b c','d"e',NULL]::text[] AS texts,
             ARRAY[1,2,3]::int[] AS ints, '{}'::int[] AS empty`;
    expect(row?.obj).toEqual({ a: { b: [1, 2, "x"] }, ok: true });
    expect(row?.arr).toEqual([1, "two", null]);
    expect(row?.str).toBe("just a string");
    expect(row?.texts).toEqual(["a", "b c", 'd"e', null]);
    expect(row?.ints).toEqual([1, 2, 3]);
    expect(row?.empty).toEqual([]);
  });

  it("accepts parameters of each type and stores them exactly", async () => {
    const sql = neon(server.connectionStringFor("params"));
    await sql`CREATE TABLE p (b boolean, i int, big bigint, n numeric(20,6), j jsonb, ts timestamptz,
                              d date, u uuid, tags text[], nums int[], note text)`;
    const when = new Date("2026-01-02T03:04:05.678Z");
    await sql`INSERT INTO p VALUES (${true}, ${7}, ${"9223372036854775807"}, ${"0.100001"},
      ${JSON.stringify({ k: ["v", 1] })}, ${when}, ${"2026-02-28"}, ${"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
      ${["x", "y,z", 'q"uote']}, ${[3, 4]}, ${null})`;
    const [row] = await sql`SELECT * FROM p`;
    expect(row).toMatchObject({
      b: true,
      i: 7,
      big: "9223372036854775807",
      n: "0.100001",
      j: { k: ["v", 1] },
      ts: when,
      u: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      tags: ["x", "y,z", 'q"uote'],
      nums: [3, 4],
      note: null,
    });
    // parameters typed by the statement, not by JS
    const [typed] = await sql`SELECT ${false}::boolean AS b, ${"12.50"}::numeric + 1 AS n, ${"2026-02-28"}::date::text AS d`;
    expect(typed).toEqual({ b: false, n: "13.50", d: "2026-02-28" });
  });

  it("returns full results (fields, command, rowCount) and honours arrayMode", async () => {
    const sql = neon(server.connectionStringFor("results"));
    await sql`CREATE TABLE r (id int, name text)`;
    const inserted = await sql.query("INSERT INTO r VALUES (1, 'a'), (2, 'b')", [], { fullResults: true });
    expect(inserted).toMatchObject({ command: "INSERT", rowCount: 2, rows: [] });
    const res = await sql.query("SELECT id, name FROM r ORDER BY id", [], { fullResults: true, arrayMode: true });
    expect(res.command).toBe("SELECT");
    expect(res.rowCount).toBe(2);
    expect(res.rows).toEqual([
      [1, "a"],
      [2, "b"],
    ]);
    expect(res.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
      ["id", 23],
      ["name", 25],
    ]);
    const updated = await sql.query("UPDATE r SET name = 'c' WHERE id > 5", [], { fullResults: true });
    expect(updated).toMatchObject({ command: "UPDATE", rowCount: 0 });
  });
});

describe("wire protocol", () => {
  it("answers the raw HTTP shape Neon answers, with CORS", async () => {
    const res = await fetch(server.fetchEndpoint, {
      method: "POST",
      headers: {
        "Neon-Connection-String": server.connectionStringFor("wire"),
        "Neon-Raw-Text-Output": "true",
        "Neon-Array-Mode": "false",
      },
      body: JSON.stringify({ query: "SELECT $1::int + 1 AS n, $2::bool AS b", params: ["41", "true"] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ command: "SELECT", rowCount: 1, rowAsArray: false, rows: [{ n: "42", b: "t" }] });
    expect((body.fields as unknown[])[0]).toEqual({
      name: "n",
      tableID: 0,
      columnID: 0,
      dataTypeID: 23,
      dataTypeSize: 4,
      dataTypeModifier: -1,
      format: "text",
    });

    const preflight = await fetch(server.fetchEndpoint, { method: "OPTIONS" });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")).toContain("Neon-Connection-String");
  });

  it("rejects a request without a connection string with a 400 Neon error", async () => {
    const res = await fetch(server.fetchEndpoint, { method: "POST", body: JSON.stringify({ query: "SELECT 1" }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/connection string/);
  });
});

describe("errors", () => {
  it("reports a unique violation as NeonDbError 23505 with the constraint", async () => {
    const sql = neon(server.connectionStringFor("errors"));
    await sql`CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL)`;
    await sql`INSERT INTO users (email) VALUES (${"a@example.com"})`;
    const err = await caught(sql`INSERT INTO users (email) VALUES (${"a@example.com"})`);
    expect(err).toBeInstanceOf(NeonDbError);
    expect(err.code).toBe("23505");
    expect(err.severity).toBe("ERROR");
    expect(err.constraint).toBe("users_email_key");
    expect(err.table).toBe("users");
    expect(err.detail).toContain("already exists");
    // the connection is usable afterwards
    expect(await sql`SELECT count(*)::int AS n FROM users`).toEqual([{ n: 1 }]);
  });

  it("reports a syntax error with its position", async () => {
    const sql = neon(server.connectionStringFor("errors"));
    const err = await caught(sql`SELECT 1 FROM WHERE`);
    expect(err.code).toBe("42601");
    expect(err.message).toMatch(/syntax error at or near "WHERE"/);
    expect(err.position).toBe("15");
  });

  it("does not let a stray BEGIN leak into later requests", async () => {
    const sql = neon(server.connectionStringFor("errors"));
    await sql`BEGIN ISOLATION LEVEL SERIALIZABLE`;
    expect(await sql`SELECT current_setting('transaction_isolation') AS v`).toEqual([{ v: "read committed" }]);
  });
});

describe("batches are one transaction", () => {
  it("sql.transaction commits together and rolls back together", async () => {
    const sql = neon(server.connectionStringFor("batch"));
    await sql`CREATE TABLE acct (id int PRIMARY KEY, balance int NOT NULL CHECK (balance >= 0))`;
    const results = await sql.transaction([
      sql`INSERT INTO acct VALUES (1, 100), (2, 0)`,
      sql`UPDATE acct SET balance = balance - 30 WHERE id = 1`,
      sql`UPDATE acct SET balance = balance + 30 WHERE id = 2 RETURNING balance`,
    ]);
    expect(results[2]).toEqual([{ balance: 30 }]);

    const err = await caught(
      sql.transaction([
        sql`UPDATE acct SET balance = balance + 500 WHERE id = 2`,
        sql`UPDATE acct SET balance = balance - 500 WHERE id = 1`, // violates the CHECK
      ]),
    );
    expect(err.code).toBe("23514");
    expect(await sql`SELECT id, balance FROM acct ORDER BY id`).toEqual([
      { id: 1, balance: 70 },
      { id: 2, balance: 30 },
    ]);
  });

  it("applies the requested isolation level and read-only mode", async () => {
    const sql = neon(server.connectionStringFor("batch"));
    const [[level], [ro]] = (await sql.transaction(
      [sql`SELECT current_setting('transaction_isolation') AS v`, sql`SELECT current_setting('transaction_read_only') AS v`],
      { isolationLevel: "Serializable", readOnly: true },
    )) as [{ v: string }[], { v: string }[]];
    expect(level?.v).toBe("serializable");
    expect(ro?.v).toBe("on");
    const err = await caught(sql.transaction([sql`CREATE TABLE nope (x int)`], { readOnly: true }));
    expect(err.code).toBe("25006");
  });
});

describe("drizzle-orm/neon-http", () => {
  const items = pgTable("items", {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull().unique(),
    active: boolean("active").notNull().default(true),
    qty: integer("qty").notNull(),
    priceMicros: bigint("price_micros", { mode: "bigint" }).notNull(),
    rate: numeric("rate", { precision: 10, scale: 4 }),
    meta: jsonb("meta").$type<{ tags: string[] }>(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  });

  it("inserts, selects and batches with correct JS types", async () => {
    const db = drizzle({ client: neon(server.connectionStringFor("drizzle")) });
    await db.execute(dsql`CREATE TABLE items (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL UNIQUE,
      active boolean NOT NULL DEFAULT true, qty integer NOT NULL, price_micros bigint NOT NULL, rate numeric(10,4),
      meta jsonb, created_at timestamptz NOT NULL DEFAULT now())`);
    const [a] = await db
      .insert(items)
      .values({ name: "a", qty: 1, priceMicros: 12_345_678_901_234n, rate: "0.1250", meta: { tags: ["x"] } })
      .returning();
    expect(a).toMatchObject({ name: "a", active: true, qty: 1, priceMicros: 12_345_678_901_234n, rate: "0.1250" });
    expect(a?.meta).toEqual({ tags: ["x"] });
    expect(a?.createdAt).toBeInstanceOf(Date);
    expect(a?.id).toMatch(/^[0-9a-f-]{36}$/);

    await db.batch([
      db.insert(items).values({ name: "b", qty: 2, priceMicros: 1n }),
      db.update(items).set({ active: false }).where(eq(items.name, "a")),
    ]);
    const rows = await db.select({ name: items.name, active: items.active }).from(items).orderBy(items.name);
    expect(rows).toEqual([
      { name: "a", active: false },
      { name: "b", active: true },
    ]);

    // a failing statement rolls back the whole batch
    await expect(
      db.batch([
        db.insert(items).values({ name: "c", qty: 3, priceMicros: 1n }),
        db.insert(items).values({ name: "a", qty: 3, priceMicros: 1n }),
      ]),
    ).rejects.toThrow();
    const names = await db.select({ name: items.name }).from(items).orderBy(items.name);
    expect(names.map((r) => r.name)).toEqual(["a", "b"]);
  });
});

describe("databases", () => {
  it("keeps two database names isolated", async () => {
    const one = neon(server.connectionStringFor("iso_one"));
    const two = neon(server.connectionStringFor("iso_two"));
    await one`CREATE TABLE only_here (x int)`;
    await one`INSERT INTO only_here VALUES (1)`;
    expect(await one`SELECT x FROM only_here`).toEqual([{ x: 1 }]);
    expect((await caught(two`SELECT x FROM only_here`)).code).toBe("42P01");
  });

  it("persists data across a server restart with dataDir", { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "pg-persist-"));
    try {
      const first = await startNeonHttpServer({ dataDir });
      const conn = (s: NeonHttpServer) => neon(s.connectionStringFor("keep"));
      // neonConfig.fetchEndpoint is global: point it at the server under test
      neonConfig.fetchEndpoint = first.fetchEndpoint;
      await conn(first)`CREATE TABLE kept (id int PRIMARY KEY, note text)`;
      await conn(first)`INSERT INTO kept VALUES (1, 'survives')`;
      await first.close();

      const second = await startNeonHttpServer({ dataDir });
      neonConfig.fetchEndpoint = second.fetchEndpoint;
      try {
        expect(await conn(second)`SELECT id, note FROM kept`).toEqual([{ id: 1, note: "survives" }]);
      } finally {
        await second.close();
      }
    } finally {
      neonConfig.fetchEndpoint = server.fetchEndpoint;
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
