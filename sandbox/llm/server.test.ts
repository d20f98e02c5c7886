/**
 * Conformance tests for the LLM emulator, driven by the official `openai` SDK pointed at it only by
 * `baseURL`: streaming with usage, non-streaming, json_schema / json_object, tools, typed errors,
 * knobs (latency, failures, hangs, mid-stream drops) and the token bill. One emulator runs with the
 * Cerebras flavor and one with the OpenAI flavor, as the app starts them.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type LlmEmulatorHandle, startLlmEmulator } from "./server";

const CEREBRAS_KEY = "csk-test-000011112222";
const OPENAI_KEY = "sk-test-openai-9999";

let cerebras: LlmEmulatorHandle;
let openai: LlmEmulatorHandle;
beforeAll(async () => {
  cerebras = await startLlmEmulator({ apiKeys: [CEREBRAS_KEY], name: "cerebras", flavor: "cerebras", knobs: { firstTokenMs: 5 } });
  openai = await startLlmEmulator({ apiKeys: [OPENAI_KEY], name: "openai", knobs: { firstTokenMs: 5 } });
});
afterAll(async () => {
  await Promise.all([cerebras.close(), openai.close()]);
});
beforeEach(async () => {
  for (const e of [cerebras, openai]) {
    await fetch(`${e.url}/__sandbox/reset`, { method: "POST" });
    await setKnobs(e, { firstTokenMs: 5 });
  }
});

const setKnobs = (e: LlmEmulatorHandle, k: object) => fetch(`${e.url}/__sandbox/knobs`, { method: "POST", body: JSON.stringify(k) });
const cClient = (opts: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}) => new OpenAI({ apiKey: CEREBRAS_KEY, baseURL: cerebras.baseUrl, maxRetries: 0, ...opts });
const oClient = (opts: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}) => new OpenAI({ apiKey: OPENAI_KEY, baseURL: openai.baseUrl, maxRetries: 0, ...opts });

const SYSTEM = `You are Brad, a direct and loyal fitness coach, calling Alex for a quick check-in. Keep replies to 1-3 short sentences.

## What you remember about Alex
- Training for the Boston marathon in April
- Works as a nurse at Mercy Hospital
- Has a daughter named Mia`;

type Msg = OpenAI.Chat.Completions.ChatCompletionMessageParam;

async function streamText(client: OpenAI, model: string, messages: Msg[]) {
  const stream = await client.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } });
  let text = "";
  let usage: OpenAI.CompletionUsage | null | undefined = null;
  let finish: string | null = null;
  const raw: Array<Record<string, unknown>> = [];
  for await (const chunk of stream) {
    raw.push(chunk as unknown as Record<string, unknown>);
    text += chunk.choices[0]?.delta.content ?? "";
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (chunk.usage) usage = chunk.usage;
  }
  return { text, usage, finish, raw };
}

describe("chat completions via the openai SDK", () => {
  it("lists models and answers 404 model_not_found for a retired one", async () => {
    const models = await cClient().models.list();
    expect(models.data.map((m) => m.id)).toContain("gpt-oss-120b");
    const err = await cClient()
      .chat.completions.create({ model: "llama3.1-8b", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe("model_not_found");
  });

  it("greets in persona at the first turn, mentioning a remembered fact", async () => {
    const r = await cClient().chat.completions.create({ model: "gpt-oss-120b", messages: [{ role: "system", content: SYSTEM }], reasoning_effort: "low" });
    const text = r.choices[0]!.message.content!;
    expect(text).toMatch(/Brad/);
    expect(text).toMatch(/Alex/);
    expect(text).toMatch(/Boston marathon training/);
    expect(r.usage!.prompt_tokens).toBeGreaterThan(20);
    expect((r as unknown as { time_info?: { total_time: number } }).time_info?.total_time).toBeGreaterThanOrEqual(0);
  });

  it("streams a deterministic reply that echoes the user and relates to facts; usage matches the non-streamed call", async () => {
    const messages: Msg[] = [
      { role: "system", content: SYSTEM },
      { role: "assistant", content: "Hey Alex, Brad here. How's the Boston marathon training going?" },
      { role: "user", content: "Honestly it's rough, my knee is sore after the long run on Sunday." },
    ];
    const a = await streamText(cClient(), "gpt-oss-120b", messages);
    const b = await streamText(cClient(), "gpt-oss-120b", messages);
    const c = await cClient().chat.completions.create({ model: "gpt-oss-120b", messages });
    expect(a.text).toBe(b.text);
    expect(c.choices[0]!.message.content).toBe(a.text);
    expect(a.text).toMatch(/your knee is sore/);
    expect(a.text.split(/(?<=[.!?])\s+/).length).toBeLessThanOrEqual(3);
    expect(a.finish).toBe("stop");
    expect(a.usage).toEqual(c.usage);
    expect(a.usage!.total_tokens).toBe(a.usage!.prompt_tokens + a.usage!.completion_tokens);
    // Cerebras puts time_info next to usage on the final chunk.
    expect(a.raw[a.raw.length - 1]!.time_info).toBeDefined();
    const bill = cerebras.bill();
    expect(bill.vendor).toBe("cerebras");
    expect(bill.total.requests).toBe(3);
    expect(bill.byModel["gpt-oss-120b"]!.completion_tokens).toBe(3 * c.usage!.completion_tokens);
  });

  it("OpenAI flavor: usage arrives in a final chunk with empty choices; developer role accepted; max_tokens cuts with finish_reason length", async () => {
    const messages: Msg[] = [
      { role: "developer", content: SYSTEM },
      { role: "user", content: "I finally booked the flights to Boston and I'm so excited!" },
    ];
    const s = await streamText(oClient(), "gpt-4o-mini", messages);
    const last = s.raw[s.raw.length - 1]!;
    expect(last.choices).toEqual([]);
    expect(s.usage!.completion_tokens).toBeGreaterThan(5);
    expect(s.text).toMatch(/booked the flights to Boston/);
    const cut = await oClient().chat.completions.create({ model: "gpt-4o-mini", messages, max_completion_tokens: 3 });
    expect(cut.choices[0]!.finish_reason).toBe("length");
    expect(cut.usage!.completion_tokens).toBeLessThanOrEqual(3);
    // Cerebras rejects the developer role.
    const err = await cClient()
      .chat.completions.create({ model: "gpt-oss-120b", messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it("says a short goodbye on a wrap-up instruction or when the user leaves", async () => {
    const r = await cClient().chat.completions.create({
      model: "gpt-oss-120b",
      messages: [
        { role: "system", content: SYSTEM },
        { role: "user", content: "Work was busy today." },
        { role: "assistant", content: "Got it." },
        { role: "system", content: "Only 30 seconds left in the call: wrap up and say goodbye now." },
      ],
    });
    expect(r.choices[0]!.message.content).toMatch(/bye|talk soon/i);
    const u = await cClient().chat.completions.create({ model: "gpt-oss-120b", messages: [{ role: "system", content: SYSTEM }, { role: "user", content: "Okay I gotta go, bye!" }] });
    expect(u.choices[0]!.message.content).toMatch(/bye|talk soon/i);
  });

  it("calls search_past_calls for a past-call question (streamed tool_calls) and answers from the tool result", async () => {
    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
      { type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } },
      {
        type: "function",
        function: {
          name: "search_past_calls",
          description: "Search summaries of earlier calls with the user",
          parameters: { type: "object", properties: { query: { type: "string" }, limit: { type: "integer" } }, required: ["query"] },
        },
      },
    ];
    const messages: Msg[] = [
      { role: "system", content: SYSTEM },
      { role: "user", content: "What did we talk about last Tuesday?" },
    ];
    const stream = cClient().chat.completions.stream({ model: "gpt-oss-120b", messages, tools, tool_choice: "auto" });
    const done = await stream.finalChatCompletion();
    const call = done.choices[0]!.message.tool_calls![0]!;
    expect(done.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call.type === "function" && call.function.name).toBe("search_past_calls");
    const args = JSON.parse(call.type === "function" ? call.function.arguments : "{}") as { query: string };
    expect(args.query).toMatch(/tuesday/i);

    const answer = await cClient().chat.completions.create({
      model: "gpt-oss-120b",
      tools,
      messages: [
        ...messages,
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: call.id, content: JSON.stringify({ results: [{ date: "2026-11-17", summary: "You were nervous about your first 20-mile run and we made a fueling plan." }] }) },
      ],
    });
    expect(answer.choices[0]!.message.content).toMatch(/nervous about your first 20-mile run/);
    // tool_choice "none": no tool call even for a past-call question.
    const none = await cClient().chat.completions.create({ model: "gpt-oss-120b", messages, tools, tool_choice: "none" });
    expect(none.choices[0]!.message.tool_calls ?? []).toHaveLength(0);
  });

  it("json_schema: summary, topics, outcome and user facts by category, conforming to the schema", async () => {
    const transcript = [
      "Brad: Hey Alex, it's Brad! How's the marathon training?",
      "Alex: Pretty good! I'm training for the Chicago marathon now, and my goal is to finish under four hours.",
      "Brad: Love it. How's work?",
      "Alex: I work at Mercy Hospital as a nurse, it's been busy. My daughter Mia started kindergarten.",
      "Brad: Big week!",
      "Alex: I love running by the lake. I'm going to visit my mom next weekend. Call me back tomorrow!",
    ].join("\n");
    const r = await oClient().chat.completions.create({
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: "You analyse phone calls. Summarise the call and extract durable facts about the user." },
        { role: "user", content: `Transcript:\n${transcript}` },
      ],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "call_analysis",
          strict: true,
          schema: {
            type: "object",
            additionalProperties: false,
            required: ["summary", "topics", "outcome", "facts", "follow_up_needed"],
            properties: {
              summary: { type: "string" },
              topics: { type: "array", items: { type: "string" } },
              outcome: { type: "string" },
              follow_up_needed: { type: "boolean" },
              facts: {
                type: "array",
                items: {
                  type: "object",
                  required: ["category", "key", "value"],
                  properties: {
                    category: { type: "string", enum: ["job", "family", "goals", "preferences", "events", "inside_jokes", "other"] },
                    key: { type: "string" },
                    value: { type: "string" },
                  },
                },
              },
            },
          },
        },
      },
    });
    const out = JSON.parse(r.choices[0]!.message.content!) as {
      summary: string;
      topics: string[];
      outcome: string;
      follow_up_needed: boolean;
      facts: Array<{ category: string; key: string; value: string }>;
    };
    expect(Object.keys(out).sort()).toEqual(["facts", "follow_up_needed", "outcome", "summary", "topics"]);
    expect(out.summary).toMatch(/Alex/);
    expect(out.topics.length).toBeGreaterThan(0);
    expect(out.outcome).toMatch(/call me back tomorrow/i);
    expect(typeof out.follow_up_needed).toBe("boolean");
    const byCat = (c: string) => out.facts.filter((f) => f.category === c).map((f) => f.value);
    expect(byCat("goals")).toContain("Chicago marathon");
    expect(byCat("job")).toContain("nurse at Mercy Hospital");
    expect(byCat("family").join(" ")).toMatch(/Mia/);
    expect(byCat("preferences")).toContain("running by the lake");
    // Only the user's lines yield facts (Brad's "Love it" is not a preference).
    expect(out.facts.every((f) => !/^it$/i.test(f.value))).toBe(true);

    const obj = await oClient().chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "system", content: "Summarise this call transcript as JSON." }, { role: "user", content: transcript }],
      response_format: { type: "json_object" },
    });
    const parsed = JSON.parse(obj.choices[0]!.message.content!) as { summary: string; facts: unknown[] };
    expect(parsed.summary).toMatch(/Brad/);
    expect(parsed.facts.length).toBeGreaterThanOrEqual(4);
  });
});

describe("errors and knobs as the SDK sees them", () => {
  it("bad key → AuthenticationError 401 in OpenAI's envelope", async () => {
    const err = await new OpenAI({ apiKey: "sk-wrong-1234", baseURL: openai.baseUrl, maxRetries: 0 }).models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(401);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe("invalid_api_key");
    const res = await fetch(`${openai.baseUrl}/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${OPENAI_KEY}` }, body: "{not json" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
  });

  it("failNext surfaces typed 503/429 errors; the SDK's own retries recover", async () => {
    const req = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "hello there" }] };
    await setKnobs(openai, { failNext: 1, failStatus: 503 });
    const e503 = await oClient().chat.completions.create(req).catch((e: unknown) => e);
    expect(e503).toBeInstanceOf(OpenAI.InternalServerError);
    expect((e503 as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    await setKnobs(openai, { failNext: 1, failStatus: 429 });
    expect(await oClient().chat.completions.create(req).catch((e: unknown) => e)).toBeInstanceOf(OpenAI.RateLimitError);
    await setKnobs(openai, { failNext: 2, failStatus: 500 });
    const ok = await oClient({ maxRetries: 2 }).chat.completions.create(req);
    expect(ok.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(openai.bill().total.requests).toBe(1); // failed attempts are not billed
  });

  it("firstTokenMs and tokensPerSecond shape the stream timing", async () => {
    await setKnobs(cerebras, { firstTokenMs: 300, tokensPerSecond: 40 });
    const t0 = Date.now();
    const stream = await cClient().chat.completions.create({ model: "gpt-oss-120b", messages: [{ role: "system", content: SYSTEM }], stream: true });
    let first = 0;
    let n = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content && !first) first = Date.now() - t0;
      if (chunk.choices[0]?.delta.content) n++;
    }
    const total = Date.now() - t0;
    expect(first).toBeGreaterThanOrEqual(280);
    expect(total - first).toBeGreaterThanOrEqual(((n - 2) * 1000) / 40);
    expect(total).toBeLessThan(10_000);
  });

  it("hangFirstToken → the SDK times out; closeMidStream → the stream errors after partial content", async () => {
    await setKnobs(cerebras, { hangFirstToken: true });
    const hung = await cClient({ timeout: 300 })
      .chat.completions.create({ model: "gpt-oss-120b", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(hung).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);

    await setKnobs(cerebras, { hangFirstToken: false, closeMidStream: true });
    const stream = await cClient().chat.completions.create({ model: "gpt-oss-120b", messages: [{ role: "system", content: SYSTEM }], stream: true });
    let got = "";
    const err = await (async () => {
      for await (const chunk of stream) got += chunk.choices[0]?.delta.content ?? "";
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(got.length).toBeGreaterThan(0);
  });

  it("bills tokens per model and per (masked) key, filterable by key", async () => {
    await cClient().chat.completions.create({ model: "gpt-oss-120b", messages: [{ role: "user", content: "hello" }] });
    await cClient().chat.completions.create({ model: "qwen-3.8-27b", messages: [{ role: "user", content: "hello" }] });
    const res = await fetch(`${cerebras.url}/__sandbox/bill?key=${CEREBRAS_KEY}`);
    const bill = (await res.json()) as { total: { requests: number; total_tokens: number }; byKey: Record<string, { requests: number }> };
    expect(bill.total.requests).toBe(2);
    expect(Object.keys(bill.byKey)).toEqual(["…2222"]);
    expect(JSON.stringify(bill)).not.toContain(CEREBRAS_KEY);
    expect(Object.keys(cerebras.bill().byModel).sort()).toEqual(["gpt-oss-120b", "qwen-3.8-27b"]);
  });
});
