/** /api/personas/:id/memories: what a persona knows about the caller — list, add, edit, delete, forget everything. */
import { Hono } from "hono";
import { z } from "zod";
import { OkResponse } from "../../contracts/common";
import { CreateMemoryRequest, ForgetAllResponse, MemoriesResponse, MemoryResponse, UpdateMemoryRequest } from "../../contracts/memories";
import { authOf, requireAuth } from "../middleware/auth";
import { describeRoute } from "../openapi";
import { addFact, deleteMemory, forgetAll, listMemories, updateMemory } from "../services/memory";
import type { AppEnv } from "../types";
import { validate } from "../validation";

const PersonaParam = z.object({ id: z.uuid() });
const MemoryParam = z.object({ id: z.uuid(), memoryId: z.uuid() });

describeRoute({ method: "get", path: "/api/personas/:id/memories", tag: "memories", summary: "What this persona knows about you: facts and recent call summaries", auth: "required", responses: { 200: MemoriesResponse }, errors: [401, 404] });
describeRoute({ method: "post", path: "/api/personas/:id/memories", tag: "memories", summary: "Tell the persona a fact", auth: "required", body: CreateMemoryRequest, responses: { 201: MemoryResponse }, errors: [400, 401, 404] });
describeRoute({ method: "put", path: "/api/personas/:id/memories/:memoryId", tag: "memories", summary: "Edit a fact", auth: "required", body: UpdateMemoryRequest, responses: { 200: MemoryResponse }, errors: [400, 401, 404] });
describeRoute({ method: "delete", path: "/api/personas/:id/memories/:memoryId", tag: "memories", summary: "Delete a fact (it never comes back)", auth: "required", responses: { 200: OkResponse }, errors: [401, 404] });
describeRoute({ method: "delete", path: "/api/personas/:id/memories", tag: "memories", summary: "Forget everything", auth: "required", responses: { 200: ForgetAllResponse }, errors: [401, 404] });

export const memoriesRoutes = new Hono<AppEnv>()
  .get("/:id/memories", requireAuth, validate("param", PersonaParam), async (c) => {
    return c.json(await listMemories(c.var.db, authOf(c).userId, c.req.valid("param").id), 200);
  })
  .post("/:id/memories", requireAuth, validate("param", PersonaParam), validate("json", CreateMemoryRequest), async (c) => {
    const memory = await addFact(c.var.db, authOf(c).userId, c.req.valid("param").id, c.req.valid("json"));
    return c.json({ memory }, 201);
  })
  .put("/:id/memories/:memoryId", requireAuth, validate("param", MemoryParam), validate("json", UpdateMemoryRequest), async (c) => {
    const { id, memoryId } = c.req.valid("param");
    return c.json({ memory: await updateMemory(c.var.db, authOf(c).userId, id, memoryId, c.req.valid("json")) }, 200);
  })
  .delete("/:id/memories/:memoryId", requireAuth, validate("param", MemoryParam), async (c) => {
    const { id, memoryId } = c.req.valid("param");
    await deleteMemory(c.var.db, authOf(c).userId, id, memoryId);
    return c.json({ ok: true as const }, 200);
  })
  .delete("/:id/memories", requireAuth, validate("param", PersonaParam), async (c) => {
    const forgotten = await forgetAll(c.var.db, authOf(c).userId, c.req.valid("param").id);
    return c.json({ ok: true as const, forgotten }, 200);
  });
