/** /api/user/budget-settings: the user's per-call, daily and monthly spending limits and warn-at percentage. */
import { Hono } from "hono";
import { BudgetSettingsResponse, UpdateBudgetSettingsRequest } from "../../contracts/money";
import { authOf, requireAuth } from "../middleware/auth";
import { describeRoute } from "../openapi";
import { budgetSettingsResponse, updateBudgetSettings } from "../services/budgets";
import type { AppEnv } from "../types";
import { validate } from "../validation";

describeRoute({ method: "get", path: "/api/user/budget-settings", tag: "billing", summary: "Budget limits and what was spent today / this month", auth: "required", responses: { 200: BudgetSettingsResponse } });
describeRoute({ method: "put", path: "/api/user/budget-settings", tag: "billing", summary: "Change budget limits (null clears a limit)", auth: "required", body: UpdateBudgetSettingsRequest, responses: { 200: BudgetSettingsResponse } });

/** Mounted at /api/user. */
export const budget = new Hono<AppEnv>()
  .get("/budget-settings", requireAuth, async (c) => c.json(await budgetSettingsResponse(c.var.db, authOf(c).userId), 200))
  .put("/budget-settings", requireAuth, validate("json", UpdateBudgetSettingsRequest), async (c) => {
    const userId = authOf(c).userId;
    await updateBudgetSettings(c.var.db, userId, c.req.valid("json"));
    return c.json(await budgetSettingsResponse(c.var.db, userId), 200);
  });
