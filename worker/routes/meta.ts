/** /api/voices (the offered ElevenLabs voices) and /api/openapi.json (generated from the zod contract). */
import { Hono } from "hono";
import { VoiceListResponse } from "../../contracts/personas";
import { buildOpenApiDocument, describeRoute } from "../openapi";
import { VOICES } from "../services/voices";
import type { AppEnv } from "../types";

describeRoute({ method: "get", path: "/api/voices", tag: "personas", summary: "Voices a persona can use", responses: { 200: VoiceListResponse } });

export const meta = new Hono<AppEnv>()
  .get("/voices", (c) => c.json({ voices: [...VOICES] }, 200))
  .get("/openapi.json", (c) => c.json(buildOpenApiDocument({ serverUrl: c.var.config.publicBaseUrl }), 200));
