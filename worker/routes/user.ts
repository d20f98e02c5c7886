/** /api/user: the signed-in user's profile (name, E.164 phone, IANA time zone). */
import { Hono } from "hono";
import { UpdateProfileRequest, UserResponse } from "../../contracts/auth";
import { authOf, requireAuth } from "../middleware/auth";
import { describeRoute } from "../openapi";
import { updateProfile } from "../services/users";
import type { AppEnv } from "../types";
import { validate } from "../validation";

describeRoute({ method: "put", path: "/api/user/profile", tag: "user", summary: "Update name, phone (clears verification when changed) or time zone", auth: "required", body: UpdateProfileRequest, responses: { 200: UserResponse } });

export const user = new Hono<AppEnv>()
  .use(requireAuth)
  .put("/profile", validate("json", UpdateProfileRequest), async (c) => {
    const user = await updateProfile(c.var.db, authOf(c).userId, c.req.valid("json"));
    return c.json({ user }, 200);
  });
