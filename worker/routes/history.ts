/** GET /api/calls (history: paged, filtered) and GET /api/calls/search?q=… (transcript search). */
import { Hono } from "hono";
import { CallListResponse, CallSearchResponse, ListCallsQuery, SearchCallsQuery } from "../../contracts/history";
import { authOf, requireAuth } from "../middleware/auth";
import { describeRoute } from "../openapi";
import { listCalls, searchCalls } from "../services/history";
import type { AppEnv } from "../types";
import { validate } from "../validation";

describeRoute({ method: "get", path: "/api/calls", tag: "calls", summary: "Your call history (newest first; filter by persona, status, date)", auth: "required", query: ListCallsQuery, responses: { 200: CallListResponse }, errors: [400, 401] });
describeRoute({ method: "get", path: "/api/calls/search", tag: "calls", summary: "Search your call transcripts", auth: "required", query: SearchCallsQuery, responses: { 200: CallSearchResponse }, errors: [400, 401] });

export const history = new Hono<AppEnv>()
  .get("/", requireAuth, validate("query", ListCallsQuery), async (c) => {
    return c.json(await listCalls(c.var.db, authOf(c).userId, c.req.valid("query")), 200);
  })
  .get("/search", requireAuth, validate("query", SearchCallsQuery), async (c) => {
    const { q, personaId, limit } = c.req.valid("query");
    return c.json({ results: await searchCalls(c.var.db, authOf(c).userId, q, { personaId, limit }) }, 200);
  });
