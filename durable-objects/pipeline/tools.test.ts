/**
 * Tools during a call: the persona's `search_past_calls` through the real OpenAI-compatible
 * adapter against the LLM emulator (tool call → our search → tool message → spoken answer), and
 * the loop's edges with a scripted model (filler, tool failure, round limit, usage pass-through).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLlmEmulator } from "../../sandbox/llm/server";
import { OpenAICompatibleChatModel } from "../providers/openai-compatible";
import type { ChatDelta, ChatMessage, ChatModel, ChatStreamOptions } from "../providers/types";
import { pastCallSearchTool, SEARCH_PAST_CALLS, withTools } from "./tools";

type Emulator = Awaited<ReturnType<typeof startLlmEmulator>>;
let llm: Emulator;

beforeAll(async () => {
  llm = await startLlmEmulator({ port: 0, apiKeys: ["k"], flavor: "cerebras", name: "cerebras", models: ["gpt-oss-120b"], knobs: { firstTokenMs: 5 } });
});
afterAll(async () => llm.close());

async function collect(model: ChatModel, messages: ChatMessage[]): Promise<{ text: string; deltas: ChatDelta[] }> {
  const deltas: ChatDelta[] = [];
  for await (const d of model.stream(messages)) deltas.push(d);
  return { text: deltas.flatMap((d) => (d.type === "text" ? [d.text] : [])).join(""), deltas };
}

describe("search_past_calls on the LLM emulator", () => {
  it("a question about an earlier call is answered from the search result", async () => {
    const queries: string[] = [];
    const base = new OpenAICompatibleChatModel({ baseUrl: llm.baseUrl, apiKey: "k", model: "gpt-oss-120b", provider: "cerebras" });
    const model = withTools(base, [
      pastCallSearchTool(async (q) => {
        queries.push(q);
        return { results: [{ date: "2026-11-17", summary: "You told me about your Boston marathon training plan.", lines: [] }] };
      }),
    ]);
    const { text, deltas } = await collect(model, [
      { role: "system", content: "You are Brad, a direct coach who phones the user." },
      { role: "assistant", content: "Hey Alex, Brad here." },
      { role: "user", content: "What did we talk about last Tuesday?" },
    ]);
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatch(/tuesday|talk/i);
    expect(text).toMatch(/^Hmm, let me think back\. /);
    expect(text).toMatch(/Boston marathon training plan/i);
    expect(deltas.filter((d) => d.type === "usage")).toHaveLength(2);
    expect(deltas.filter((d) => d.type === "finish")).toHaveLength(1);
  });

  it("ordinary turns are untouched (no filler, no tool run)", async () => {
    let ran = 0;
    const base = new OpenAICompatibleChatModel({ baseUrl: llm.baseUrl, apiKey: "k", model: "gpt-oss-120b" });
    const model = withTools(base, [pastCallSearchTool(async () => ++ran)]);
    const { text } = await collect(model, [
      { role: "system", content: "You are Brad." },
      { role: "user", content: "I ran ten miles today." },
    ]);
    expect(ran).toBe(0);
    expect(text).not.toMatch(/think back/);
    expect(text.length).toBeGreaterThan(0);
  });
});

/** A scripted model: each request gets the next script entry. */
class Scripted implements ChatModel {
  readonly provider = "openai" as const;
  readonly model = "scripted";
  readonly requests: Array<{ messages: ChatMessage[]; tools: string[] }> = [];
  constructor(private readonly script: Array<ChatDelta[]>) {}
  async *stream(messages: readonly ChatMessage[], opts: ChatStreamOptions = {}): AsyncIterable<ChatDelta> {
    this.requests.push({ messages: [...messages], tools: (opts.tools ?? []).map((t) => t.function.name) });
    for (const d of this.script[this.requests.length - 1] ?? []) yield d;
  }
}

const toolCall = (args: string): ChatDelta[] => [
  { type: "tool-call", index: 0, id: "call_1", name: SEARCH_PAST_CALLS, argumentsDelta: args.slice(0, 5) },
  { type: "tool-call", index: 0, argumentsDelta: args.slice(5) },
  { type: "finish", reason: "tool_calls" },
];

describe("withTools loop", () => {
  it("sends the tool result back as a tool message and a failing tool becomes an error result", async () => {
    const model = new Scripted([toolCall('{"query":"marathon"}'), [{ type: "text", text: "Sorry, I can't recall." }, { type: "finish", reason: "stop" }]]);
    const wrapped = withTools(model, [pastCallSearchTool(async () => Promise.reject(new Error("db down")))]);
    const { text } = await collect(wrapped, [{ role: "user", content: "remember?" }]);
    expect(text).toBe("Hmm, let me think back. Sorry, I can't recall.");
    const second = model.requests[1]!.messages;
    expect(second.at(-2)).toEqual({ role: "assistant", content: "", tool_calls: [{ id: "call_1", type: "function", function: { name: SEARCH_PAST_CALLS, arguments: '{"query":"marathon"}' } }] });
    expect(second.at(-1)).toMatchObject({ role: "tool", tool_call_id: "call_1" });
    expect(JSON.parse(second.at(-1)!.content)).toEqual({ error: "the lookup failed; answer without it" });
  });

  it("stops offering tools after maxRounds so the model has to answer", async () => {
    const model = new Scripted([toolCall('{"query":"a"}'), toolCall('{"query":"b"}'), [{ type: "text", text: "Done." }]]);
    let runs = 0;
    const wrapped = withTools(model, [pastCallSearchTool(async () => ({ results: [], run: ++runs }))], { maxRounds: 2 });
    const { text } = await collect(wrapped, [{ role: "user", content: "remember?" }]);
    expect(runs).toBe(2);
    expect(model.requests.map((r) => r.tools)).toEqual([[SEARCH_PAST_CALLS], [SEARCH_PAST_CALLS], []]);
    expect(text).toBe("Hmm, let me think back. Done.");
  });
});
