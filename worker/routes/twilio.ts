/**
 * /twilio: Twilio's side of a call. Status callbacks and async AMD results (form posts validated
 * with `X-Twilio-Signature` against the PUBLIC_BASE_URL-based URL) move the call forward — never
 * backwards — and inform its Durable Object; a terminal status finalizes the call. The media
 * stream upgrade (`/twilio/stream/:callId`, no secret in the URL) must carry a valid
 * `X-Twilio-Signature` over that URL or it is refused before a Durable Object is touched; the
 * call's signed stream token arrives later, in the `start` message's `customParameters`, and the
 * Durable Object checks it before the pipeline starts (durable-objects/call-session.ts).
 */
import { Hono, type Context } from "hono";
import { validateRequest } from "twilio/lib/webhooks/webhooks";
import { z } from "zod";
import { bindServices } from "../middleware/request";
import { describeRoute } from "../openapi";
import { finalizeCall } from "../services/call-finalize";
import { meteredChatModel } from "../services/costs";
import { memoryChatModel } from "../services/memory-extraction";
import { applyCallStatus, fromTwilioStatus, isTerminal } from "../services/calls";
import { STREAM_ROUTE_HEADER } from "../services/stream-token";
import type { AppEnv } from "../types";
import { sql } from "drizzle-orm";
import { calls } from "../db/schema";

describeRoute({ method: "post", path: "/twilio/status/:callId", tag: "twilio", summary: "Twilio call status callback (signed)", auth: "none", responses: { 204: z.null() }, errors: [403] });
describeRoute({ method: "post", path: "/twilio/amd/:callId", tag: "twilio", summary: "Twilio async answering-machine detection result (signed)", auth: "none", responses: { 204: z.null() }, errors: [403] });
describeRoute({ method: "post", path: "/twilio/stream-status/:callId", tag: "twilio", summary: "Twilio media stream status callback (signed)", auth: "none", responses: { 204: z.null() }, errors: [403] });
describeRoute({ method: "get", path: "/twilio/stream/:callId", tag: "twilio", summary: "Twilio Media Stream WebSocket (X-Twilio-Signature; the signed stream token comes in start.customParameters)", auth: "none", responses: { 101: z.null() }, errors: [403, 426] });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** This request's URL on PUBLIC_BASE_URL (what Twilio signed), as http(s) or ws(s). */
function publicUrl(c: Context<AppEnv>, scheme: "http" | "ws"): string {
  const u = new URL(c.req.url);
  const base = c.var.config.publicBaseUrl;
  return `${scheme === "ws" ? base.replace(/^http/, "ws") : base}${u.pathname}${u.search}`;
}

/** The form params when the request is signed by our Twilio account, else null. */
async function signedForm(c: Context<AppEnv>): Promise<Record<string, string> | null> {
  const signature = c.req.header("X-Twilio-Signature");
  if (!signature) return null;
  const body = await c.req.parseBody();
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string") params[k] = v;
  const token = c.var.config.keys.twilioAuthToken;
  if (!token || !validateRequest(token, signature, publicUrl(c, "http"), params)) return null;
  return params;
}

const forbidden = (c: Context<AppEnv>) => c.text("invalid signature", 403);

export const twilio = new Hono<AppEnv>()
  .use(bindServices)
  .post("/status/:callId", async (c) => {
    const callId = c.req.param("callId");
    const params = await signedForm(c);
    if (!params || !UUID.test(callId)) return forbidden(c);
    const status = fromTwilioStatus(params.CallStatus);
    if (!status) return c.body(null, 204);
    const durationS = params.CallDuration !== undefined ? Number(params.CallDuration) : undefined;
    const applied = await applyCallStatus(c.var.db, callId, {
      status,
      answeredBy: params.AnsweredBy ?? null,
      ...(durationS !== undefined && Number.isFinite(durationS) ? { durationS } : {}),
    });
    const stub = c.env.CALL_SESSION.get(c.env.CALL_SESSION.idFromName(callId));
    if (isTerminal(status)) {
      const outcome = { status, ...(durationS !== undefined && Number.isFinite(durationS) ? { durationS } : {}) };
      const work = stub.terminal(outcome).catch(async (err: unknown) => {
        c.var.log.warn("call session unreachable; finalizing from the webhook", { callId, err });
        await finalizeCall({ db: c.var.db, log: c.var.log, config: c.var.config, memory: { llm: meteredChatModel(memoryChatModel(c.var.config), { db: c.var.db, callId, keyPrefix: "post:memory" }) } }, callId, outcome);
      });
      c.executionCtx.waitUntil(work);
    } else if (applied) {
      c.executionCtx.waitUntil(stub.status(status, params.AnsweredBy ?? null).catch(() => undefined));
    }
    return c.body(null, 204);
  })
  .post("/amd/:callId", async (c) => {
    const callId = c.req.param("callId");
    const params = await signedForm(c);
    if (!params || !UUID.test(callId)) return forbidden(c);
    const answeredBy = params.AnsweredBy;
    if (answeredBy) {
      await c.var.db.update(calls).set({ answeredBy }).where(sql`${calls.id} = ${callId}`);
      const stub = c.env.CALL_SESSION.get(c.env.CALL_SESSION.idFromName(callId));
      c.executionCtx.waitUntil(stub.answeredBy(answeredBy).catch(() => undefined));
    }
    return c.body(null, 204);
  })
  .post("/stream-status/:callId", async (c) => {
    const params = await signedForm(c);
    if (!params) return forbidden(c);
    return c.body(null, 204);
  })
  .get("/stream/:callId", async (c) => {
    const callId = c.req.param("callId");
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") return c.text("expected websocket", 426);
    const signature = c.req.header("X-Twilio-Signature") ?? "";
    const authToken = c.var.config.keys.twilioAuthToken;
    // Twilio signs the wss:// URL of the stream (params {}); the https:// form is accepted too,
    // since which scheme Twilio's WebSocket signature uses is not pinned down in its docs.
    const signed =
      !!signature && !!authToken && (validateRequest(authToken, signature, publicUrl(c, "ws"), {}) || validateRequest(authToken, signature, publicUrl(c, "http"), {}));
    if (!UUID.test(callId) || !signed) return forbidden(c);
    const stub = c.env.CALL_SESSION.get(c.env.CALL_SESSION.idFromName(callId));
    return stub.fetch("https://call-session/stream", { headers: { Upgrade: "websocket", [STREAM_ROUTE_HEADER]: "twilio" } });
  })
  // Any other stream path (e.g. one with extra segments) is not a stream we handed out.
  .get("/stream/*", (c) => forbidden(c));
