/**
 * /mcp through the official MCP SDK client (Client + StreamableHTTPClientTransport, its fetch
 * routed into the Worker): initialize, tools/list, each tool on real rows, and refusals — no
 * token, a wrong token, and a user's session token are 401 before any MCP processing.
 */
import { env, exports } from "cloudflare:workers";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE } from "./helpers";
import { seedFinishedCall, type OpsFixture } from "./ops-fixtures";

const workerFetch = (url: string | URL, init?: RequestInit) => exports.default.fetch(new Request(url, init));

function transportWith(token: string | null) {
  return new StreamableHTTPClientTransport(new URL(`${BASE}/mcp`), {
    fetch: workerFetch,
    requestInit: token === null ? {} : { headers: { Authorization: `Bearer ${token}` } },
  });
}

function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? "").join("\n");
}

describe("MCP server at /mcp", () => {
  let fx: OpsFixture;
  let client: Client;

  beforeAll(async () => {
    // a window of its own: three days ago, to the minute
    fx = await seedFinishedCall({ startedAt: new Date(Math.floor(Date.now() / 60_000) * 60_000 - 3 * 86_400_000 + 17_000) });
    client = new Client({ name: "ops-test", version: "1.0.0" });
    await client.connect(transportWith(env.ADMIN_TOKEN));
  });

  afterAll(async () => {
    await client?.close();
  });

  it("completes initialize and lists the four tools with input schemas", async () => {
    expect(client.getServerVersion()?.name).toBe("call-me-back-ops");
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(["search_events", "get_call_timeline", "aggregate_costs", "list_calls"]);
    const search = tools.find((t) => t.name === "search_events");
    expect(Object.keys(search?.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(["text", "callId", "service", "since", "limit"]));
  });

  it("search_events returns only the matching lines", async () => {
    const res = await client.callTool({ name: "search_events", arguments: { text: fx.marker } });
    const lines = textOf(res).split("\n");
    expect(lines[0]).toMatch(/^1 matching event/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(fx.marker);
    expect(lines[1]).toContain("stream.start");

    const byService = textOf(await client.callTool({ name: "search_events", arguments: { callId: fx.callId, service: "deepgram" } }));
    expect(byService).toContain("reconnected");
    expect(byService).not.toContain("barged");

    const none = textOf(await client.callTool({ name: "search_events", arguments: { callId: fx.callId, since: new Date(Date.now() + 60_000).toISOString() } }));
    expect(none).toBe("No matching events.");
  });

  it("get_call_timeline lists every event in order and each assistant turn's latency", async () => {
    const out = textOf(await client.callTool({ name: "get_call_timeline", arguments: { callId: fx.callId } }));
    expect(out).toContain(`Call ${fx.callId}`);
    expect(out).toContain("***0123"); // masked number, never the full one
    expect(out).not.toContain("+15555550123");
    const order = ["status: initiated", "status: in_progress", "stream.start", "provider.reconnect", "barge_in", "provider.fallback", "budget.warning", "stream.stop", "status: completed"];
    const positions = order.map((s) => out.indexOf(s));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(out).toContain("Events (13)");
    expect(out).toContain("(2 usage events: deepgram 1, cerebras 1 — includeUsage=true lists them)");
    expect(out).not.toContain("llm usage");
    expect(out).toContain("Turns (3)");
    expect(out).toMatch(/#3 assistant: Ten miles! That's huge\.\n\s+final 120ms · llm 310ms · tts 520ms · sent 560ms · mark 780ms \(fallback\)/);
  });

  it("get_call_timeline lists vendor usage events on request", async () => {
    const out = textOf(await client.callTool({ name: "get_call_timeline", arguments: { callId: fx.callId, includeUsage: true } }));
    expect(out).toMatch(/cerebras usage: llm usage \{"kind":"llm","inputTokens":640,"outputTokens":42\}/);
    expect(out).not.toContain("usage events:");
  });

  it("get_call_timeline reports an unknown call as a tool error and validates its input", async () => {
    const missing = await client.callTool({ name: "get_call_timeline", arguments: { callId: crypto.randomUUID() } });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/^No call /);
    const invalid = await client.callTool({ name: "get_call_timeline", arguments: { callId: "not-a-uuid" } });
    expect(invalid.isError).toBe(true);
    expect(textOf(invalid)).toMatch(/invalid/i);
  });

  it("aggregate_costs groups by service and persona with margin", async () => {
    const since = new Date(fx.startedAt.getTime() - 1000).toISOString();
    const until = new Date(fx.startedAt.getTime() + 200_000).toISOString();
    const byService = textOf(await client.callTool({ name: "aggregate_costs", arguments: { groupBy: "service", since, until } }));
    expect(byService).toMatch(/elevenlabs: cost \$0\.3810/);
    expect(byService).toMatch(/twilio: cost \$0\.0224/);
    // 22400 + 9440 + 381000.5 → 412841 µ$ (rounded once, in Postgres); revenue = the 4.99 charge
    expect(byService).toContain("Total: cost $0.4128 · revenue $4.9900 · margin $4.5772 (91.73%)");
    const byPersona = textOf(await client.callTool({ name: "aggregate_costs", arguments: { groupBy: "persona", since, until } }));
    expect(byPersona).toContain("Brad: cost $0.4128 (3 events) · revenue $4.9900 · margin $4.5772");
  });

  it("list_calls filters and shows status and latency", async () => {
    const out = textOf(await client.callTool({ name: "list_calls", arguments: { userId: fx.account.user.id } }));
    expect(out).toMatch(/^1 call\(s\)/);
    expect(out).toContain(fx.callId);
    expect(out).toContain("completed (caller_hung_up)");
    expect(out).toContain("2 turns · latency avg 385ms max 560ms");
    const none = textOf(await client.callTool({ name: "list_calls", arguments: { userId: fx.account.user.id, status: "failed" } }));
    expect(none).toBe("No calls match.");
  });

  it("refuses requests without the admin token before any MCP processing", async () => {
    for (const token of [null, "wrong-token", fx.account.token]) {
      const c = new Client({ name: "intruder", version: "1.0.0" });
      await expect(c.connect(transportWith(token))).rejects.toThrow(/401|Unauthorized/i);
    }
    const raw = await workerFetch(`${BASE}/mcp`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(raw.status).toBe(401);
    expect(raw.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
  });
});
