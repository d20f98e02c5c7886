/** /api/contacts: the caller's address book of personas. */
import { Hono } from "hono";
import { z } from "zod";
import { OkResponse } from "../../contracts/common";
import { AddContactRequest, ContactListResponse, ContactResponse } from "../../contracts/personas";
import { authOf, requireAuth } from "../middleware/auth";
import { describeRoute } from "../openapi";
import { addContact, listContacts, removeContact } from "../services/personas";
import type { AppEnv } from "../types";
import { validate } from "../validation";

const PersonaIdParam = z.object({ personaId: z.uuid() });

describeRoute({ method: "get", path: "/api/contacts", tag: "contacts", summary: "Your contacts", auth: "required", responses: { 200: ContactListResponse } });
describeRoute({ method: "post", path: "/api/contacts", tag: "contacts", summary: "Add a persona to your contacts (idempotent)", auth: "required", body: AddContactRequest, responses: { 201: ContactResponse }, errors: [404] });
describeRoute({ method: "delete", path: "/api/contacts/:personaId", tag: "contacts", summary: "Remove a contact", auth: "required", responses: { 200: OkResponse }, errors: [404] });

export const contacts = new Hono<AppEnv>()
  .use(requireAuth)
  .get("/", async (c) => c.json({ contacts: await listContacts(c.var.db, authOf(c).userId) }, 200))
  .post("/", validate("json", AddContactRequest), async (c) => {
    const contact = await addContact(c.var.db, authOf(c).userId, c.req.valid("json").personaId);
    return c.json({ contact }, 201);
  })
  .delete("/:personaId", validate("param", PersonaIdParam), async (c) => {
    await removeContact(c.var.db, authOf(c).userId, c.req.valid("param").personaId);
    return c.json({ ok: true as const }, 200);
  });
