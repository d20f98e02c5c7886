/**
 * `npm run pricing -- list` / `npm run pricing -- add --service elevenlabs --operation character
 * --unit character --rate 120 [--model <id>] [--from 2026-12-01T00:00:00Z]`: the admin CLI for
 * vendor pricing. `add` appends a version (the current one ends where it starts; nothing is
 * edited, so past cost events keep their rate). Target: `DATABASE_URL` (+ `NEON_FETCH_ENDPOINT`)
 * when set, else the local database of `npm start` (127.0.0.1:8790, started from .data/pg if
 * nothing answers there). The same operations are `GET/POST /api/admin/pricing`.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { neon, neonConfig } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-http";
import { NewPricingRequest, type PricingRow } from "../contracts/money";
import * as schema from "../worker/db/schema";
import type { Db } from "../worker/db/client";
import { addPricingVersion, listPricing } from "../worker/services/pricing";
import { startNeonHttpServer } from "../sandbox/pg/server";
import { LOCAL_DATABASE, LOCAL_PG_PORT } from "./migrate";

const USAGE = `usage:
  pricing list
  pricing add --service <twilio|deepgram|cerebras|openai|elevenlabs|platform|stripe> --operation <op> --unit <unit> --rate <micro-dollars per unit> [--model <id>] [--from <ISO time>]`;

/** Parses `--key value` pairs. */
export function parseFlags(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}\n${USAGE}`);
    const v = args[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`missing value for ${a}\n${USAGE}`);
    out[a.slice(2)] = v;
    i++;
  }
  return out;
}

export function formatPricing(rows: readonly PricingRow[]): string {
  const lines = rows.map((r) =>
    [r.service.padEnd(10), r.operation.padEnd(16), (r.model || "-").padEnd(14), `${r.rateMicros} µ$/${r.unit}`.padEnd(28), r.effectiveFrom.padEnd(24), (r.effectiveTo ?? "(current)").padEnd(24), r.source].join("  "),
  );
  return ["service     operation         model           rate                          from                      to                        source", ...lines].join("\n");
}

/** Runs one CLI command against `db`; returns what to print. */
export async function runPricingCli(db: Db, argv: readonly string[]): Promise<string> {
  const [command, ...rest] = argv;
  if (command === "list") return formatPricing(await listPricing(db));
  if (command === "add") {
    const f = parseFlags(rest);
    const parsed = NewPricingRequest.safeParse({ service: f.service, operation: f.operation, model: f.model ?? "", unit: f.unit, rateMicros: f.rate, effectiveFrom: f.from });
    if (!parsed.success) throw new Error(`${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}\n${USAGE}`);
    const row = await addPricingVersion(db, parsed.data, "cli");
    return `added: ${formatPricing([row]).split("\n")[1]}`;
  }
  throw new Error(USAGE);
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  let server: { close(): Promise<void> } | undefined;
  let connectionString = url ?? "";
  if (url) {
    if (process.env.NEON_FETCH_ENDPOINT) {
      const ep = process.env.NEON_FETCH_ENDPOINT;
      neonConfig.fetchEndpoint = () => ep;
    }
  } else {
    const local = `http://127.0.0.1:${LOCAL_PG_PORT}`;
    const answers = await fetch(`${local}/sql`, { method: "POST", body: "{}" }).then(
      () => true,
      () => false,
    );
    if (!answers) server = await startNeonHttpServer({ port: LOCAL_PG_PORT, dataDir: resolve(".data", "pg") });
    neonConfig.fetchEndpoint = () => `${local}/sql`;
    connectionString = `postgresql://sandbox:sandbox@127.0.0.1:${LOCAL_PG_PORT}/${LOCAL_DATABASE}`;
  }
  try {
    const db = drizzle(neon(connectionString), { schema }) as unknown as Db;
    console.log(await runPricingCli(db, process.argv.slice(2)));
  } finally {
    await server?.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    let message = err instanceof Error ? err.message : String(err);
    const secret = process.env.DATABASE_URL;
    if (secret) message = message.split(secret).join("[DATABASE_URL]");
    console.error(`pricing: ${message}`);
    process.exitCode = 1;
  });
}
