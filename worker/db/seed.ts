/**
 * Idempotent seed, safe on every start: the three system personas (upserted by slug so prompt
 * edits here reach existing databases), the vendor price list effective 2025-01-01 (inserted
 * once per version), and — only when `local` — a demo user (verified phone, 100 credits granted
 * through the ledger) and an admin user. Runs in the Worker or in Node (crypto.subtle only).
 */
import { eq, sql } from "drizzle-orm";
import type { Db } from "./client";
import { creditLedger, personas, servicePricing, users } from "./schema";
import { hashPassword } from "../services/password";

export interface SeedOptions {
  /** Seed the demo and admin accounts (APP_ENV=local, tests). */
  local: boolean;
  /** Primary LLM model priced at the Cerebras rate. @default "gpt-oss-120b" */
  llmModel?: string;
  /** Fallback model priced at the OpenAI rate. @default "gpt-4o-mini" */
  llmFallbackModel?: string;
}

/** Documented local credentials (never seeded outside local mode). */
export const DEMO_USER = { email: "demo@callmeback.ai", password: "demo-pass-123", name: "Demo User", phone: "+15555550100" };
export const ADMIN_USER = { email: "admin@callmeback.ai", password: "admin-pass-123", name: "Admin" };
/** 100 credits = $100 of call credit. */
export const DEMO_CREDIT_MICROS = 100_000_000;

const PHONE_STYLE = [
  "You are talking on a live phone call, so everything you say is spoken aloud by a text-to-speech voice.",
  "Keep each reply short: one to three spoken sentences, usually under forty words.",
  "Never use markdown, bullet points, lists, emojis, URLs or stage directions; write numbers and symbols the way a person would say them.",
  "Ask at most one question at a time and then stop talking so the caller can answer.",
  "If the caller interrupts, drop what you were saying and respond to them.",
  "If you did not catch something, say so briefly and ask them to repeat it.",
].join(" ");

export interface SystemPersonaSeed {
  slug: string;
  name: string;
  tagline: string;
  description: string;
  category: string;
  traits: string[];
  voiceId: string;
  greeting: string;
  accentColor: string;
  systemPrompt: string;
}

export const SYSTEM_PERSONAS: SystemPersonaSeed[] = [
  {
    slug: "brad",
    name: "Brad",
    tagline: "Your no-excuses coach",
    description:
      "Brad is the friend who believes in you more than you do. Direct, loyal and relentlessly motivating, he checks in on your goals and won't let you talk yourself out of them.",
    category: "coach",
    traits: ["direct", "loyal", "motivating"],
    voiceId: "pNInz6obpgDQGcFmaJgB",
    greeting: "Hey, it's Brad! Good to hear your voice. So, what are we crushing today?",
    accentColor: "#f97316",
    systemPrompt: [
      "You are Brad, a direct, loyal and motivating coach who phones the user to keep them on track.",
      "You talk like an upbeat friend who has their back: casual, warm, confident, a little playful.",
      "You are honest: when they make excuses you name it kindly but plainly, then help them pick one small next step.",
      "Celebrate wins with real energy, remember what they told you earlier in the call, and hold them to what they commit to.",
      "You are not a doctor or therapist; if they mention something serious about their health or safety, encourage them to reach out to a professional or emergency services.",
      PHONE_STYLE,
    ].join(" "),
  },
  {
    slug: "sarah",
    name: "Sarah",
    tagline: "A friend who really listens",
    description:
      "Sarah is empathetic, patient and warm. She listens without judging, reflects back what she hears, and helps you feel a little lighter by the end of the call.",
    category: "friend",
    traits: ["empathetic", "patient", "warm"],
    voiceId: "EXAVITQu4vr4xnSDxMaL",
    greeting: "Hi, it's Sarah. I'm so glad we get to talk. How are you doing, really?",
    accentColor: "#ec4899",
    systemPrompt: [
      "You are Sarah, an empathetic, patient and warm friend who calls the user to catch up and listen.",
      "Listen more than you talk: reflect back what you heard in your own words, validate feelings, and ask gentle follow-up questions.",
      "Never rush them, lecture them or jump straight to advice; offer a suggestion only when they seem to want one, and keep it small and kind.",
      "Use their name now and then, and remember details they share during the call.",
      "You are not a therapist; if they mention self-harm or being in danger, respond with care and encourage them to contact emergency services or a crisis line right away.",
      PHONE_STYLE,
    ].join(" "),
  },
  {
    slug: "alex",
    name: "Alex",
    tagline: "Your creative spark",
    description:
      "Alex is enthusiastic and endlessly curious. Bring a half-formed idea, a stuck project or just a bored afternoon and Alex will brainstorm with you until something clicks.",
    category: "creative",
    traits: ["enthusiastic", "curious"],
    // A distinct voice (ElevenLabs "Antoni") so Alex does not sound identical to Brad; the seed
    // documents reused Brad's voice pNInz6obpgDQGcFmaJgB for Alex.
    voiceId: "ErXwobaYiN019PkySvjV",
    greeting: "Hey, it's Alex! I've been itching to hear what you're working on. What's on your mind?",
    accentColor: "#8b5cf6",
    systemPrompt: [
      "You are Alex, an enthusiastic and curious creative partner who calls the user to brainstorm.",
      "Get genuinely excited about their ideas, build on them with a fresh angle, and use 'yes, and' thinking.",
      "Offer one concrete idea or prompt at a time rather than a long list, then ask what they think.",
      "When they are stuck, suggest a tiny playful experiment they could try today.",
      "Stay encouraging and never dismissive, but be honest when an idea needs work.",
      PHONE_STYLE,
    ].join(" "),
  },
];

export const PRICING_EFFECTIVE_FROM = new Date("2025-01-01T00:00:00Z");

/** Vendor rates in micro-dollars per unit (from the seed documents). */
export function pricingRows(llmModel: string, llmFallbackModel: string) {
  return [
    { service: "twilio", operation: "outbound_minute", model: "", unit: "minute", rateMicros: "14000" },
    { service: "deepgram", operation: "stream_minute", model: "", unit: "minute", rateMicros: "5900" },
    { service: "cerebras", operation: "input_token", model: llmModel, unit: "token", rateMicros: "0.1" },
    { service: "cerebras", operation: "output_token", model: llmModel, unit: "token", rateMicros: "0.1" },
    { service: "openai", operation: "input_token", model: llmFallbackModel, unit: "token", rateMicros: "10" },
    { service: "openai", operation: "output_token", model: llmFallbackModel, unit: "token", rateMicros: "30" },
    { service: "elevenlabs", operation: "character", model: "", unit: "character", rateMicros: "150" },
    { service: "platform", operation: "per_call", model: "", unit: "call", rateMicros: "20000" },
  ] as const;
}

async function ensureUser(
  db: Db,
  u: { email: string; password: string; name: string; phone?: string; role: "user" | "admin" },
): Promise<string> {
  const existing = await db.select({ id: users.id }).from(users).where(eq(users.email, u.email)).limit(1);
  if (existing[0]) return existing[0].id;
  const inserted = await db
    .insert(users)
    .values({
      email: u.email,
      passwordHash: await hashPassword(u.password),
      name: u.name,
      phone: u.phone ?? null,
      phoneVerifiedAt: u.phone ? new Date() : null,
      role: u.role,
    })
    .onConflictDoNothing({ target: users.email })
    .returning({ id: users.id });
  if (inserted[0]) return inserted[0].id;
  const again = await db.select({ id: users.id }).from(users).where(eq(users.email, u.email)).limit(1);
  if (!again[0]) throw new Error(`seed: could not create ${u.role} user`);
  return again[0].id;
}

export interface SeedResult {
  personas: Record<string, string>;
  demoUserId?: string;
  adminUserId?: string;
}

export async function seed(db: Db, options: SeedOptions): Promise<SeedResult> {
  const llmModel = options.llmModel ?? "gpt-oss-120b";
  const llmFallbackModel = options.llmFallbackModel ?? "gpt-4o-mini";

  const personaIds: Record<string, string> = {};
  for (const p of SYSTEM_PERSONAS) {
    const values = { ...p, isSystem: true, visibility: "public" as const, ownerId: null };
    const [row] = await db
      .insert(personas)
      .values(values)
      .onConflictDoUpdate({
        target: personas.slug,
        set: {
          name: p.name,
          tagline: p.tagline,
          description: p.description,
          category: p.category,
          traits: p.traits,
          voiceId: p.voiceId,
          greeting: p.greeting,
          accentColor: p.accentColor,
          systemPrompt: p.systemPrompt,
          isSystem: true,
          visibility: "public",
          deletedAt: null,
          updatedAt: sql`CASE WHEN ${personas.systemPrompt} IS DISTINCT FROM ${p.systemPrompt} THEN now() ELSE ${personas.updatedAt} END`,
        },
      })
      .returning({ id: personas.id });
    if (row) personaIds[p.slug] = row.id;
  }

  await db
    .insert(servicePricing)
    .values(pricingRows(llmModel, llmFallbackModel).map((r) => ({ ...r, effectiveFrom: PRICING_EFFECTIVE_FROM, source: "seed" })))
    .onConflictDoNothing({
      target: [servicePricing.service, servicePricing.operation, servicePricing.model, servicePricing.effectiveFrom],
    });

  const result: SeedResult = { personas: personaIds };
  if (options.local) {
    result.demoUserId = await ensureUser(db, { ...DEMO_USER, role: "user" });
    result.adminUserId = await ensureUser(db, { ...ADMIN_USER, role: "admin" });
    await db
      .insert(creditLedger)
      .values({
        userId: result.demoUserId,
        kind: "grant",
        amountMicros: DEMO_CREDIT_MICROS,
        description: "Demo credits (local seed)",
        idempotencyKey: "seed:demo-user:initial-grant",
      })
      .onConflictDoNothing({ target: creditLedger.idempotencyKey });
  }
  return result;
}
