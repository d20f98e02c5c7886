/**
 * /api/auth: register, login (throttled per IP + account, per account from any IP, and per IP:
 * services/rate-limit.ts), logout (revokes the session), me.
 */
import { Hono } from "hono";
import { LoginRequest, RegisterRequest, AuthResponse, UserResponse } from "../../contracts/auth";
import { OkResponse } from "../../contracts/common";
import { unauthorized } from "../errors";
import { authOf, requireAuth } from "../middleware/auth";
import { describeRoute } from "../openapi";
import { checkCredentials, issueToken, logout, register } from "../services/auth";
import { LoginThrottle } from "../services/rate-limit";
import { getUser } from "../services/users";
import type { AppEnv } from "../types";
import { validate } from "../validation";

describeRoute({ method: "post", path: "/api/auth/register", tag: "auth", summary: "Create an account and sign in", body: RegisterRequest, responses: { 201: AuthResponse }, errors: [409] });
describeRoute({ method: "post", path: "/api/auth/login", tag: "auth", summary: "Sign in with email and password", body: LoginRequest, responses: { 200: AuthResponse }, errors: [401, 429] });
describeRoute({ method: "post", path: "/api/auth/logout", tag: "auth", summary: "Revoke the current token's session", auth: "required", responses: { 200: OkResponse } });
describeRoute({ method: "get", path: "/api/auth/me", tag: "auth", summary: "The signed-in user", auth: "required", responses: { 200: UserResponse } });

export const auth = new Hono<AppEnv>()
  .post("/register", validate("json", RegisterRequest), async (c) => {
    const input = c.req.valid("json");
    const { token, userId } = await register(c.var.db, c.var.config, input);
    c.var.log.info("user registered", { userId });
    return c.json({ token, user: await getUser(c.var.db, userId) }, 201);
  })
  .post("/login", validate("json", LoginRequest), async (c) => {
    const { email, password } = c.req.valid("json");
    const ip = c.req.header("CF-Connecting-IP") ?? c.req.header("X-Forwarded-For")?.split(",")[0]?.trim() ?? "unknown";
    const attempt = await (await LoginThrottle.for(c.env.RATE_LIMITER, ip, email)).begin();
    const user = await checkCredentials(c.var.db, email, password);
    if (!user) {
      await attempt.failed();
      c.var.log.warn("login failed", { email });
      throw unauthorized("Invalid email or password");
    }
    await attempt.succeeded();
    const { token } = await issueToken(c.var.db, c.var.config, user);
    return c.json({ token, user: await getUser(c.var.db, user.id) }, 200);
  })
  .post("/logout", requireAuth, async (c) => {
    await logout(c.var.db, authOf(c).sessionId);
    return c.json({ ok: true as const }, 200);
  })
  .get("/me", requireAuth, async (c) => c.json({ user: await getUser(c.var.db, authOf(c).userId) }, 200));
