/**
 * `/mcp`: the operator MCP endpoint over Streamable HTTP (stateless: one SDK server + transport
 * per request, JSON responses, no session id). The bearer admin token (`ADMIN_TOKEN`) is checked
 * first, in constant time; a missing/wrong token — or no token configured at all — is 401 before
 * any MCP processing. GET (server-initiated SSE stream) and DELETE (sessions) are not offered.
 */
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { Hono } from "hono";
import type { MiddlewareHandler } from "hono";
import { createDb } from "../db/client";
import { parseEnv } from "../env";
import { createMcpServer } from "../mcp/server";
import type { AppEnv } from "../types";

/** Constant-time string comparison (length leaks, content does not). */
export function timingSafeEqualStr(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  let diff = ea.length ^ eb.length;
  for (let i = 0; i < Math.max(ea.length, eb.length); i++) diff |= (ea[i] ?? 0) ^ (eb[i] ?? 0);
  return diff === 0;
}

function jsonRpcError(status: 401 | 405, message: string): Response {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (status === 401) headers["WWW-Authenticate"] = 'Bearer realm="mcp"';
  if (status === 405) headers.Allow = "POST";
  return new Response(JSON.stringify({ jsonrpc: "2.0", error: { code: -32001, message }, id: null }), { status, headers });
}

/** Bearer ADMIN_TOKEN or 401 (JSON-RPC shaped, as MCP clients expect). */
export const requireAdminToken: MiddlewareHandler<AppEnv> = async (c, next) => {
  const config = parseEnv(c.env);
  const expected = config.auth.adminToken;
  const header = c.req.header("Authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!expected || !match?.[1] || !timingSafeEqualStr(match[1], expected)) {
    c.var.log.warn("mcp unauthorized", { method: c.req.method, sentCredentials: header !== "" });
    return jsonRpcError(401, "Unauthorized: send the admin token as 'Authorization: Bearer <token>'");
  }
  c.set("config", config);
  c.set("db", createDb(config));
  await next();
};

export const mcp = new Hono<AppEnv>();

mcp.use("*", requireAdminToken);

mcp.post("/", async (c) => {
  const server = createMcpServer(c.var.db, c.var.log.child({ component: "mcp" }));
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  return transport.handleRequest(c.req.raw);
});

mcp.on(["GET", "DELETE"], "/", () => jsonRpcError(405, "Method not allowed: this MCP endpoint is stateless (POST only)"));
