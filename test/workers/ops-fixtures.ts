/**
 * Real rows for the operations tests: one finished call of a fresh user with Brad, its timeline
 * events (written through `recordEvents`, as the call loop does), three turns with a latency
 * breakdown, priced cost events and a reconciliation discrepancy. Everything is unique per call
 * so tests can filter on it.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { createDb } from "../../worker/db/client";
import { callTurns, calls, costEvents, personas, reconciliationDiscrepancies } from "../../worker/db/schema";
import { parseEnv } from "../../worker/env";
import { recordEvents } from "../../worker/services/timeline";
import { newAccount, type Account } from "./helpers";

export interface OpsFixture {
  account: Account;
  callId: string;
  personaId: string;
  /** A word that appears in exactly this call's events. */
  marker: string;
  startedAt: Date;
}

export function testDb() {
  return createDb(parseEnv(env));
}

/** `startedAt` lets each test file own a distinct time window (cost aggregation over a period). */
export async function seedFinishedCall(opts: { phone?: string; startedAt?: Date } = {}): Promise<OpsFixture> {
  const db = testDb();
  const account = await newAccount("Ops Fixture");
  const [brad] = await db.select({ id: personas.id }).from(personas).where(eq(personas.slug, "brad"));
  if (!brad) throw new Error("seeded persona brad missing");
  const startedAt = opts.startedAt ?? new Date(Date.now() - 10 * 60_000);
  const at = (s: number) => new Date(startedAt.getTime() + s * 1000);
  const [call] = await db
    .insert(calls)
    .values({
      userId: account.user.id,
      personaId: brad.id,
      transport: "phone",
      toPhone: opts.phone ?? "+15555550123",
      twilioCallSid: `CA${crypto.randomUUID().replace(/-/g, "")}`,
      status: "completed",
      endReason: "caller_hung_up",
      durationLimitS: 300,
      priceMicros: 4_990_000,
      chargeMicros: 4_990_000,
      costMicros: 412_345,
      durationS: 95,
      createdAt: startedAt,
      answeredAt: at(4),
      endedAt: at(99),
    })
    .returning({ id: calls.id });
  const callId = call!.id;
  const marker = `mk${crypto.randomUUID().slice(0, 8)}`;
  await recordEvents(db, [
    { callId, eventKey: "status:initiated", at: at(0), type: "status", service: "twilio", message: "initiated", data: { to: opts.phone ?? "+15555550123" } },
    { callId, eventKey: "status:in_progress", at: at(4), type: "status", service: "twilio", message: "in_progress" },
    { callId, eventKey: "stream:start", at: at(5), type: "stream.start", service: "twilio", message: `media stream started ${marker}` },
    { callId, eventKey: "turn:1", at: at(8), type: "turn", service: "pipeline", message: "assistant turn 1", data: { seq: 1 } },
    { callId, eventKey: "reconnect:1", at: at(30), type: "provider.reconnect", service: "deepgram", message: "deepgram socket dropped; reconnected" },
    { callId, eventKey: "barge:1", at: at(41), type: "barge_in", service: "pipeline", message: "caller barged in" },
    { callId, eventKey: "fallback:1", at: at(52), type: "provider.fallback", service: "openai", message: "primary LLM slow; used fallback", data: { inputTokens: 812 } },
    { callId, eventKey: "seq:40", at: at(50), type: "usage", service: "deepgram", message: "stt usage", data: { kind: "stt", audioMs: 30_000 } },
    { callId, eventKey: "seq:41", at: at(60), type: "usage", service: "cerebras", message: "llm usage", data: { kind: "llm", inputTokens: 640, outputTokens: 42 } },
    { callId, eventKey: "budget:80", at: at(80), type: "budget.warning", service: "platform", message: "80% of the call budget used" },
    { callId, eventKey: "stream:stop", at: at(98), type: "stream.stop", service: "twilio", message: "media stream stopped" },
    { callId, eventKey: "status:completed", at: at(99), type: "status", service: "twilio", message: "completed" },
    { callId, eventKey: "cost:total", at: at(99.5), type: "cost.total", service: "platform", message: "cost total $0.4123" },
  ]);
  const latency = (final: number, llm: number, tts: number, sent: number, heard: number, extra: Record<string, boolean> = {}) => ({
    endOfSpeechToFinalMs: final,
    llmFirstTokenMs: llm,
    ttsFirstByteMs: tts,
    firstAudioSentMs: sent,
    firstMarkHeardMs: heard,
    ...extra,
  });
  await db.insert(callTurns).values([
    { callId, seq: 1, speaker: "assistant", text: "Hey! It's Brad. How was the run?", startedAt: at(6), endedAt: at(8), latency: latency(0, 0, 180, 210, 420) },
    { callId, seq: 2, speaker: "user", text: "Pretty good, ran ten miles.", startedAt: at(10), endedAt: at(13) },
    { callId, seq: 3, speaker: "assistant", text: "Ten miles! That's huge.", startedAt: at(14), endedAt: at(16), latency: latency(120, 310, 520, 560, 780, { fallback: true }) },
  ]);
  await db.insert(costEvents).values([
    { callId, userId: account.user.id, eventKey: "c1", service: "twilio", operation: "outbound_minute", usageAmount: "1.6", usageUnit: "minute", rateMicros: "14000", costMicros: "22400", occurredAt: at(99) },
    { callId, userId: account.user.id, eventKey: "c2", service: "deepgram", operation: "stream_minute", usageAmount: "1.6", usageUnit: "minute", rateMicros: "5900", costMicros: "9440", occurredAt: at(99) },
    { callId, userId: account.user.id, eventKey: "c3", service: "elevenlabs", operation: "character", usageAmount: "2000", usageUnit: "character", rateMicros: "190.5", costMicros: "381000.5", occurredAt: at(99) },
  ]);
  await db.insert(reconciliationDiscrepancies).values({
    runDate: startedAt.toISOString().slice(0, 10),
    callId,
    service: "twilio",
    ledgerMicros: 22_400,
    vendorMicros: 28_000,
    diffMicros: 5_600,
  });
  return { account, callId, personaId: brad.id, marker, startedAt };
}
