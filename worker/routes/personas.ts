/** /api/personas: list (scope), get, create, update, soft delete, and the caller's relationship. */
import { Hono } from "hono";
import { z } from "zod";
import { OkResponse } from "../../contracts/common";
import {
  CreatePersonaRequest,
  ListPersonasQuery,
  PersonaListResponse,
  PersonaResponse,
  RelationshipResponse,
  UpdatePersonaRequest,
  UpdateRelationshipRequest,
} from "../../contracts/personas";
import { authOf, requireAuth } from "../middleware/auth";
import { describeRoute } from "../openapi";
import {
  createPersona,
  deletePersona,
  getPersona,
  getRelationship,
  listPersonas,
  updatePersona,
  updateRelationship,
} from "../services/personas";
import type { AppEnv } from "../types";
import { validate } from "../validation";

const IdParam = z.object({ id: z.uuid() });

describeRoute({ method: "get", path: "/api/personas", tag: "personas", summary: "List personas (all = system + public + mine)", auth: "optional", query: ListPersonasQuery, responses: { 200: PersonaListResponse }, errors: [400, 401] });
describeRoute({ method: "get", path: "/api/personas/:id", tag: "personas", summary: "One persona", auth: "optional", responses: { 200: PersonaResponse }, errors: [404] });
describeRoute({ method: "post", path: "/api/personas", tag: "personas", summary: "Create a persona", auth: "required", body: CreatePersonaRequest, responses: { 201: PersonaResponse } });
describeRoute({ method: "put", path: "/api/personas/:id", tag: "personas", summary: "Update a persona (owner only; system personas are read-only)", auth: "required", body: UpdatePersonaRequest, responses: { 200: PersonaResponse }, errors: [403, 404] });
describeRoute({ method: "delete", path: "/api/personas/:id", tag: "personas", summary: "Delete a persona (owner only)", auth: "required", responses: { 200: OkResponse }, errors: [403, 404] });
describeRoute({ method: "get", path: "/api/personas/:id/relationship", tag: "personas", summary: "Your relationship with a persona", auth: "required", responses: { 200: RelationshipResponse }, errors: [404] });
describeRoute({ method: "put", path: "/api/personas/:id/relationship", tag: "personas", summary: "Customise prompt/voice, favourite, relationship type", auth: "required", body: UpdateRelationshipRequest, responses: { 200: RelationshipResponse }, errors: [404] });

export const personas = new Hono<AppEnv>()
  .get("/", validate("query", ListPersonasQuery), async (c) => {
    const { scope } = c.req.valid("query");
    return c.json({ personas: await listPersonas(c.var.db, c.var.auth?.userId ?? null, scope) }, 200);
  })
  .get("/:id", validate("param", IdParam), async (c) => {
    const { id } = c.req.valid("param");
    return c.json({ persona: await getPersona(c.var.db, c.var.auth?.userId ?? null, id) }, 200);
  })
  .post("/", requireAuth, validate("json", CreatePersonaRequest), async (c) => {
    const persona = await createPersona(c.var.db, authOf(c).userId, c.req.valid("json"));
    return c.json({ persona }, 201);
  })
  .put("/:id", requireAuth, validate("param", IdParam), validate("json", UpdatePersonaRequest), async (c) => {
    const persona = await updatePersona(c.var.db, authOf(c).userId, c.req.valid("param").id, c.req.valid("json"));
    return c.json({ persona }, 200);
  })
  .delete("/:id", requireAuth, validate("param", IdParam), async (c) => {
    await deletePersona(c.var.db, authOf(c).userId, c.req.valid("param").id);
    return c.json({ ok: true as const }, 200);
  })
  .get("/:id/relationship", requireAuth, validate("param", IdParam), async (c) => {
    const relationship = await getRelationship(c.var.db, authOf(c).userId, c.req.valid("param").id);
    return c.json({ relationship }, 200);
  })
  .put(
    "/:id/relationship",
    requireAuth,
    validate("param", IdParam),
    validate("json", UpdateRelationshipRequest),
    async (c) => {
      const relationship = await updateRelationship(
        c.var.db,
        authOf(c).userId,
        c.req.valid("param").id,
        c.req.valid("json"),
      );
      return c.json({ relationship }, 200);
    },
  );
