/**
 * Daily reconciliation (Cron "0 2 * * *"): compares the cost ledger with what the vendors say
 * they will bill, marks agreeing cost events as reconciled and records every discrepancy above
 * $0.10 for the admin view.
 *
 * - Per call, Twilio: the Call resource's `price` (REST, real Twilio and the emulator alike)
 *   against the call's telephony cost events.
 * - Per call, Deepgram / ElevenLabs: when cost events carry the vendor's request id and the vendor
 *   is a local emulator, its `/__sandbox/bill?…` for those ids.
 * - Whole account, STT / LLM / TTS: the local emulators' bills (units × the rate in force now)
 *   against the ledger's all-time totals per service (recorded with no call id). Real vendors'
 *   usage APIs other than Twilio's are not queried.
 */
import { and, eq, gte, inArray, isNull, lt, sql } from "drizzle-orm";
import type { ReconciliationResult } from "../../contracts/money";
import { RateCard, type CostServiceName } from "../../durable-objects/money/cost-meter";
import type { Db } from "../db/client";
import { calls, costEvents, reconciliationDiscrepancies } from "../db/schema";
import type { Config } from "../env";
import { loadRates } from "./pricing";

/** Differences up to this many micro-dollars ($0.10) per call and service are accepted. */
export const TOLERANCE_MICROS = 100_000;

export interface ReconcileDeps {
  db: Db;
  config: Config;
  fetch?: typeof fetch;
}

const isLoopback = (u: string) => {
  try {
    const h = new URL(u).hostname;
    return h === "127.0.0.1" || h === "localhost" || h === "::1" || h === "[::1]";
  } catch {
    return false;
  }
};

/** http(s) origin of a vendor base URL (ws → http) plus the sandbox bill path. */
function billUrl(base: string, query = ""): string {
  const u = new URL(base.replace(/^ws/, "http"));
  return `${u.origin}/__sandbox/bill${query}`;
}

async function getJson(f: typeof fetch, url: string, headers: Record<string, string> = {}): Promise<unknown> {
  const res = await f(url, { headers });
  if (!res.ok) throw new Error(`GET ${new URL(url).pathname} → ${res.status}`);
  return res.json();
}

const num = (v: unknown): number => (typeof v === "number" ? v : typeof v === "string" ? Number(v) : 0);
const get = (o: unknown, k: string): unknown => (typeof o === "object" && o !== null ? (o as Record<string, unknown>)[k] : undefined);

/** The UTC day before `now` as YYYY-MM-DD. */
export function previousDay(now: Date): string {
  return new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);
}

async function recordDiscrepancy(db: Db, runDate: string, callId: string | null, service: CostServiceName, ledger: number, vendor: number): Promise<boolean> {
  const diff = vendor - ledger;
  if (Math.abs(diff) <= TOLERANCE_MICROS) return false;
  if (callId === null) {
    await db
      .delete(reconciliationDiscrepancies)
      .where(and(eq(reconciliationDiscrepancies.runDate, runDate), isNull(reconciliationDiscrepancies.callId), eq(reconciliationDiscrepancies.service, service)));
  }
  await db
    .insert(reconciliationDiscrepancies)
    .values({ runDate, callId, service, ledgerMicros: ledger, vendorMicros: vendor, diffMicros: diff })
    .onConflictDoUpdate({
      target: [reconciliationDiscrepancies.runDate, reconciliationDiscrepancies.callId, reconciliationDiscrepancies.service],
      set: { ledgerMicros: ledger, vendorMicros: vendor, diffMicros: diff },
    });
  return true;
}

/** Reconcile the calls that ended on `runDate` (UTC, default: yesterday). Safe to run again. */
export async function reconcile(deps: ReconcileDeps, opts: { runDate?: string; now?: Date } = {}): Promise<ReconciliationResult> {
  const { db, config } = deps;
  const f = deps.fetch ?? fetch;
  const now = opts.now ?? new Date();
  const runDate = opts.runDate ?? previousDay(now);
  const start = new Date(`${runDate}T00:00:00Z`);
  const end = new Date(start.getTime() + 86_400_000);
  const card = new RateCard(await loadRates(db));
  const rateMicros = (service: CostServiceName, operation: string, model = "") => {
    const r = card.find(service, operation, model, now.getTime());
    return r ? Number(r.rateMicros) : 0;
  };

  const dayCalls = await db
    .select({ id: calls.id, sid: calls.twilioCallSid })
    .from(calls)
    .where(and(gte(calls.endedAt, start), lt(calls.endedAt, end)));
  let discrepancies = 0;
  let eventsReconciled = 0;
  const agreed: { callId: string; services: CostServiceName[] }[] = [];

  const twilioAuth = `Basic ${btoa(`${config.keys.twilioAccountSid}:${config.keys.twilioAuthToken}`)}`;
  for (const call of dayCalls) {
    const ledgerRows = await db
      .select({ service: costEvents.service, total: sql<string>`round(sum(${costEvents.costMicros}))`, ids: sql<string[]>`array_remove(array_agg(DISTINCT ${costEvents.providerRequestId}), NULL)` })
      .from(costEvents)
      .where(eq(costEvents.callId, call.id))
      .groupBy(costEvents.service);
    const ledger = new Map(ledgerRows.map((r) => [r.service, { total: Number(r.total), ids: r.ids ?? [] }]));
    const ok: CostServiceName[] = ["platform"];
    if (call.sid) {
      try {
        const res = await getJson(f, `${config.baseUrls.twilio}/2010-04-01/Accounts/${config.keys.twilioAccountSid}/Calls/${call.sid}.json`, { Authorization: twilioAuth });
        const price = get(res, "price");
        if (price !== null && price !== undefined) {
          const vendor = Math.round(Math.abs(num(price)) * 1_000_000);
          if (await recordDiscrepancy(db, runDate, call.id, "twilio", ledger.get("twilio")?.total ?? 0, vendor)) discrepancies++;
          else ok.push("twilio");
        }
      } catch {
        // Twilio unreachable or the call is unknown there: leave its events unreconciled for the next run.
      }
    }
    for (const [service, base, param, unitKey, perUnit] of [
      ["deepgram", config.baseUrls.deepgram, "request_id", "totalAudioSeconds", rateMicros("deepgram", "stream_minute") / 60],
      ["elevenlabs", config.baseUrls.elevenlabs, "connectionId", "totalCharacters", rateMicros("elevenlabs", "character")],
    ] as const) {
      const ids = ledger.get(service)?.ids ?? [];
      if (ids.length === 0 || !isLoopback(base)) continue;
      let units = 0;
      try {
        for (const id of ids) units += num(get(await getJson(f, billUrl(base, `?${param}=${encodeURIComponent(id)}`)), unitKey));
      } catch {
        continue;
      }
      if (await recordDiscrepancy(db, runDate, call.id, service, ledger.get(service)?.total ?? 0, Math.round(units * perUnit))) discrepancies++;
      else ok.push(service);
    }
    agreed.push({ callId: call.id, services: ok });
  }

  // Account-wide comparison with the local emulators' bills.
  const totals = await db
    .select({ service: costEvents.service, operation: costEvents.operation, model: costEvents.model, total: sql<string>`round(sum(${costEvents.costMicros}))` })
    .from(costEvents)
    .groupBy(costEvents.service, costEvents.operation, costEvents.model);
  const ledgerOf = (service: string) => totals.filter((t) => t.service === service).reduce((a, t) => a + Number(t.total), 0);
  const aggregateOk: CostServiceName[] = [];
  const checks: { service: CostServiceName; vendor: () => Promise<number>; base: string }[] = [
    { service: "deepgram", base: config.baseUrls.deepgram, vendor: async () => num(get(await getJson(f, billUrl(config.baseUrls.deepgram)), "totalAudioSeconds")) * (rateMicros("deepgram", "stream_minute") / 60) },
    { service: "elevenlabs", base: config.baseUrls.elevenlabs, vendor: async () => num(get(await getJson(f, billUrl(config.baseUrls.elevenlabs)), "totalCharacters")) * rateMicros("elevenlabs", "character") },
    ...(["cerebras", "openai"] as const).map((service) => ({
      service,
      base: service === "cerebras" ? config.baseUrls.cerebras : config.baseUrls.openai,
      vendor: async () => {
        const bill = await getJson(f, billUrl(service === "cerebras" ? config.baseUrls.cerebras : config.baseUrls.openai));
        const byModel = get(bill, "byModel");
        let micros = 0;
        if (typeof byModel === "object" && byModel !== null) {
          for (const [model, t] of Object.entries(byModel)) {
            micros += num(get(t, "prompt_tokens")) * rateMicros(service, "input_token", model) + num(get(t, "completion_tokens")) * rateMicros(service, "output_token", model);
          }
        }
        return micros;
      },
    })),
  ];
  for (const check of checks) {
    if (!isLoopback(check.base)) continue;
    try {
      const vendor = Math.round(await check.vendor());
      if (await recordDiscrepancy(db, runDate, null, check.service, ledgerOf(check.service), vendor)) discrepancies++;
      else aggregateOk.push(check.service);
    } catch {
      // emulator not reachable: nothing to compare
    }
  }

  for (const a of agreed) {
    const services = [...new Set([...a.services, ...aggregateOk])];
    const updated = await db
      .update(costEvents)
      .set({ reconciledAt: now })
      .where(and(eq(costEvents.callId, a.callId), inArray(costEvents.service, services), isNull(costEvents.reconciledAt)))
      .returning({ id: costEvents.id });
    eventsReconciled += updated.length;
  }
  return { runDate, callsChecked: dayCalls.length, eventsReconciled, discrepancies };
}

export async function listDiscrepancies(db: Db, limit = 200) {
  const rows = await db.select().from(reconciliationDiscrepancies).orderBy(sql`${reconciliationDiscrepancies.createdAt} DESC`).limit(limit);
  return rows.map((r) => ({
    id: r.id,
    runDate: r.runDate,
    callId: r.callId,
    service: r.service,
    ledgerMicros: r.ledgerMicros,
    vendorMicros: r.vendorMicros,
    diffMicros: r.diffMicros,
    createdAt: r.createdAt.toISOString(),
  }));
}
