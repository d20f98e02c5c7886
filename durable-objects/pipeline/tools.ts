/**
 * Function tools for the persona during a call. `withTools(model, tools)` wraps a `ChatModel`:
 * it offers the tools on every request; when the model answers with tool calls instead of text it
 * says a short filler line (so the caller hears something and the first-token timer is met), runs
 * the tools, sends their results back as `tool` messages and streams the model's spoken answer.
 * Usage deltas of every round pass through (each request is billed). At most `maxRounds` tool
 * rounds, then the model must answer without tools. Tool failures become an error result the
 * model can talk about; they never end the turn.
 *
 * `pastCallSearchTool(search)` is the persona's "look up older calls" tool (`search_past_calls`),
 * answered by the caller-supplied search (Postgres full-text search over earlier transcripts).
 */
import type { ChatDelta, ChatMessage, ChatModel, ChatStreamOptions, ChatTool, ChatToolCall, ProviderName } from "../providers/types";

export interface ToolExecutor {
  definition: ChatTool;
  /** Runs the tool with the parsed JSON arguments; the result is sent to the model as JSON. */
  run(args: Record<string, unknown>, signal?: AbortSignal): Promise<unknown>;
}

export interface WithToolsOptions {
  /** @default 2 */
  maxRounds?: number;
  /** Spoken while tools run. @default "Hmm, let me think back. " */
  filler?: string;
  /** Longest tool result sent to the model, in characters. @default 4000 */
  maxResultChars?: number;
}

class ToolUsingModel implements ChatModel {
  readonly provider: ProviderName;
  readonly model: string;

  constructor(
    private readonly inner: ChatModel,
    private readonly tools: ToolExecutor[],
    private readonly opts: WithToolsOptions,
  ) {
    this.provider = inner.provider;
    this.model = inner.model;
  }

  async *stream(messages: readonly ChatMessage[], opts: ChatStreamOptions = {}): AsyncIterable<ChatDelta> {
    const maxRounds = this.opts.maxRounds ?? 2;
    const convo: ChatMessage[] = [...messages];
    let spokeFiller = false;
    for (let round = 0; ; round++) {
      const offer = round < maxRounds;
      const tools = offer ? [...(opts.tools ?? []), ...this.tools.map((t) => t.definition)] : opts.tools;
      const pending = new Map<number, { id: string; name: string; args: string }>();
      for await (const d of this.inner.stream(convo, { ...opts, tools })) {
        if (d.type === "tool-call") {
          const call = pending.get(d.index) ?? { id: "", name: "", args: "" };
          if (d.id) call.id = d.id;
          if (d.name) call.name += d.name;
          call.args += d.argumentsDelta;
          pending.set(d.index, call);
          if (!spokeFiller) {
            spokeFiller = true;
            yield { type: "text", text: this.opts.filler ?? "Hmm, let me think back. " };
          }
          continue;
        }
        if (d.type === "finish" && pending.size > 0) continue;
        yield d;
      }
      if (pending.size === 0) return;
      const calls: ChatToolCall[] = [...pending.entries()].map(([index, c]) => ({
        id: c.id || `call_${round}_${index}`,
        type: "function",
        function: { name: c.name, arguments: c.args || "{}" },
      }));
      convo.push({ role: "assistant", content: "", tool_calls: calls });
      for (const call of calls) {
        const result = await this.runTool(call, opts.signal);
        convo.push({ role: "tool", tool_call_id: call.id, content: result });
      }
    }
  }

  private async runTool(call: ChatToolCall, signal?: AbortSignal): Promise<string> {
    const tool = this.tools.find((t) => t.definition.function.name === call.function.name);
    let result: unknown;
    if (!tool) {
      result = { error: `unknown tool ${call.function.name}` };
    } else {
      try {
        const parsed: unknown = JSON.parse(call.function.arguments || "{}");
        const args = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
        result = await tool.run(args, signal);
      } catch (err) {
        if (signal?.aborted) throw err;
        result = { error: "the lookup failed; answer without it" };
      }
    }
    const json = JSON.stringify(result ?? null);
    const max = this.opts.maxResultChars ?? 4000;
    return json.length > max ? json.slice(0, max) : json;
  }
}

/** `model` with `tools` offered and executed in a loop (see the module header). */
export function withTools(model: ChatModel, tools: ToolExecutor[], opts: WithToolsOptions = {}): ChatModel {
  return tools.length === 0 ? model : new ToolUsingModel(model, tools, opts);
}

export const SEARCH_PAST_CALLS = "search_past_calls";

/** The persona's "look up older calls" tool; `search(query)` answers from earlier transcripts. */
export function pastCallSearchTool(search: (query: string) => Promise<unknown>): ToolExecutor {
  return {
    definition: {
      type: "function",
      function: {
        name: SEARCH_PAST_CALLS,
        description:
          "Search the transcripts and summaries of your earlier calls with this person. Use it when they ask about something from a previous call you don't remember.",
        parameters: {
          type: "object",
          properties: { query: { type: "string", description: "Words to look for, e.g. 'marathon training' or 'last Tuesday'." } },
          required: ["query"],
        },
      },
    },
    run: async (args) => search(typeof args.query === "string" ? args.query : ""),
  };
}
