/**
 * /api/calls: place a call, read one call with its turns, follow it live (SSE of `LiveEvent`s from
 * the call's Durable Object: snapshot first, ended last), end it, and the browser call socket
 * (authenticated by a single-use ticket, since browsers cannot put headers on a WebSocket; the
 * ticket goes in the socket's `start` message, never in its URL, and the call's Durable Object
 * checks and consumes it — the upgrade only reaches a Durable Object for a live browser call).
 * The history list (GET /api/calls) belongs to the history routes.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import {
  CallDetailResponse,
  CallResponse,
  CallTicketRequest,
  CallTicketResponse,
  PlaceCallRequest,
} from "../../contracts/calls";
import { OkResponse } from "../../contracts/common";
import { eq } from "drizzle-orm";
import { calls } from "../db/schema";
import { AppError, notFound, unauthorized } from "../errors";
import { authOf, requireAuth } from "../middleware/auth";
import { describeRoute } from "../openapi";
import { getCallDetail, getOwnedCall, placeCall, toCallDto, type CallDeps } from "../services/calls";
import { signStreamToken, STREAM_ROUTE_HEADER, verifyStreamToken } from "../services/stream-token";
import type { AppEnv } from "../types";
import { validate } from "../validation";

/** Browser-socket and SSE tickets live this long. */
export const TICKET_TTL_S = 60;

describeRoute({ method: "post", path: "/api/calls", tag: "calls", summary: "Place a call now (phone: verified number required; one live call at a time)", auth: "required", body: PlaceCallRequest, responses: { 201: CallResponse }, errors: [400, 403, 404, 409, 502] });
describeRoute({ method: "get", path: "/api/calls/:id", tag: "calls", summary: "One call with its transcript turns and per-turn latency", auth: "required", responses: { 200: CallDetailResponse }, errors: [404] });
describeRoute({ method: "get", path: "/api/calls/:id/events", tag: "calls", summary: "Live call events (text/event-stream of LiveEvent; snapshot first, ended last); bearer token or ?ticket=", auth: "required", query: z.object({ ticket: z.string().optional() }), responses: { 200: z.string() }, errors: [401, 404] });
describeRoute({ method: "post", path: "/api/calls/:id/end", tag: "calls", summary: "End the call (hang up)", auth: "required", responses: { 200: CallResponse }, errors: [404] });
describeRoute({ method: "post", path: "/api/calls/:id/ticket", tag: "calls", summary: "Short-lived ticket for the browser call socket (single use) or the event stream", auth: "required", body: CallTicketRequest, responses: { 200: CallTicketResponse }, errors: [400, 404, 409] });
describeRoute({ method: "get", path: "/api/calls/:id/browser", tag: "calls", summary: "Browser call WebSocket (Twilio Media Streams JSON protocol); the ticket from /ticket goes in start.customParameters.token (the socket closes with 1008 without a valid one)", auth: "none", responses: { 101: z.string() }, errors: [404, 409, 426] });
describeRoute({ method: "post", path: "/api/calls/:id/debug/limit", tag: "calls", summary: "Local only: shorten the duration limit of a call that is not answered yet", auth: "required", body: z.object({ seconds: z.number().int().min(10).max(900) }), responses: { 200: z.object({ applied: z.boolean() }) }, errors: [404] });
describeRoute({ method: "post", path: "/api/calls/:id/debug/restart", tag: "calls", summary: "Local only: restart the call's Durable Object as an eviction would", auth: "required", responses: { 200: OkResponse }, errors: [404] });

const IdParam = z.object({ id: z.uuid() });

function deps(c: Context<AppEnv>): CallDeps {
  return { db: c.var.db, config: c.var.config, callSessions: c.env.CALL_SESSION, log: c.var.log };
}

function stubFor(c: Context<AppEnv>, callId: string) {
  return c.env.CALL_SESSION.get(c.env.CALL_SESSION.idFromName(callId));
}

export const callsRoutes = new Hono<AppEnv>()
  .post("/", requireAuth, validate("json", PlaceCallRequest), async (c) => {
    const body = c.req.valid("json");
    const call = await placeCall(deps(c), { userId: authOf(c).userId, ...body });
    return c.json({ call }, 201);
  })
  .get("/:id", requireAuth, validate("param", IdParam), async (c) => {
    return c.json(await getCallDetail(c.var.db, authOf(c).userId, c.req.valid("param").id), 200);
  })
  .get("/:id/events", validate("param", IdParam), async (c) => {
    const callId = c.req.valid("param").id;
    let userId = c.var.auth?.userId ?? null;
    const ticket = c.req.query("ticket");
    if (!userId && ticket) {
      const claims = await verifyStreamToken(c.var.config.auth.jwtSecret, ticket, { callId, purpose: "events" });
      userId = claims?.userId ?? null;
    }
    if (!userId) throw unauthorized();
    const { row, personaName } = await getOwnedCall(c.var.db, userId, callId);
    const call = toCallDto(row, personaName);
    const res = await stubFor(c, callId).fetch("https://call-session/events", {
      headers: { "X-Call": encodeURIComponent(JSON.stringify(call)) },
      signal: c.req.raw.signal,
    });
    if (res.status === 404) throw notFound("Call");
    return new Response(res.body, { status: 200, headers: res.headers });
  })
  .post("/:id/end", requireAuth, validate("param", IdParam), async (c) => {
    const callId = c.req.valid("param").id;
    await getOwnedCall(c.var.db, authOf(c).userId, callId);
    await stubFor(c, callId).end();
    const { row, personaName } = await getOwnedCall(c.var.db, authOf(c).userId, callId);
    return c.json({ call: toCallDto(row, personaName) }, 200);
  })
  .post("/:id/ticket", requireAuth, validate("param", IdParam), validate("json", CallTicketRequest), async (c) => {
    const callId = c.req.valid("param").id;
    const { purpose } = c.req.valid("json");
    const { userId } = authOf(c);
    const { row } = await getOwnedCall(c.var.db, userId, callId);
    if (purpose === "browser" && row.transport !== "browser") throw new AppError("bad_request", "This call is not a browser call");
    if (row.endedAt) throw new AppError("conflict", "The call has ended");
    const { token, expiresAt } = await signStreamToken(c.var.config.auth.jwtSecret, { callId, purpose, userId }, TICKET_TTL_S);
    const base = c.var.config.publicBaseUrl;
    // The browser socket's URL carries no secret: the ticket is sent in its `start` message.
    const url =
      purpose === "browser"
        ? `${base.replace(/^http/, "ws")}/api/calls/${callId}/browser`
        : `${base}/api/calls/${callId}/events?ticket=${encodeURIComponent(token)}`;
    return c.json({ ticket: token, url, expiresAt: expiresAt.toISOString() }, 200);
  })
  .get("/:id/browser", validate("param", IdParam), async (c) => {
    const callId = c.req.valid("param").id;
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") throw new AppError("bad_request", "Expected a WebSocket upgrade", { status: 426 });
    // Only a live browser call's Durable Object is reached; its ticket is checked at `start`.
    const [row] = await c.var.db.select({ transport: calls.transport, endedAt: calls.endedAt }).from(calls).where(eq(calls.id, callId)).limit(1);
    if (!row || row.transport !== "browser" || row.endedAt) throw notFound("Call");
    return stubFor(c, callId).fetch("https://call-session/stream", { headers: { Upgrade: "websocket", [STREAM_ROUTE_HEADER]: "browser" } });
  })
  .post("/:id/debug/limit", requireAuth, validate("param", IdParam), validate("json", z.object({ seconds: z.number().int().min(10).max(900) })), async (c) => {
    if (!c.var.config.isLocal) throw notFound("Route");
    const callId = c.req.valid("param").id;
    await getOwnedCall(c.var.db, authOf(c).userId, callId);
    const applied = await stubFor(c, callId).debugSetDurationLimit(c.req.valid("json").seconds);
    return c.json({ applied }, 200);
  })
  .post("/:id/debug/restart", requireAuth, validate("param", IdParam), async (c) => {
    if (!c.var.config.isLocal) throw notFound("Route");
    const callId = c.req.valid("param").id;
    await getOwnedCall(c.var.db, authOf(c).userId, callId);
    await stubFor(c, callId)
      .simulateRestart()
      .catch(() => undefined); // the aborted instance rejects the call that aborted it
    return c.json({ ok: true as const }, 200);
  });
