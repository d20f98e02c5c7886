/**
 * Memory that lasts: post-call extraction through the LLM emulator (structured output), the
 * composite prompt of the next call (facts + recent summaries within the budget), the persona
 * bringing a remembered fact up, the memory editor API, and deletions that stay deleted.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { OpenAICompatibleChatModel } from "../../durable-objects/providers/openai-compatible";
import { createDb } from "../../worker/db/client";
import { budgetSettings, callTurns, calls, memories, personas } from "../../worker/db/schema";
import { parseEnv } from "../../worker/env";
import { buildCallPrompt } from "../../worker/services/memory";
import { memoryChatModel, processCallMemory } from "../../worker/services/memory-extraction";
import { api, expectEnvelope, newAccount } from "./helpers";

const config = () => parseEnv(env);
const db = () => createDb(config());

interface MemoryDto {
  id: string;
  kind: string;
  category: string;
  content: string;
  sourceCallId: string | null;
  importance: number;
}

async function brad(): Promise<{ id: string; systemPrompt: string }> {
  const [p] = await db().select({ id: personas.id, systemPrompt: personas.systemPrompt }).from(personas).where(eq(personas.slug, "brad"));
  return p!;
}

/** A finished call with the given lines (user / assistant alternating as written). */
async function finishedCall(userId: string, personaId: string, lines: Array<["user" | "assistant", string]>, at = new Date()): Promise<string> {
  const [call] = await db()
    .insert(calls)
    .values({ userId, personaId, durationLimitS: 300, status: "completed", endReason: "caller_hung_up", answeredAt: at, endedAt: at, durationS: 120, createdAt: at })
    .returning({ id: calls.id });
  await db()
    .insert(callTurns)
    .values(lines.map(([speaker, text], i) => ({ callId: call!.id, seq: i, speaker, text, startedAt: new Date(at.getTime() + i * 5000) })));
  return call!.id;
}

/** What the persona says first on a call with this system prompt (the LLM emulator). */
async function greeting(systemPrompt: string): Promise<string> {
  const c = config();
  const llm = new OpenAICompatibleChatModel({ provider: "cerebras", baseUrl: c.baseUrls.cerebras, apiKey: c.keys.cerebras, model: c.models.llm });
  let text = "";
  for await (const d of llm.stream([{ role: "system", content: systemPrompt }])) if (d.type === "text") text += d.text;
  return text;
}

describe("memory across calls", () => {
  it("after call 1 mentions the Boston marathon, call 2's prompt contains it and the persona brings it up", async () => {
    const acct = await newAccount("Alex Runner");
    const persona = await brad();
    const call1 = await finishedCall(acct.user.id, persona.id, [
      ["assistant", "Hey Alex, Brad here. What's going on?"],
      ["user", "I'm training for the Boston marathon and my long run is on Sunday."],
      ["assistant", "Love it. How many miles?"],
      ["user", "Eighteen miles. I work as a nurse so mornings are tough."],
    ]);
    const before = await buildCallPrompt(db(), { userId: acct.user.id, personaId: persona.id });
    expect(before.prompt).not.toMatch(/boston marathon/i);

    const result = await processCallMemory({ db: db(), llm: memoryChatModel(config()) }, call1);
    expect(result.status).toBe("stored");
    const again = await processCallMemory({ db: db(), llm: memoryChatModel(config()) }, call1);
    expect(again).toEqual({ status: "skipped", reason: "already_processed" });

    const rows = await db().select().from(memories).where(eq(memories.userId, acct.user.id));
    const facts = rows.filter((r) => r.kind === "fact");
    const marathon = facts.find((f) => /boston marathon/i.test(f.content));
    expect(marathon).toMatchObject({ category: "goals", sourceCallId: call1 });
    expect(rows.filter((r) => r.kind === "summary")).toHaveLength(1);
    const [c1] = await db().select({ summary: calls.summary }).from(calls).where(eq(calls.id, call1));
    expect(c1!.summary).toBeTruthy();

    const prompt = await buildCallPrompt(db(), { userId: acct.user.id, personaId: persona.id });
    expect(prompt.prompt.startsWith(persona.systemPrompt.trim())).toBe(true);
    expect(prompt.prompt).toMatch(/What you know about Alex[^\n]*:\n- [^\n]*Boston marathon/i);
    expect(prompt.prompt).toContain("Your recent calls with Alex:");
    expect(prompt.factIds).toContain(marathon!.id);

    const hello = await greeting(prompt.prompt);
    expect(hello).toMatch(/Boston marathon/i);
    expect(hello).toMatch(/Brad/);
  });

  it("a deleted fact is absent from the next prompt and is not brought back by a later call", async () => {
    const acct = await newAccount("Sam Deleter");
    const persona = await brad();
    const call1 = await finishedCall(acct.user.id, persona.id, [
      ["assistant", "Hey, Brad here."],
      ["user", "I'm training for the Boston marathon this spring."],
    ]);
    await processCallMemory({ db: db(), llm: memoryChatModel(config()) }, call1);
    const list = await api<{ facts: MemoryDto[]; summaries: MemoryDto[]; personaName: string }>("GET", `/api/personas/${persona.id}/memories`, { token: acct.token });
    expect(list.status).toBe(200);
    expect(list.body.personaName).toBe("Brad");
    const fact = list.body.facts.find((f) => /boston marathon/i.test(f.content))!;
    expect(fact).toBeTruthy();
    expect(list.body.summaries).toHaveLength(1);

    const del = await api("DELETE", `/api/personas/${persona.id}/memories/${fact.id}`, { token: acct.token });
    expect(del.status).toBe(200);
    expect((await buildCallPrompt(db(), { userId: acct.user.id, personaId: persona.id })).prompt).not.toMatch(/boston marathon/i);

    // Call 2 repeats it; the tombstone keeps it out.
    const call2 = await finishedCall(acct.user.id, persona.id, [
      ["assistant", "Hey again."],
      ["user", "I'm training for the Boston marathon, remember?"],
    ]);
    const r2 = await processCallMemory({ db: db(), llm: memoryChatModel(config()) }, call2);
    expect(r2).toMatchObject({ status: "stored", suppressed: 1 });
    const next = await buildCallPrompt(db(), { userId: acct.user.id, personaId: persona.id });
    expect(next.prompt).not.toMatch(/- Training for the Boston marathon/i);
    const after = await api<{ facts: MemoryDto[] }>("GET", `/api/personas/${persona.id}/memories`, { token: acct.token });
    expect(after.body.facts.some((f) => /boston marathon/i.test(f.content))).toBe(false);
  });

  it("the editor adds, edits and forgets everything; other users cannot touch it", async () => {
    const acct = await newAccount("Edit Or");
    const other = await newAccount("Nosy");
    const persona = await brad();
    const base = `/api/personas/${persona.id}/memories`;
    const added = await api<{ memory: MemoryDto }>("POST", base, { token: acct.token, body: { category: "family", content: "Has a daughter called Mia", importance: 4 } });
    expect(added.status).toBe(201);
    expect(added.body.memory).toMatchObject({ kind: "fact", category: "family", importance: 4, sourceCallId: null });
    const id = added.body.memory.id;

    const edited = await api<{ memory: MemoryDto }>("PUT", `${base}/${id}`, { token: acct.token, body: { content: "Has a daughter called Mia (7)" } });
    expect(edited.status).toBe(200);
    expect(edited.body.memory.content).toBe("Has a daughter called Mia (7)");
    expect((await buildCallPrompt(db(), { userId: acct.user.id, personaId: persona.id })).prompt).toContain("- Has a daughter called Mia (7)");

    expectEnvelope(await api("PUT", `${base}/${id}`, { token: other.token, body: { content: "hacked" } }), 404);
    expectEnvelope(await api("DELETE", `${base}/${id}`, { token: other.token }), 404);
    expect((await api<{ facts: MemoryDto[] }>("GET", base, { token: other.token })).body.facts).toEqual([]);
    expectEnvelope(await api("POST", base, { token: acct.token, body: { content: "" } }), 400);
    expectEnvelope(await api("GET", base), 401);
    expectEnvelope(await api("GET", `/api/personas/${crypto.randomUUID()}/memories`, { token: acct.token }), 404);

    await api("POST", base, { token: acct.token, body: { content: "Hates cilantro", category: "preferences" } });
    const forgot = await api<{ ok: boolean; forgotten: number }>("DELETE", base, { token: acct.token });
    expect(forgot.body).toEqual({ ok: true, forgotten: 2 });
    const empty = await api<{ facts: MemoryDto[]; summaries: MemoryDto[] }>("GET", base, { token: acct.token });
    expect(empty.body.facts).toEqual([]);
    expect((await buildCallPrompt(db(), { userId: acct.user.id, personaId: persona.id })).prompt).not.toMatch(/Mia|cilantro/);
  });

  it("the prompt respects the user's memory token budget, most important facts first", async () => {
    const acct = await newAccount("Budget Bea");
    const persona = await brad();
    await db().insert(budgetSettings).values({ userId: acct.user.id, maxMemoryTokens: 40 });
    const values = Array.from({ length: 30 }, (_, i) => ({
      userId: acct.user.id,
      personaId: persona.id,
      kind: "fact" as const,
      category: "other",
      key: `other:f${i}`,
      content: `Filler fact number ${i} that nobody needs`,
      importance: 1,
    }));
    values.push({ ...values[0]!, key: "goals:big", content: "Wants to run a sub-3 marathon", importance: 5 });
    await db().insert(memories).values(values);
    const p = await buildCallPrompt(db(), { userId: acct.user.id, personaId: persona.id });
    expect(p.memoryTokens).toBeLessThanOrEqual(40);
    expect(p.prompt).toMatch(/:\n- Wants to run a sub-3 marathon/);
    expect(p.factIds.length).toBeLessThan(31);
    const wide = await buildCallPrompt(db(), { userId: acct.user.id, personaId: persona.id, maxTokens: 5000 });
    expect(wide.factIds.length).toBe(31);
  });
});
