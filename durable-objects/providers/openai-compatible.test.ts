/** OpenAI-compatible SSE adapter against a tiny in-test HTTP server: request shape, SSE parsing, errors. */
import { afterEach, describe, expect, it } from "vitest";
import { OpenAICompatibleChatModel } from "./openai-compatible";
import { startHttpServer } from "./test-servers";
import { ProviderError, isRetryableStatus, type ChatDelta } from "./types";

let server: { url: string; close(): Promise<void> } | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

const chunk = (content: string | null, finish: string | null = null, usage?: object) =>
  `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "gpt-oss-120b", choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;

async function collect(it: AsyncIterable<ChatDelta>): Promise<ChatDelta[]> {
  const out: ChatDelta[] = [];
  for await (const d of it) out.push(d);
  return out;
}

describe("OpenAICompatibleChatModel", () => {
  it("posts a streaming request and parses SSE split at arbitrary points, usage and [DONE]", async () => {
    let request: { url?: string; auth?: string; body?: Record<string, unknown> } = {};
    server = await startHttpServer((req, body, res) => {
      request = { url: req.url, auth: req.headers.authorization, body: JSON.parse(body) as Record<string, unknown> };
      res.writeHead(200, { "content-type": "text/event-stream" });
      const stream =
        ": keep-alive comment\n\n" +
        chunk("Hey") +
        chunk(" there,") +
        chunk(" Sam.") +
        chunk(null, "stop", { prompt_tokens: 812, completion_tokens: 41, total_tokens: 853 }) +
        "data: [DONE]\n\n";
      // Deliver in awkward pieces (mid-line, mid-JSON).
      const pieces = stream.match(/[\s\S]{1,17}/g) ?? [];
      let i = 0;
      const tick = () => {
        if (i < pieces.length) {
          res.write(pieces[i++]);
          setTimeout(tick, 1);
        } else res.end();
      };
      tick();
    });
    const llm = new OpenAICompatibleChatModel({ baseUrl: `${server.url}/v1`, apiKey: "csk-secret", model: "gpt-oss-120b", provider: "cerebras", reasoningEffort: "low" });
    const deltas = await collect(llm.stream([{ role: "system", content: "You are Brad." }, { role: "user", content: "hi" }]));
    expect(request.url).toBe("/v1/chat/completions");
    expect(request.auth).toBe("Bearer csk-secret");
    expect(request.body).toMatchObject({
      model: "gpt-oss-120b",
      stream: true,
      stream_options: { include_usage: true },
      reasoning_effort: "low",
      messages: [{ role: "system", content: "You are Brad." }, { role: "user", content: "hi" }],
    });
    expect(deltas).toEqual([
      { type: "text", text: "Hey" },
      { type: "text", text: " there," },
      { type: "text", text: " Sam." },
      { type: "usage", provider: "cerebras", model: "gpt-oss-120b", promptTokens: 812, completionTokens: 41 },
      { type: "finish", reason: "stop" },
    ]);
  });

  it("maps HTTP errors to ProviderError: 5xx/429 retryable, other 4xx not", async () => {
    let status = 500;
    server = await startHttpServer((_req, _body, res) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "model overloaded" } }));
    });
    const llm = new OpenAICompatibleChatModel({ baseUrl: server.url, apiKey: "k", model: "m", provider: "cerebras" });
    for (const [s, retryable] of [[500, true], [429, true], [400, false], [404, false]] as const) {
      status = s;
      const err = await collect(llm.stream([{ role: "user", content: "x" }])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect(err).toMatchObject({ provider: "cerebras", status: s, retryable });
      expect((err as Error).message).toContain("model overloaded");
      expect((err as Error).message).not.toContain("Bearer");
    }
  });

  it("throws a ProviderError for an error event mid-stream and stops on abort", async () => {
    server = await startHttpServer((req, _body, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(chunk("Hello"));
      if (req.url?.includes("error")) {
        res.end(`data: ${JSON.stringify({ error: { message: "internal" } })}\n\n`);
      }
      // Otherwise keep the stream open until the client goes away.
    });
    const broken = new OpenAICompatibleChatModel({ baseUrl: `${server.url}/error`, apiKey: "k", model: "m" });
    await expect(collect(broken.stream([{ role: "user", content: "x" }]))).rejects.toBeInstanceOf(ProviderError);

    const hanging = new OpenAICompatibleChatModel({ baseUrl: server.url, apiKey: "k", model: "m" });
    const ac = new AbortController();
    const got: ChatDelta[] = [];
    const done = (async () => {
      for await (const d of hanging.stream([{ role: "user", content: "x" }], { signal: ac.signal })) {
        got.push(d);
        ac.abort();
      }
    })();
    await expect(done).rejects.toMatchObject({ name: "AbortError" });
    expect(got).toEqual([{ type: "text", text: "Hello" }]);
  });

  it("classifies statuses like the vendors' SDKs", () => {
    expect([408, 429, 499, 500, 503].map(isRetryableStatus)).toEqual([true, true, true, true, true]);
    expect([400, 401, 403, 404, 422].map(isRetryableStatus)).toEqual([false, false, false, false, false]);
  });
});
