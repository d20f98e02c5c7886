/** /api/voices (the offered ElevenLabs voices), /api/openapi.json (generated from the zod contract) and /api/client-config (keyless sandbox links for the SPA). */
import { Hono } from "hono";
import { ClientConfigResponse, isSandboxTwilio } from "../../contracts/client-config";
import { VoiceListResponse } from "../../contracts/personas";
import { buildOpenApiDocument, describeRoute } from "../openapi";
import { VOICES } from "../services/voices";
import type { AppEnv } from "../types";

describeRoute({ method: "get", path: "/api/client-config", tag: "meta", summary: "Public SPA settings (sandbox phone page when keyless)", auth: "none", responses: { 200: ClientConfigResponse } });
describeRoute({ method: "get", path: "/api/voices", tag: "personas", summary: "Voices a persona can use", responses: { 200: VoiceListResponse } });

export const meta = new Hono<AppEnv>()
  .get("/voices", (c) => c.json({ voices: [...VOICES] }, 200))
  .get("/client-config", (c) => {
    const twilio = c.var.config.baseUrls.twilio.replace(/\/+$/, "");
    const body: ClientConfigResponse = { sandbox: isSandboxTwilio(twilio) ? { phonePageUrl: `${twilio}/phone` } : null };
    return c.json(body, 200);
  })
  .get("/openapi.json", (c) => c.json(buildOpenApiDocument({ serverUrl: c.var.config.publicBaseUrl }), 200));
