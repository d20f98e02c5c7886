/**
 * The operator MCP server (official `@modelcontextprotocol/sdk` `McpServer`): four read-only
 * tools over the timeline, calls and cost ledger — `search_events`, `get_call_timeline`,
 * `aggregate_costs`, `list_calls`. Inputs are zod-validated by the SDK (schemas shared with the
 * admin endpoints in contracts/ops.ts); results are short plain-text lines an assistant can read,
 * never raw rows. A fresh server is built per HTTP request (stateless Streamable HTTP). Phone
 * numbers and emails appear masked; nothing here writes.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { AggregateCostsQuery, ListCallsQuery, SearchEventsQuery } from "../../contracts/ops";
import { z } from "zod";
import type { Db } from "../db/client";
import type { Logger } from "../log";
import { aggregateCosts, formatMicros, listCalls } from "../services/ops";
import { getCallTimeline, searchEvents, type EventLine, type TurnLatencyView } from "../services/timeline";

export const MCP_SERVER_INFO = { name: "call-me-back-ops", version: "1.0.0" } as const;

/** Names of the tools, in the order `tools/list` returns them. */
export const MCP_TOOLS = ["search_events", "get_call_timeline", "aggregate_costs", "list_calls"] as const;

function text(body: string): CallToolResult {
  return { content: [{ type: "text", text: body }] };
}

function toolError(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}

const date = (s: string | undefined): Date | undefined => (s === undefined ? undefined : new Date(s));

function ms(v: number | null | undefined): string {
  return v === null || v === undefined ? "–" : `${Math.round(v)}ms`;
}

/** One event as one line: `2026-11-22T03:41:00.120Z 1a2b3c4d twilio status: ringing {…}`. */
export function eventLine(e: EventLine, withCall = true): string {
  const data = Object.keys(e.data).length ? ` ${JSON.stringify(e.data)}` : "";
  const head = [e.at, withCall ? e.callId.slice(0, 8) : null, e.service ?? "-", e.type].filter((p) => p !== null).join(" ");
  return `${head}: ${e.message}${data}`.slice(0, 600);
}

function latencyLine(l: TurnLatencyView | null): string {
  if (!l) return "latency –";
  const flags = [l.speculative ? "speculative" : null, l.fallback ? "fallback" : null].filter(Boolean).join(",");
  return (
    `final ${ms(l.endOfSpeechToFinalMs)} · llm ${ms(l.llmFirstTokenMs)} · tts ${ms(l.ttsFirstByteMs)} · ` +
    `sent ${ms(l.firstAudioSentMs)} · mark ${ms(l.firstMarkHeardMs)}${flags ? ` (${flags})` : ""}`
  );
}

/** `deepgram 4, elevenlabs 6` — usage events per service. */
function usageSummary(events: EventLine[]): string {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.service ?? "-", (counts.get(e.service ?? "-") ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k} ${n}`).join(", ");
}

/** Builds the MCP server with its tools bound to `db`. */
export function createMcpServer(db: Db, log: Logger): McpServer {
  const server = new McpServer(MCP_SERVER_INFO, {
    instructions:
      "Operations tools for Call Me Back: search the per-call event timeline, read one call's timeline with per-turn latency, aggregate vendor costs with margin, list calls. All read-only.",
  });

  server.registerTool(
    "search_events",
    {
      title: "Search call events",
      description:
        "Search the per-call event timeline (status changes, stream start/stop, turns, barge-ins, provider reconnects/fallbacks, budget warnings, cost totals). Returns only the matching lines, newest first.",
      inputSchema: {
        text: SearchEventsQuery.shape.text.describe("Case-insensitive text to find in the message, type or data"),
        callId: SearchEventsQuery.shape.callId.describe("Only this call (UUID)"),
        service: SearchEventsQuery.shape.service.describe("twilio, deepgram, elevenlabs, cerebras, openai, pipeline, worker…"),
        type: SearchEventsQuery.shape.type.describe("Exact event type, e.g. status, turn, barge_in, provider.fallback"),
        since: SearchEventsQuery.shape.since.describe("ISO date/time; only events at or after it"),
        limit: z.number().int().min(1).max(500).default(50).describe("At most this many lines (default 50)"),
      },
      annotations: { readOnlyHint: true },
    },
    async (args) => {
      const events = await searchEvents(db, { ...args, since: date(args.since) });
      log.info("mcp tool", { tool: "search_events", results: events.length });
      if (events.length === 0) return text("No matching events.");
      return text(`${events.length} matching event(s), newest first:\n${events.map((e) => eventLine(e)).join("\n")}`);
    },
  );

  server.registerTool(
    "get_call_timeline",
    {
      title: "Call timeline",
      description:
        "Every event of one call in order (vendor usage events summarised unless includeUsage), then its transcript turns with the per-turn latency breakdown (ms from end of caller speech).",
      inputSchema: {
        callId: z.uuid().describe("The call id (UUID)"),
        includeUsage: z.boolean().default(false).describe("List every vendor `usage` event too (default: summarised in one line)"),
      },
      annotations: { readOnlyHint: true },
    },
    async ({ callId, includeUsage }) => {
      const t = await getCallTimeline(db, callId);
      log.info("mcp tool", { tool: "get_call_timeline", callId, found: t !== null });
      if (!t) return toolError(`No call ${callId}.`);
      const c = t.call;
      const usage = t.events.filter((e) => e.type === "usage");
      const shown = includeUsage ? t.events : t.events.filter((e) => e.type !== "usage");
      const lines = [
        `Call ${c.id} · ${c.personaName} · ${c.transport}${c.toPhoneMasked ? ` ${c.toPhoneMasked}` : ""} · ${c.status}` +
          `${c.endReason ? ` (${c.endReason})` : ""} · ${c.durationS ?? "–"}s · cost ${formatMicros(c.costMicros)}` +
          `${c.chargeMicros !== null ? ` · charged ${formatMicros(c.chargeMicros)}` : ""}`,
        `created ${c.createdAt}${c.answeredAt ? ` · answered ${c.answeredAt}` : ""}${c.endedAt ? ` · ended ${c.endedAt}` : ""}`,
        "",
        `Events (${t.events.length}):`,
        ...shown.map((e) => `  ${eventLine(e, false)}`),
        ...(usage.length > 0 && !includeUsage ? [`  (${usage.length} usage events: ${usageSummary(usage)} — includeUsage=true lists them)`] : []),
        "",
        `Turns (${t.turns.length}):`,
        ...t.turns.map(
          (u) =>
            `  #${u.seq} ${u.speaker}${u.interrupted ? " (interrupted)" : ""}: ${u.text.slice(0, 160)}` +
            (u.speaker === "assistant" ? `\n     ${latencyLine(u.latency)}` : ""),
        ),
      ];
      return text(lines.join("\n"));
    },
  );

  server.registerTool(
    "aggregate_costs",
    {
      title: "Aggregate costs",
      description:
        "Vendor cost from the cost ledger over a period, grouped by service, persona or UTC day, with revenue (what calls were charged) and margin. Default period: the last 30 days.",
      inputSchema: {
        groupBy: AggregateCostsQuery.shape.groupBy.describe("service | persona | day (default service)"),
        since: AggregateCostsQuery.shape.since.describe("ISO date/time, start of the period (inclusive)"),
        until: AggregateCostsQuery.shape.until.describe("ISO date/time, end of the period (exclusive)"),
      },
      annotations: { readOnlyHint: true },
    },
    async (args) => {
      const r = await aggregateCosts(db, { groupBy: args.groupBy, since: date(args.since), until: date(args.until) });
      log.info("mcp tool", { tool: "aggregate_costs", groupBy: r.groupBy, rows: r.rows.length });
      const t = r.totals;
      const lines = [
        `Costs by ${r.groupBy}, ${r.since} → ${r.until}`,
        ...r.rows.map(
          (row) =>
            `  ${row.key}: cost ${formatMicros(row.costMicros)} (${row.events} events)` +
            (row.revenueMicros !== null ? ` · revenue ${formatMicros(row.revenueMicros)} · margin ${formatMicros(row.marginMicros ?? 0)}` : ""),
        ),
        `Total: cost ${formatMicros(t.costMicros)} · revenue ${formatMicros(t.revenueMicros)} · margin ${formatMicros(t.marginMicros)}` +
          (t.marginBps !== null ? ` (${(t.marginBps / 100).toFixed(2)}%)` : ""),
      ];
      if (r.rows.length === 0) lines.splice(1, 0, "  (no cost events in this period)");
      return text(lines.join("\n"));
    },
  );

  server.registerTool(
    "list_calls",
    {
      title: "List calls",
      description: "Calls, newest first, with status, duration, cost and response latency (mean/worst of end of caller speech → first reply audio sent). Filter by status, user, persona and period.",
      inputSchema: {
        status: ListCallsQuery.shape.status.describe("queued, initiated, ringing, in_progress, completed, busy, no_answer, failed, canceled"),
        userId: ListCallsQuery.shape.userId,
        personaId: ListCallsQuery.shape.personaId,
        since: ListCallsQuery.shape.since.describe("ISO date/time; calls created at or after it"),
        until: ListCallsQuery.shape.until.describe("ISO date/time; calls created before it"),
        limit: z.number().int().min(1).max(200).default(20).describe("At most this many calls (default 20)"),
      },
      annotations: { readOnlyHint: true },
    },
    async (args) => {
      const rows = await listCalls(db, { ...args, since: date(args.since), until: date(args.until) });
      log.info("mcp tool", { tool: "list_calls", results: rows.length });
      if (rows.length === 0) return text("No calls match.");
      return text(
        [
          `${rows.length} call(s), newest first:`,
          ...rows.map(
            (c) =>
              `  ${c.id} ${c.createdAt} ${c.personaName} · ${c.userEmailMasked} · ${c.status}${c.endReason ? ` (${c.endReason})` : ""}` +
              ` · ${c.durationS ?? "–"}s · cost ${formatMicros(c.costMicros)} · ${c.turns} turns · latency avg ${ms(c.avgLatencyMs)} max ${ms(c.maxLatencyMs)}`,
          ),
        ].join("\n"),
      );
    },
  );

  return server;
}
