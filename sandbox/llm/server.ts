/**
 * OpenAI-compatible chat completions emulator, standing in for both Cerebras and OpenAI: start it
 * once per vendor (different port, keys, models and `name`, which labels its bill).
 *
 * `POST /v1/chat/completions` (JSON or SSE `data: {chunk}` … `data: [DONE]`, `stream_options.
 * include_usage`, Cerebras-style `time_info` with `flavor: "cerebras"`), `GET /v1/models[/{id}]`,
 * `Authorization: Bearer`, and OpenAI's error envelope `{error:{message,type,param,code}}` with its
 * statuses. Replies come from the deterministic rule-based generator (`generator.ts`, `extract.ts`):
 * same request → same content. Token usage uses one approximate tokenizer (`tokens.ts`) for prompt
 * and completion. Knobs inject time-to-first-token, token rate, failures, hangs and mid-stream drops.
 *
 * Not emulated: n > 1, logprobs, audio/vision inputs, the Responses API, embeddings.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  closeServer,
  createEmulatorServer,
  type EmulatorHandle,
  handleControl,
  jittered,
  Knobs,
  listen,
  readBody,
  sendJson,
  sleep,
  sleepUntil,
} from "../shared/emulator";
import { fillSchema, jsonObjectReply } from "./extract";
import { type ChatMessage, type Generated, generateReply, type ToolChoice, type ToolDef } from "./generator";
import { countTokens, pieces, truncateToTokens } from "./tokens";

export interface LlmKnobs {
  /** Time to first token (streams) / added before a non-streamed answer. */
  firstTokenMs: number;
  /** Completion tokens per second after the first. */
  tokensPerSecond: number;
  /** ± random spread on the time to first token. */
  jitterMs: number;
  /** Fail the next N requests with `failStatus`. */
  failNext: number;
  /** Status for `failNext` / `failRate` failures: 429, 500, 503… */
  failStatus: number;
  /** Probability (0–1) that any request fails with `failStatus`. */
  failRate: number;
  /** Accept the request but never send the first token (stream: headers only) until the client gives up. */
  hangFirstToken: boolean;
  /** Drop the connection halfway through a streamed reply. */
  closeMidStream: boolean;
}

export const DEFAULT_LLM_KNOBS: LlmKnobs = {
  firstTokenMs: 200,
  tokensPerSecond: 1000,
  jitterMs: 0,
  failNext: 0,
  failStatus: 500,
  failRate: 0,
  hangFirstToken: false,
  closeMidStream: false,
};

export const CEREBRAS_MODELS = ["gpt-oss-120b", "qwen-3.8-27b", "gemma-4-31b"];
export const OPENAI_MODELS = ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-5-mini"];

export interface LlmEmulatorOptions {
  port?: number;
  /** Accepted bearer keys; when omitted any non-empty key is accepted. */
  apiKeys?: string[];
  /** Served model ids (404 for others). Defaults by flavor. */
  models?: string[];
  /** Vendor label in the bill, e.g. "cerebras" or "openai". */
  name?: string;
  /** "cerebras" adds `time_info` and rejects the `developer` role, like Cerebras. Default "openai". */
  flavor?: "openai" | "cerebras";
  knobs?: Partial<LlmKnobs>;
}

export interface TokenTotals {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface LlmBill {
  vendor: string;
  unit: "tokens";
  total: TokenTotals;
  byModel: Record<string, TokenTotals>;
  /** Keyed by the masked API key (`…` + last 4 characters). */
  byKey: Record<string, TokenTotals>;
}

export interface LlmEmulatorHandle extends EmulatorHandle {
  /** Base URL for SDKs: `http://127.0.0.1:<port>/v1`. */
  baseUrl: string;
  knobs: Knobs<LlmKnobs>;
  bill(key?: string): LlmBill;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

const maskKey = (key: string): string => `…${key.slice(-4)}`;

function errorBody(e: HttpError): object {
  return { error: { message: e.message, type: e.type, param: e.param, code: e.code } };
}

function faultError(status: number): HttpError {
  if (status === 429) return new HttpError(429, "Rate limit reached for requests. Please try again in 1s.", "requests", "rate_limit_exceeded");
  if (status === 503) return new HttpError(503, "The server is overloaded or not ready yet.", "server_error", "service_unavailable");
  if (status === 502) return new HttpError(502, "Bad gateway.", "server_error", null);
  if (status === 401) return new HttpError(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key");
  if (status === 400) return new HttpError(400, "Bad request.", "invalid_request_error", null);
  return new HttpError(status, "The server had an error while processing your request. Sorry about that!", "server_error", null);
}

interface ParsedRequest {
  model: string;
  messages: ChatMessage[];
  stream: boolean;
  includeUsage: boolean;
  maxTokens: number | null;
  tools: ToolDef[];
  toolChoice: ToolChoice;
  responseFormat: { type: "text" } | { type: "json_object" } | { type: "json_schema"; schema: Record<string, unknown> };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function contentText(c: unknown): string {
  if (typeof c === "string") return c;
  if (Array.isArray(c)) return c.map((p) => (isObj(p) && typeof p.text === "string" ? p.text : "")).join("");
  return "";
}

function parseRequest(body: unknown, flavor: "openai" | "cerebras", models: Set<string>): ParsedRequest {
  const bad = (msg: string, param: string | null = null) => new HttpError(400, msg, "invalid_request_error", null, param);
  if (!isObj(body)) throw bad("The request body must be a JSON object.");
  if (typeof body.model !== "string" || body.model === "") throw bad("you must provide a model parameter", "model");
  if (!models.has(body.model)) {
    throw new HttpError(404, `The model \`${body.model}\` does not exist or you do not have access to it.`, "invalid_request_error", "model_not_found", "model");
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw bad("'messages' must contain at least one message.", "messages");
  const roles = new Set(["system", "user", "assistant", "tool", "developer", "function"]);
  const messages: ChatMessage[] = body.messages.map((m: unknown, i: number) => {
    if (!isObj(m) || typeof m.role !== "string" || !roles.has(m.role)) throw bad(`Invalid value for 'messages[${i}].role'.`, `messages[${i}].role`);
    if (m.role === "developer" && flavor === "cerebras") throw bad(`messages[${i}].role 'developer' is not supported; use 'system'.`, `messages[${i}].role`);
    if (m.role === "tool" && typeof m.tool_call_id !== "string") throw bad(`Missing required parameter: 'messages[${i}].tool_call_id'.`, `messages[${i}].tool_call_id`);
    const toolCalls = Array.isArray(m.tool_calls)
      ? m.tool_calls.filter(isObj).map((tc) => {
          const fn = isObj(tc.function) ? tc.function : {};
          return { id: String(tc.id ?? ""), name: String(fn.name ?? ""), arguments: String(fn.arguments ?? "") };
        })
      : undefined;
    return { role: m.role, content: contentText(m.content), ...(toolCalls ? { toolCalls } : {}) };
  });
  const tools: ToolDef[] = [];
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) throw bad("'tools' must be an array.", "tools");
    for (const t of body.tools) {
      const fn = isObj(t) && isObj(t.function) ? t.function : null;
      if (!fn || typeof fn.name !== "string") throw bad("Each tool needs function.name.", "tools");
      tools.push({ name: fn.name, description: typeof fn.description === "string" ? fn.description : "", parameters: isObj(fn.parameters) ? fn.parameters : {} });
    }
  }
  let toolChoice: ToolChoice = tools.length > 0 ? "auto" : "none";
  const tc = body.tool_choice;
  if (tc === "auto" || tc === "none" || tc === "required") toolChoice = tc;
  else if (isObj(tc) && isObj(tc.function) && typeof tc.function.name === "string") {
    if (!tools.some((t) => isObj(tc.function) && t.name === tc.function.name)) throw bad(`Tool choice '${tc.function.name}' is not among the provided tools.`, "tool_choice");
    toolChoice = { name: tc.function.name };
  }
  let responseFormat: ParsedRequest["responseFormat"] = { type: "text" };
  const rf = body.response_format;
  if (rf !== undefined && rf !== null) {
    if (!isObj(rf)) throw bad("Invalid 'response_format'.", "response_format");
    if (rf.type === "json_object") responseFormat = { type: "json_object" };
    else if (rf.type === "json_schema") {
      const js = isObj(rf.json_schema) ? rf.json_schema : null;
      if (!js || typeof js.name !== "string") throw bad("Missing required parameter: 'response_format.json_schema.name'.", "response_format.json_schema.name");
      responseFormat = { type: "json_schema", schema: isObj(js.schema) ? js.schema : { type: "object", properties: {} } };
    } else if (rf.type !== "text") throw bad(`Invalid value: '${String(rf.type)}'. Supported values are: 'json_object', 'json_schema', and 'text'.`, "response_format.type");
  }
  const maxRaw = body.max_completion_tokens ?? body.max_tokens;
  if (maxRaw !== undefined && maxRaw !== null && (typeof maxRaw !== "number" || !Number.isInteger(maxRaw) || maxRaw < 1)) {
    throw bad("max_tokens must be a positive integer.", "max_tokens");
  }
  const so = isObj(body.stream_options) ? body.stream_options : {};
  return {
    model: body.model,
    messages,
    stream: body.stream === true,
    includeUsage: so.include_usage === true,
    maxTokens: typeof maxRaw === "number" ? maxRaw : null,
    tools,
    toolChoice,
    responseFormat,
  };
}

interface Completion {
  gen: Generated;
  finishReason: "stop" | "length" | "tool_calls";
  promptTokens: number;
  completionTokens: number;
}

function complete(req: ParsedRequest): Completion {
  let promptTokens = 3;
  for (const m of req.messages) promptTokens += 4 + countTokens(m.content) + (m.toolCalls ? countTokens(JSON.stringify(m.toolCalls)) : 0);
  if (req.tools.length > 0) promptTokens += countTokens(JSON.stringify(req.tools));
  let gen: Generated;
  if (req.responseFormat.type === "json_schema") gen = { kind: "text", content: JSON.stringify(fillSchema(req.responseFormat.schema, req.messages)) };
  else if (req.responseFormat.type === "json_object") {
    const reply = generateReply(req.messages);
    gen = { kind: "text", content: JSON.stringify(jsonObjectReply(req.messages, reply.kind === "text" ? reply.content : "")) };
  } else gen = generateReply(req.messages, req.tools, req.toolChoice);
  if (gen.kind === "tool_call") {
    return { gen, finishReason: "tool_calls", promptTokens, completionTokens: 3 + countTokens(gen.name) + countTokens(gen.arguments) };
  }
  let finishReason: Completion["finishReason"] = "stop";
  if (req.maxTokens !== null) {
    const t = truncateToTokens(gen.content, req.maxTokens);
    if (t.truncated) {
      gen = { kind: "text", content: t.text };
      finishReason = "length";
    }
  }
  return { gen, finishReason, promptTokens, completionTokens: countTokens(gen.content) };
}

const newId = (prefix: string, n = 12): string => `${prefix}${randomBytes(n).toString("hex")}`;

/** Starts the OpenAI-compatible LLM emulator on 127.0.0.1. */
export async function startLlmEmulator(opts: LlmEmulatorOptions = {}): Promise<LlmEmulatorHandle> {
  const flavor = opts.flavor ?? "openai";
  const name = opts.name ?? flavor;
  const models = new Set(opts.models ?? (flavor === "cerebras" ? CEREBRAS_MODELS : OPENAI_MODELS));
  const keys = opts.apiKeys ? new Set(opts.apiKeys) : null;
  const knobs = new Knobs<LlmKnobs>({ ...DEFAULT_LLM_KNOBS, ...opts.knobs });
  const fingerprint = `fp_${randomBytes(5).toString("hex")}`;
  const created = Math.floor(Date.now() / 1000);
  const byModel = new Map<string, TokenTotals>();
  const byKey = new Map<string, TokenTotals>();
  const open = new Set<ServerResponse>();

  const zero = (): TokenTotals => ({ requests: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  const record = (key: string, model: string, prompt: number, completion: number, request: boolean): void => {
    for (const [map, k] of [
      [byModel, model],
      [byKey, maskKey(key)],
    ] as const) {
      const t = map.get(k) ?? zero();
      if (request) t.requests++;
      t.prompt_tokens += prompt;
      t.completion_tokens += completion;
      t.total_tokens += prompt + completion;
      map.set(k, t);
    }
  };
  const bill = (key?: string): LlmBill => {
    const keyRows = [...byKey.entries()].filter(([k]) => !key || k === maskKey(key) || k === key);
    const total = zero();
    for (const [, t] of keyRows) {
      total.requests += t.requests;
      total.prompt_tokens += t.prompt_tokens;
      total.completion_tokens += t.completion_tokens;
      total.total_tokens += t.total_tokens;
    }
    return {
      vendor: name,
      unit: "tokens",
      total,
      byModel: key ? {} : Object.fromEntries([...byModel.entries()].map(([k, v]) => [k, { ...v }])),
      byKey: Object.fromEntries(keyRows.map(([k, v]) => [k, { ...v }])),
    };
  };

  const authenticate = (req: IncomingMessage): string => {
    const h = req.headers.authorization;
    const m = typeof h === "string" ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
    if (!m) {
      throw new HttpError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        "invalid_request_error",
        null,
      );
    }
    const key = m[1]!;
    if (keys && !keys.has(key)) {
      throw new HttpError(401, `Incorrect API key provided: ${maskKey(key)}.`, "invalid_request_error", "invalid_api_key");
    }
    return key;
  };

  const maybeFail = (): void => {
    const k = knobs.value;
    if (k.failNext > 0) {
      knobs.set({ failNext: k.failNext - 1 });
      throw faultError(k.failStatus);
    }
    if (k.failRate > 0 && Math.random() < k.failRate) throw faultError(k.failStatus);
  };

  const server = createEmulatorServer(async (req, res) => {
    // Latency knobs count from the request's arrival, like a vendor's time to first token.
    const arrivedAt = performance.now();
    if (await handleControl(req, res, { knobs: knobs as unknown as Knobs<object>, bill: (q) => bill(q.get("key") ?? undefined), reset: () => (byModel.clear(), byKey.clear()) })) return;
    const url = new URL(req.url ?? "/", "http://sandbox");
    const path = url.pathname.replace(/\/+$/, "");
    try {
      if (req.method === "GET" && (path === "/v1/models" || path.startsWith("/v1/models/"))) {
        authenticate(req);
        const list = [...models].map((id) => ({ id, object: "model", created, owned_by: name }));
        if (path === "/v1/models") sendJson(res, 200, { object: "list", data: list });
        else {
          const id = decodeURIComponent(path.slice("/v1/models/".length));
          const m = list.find((x) => x.id === id);
          if (!m) throw new HttpError(404, `The model \`${id}\` does not exist or you do not have access to it.`, "invalid_request_error", "model_not_found");
          sendJson(res, 200, m);
        }
        return;
      }
      if (path === "/v1/chat/completions") {
        if (req.method !== "POST") throw new HttpError(405, "Method not allowed.", "invalid_request_error", null);
        const key = authenticate(req);
        let body: unknown;
        try {
          body = JSON.parse((await readBody(req)).toString("utf8"));
        } catch {
          throw new HttpError(400, "We could not parse the JSON body of your request.", "invalid_request_error", null);
        }
        const parsed = parseRequest(body, flavor, models);
        maybeFail();
        await chat(req, res, key, parsed, arrivedAt);
        return;
      }
      throw new HttpError(404, `Invalid URL (${req.method} ${url.pathname})`, "invalid_request_error", null);
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      const headers: Record<string, string> = e.status === 429 ? { "retry-after": "1", "x-ratelimit-remaining-requests": "0" } : {};
      sendJson(res, e.status, errorBody(e), headers);
    }
  }, `llm:${name}`);

  async function chat(req: IncomingMessage, res: ServerResponse, key: string, r: ParsedRequest, arrivedAt: number): Promise<void> {
    const k = knobs.value;
    const t0 = Date.now();
    const c = complete(r);
    const id = newId("chatcmpl-");
    const requestId = newId("req_", 8);
    let gone = false;
    open.add(res);
    res.on("close", () => {
      gone = true;
      open.delete(res);
    });
    record(key, r.model, c.promptTokens, 0, true);
    const usage = (completion: number) => ({ prompt_tokens: c.promptTokens, completion_tokens: completion, total_tokens: c.promptTokens + completion });
    const timeInfo = (completion: number) => {
      const total = (Date.now() - t0) / 1000;
      return { queue_time: 0.0002, prompt_time: Math.max(0.0001, c.promptTokens / 1e6), completion_time: completion / Math.max(1, k.tokensPerSecond), total_time: total, created: Date.now() / 1000 };
    };
    const ttft = jittered(k.firstTokenMs, k.jitterMs);
    const msPerToken = 1000 / Math.max(0.001, k.tokensPerSecond);
    const toolCallId = newId("call_", 12);

    if (!r.stream) {
      if (k.hangFirstToken) return; // never answers; the client's timeout or abort ends it
      await sleepUntil(arrivedAt + ttft + c.completionTokens * msPerToken);
      if (gone) return;
      const message =
        c.gen.kind === "tool_call"
          ? { role: "assistant", content: null, refusal: null, tool_calls: [{ id: toolCallId, type: "function", function: { name: c.gen.name, arguments: c.gen.arguments } }] }
          : { role: "assistant", content: c.gen.content, refusal: null };
      record(key, r.model, 0, c.completionTokens, false);
      sendJson(
        res,
        200,
        {
          id,
          object: "chat.completion",
          created: Math.floor(t0 / 1000),
          model: r.model,
          system_fingerprint: fingerprint,
          choices: [{ index: 0, message, logprobs: null, finish_reason: c.finishReason }],
          usage: usage(c.completionTokens),
          ...(flavor === "cerebras" ? { time_info: timeInfo(c.completionTokens) } : {}),
        },
        { "x-request-id": requestId },
      );
      return;
    }

    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", "x-request-id": requestId });
    res.flushHeaders();
    if (k.hangFirstToken) return;
    const base = { id, object: "chat.completion.chunk", created: Math.floor(t0 / 1000), model: r.model, system_fingerprint: fingerprint };
    const withUsageNull = r.includeUsage && flavor === "openai" ? { usage: null } : {};
    const write = (obj: object): void => {
      if (!gone) res.write(`data: ${JSON.stringify(obj)}\n\n`);
    };
    const chunk = (delta: object, finish: string | null = null): object => ({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...withUsageNull });

    const firstAt = arrivedAt + ttft;
    await sleepUntil(firstAt);
    if (gone) return;
    let deltas: object[];
    let parts: string[];
    if (c.gen.kind === "tool_call") {
      write(chunk({ role: "assistant", content: null, tool_calls: [{ index: 0, id: toolCallId, type: "function", function: { name: c.gen.name, arguments: "" } }] }));
      parts = pieces(c.gen.arguments);
      deltas = parts.map((p) => ({ tool_calls: [{ index: 0, function: { arguments: p } }] }));
    } else {
      write(chunk({ role: "assistant", content: "", refusal: null }));
      parts = pieces(c.gen.content);
      deltas = parts.map((p) => ({ content: p }));
    }
    const cutAt = k.closeMidStream ? Math.floor(deltas.length / 2) : -1;
    let sent = 0;
    for (let i = 0; i < deltas.length; i++) {
      if (i === cutAt) {
        record(key, r.model, 0, sent, false);
        res.destroy();
        return;
      }
      const due = firstAt + i * msPerToken;
      if (due - performance.now() >= 1) await sleepUntil(due);
      if (gone) {
        record(key, r.model, 0, sent, false);
        return;
      }
      write(chunk(deltas[i]!));
      sent += countTokens(parts[i]!);
    }
    record(key, r.model, 0, c.completionTokens, false);
    const finalUsage = usage(c.completionTokens);
    if (flavor === "cerebras") {
      write({ ...chunk({}, c.finishReason), usage: finalUsage, time_info: timeInfo(c.completionTokens) });
    } else {
      write(chunk({}, c.finishReason));
      if (r.includeUsage) write({ ...base, choices: [], usage: finalUsage });
    }
    if (!gone) res.end("data: [DONE]\n\n");
  }

  const port = await listen(server, opts.port ?? 0);
  return {
    url: `http://127.0.0.1:${port}`,
    baseUrl: `http://127.0.0.1:${port}/v1`,
    port,
    knobs,
    bill,
    async close() {
      for (const r of open) r.destroy();
      await closeServer(server);
    },
  };
}
