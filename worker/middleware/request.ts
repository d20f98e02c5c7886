/**
 * Request plumbing for every route: `X-Request-Id` in/out (a caller's id is kept when it is
 * short and safe, otherwise a UUID is generated), a request-scoped logger, validated config and
 * the database client, one access-log line per request, and the JSON-only rule for /api bodies.
 */
import type { MiddlewareHandler } from "hono";
import { createDb } from "../db/client";
import { parseEnv } from "../env";
import { AppError } from "../errors";
import { log } from "../log";
import type { AppEnv } from "../types";

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const requestContext: MiddlewareHandler<AppEnv> = async (c, next) => {
  const incoming = c.req.header("X-Request-Id");
  const requestId = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
  c.set("requestId", requestId);
  c.set("log", log.child({ requestId }));
  c.set("auth", null);
  const started = Date.now();
  try {
    await next();
  } finally {
    c.header("X-Request-Id", requestId);
    const auth = c.get("auth");
    c.get("log").info("request", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Date.now() - started,
      ...(auth ? { userId: auth.userId } : {}),
    });
  }
};

export const bindServices: MiddlewareHandler<AppEnv> = async (c, next) => {
  const config = parseEnv(c.env);
  c.set("config", config);
  c.set("db", createDb(config));
  await next();
};

const JSON_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json(?:\s*;.*)?$/i;

/** Bodies sent to /api must be JSON; anything else is 415 with the envelope. */
export const requireJsonBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  const method = c.req.method;
  if (method === "POST" || method === "PUT" || method === "PATCH") {
    const length = c.req.header("Content-Length");
    const hasBody = (length !== undefined && length !== "0") || c.req.header("Transfer-Encoding") !== undefined;
    const type = c.req.header("Content-Type");
    if (hasBody && (!type || !JSON_TYPE.test(type.trim()))) {
      throw new AppError("bad_request", "Content-Type must be application/json", { status: 415 });
    }
  }
  await next();
};
