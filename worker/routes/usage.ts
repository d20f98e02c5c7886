/**
 * Usage and cost analytics for the signed-in user: `GET /api/user/usage`,
 * `/api/user/costs/summary`, `/api/user/costs/by-persona` (`?days=`, default 30), and the cost
 * breakdown of one call, `GET /api/calls/:id/cost`.
 */
import { Hono } from "hono";
import { z } from "zod";
import { CallCostResponse, CostsByPersonaResponse, CostSummaryResponse, UsageQuery, UsageResponse } from "../../contracts/money";
import { authOf, requireAuth } from "../middleware/auth";
import { describeRoute } from "../openapi";
import { costsByPersona, costSummary, usageSummary } from "../services/analytics";
import { getCallCost } from "../services/costs";
import type { AppEnv } from "../types";
import { validate } from "../validation";

describeRoute({ method: "get", path: "/api/user/usage", tag: "analytics", summary: "Calls, minutes and spend per day", auth: "required", query: UsageQuery, responses: { 200: UsageResponse } });
describeRoute({ method: "get", path: "/api/user/costs/summary", tag: "analytics", summary: "What your calls cost to run, by service and day", auth: "required", query: UsageQuery, responses: { 200: CostSummaryResponse } });
describeRoute({ method: "get", path: "/api/user/costs/by-persona", tag: "analytics", summary: "Calls, minutes, cost and spend per persona", auth: "required", query: UsageQuery, responses: { 200: CostsByPersonaResponse } });
describeRoute({ method: "get", path: "/api/calls/:id/cost", tag: "analytics", summary: "Cost ledger of one call with the breakdown by service", auth: "required", responses: { 200: CallCostResponse }, errors: [404] });

/** Mounted at /api/user. */
export const usage = new Hono<AppEnv>()
  .get("/usage", requireAuth, validate("query", UsageQuery), async (c) => c.json(await usageSummary(c.var.db, authOf(c).userId, c.req.valid("query").days), 200))
  .get("/costs/summary", requireAuth, validate("query", UsageQuery), async (c) => c.json(await costSummary(c.var.db, authOf(c).userId, c.req.valid("query").days), 200))
  .get("/costs/by-persona", requireAuth, validate("query", UsageQuery), async (c) => c.json(await costsByPersona(c.var.db, authOf(c).userId, c.req.valid("query").days), 200));

/** Mounted at /api/calls. */
export const callCost = new Hono<AppEnv>().get("/:id/cost", requireAuth, validate("param", z.object({ id: z.uuid() })), async (c) =>
  c.json(await getCallCost(c.var.db, authOf(c).userId, c.req.valid("param").id), 200),
);
