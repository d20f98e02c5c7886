/**
 * Admin money routes (role "admin"): pricing versions (`GET/POST /api/admin/pricing`), the margin
 * view (`GET /api/admin/margin?days=`), reconciliation discrepancies
 * (`GET /api/admin/reconciliation`) and a manual run (`POST /api/admin/reconciliation/run`).
 */
import { Hono } from "hono";
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { DiscrepanciesResponse, MarginResponse, NewPricingRequest, PricingListResponse, PricingResponse, ReconciliationResult, UsageQuery } from "../../contracts/money";
import { forbidden, unauthorized } from "../errors";
import { describeRoute } from "../openapi";
import { marginReport } from "../services/analytics";
import { addPricingVersion, listPricing } from "../services/pricing";
import { listDiscrepancies, reconcile } from "../services/reconciliation";
import type { AppEnv } from "../types";
import { validate } from "../validation";

const RunRequest = z.object({ runDate: z.iso.date().optional() });

describeRoute({ method: "get", path: "/api/admin/pricing", tag: "admin", summary: "Every vendor pricing version", auth: "required", responses: { 200: PricingListResponse }, errors: [403] });
describeRoute({ method: "post", path: "/api/admin/pricing", tag: "admin", summary: "Add a pricing version (ends the current one at its start)", auth: "required", body: NewPricingRequest, responses: { 201: PricingResponse }, errors: [403, 409] });
describeRoute({ method: "get", path: "/api/admin/margin", tag: "admin", summary: "Revenue, vendor cost, Stripe fee and margin per call, service and day", auth: "required", query: UsageQuery, responses: { 200: MarginResponse }, errors: [403] });
describeRoute({ method: "get", path: "/api/admin/reconciliation", tag: "admin", summary: "Ledger vs vendor discrepancies above $0.10", auth: "required", responses: { 200: DiscrepanciesResponse }, errors: [403] });
describeRoute({ method: "post", path: "/api/admin/reconciliation/run", tag: "admin", summary: "Run the reconciliation now (default: yesterday, UTC)", auth: "required", body: RunRequest, responses: { 200: ReconciliationResult }, errors: [403] });

/** Signed-in admins only. */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const auth = c.var.auth;
  if (!auth) throw unauthorized();
  if (auth.role !== "admin") throw forbidden("Admins only");
  await next();
};

/** Mounted at /api/admin. */
export const adminMoney = new Hono<AppEnv>()
  .get("/pricing", requireAdmin, async (c) => c.json({ pricing: await listPricing(c.var.db) }, 200))
  .post("/pricing", requireAdmin, validate("json", NewPricingRequest), async (c) => c.json({ pricing: await addPricingVersion(c.var.db, c.req.valid("json")) }, 201))
  .get("/margin", requireAdmin, validate("query", UsageQuery), async (c) => c.json(await marginReport(c.var.db, c.req.valid("query").days), 200))
  .get("/reconciliation", requireAdmin, async (c) => c.json({ discrepancies: await listDiscrepancies(c.var.db) }, 200))
  .post("/reconciliation/run", requireAdmin, validate("json", RunRequest), async (c) =>
    c.json(await reconcile({ db: c.var.db, config: c.var.config }, { runDate: c.req.valid("json").runDate }), 200),
  );
