/**
 * Local stand-in for Neon's SQL-over-HTTP endpoint, backed by PGlite (Postgres 18 in WASM).
 *
 * Speaks the protocol `@neondatabase/serverless` (`neon()`, `drizzle-orm/neon-http`) uses: `POST`
 * (to `/sql` or any path) with `Neon-Connection-String`, `Neon-Raw-Text-Output`, `Neon-Array-Mode`
 * and, for batches, `Neon-Batch-Isolation-Level` / `-Read-Only` / `-Deferrable`. A body
 * `{query, params}` runs one statement; `{queries:[…]}` runs them all in ONE transaction (ROLLBACK on
 * the first error). Results carry Postgres TEXT output (`{fields, rows, command, rowCount,
 * rowAsArray}`); Postgres errors come back as HTTP 400 with the fields Neon's proxy returns.
 *
 * Statements go through the Postgres extended protocol (Parse/Bind/Describe/Execute/Sync) via
 * PGlite's `execProtocol`, so parameters enter as text and values leave as text: PGlite's JS
 * serializers and parsers are never involved. The database name in the connection string selects a
 * PGlite instance (created on first use; in memory, or persisted under `${dataDir}/${dbname}`;
 * new in-memory databases start from a pristine dump of the first one, which is much faster).
 * Each instance runs one request at a time. Passwords and bearer tokens are accepted, never checked.
 * It deliberately does not implement Neon's WebSocket (`Pool`/`Client`) protocol.
 */
import { mkdir } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { PGlite, protocol } from "@electric-sql/pglite";
import { closeServer, createEmulatorServer, handleControl, Knobs, listen, readBody, sendJson } from "../shared/emulator";

export interface NeonHttpServerOptions {
  /** @default 0 (any free port) */
  port?: number;
  /** Persist each database under `${dataDir}/${dbname}`; in memory when absent. */
  dataDir?: string;
  /** Database name used in `connectionString`. @default "callmeback" */
  database?: string;
}

export interface NeonHttpServer {
  /** Base URL, e.g. `http://127.0.0.1:8790`. */
  url: string;
  port: number;
  /** A connection string for the default database (the host is informational; the fetch endpoint decides). */
  connectionString: string;
  /** What to set as `neonConfig.fetchEndpoint` (`${url}/sql`). */
  fetchEndpoint: string;
  /** Connection string for another (isolated) database on the same server. */
  connectionStringFor(database: string): string;
  close(): Promise<void>;
}

/** Neon's error body: every Postgres error field, `null` when Postgres did not send it. */
const ERROR_FIELDS = [
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "severity",
  "where",
  "table",
  "column",
  "schema",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;

const ISOLATION_LEVELS: Record<string, string> = {
  Serializable: "SERIALIZABLE",
  ReadUncommitted: "READ UNCOMMITTED",
  ReadCommitted: "READ COMMITTED",
  RepeatableRead: "REPEATABLE READ",
};

const CORS_HEADERS: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "POST, OPTIONS",
  "access-control-allow-headers":
    "Authorization, Content-Type, Neon-Connection-String, Neon-Raw-Text-Output, Neon-Array-Mode, Neon-Batch-Isolation-Level, Neon-Batch-Read-Only, Neon-Batch-Deferrable, Neon-Pool-Opt-In",
  "access-control-max-age": "86400",
};

const DB_NAME = /^[A-Za-z0-9_-]{1,63}$/;

interface QueryData {
  query: string;
  params: (string | null)[];
  arrayMode?: boolean;
}

interface FieldJson {
  name: string;
  tableID: number;
  columnID: number;
  dataTypeID: number;
  dataTypeSize: number;
  dataTypeModifier: number;
  format: "text";
}

interface QueryResultJson {
  fields: FieldJson[];
  command: string;
  rowCount: number | null;
  rows: (string | null)[][] | Record<string, string | null>[];
  rowAsArray: boolean;
}

/** A Postgres error (or a request error) in Neon's 400 body shape. */
class SqlError extends Error {
  constructor(
    message: string,
    readonly fields: Partial<Record<(typeof ERROR_FIELDS)[number], string | undefined>> = {},
  ) {
    super(message);
  }
  toJson(): Record<string, string | null> {
    const body: Record<string, string | null> = { message: this.message };
    for (const key of ERROR_FIELDS) body[key] = this.fields[key] ?? null;
    return body;
  }
}

/** One PGlite instance plus a FIFO lock so requests (and whole batches) never interleave. */
class Database {
  private tail: Promise<unknown> = Promise.resolve();
  constructor(readonly pg: PGlite) {}

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/** Neon's JSON → Postgres text conversion for parameters (the driver already sends text). */
function paramToText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return arrayLiteral(value);
  return JSON.stringify(value);
}

function arrayLiteral(values: unknown[]): string {
  const items = values.map((v) => {
    if (v === null || v === undefined) return "NULL";
    if (Array.isArray(v)) return arrayLiteral(v);
    const text = paramToText(v) ?? "";
    return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  });
  return `{${items.join(",")}}`;
}

function parseQueryData(value: unknown): QueryData {
  if (typeof value !== "object" || value === null) throw new SqlError("request body must be a JSON object");
  const v = value as Record<string, unknown>;
  if (typeof v.query !== "string") throw new SqlError("missing field `query`");
  const params = v.params === undefined ? [] : v.params;
  if (!Array.isArray(params)) throw new SqlError("`params` must be an array");
  return {
    query: v.query,
    params: params.map(paramToText),
    arrayMode: typeof v.arrayMode === "boolean" ? v.arrayMode : undefined,
  };
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

type RowDescriptionMessage = InstanceType<typeof protocol.messages.RowDescriptionMessage>;
type DataRowMessage = InstanceType<typeof protocol.messages.DataRowMessage>;
type CommandCompleteMessage = InstanceType<typeof protocol.messages.CommandCompleteMessage>;
type ReadyForQueryMessage = InstanceType<typeof protocol.messages.ReadyForQueryMessage>;
type DatabaseError = InstanceType<typeof protocol.messages.DatabaseError>;

function isDatabaseError(err: unknown): err is DatabaseError {
  return err instanceof Error && (err as { name?: unknown }).name === "error" && "severity" in err;
}

function toSqlError(err: unknown): SqlError {
  if (err instanceof SqlError) return err;
  if (isDatabaseError(err)) {
    const fields: SqlError["fields"] = {};
    for (const key of ERROR_FIELDS) fields[key] = err[key];
    return new SqlError(err.message, fields);
  }
  throw err;
}

/** "INSERT 0 3" → ["INSERT", 3]; "SELECT 2" → ["SELECT", 2]; "BEGIN" → ["BEGIN", null]. */
function parseCommandTag(tag: string): [string, number | null] {
  const space = tag.indexOf(" ");
  if (space < 0) return [tag, null];
  const name = tag.slice(0, space);
  const rest = tag.slice(space + 1);
  const countText = name === "INSERT" ? rest.split(" ")[1] : rest;
  const count = countText !== undefined && /^\d+$/.test(countText) ? Number(countText) : null;
  return [name, count];
}

/** Runs one statement through the extended protocol with text parameters and text results. */
async function runStatement(
  pg: PGlite,
  data: QueryData,
  defaultArrayMode: boolean,
): Promise<{ result: QueryResultJson; idle: boolean }> {
  const { serialize } = protocol;
  const message = concatBytes([
    serialize.parse({ text: data.query }),
    serialize.bind({ values: data.params }),
    serialize.describe({ type: "P" }),
    serialize.execute({}),
    serialize.sync(),
  ]);
  let messages: Awaited<ReturnType<PGlite["execProtocol"]>>["messages"];
  try {
    ({ messages } = await pg.execProtocol(message));
  } catch (err) {
    throw toSqlError(err);
  }
  let fields: FieldJson[] = [];
  const rawRows: (string | null)[][] = [];
  let commandTag = "";
  let idle = true;
  for (const m of messages) {
    // narrowed by `name`: PGlite's bundle does not guarantee one class identity per message type
    if (m.name === "rowDescription") {
      fields = (m as RowDescriptionMessage).fields.map((f) => ({
        name: f.name,
        tableID: f.tableID,
        columnID: f.columnID,
        dataTypeID: f.dataTypeID,
        dataTypeSize: f.dataTypeSize,
        dataTypeModifier: f.dataTypeModifier,
        format: "text",
      }));
    } else if (m.name === "dataRow") rawRows.push((m as DataRowMessage).fields);
    else if (m.name === "commandComplete") commandTag = (m as CommandCompleteMessage).text;
    else if (m.name === "readyForQuery") idle = (m as ReadyForQueryMessage).status === "I";
  }
  const arrayMode = data.arrayMode ?? defaultArrayMode;
  const [command, rowCount] = parseCommandTag(commandTag);
  const rows = arrayMode
    ? rawRows
    : rawRows.map((r) => Object.fromEntries(fields.map((f, i) => [f.name, r[i] ?? null])));
  return { result: { fields, command, rowCount, rows, rowAsArray: arrayMode }, idle };
}

async function simple(pg: PGlite, sql: string): Promise<void> {
  try {
    await pg.execProtocol(protocol.serialize.query(sql));
  } catch (err) {
    throw toSqlError(err);
  }
}

/** Ends any transaction a statement left open (a lone `BEGIN` must not leak into the next request). */
async function rollbackQuietly(pg: PGlite): Promise<void> {
  await pg.execProtocol(protocol.serialize.query("ROLLBACK"), { throwOnError: false });
}

/**
 * A pristine data directory dumped from the first in-memory database of this process: loading it
 * takes ~0.5 s where a fresh initdb takes several seconds, so tests can afford fresh databases.
 */
let pristineTemplate: Promise<File | Blob> | undefined;

async function freshInMemoryDatabase(): Promise<PGlite> {
  const template = pristineTemplate ? await pristineTemplate.catch(() => undefined) : undefined;
  if (template) {
    const pg = new PGlite({ loadDataDir: template });
    await pg.waitReady;
    return pg;
  }
  const pg = new PGlite();
  await pg.waitReady;
  pristineTemplate ??= pg.dumpDataDir("none");
  await pristineTemplate.catch(() => undefined);
  return pg;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Starts the local Neon SQL-over-HTTP endpoint on 127.0.0.1. */
export async function startNeonHttpServer(opts: NeonHttpServerOptions = {}): Promise<NeonHttpServer> {
  const databases = new Map<string, Promise<Database>>();
  const counts = new Map<string, { queries: number; batches: number }>();
  const knobs = new Knobs<object>({});
  let closing = false;

  function database(name: string): Promise<Database> {
    let db = databases.get(name);
    if (!db) {
      db = (async () => {
        let dir: string | undefined;
        if (opts.dataDir) {
          dir = join(opts.dataDir, name);
          await mkdir(dir, { recursive: true });
        }
        if (dir) {
          const pg = new PGlite(dir);
          await pg.waitReady;
          return new Database(pg);
        }
        return new Database(await freshInMemoryDatabase());
      })();
      databases.set(name, db);
      db.catch(() => databases.delete(name));
    }
    return db;
  }

  function databaseName(req: IncomingMessage): string {
    const conn = header(req, "neon-connection-string");
    if (!conn) throw new SqlError("missing connection string");
    let url: URL;
    try {
      url = new URL(conn);
    } catch {
      throw new SqlError("invalid connection string");
    }
    const name = decodeURIComponent(url.pathname.replace(/^\//, "")) || "neondb";
    if (!DB_NAME.test(name)) throw new SqlError(`database name must match ${DB_NAME.source}`);
    return name;
  }

  async function handleSql(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const responseHeaders: Record<string, string> = { ...CORS_HEADERS };
    try {
      const name = databaseName(req);
      const arrayMode = header(req, "neon-array-mode") === "true";
      let body: unknown;
      try {
        body = JSON.parse((await readBody(req)).toString("utf8"));
      } catch {
        throw new SqlError("request body is not valid JSON");
      }
      const count = counts.get(name) ?? { queries: 0, batches: 0 };
      counts.set(name, count);
      const db = await database(name);
      if (typeof body === "object" && body !== null && Array.isArray((body as { queries?: unknown }).queries)) {
        const queries = ((body as { queries: unknown[] }).queries).map(parseQueryData);
        const isolationHeader = header(req, "neon-batch-isolation-level");
        let begin = "BEGIN";
        if (isolationHeader !== undefined) {
          const level = ISOLATION_LEVELS[isolationHeader];
          if (!level) throw new SqlError("invalid isolation level");
          begin += ` ISOLATION LEVEL ${level}`;
          responseHeaders["neon-batch-isolation-level"] = isolationHeader;
        }
        if (header(req, "neon-batch-read-only") === "true") {
          begin += " READ ONLY";
          responseHeaders["neon-batch-read-only"] = "true";
        }
        if (header(req, "neon-batch-deferrable") === "true") {
          begin += " DEFERRABLE";
          responseHeaders["neon-batch-deferrable"] = "true";
        }
        count.batches += 1;
        count.queries += queries.length;
        const results = await db.exclusive(async () => {
          await simple(db.pg, begin);
          try {
            const out: QueryResultJson[] = [];
            for (const q of queries) out.push((await runStatement(db.pg, q, arrayMode)).result);
            await simple(db.pg, "COMMIT");
            return out;
          } catch (err) {
            await rollbackQuietly(db.pg);
            throw err;
          }
        });
        sendJson(res, 200, { results }, responseHeaders);
      } else {
        const query = parseQueryData(body);
        count.queries += 1;
        const result = await db.exclusive(async () => {
          try {
            const { result, idle } = await runStatement(db.pg, query, arrayMode);
            if (!idle) await rollbackQuietly(db.pg);
            return result;
          } catch (err) {
            await rollbackQuietly(db.pg);
            throw err;
          }
        });
        sendJson(res, 200, result, responseHeaders);
      }
    } catch (err) {
      sendJson(res, 400, toSqlError(err).toJson(), responseHeaders);
    }
  }

  const server = createEmulatorServer(async (req, res) => {
    if (req.method === "OPTIONS") {
      res.writeHead(204, CORS_HEADERS);
      res.end();
      return;
    }
    const handled = await handleControl(req, res, {
      knobs,
      bill: () => ({ databases: Object.fromEntries(counts) }),
      reset: () => counts.clear(),
    });
    if (handled) return;
    const path = new URL(req.url ?? "/", "http://pg").pathname;
    if (req.method === "GET" && path === "/health") {
      sendJson(res, 200, { ok: true, databases: [...databases.keys()] }, CORS_HEADERS);
      return;
    }
    if (req.method !== "POST") {
      sendJson(res, 405, { message: "use POST" }, CORS_HEADERS);
      return;
    }
    if (closing) {
      sendJson(res, 503, { message: "server is shutting down" }, CORS_HEADERS);
      return;
    }
    await handleSql(req, res);
  }, "pg");

  const port = await listen(server, opts.port ?? 0);
  const url = `http://127.0.0.1:${port}`;
  const connectionStringFor = (db: string): string => {
    if (!DB_NAME.test(db)) throw new Error(`database name must match ${DB_NAME.source}`);
    return `postgresql://sandbox:sandbox@127.0.0.1:${port}/${db}`;
  };
  return {
    url,
    port,
    connectionString: connectionStringFor(opts.database ?? "callmeback"),
    fetchEndpoint: `${url}/sql`,
    connectionStringFor,
    async close() {
      closing = true;
      await closeServer(server);
      const all = [...databases.values()];
      databases.clear();
      await Promise.all(
        all.map(async (p) => {
          const db = await p.catch(() => undefined);
          if (db) await db.exclusive(() => db.pg.close());
        }),
      );
    },
  };
}
