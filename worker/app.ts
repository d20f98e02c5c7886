/**
 * The Hono application: request context (X-Request-Id, logger, config, db), the /api body rules
 * (JSON only, 64 KiB), optional bearer auth, one sub-app per resource, and the single error
 * envelope from `onError` / `notFound`. Unknown errors are logged and answered with a generic 500.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { AppError, envelope, postgresCode, toErrorResponse } from "./errors";
import { log } from "./log";
import { readAuth } from "./middleware/auth";
import { bindServices, requestContext, requireJsonBody } from "./middleware/request";
import { describeRoute } from "./openapi";
import { admin } from "./routes/admin";
import { adminMoney } from "./routes/admin-pricing";
import { billing, userBilling } from "./routes/billing";
import { budget } from "./routes/budget";
import { auth } from "./routes/auth";
import { callsRoutes } from "./routes/calls";
import { contacts } from "./routes/contacts";
import { history } from "./routes/history";
import { mcp } from "./routes/mcp";
import { memoriesRoutes } from "./routes/memories";
import { meta } from "./routes/meta";
import { personas } from "./routes/personas";
import { phone } from "./routes/phone";
import { twilio } from "./routes/twilio";
import { schedules } from "./routes/schedules";
import { stripeWebhook } from "./routes/stripe-webhook";
import { callCost, usage } from "./routes/usage";
import { user } from "./routes/user";
import { workos } from "./routes/workos";
import type { AppEnv } from "./types";
import { OkResponse } from "../contracts/common";

/** Largest JSON body accepted on /api. */
export const API_BODY_LIMIT_BYTES = 64 * 1024;

describeRoute({ method: "get", path: "/health", tag: "meta", summary: "Liveness", responses: { 200: OkResponse } });

export const app = new Hono<AppEnv>();

app.use(requestContext);
app.get("/health", (c) => c.json({ ok: true as const }, 200));

app.use("/api/*", bindServices);
app.use(
  "/api/*",
  bodyLimit({
    maxSize: API_BODY_LIMIT_BYTES,
    onError: () => {
      throw new AppError("payload_too_large", `Request body exceeds ${API_BODY_LIMIT_BYTES} bytes`);
    },
  }),
);
app.use("/api/*", requireJsonBody);
app.use("/api/*", readAuth);

const routes = app
  .route("/api/auth", auth)
  .route("/api/user/phone", phone)
  .route("/api/user", user)
  .route("/api/user", userBilling)
  .route("/api/user", budget)
  .route("/api/user", usage)
  .route("/api/billing", billing)
  .route("/api/personas", personas)
  .route("/api/personas", memoriesRoutes)
  .route("/api/contacts", contacts)
  // before any /api/calls/:id route, so "schedule" is never taken for an id
  .route("/api/calls/schedule", schedules)
  .route("/api/calls", history)
  .route("/api/calls", callCost)
  .route("/api/calls", callsRoutes)
  .route("/api/admin", admin)
  .route("/api/admin", adminMoney)
  .route("/api", meta);

app.route("/twilio", twilio);
app.route("/stripe", stripeWebhook);

// Outside /api: the MCP endpoint (admin bearer token) and the WorkOS sign-in redirects.
app.route("/mcp", mcp);
app.route("/auth/workos", workos);

/** The chained route types, for Hono's `hc` client. */
export type AppType = typeof routes;

app.notFound((c) => c.json(envelope("not_found", `No route for ${c.req.method} ${c.req.path}`), 404));

app.onError((err, c) => {
  const { status, body, headers, unexpected } = toErrorResponse(err);
  const logger = c.get("log") ?? log;
  if (unexpected) logger.error("unhandled error", { err, method: c.req.method, path: c.req.path });
  else if (status >= 400 && postgresCode(err)) logger.warn("database rejected a value", { pgCode: postgresCode(err), path: c.req.path });
  for (const [k, v] of Object.entries(headers)) c.header(k, v);
  return c.json(body, status);
});
