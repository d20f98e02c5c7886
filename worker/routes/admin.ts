/**
 * /api/admin: operator JSON endpoints for the admin pages, signed-in users with role=admin only
 * (401 without a token, 403 for everyone else) — calls with status and latency, one call's
 * timeline with per-turn latency, event search, cost aggregation with margin, reconciliation
 * discrepancies. Same queries as the MCP tools (worker/services/{ops,timeline}.ts). Read-only.
 */
import { Hono } from "hono";
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import {
  AdminCallListResponse,
  AggregateCostsQuery,
  AggregateCostsResponse,
  CallTimelineResponse,
  DiscrepancyListResponse,
  ListCallsQuery,
  SearchEventsQuery,
  SearchEventsResponse,
} from "../../contracts/ops";
import { forbidden, notFound } from "../errors";
import { authOf, requireAuth } from "../middleware/auth";
import { describeRoute } from "../openapi";
import { aggregateCosts, listCalls, listDiscrepancies } from "../services/ops";
import { getCallTimeline, searchEvents } from "../services/timeline";
import type { AppEnv } from "../types";
import { validate } from "../validation";

const IdParam = z.object({ id: z.uuid() });
const DiscrepancyQuery = z.object({ includeResolved: z.enum(["true", "false"]).optional() });
const date = (s: string | undefined): Date | undefined => (s === undefined ? undefined : new Date(s));

describeRoute({ method: "get", path: "/api/admin/calls", tag: "admin", summary: "Calls with status, cost and response latency (admin)", auth: "required", query: ListCallsQuery, responses: { 200: AdminCallListResponse }, errors: [400, 401, 403] });
describeRoute({ method: "get", path: "/api/admin/calls/:id/timeline", tag: "admin", summary: "One call's events in order and its turns with latency (admin)", auth: "required", responses: { 200: CallTimelineResponse }, errors: [401, 403, 404] });
describeRoute({ method: "get", path: "/api/admin/events", tag: "admin", summary: "Search the call timeline events (admin)", auth: "required", query: SearchEventsQuery, responses: { 200: SearchEventsResponse }, errors: [400, 401, 403] });
describeRoute({ method: "get", path: "/api/admin/costs", tag: "admin", summary: "Vendor cost by service / persona / day with revenue and margin (admin)", auth: "required", query: AggregateCostsQuery, responses: { 200: AggregateCostsResponse }, errors: [400, 401, 403] });
describeRoute({ method: "get", path: "/api/admin/discrepancies", tag: "admin", summary: "Cost reconciliation discrepancies (admin)", auth: "required", query: DiscrepancyQuery, responses: { 200: DiscrepancyListResponse }, errors: [401, 403] });

export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (authOf(c).role !== "admin") throw forbidden("Admins only");
  await next();
};

export const admin = new Hono<AppEnv>()
  .use("*", requireAuth, requireAdmin)
  .get("/calls", validate("query", ListCallsQuery), async (c) => {
    const q = c.req.valid("query");
    const rows = await listCalls(c.var.db, { ...q, since: date(q.since), until: date(q.until) });
    return c.json({ calls: rows }, 200);
  })
  .get("/calls/:id/timeline", validate("param", IdParam), async (c) => {
    const timeline = await getCallTimeline(c.var.db, c.req.valid("param").id);
    if (!timeline) throw notFound("Call");
    return c.json(timeline, 200);
  })
  .get("/events", validate("query", SearchEventsQuery), async (c) => {
    const q = c.req.valid("query");
    return c.json({ events: await searchEvents(c.var.db, { ...q, since: date(q.since) }) }, 200);
  })
  .get("/costs", validate("query", AggregateCostsQuery), async (c) => {
    const q = c.req.valid("query");
    return c.json(await aggregateCosts(c.var.db, { groupBy: q.groupBy, since: date(q.since), until: date(q.until) }), 200);
  })
  .get("/discrepancies", validate("query", DiscrepancyQuery), async (c) => {
    const includeResolved = c.req.valid("query").includeResolved === "true";
    return c.json({ discrepancies: await listDiscrepancies(c.var.db, { includeResolved }) }, 200);
  });
