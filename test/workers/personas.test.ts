/** Personas, relationships and contacts: CRUD, visibility, cross-user isolation, soft delete, system personas read-only, voices. */
import { describe, expect, it } from "vitest";
import { api, expectEnvelope, newAccount, personaInput } from "./helpers";

interface Persona {
  id: string;
  slug: string | null;
  name: string;
  systemPrompt: string;
  traits: string[];
  voiceId: string;
  isSystem: boolean;
  visibility: "private" | "public";
  isOwner: boolean;
  isContact: boolean;
  isFavorite: boolean;
  stats: { totalCalls: number; totalDurationS: number; lastCallAt: string | null };
  category: string;
  accentColor: string;
  greeting: string | null;
}
interface Relationship {
  personaId: string;
  relationshipType: string;
  customSystemPrompt: string | null;
  customVoiceId: string | null;
  isFavorite: boolean;
  totalCalls: number;
}

async function systemPersona(slug: string): Promise<Persona> {
  const res = await api<{ personas: Persona[] }>("GET", "/api/personas?scope=system");
  const p = res.body.personas.find((x) => x.slug === slug);
  if (!p) throw new Error(`system persona ${slug} missing`);
  return p;
}

async function create(token: string, over: Record<string, unknown> = {}): Promise<Persona> {
  const res = await api<{ persona: Persona }>("POST", "/api/personas", { token, body: personaInput(over) });
  expect(res.status).toBe(201);
  return res.body.persona;
}

describe("system personas", () => {
  it("Brad, Sarah and Alex are listed for anonymous callers with phone-style prompts", async () => {
    const res = await api<{ personas: Persona[] }>("GET", "/api/personas?scope=system");
    expect(res.status).toBe(200);
    const bySlug = Object.fromEntries(res.body.personas.map((p) => [p.slug, p]));
    expect(Object.keys(bySlug).sort()).toEqual(["alex", "brad", "sarah"]);
    expect(bySlug.brad).toMatchObject({ name: "Brad", category: "coach", voiceId: "pNInz6obpgDQGcFmaJgB", isSystem: true, isOwner: false });
    expect(bySlug.brad!.traits).toEqual(["direct", "loyal", "motivating"]);
    expect(bySlug.sarah).toMatchObject({ name: "Sarah", category: "friend", voiceId: "EXAVITQu4vr4xnSDxMaL" });
    expect(bySlug.sarah!.traits).toEqual(["empathetic", "patient", "warm"]);
    expect(bySlug.alex).toMatchObject({ name: "Alex", category: "creative" });
    for (const p of res.body.personas) {
      expect(p.systemPrompt).toMatch(/no markdown|never use markdown/i);
      expect(p.systemPrompt).toMatch(/one question at a time/i);
    }
  });

  it("are read-only: update and delete are 403", async () => {
    const acct = await newAccount();
    const brad = await systemPersona("brad");
    expectEnvelope(await api("PUT", `/api/personas/${brad.id}`, { token: acct.token, body: { name: "Chad" } }), 403, "forbidden");
    expectEnvelope(await api("DELETE", `/api/personas/${brad.id}`, { token: acct.token }), 403, "forbidden");
    expect((await systemPersona("brad")).name).toBe("Brad");
  });
});

describe("persona CRUD", () => {
  it("creates, reads, updates, lists by scope and soft-deletes", async () => {
    const owner = await newAccount();
    const p = await create(owner.token, { accentColor: "#112233", greeting: "Hi there" });
    expect(p).toMatchObject({ name: "Coach Kim", visibility: "private", isOwner: true, isSystem: false, accentColor: "#112233", greeting: "Hi there", category: "custom" });

    const got = await api<{ persona: Persona }>("GET", `/api/personas/${p.id}`, { token: owner.token });
    expect(got.status).toBe(200);
    expect(got.body.persona.id).toBe(p.id);

    const upd = await api<{ persona: Persona }>("PUT", `/api/personas/${p.id}`, { token: owner.token, body: { name: "Coach Kimberly", traits: ["calm"] } });
    expect(upd.status).toBe(200);
    expect(upd.body.persona).toMatchObject({ name: "Coach Kimberly", traits: ["calm"], tagline: "Keeps you honest" });

    const mine = await api<{ personas: Persona[] }>("GET", "/api/personas?scope=mine", { token: owner.token });
    expect(mine.body.personas.map((x) => x.id)).toEqual([p.id]);
    const all = await api<{ personas: Persona[] }>("GET", "/api/personas", { token: owner.token });
    expect(all.body.personas.map((x) => x.id)).toContain(p.id);
    expect(all.body.personas.filter((x) => x.isSystem)).toHaveLength(3);

    const del = await api("DELETE", `/api/personas/${p.id}`, { token: owner.token });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ ok: true });
    expectEnvelope(await api("GET", `/api/personas/${p.id}`, { token: owner.token }), 404, "not_found");
    expectEnvelope(await api("PUT", `/api/personas/${p.id}`, { token: owner.token, body: { name: "Back" } }), 404, "not_found");
    expectEnvelope(await api("DELETE", `/api/personas/${p.id}`, { token: owner.token }), 404, "not_found");
    const after = await api<{ personas: Persona[] }>("GET", "/api/personas?scope=mine", { token: owner.token });
    expect(after.body.personas).toEqual([]);
  });

  it("validates input with field paths", async () => {
    const acct = await newAccount();
    const r = await api("POST", "/api/personas", { token: acct.token, body: { name: "", voiceId: "bad id!", systemPrompt: "x", accentColor: "red" } });
    const e = expectEnvelope(r, 400, "validation_failed");
    const paths = (e.details as { issues: { path: string }[] }).issues.map((i) => i.path).sort();
    expect(paths).toEqual(["accentColor", "name", "voiceId"]);
    expectEnvelope(await api("POST", "/api/personas", { body: personaInput() }), 401, "unauthorized");
  });

  it("a user can never read or change another user's private persona (404), and can read but not change a public one (403)", async () => {
    const alice = await newAccount("Alice");
    const bob = await newAccount("Bob");
    const secret = await create(alice.token, { name: "Alice's secret" });
    const shared = await create(alice.token, { name: "Alice's public", visibility: "public" });

    expectEnvelope(await api("GET", `/api/personas/${secret.id}`, { token: bob.token }), 404, "not_found");
    expectEnvelope(await api("GET", `/api/personas/${secret.id}`), 404, "not_found");
    expectEnvelope(await api("PUT", `/api/personas/${secret.id}`, { token: bob.token, body: { name: "pwned" } }), 404, "not_found");
    expectEnvelope(await api("DELETE", `/api/personas/${secret.id}`, { token: bob.token }), 404, "not_found");
    expectEnvelope(await api("GET", `/api/personas/${secret.id}/relationship`, { token: bob.token }), 404, "not_found");
    expectEnvelope(await api("PUT", `/api/personas/${secret.id}/relationship`, { token: bob.token, body: { isFavorite: true } }), 404, "not_found");
    expectEnvelope(await api("POST", "/api/contacts", { token: bob.token, body: { personaId: secret.id } }), 404, "not_found");

    const bobAll = await api<{ personas: Persona[] }>("GET", "/api/personas", { token: bob.token });
    const ids = bobAll.body.personas.map((p) => p.id);
    expect(ids).not.toContain(secret.id);
    expect(ids).toContain(shared.id);
    const pub = await api<{ personas: Persona[] }>("GET", "/api/personas?scope=public");
    expect(pub.body.personas.map((p) => p.id)).toContain(shared.id);
    expect(pub.body.personas.every((p) => !p.isSystem && p.visibility === "public")).toBe(true);

    const readShared = await api<{ persona: Persona }>("GET", `/api/personas/${shared.id}`, { token: bob.token });
    expect(readShared.body.persona).toMatchObject({ isOwner: false, name: "Alice's public" });
    expectEnvelope(await api("PUT", `/api/personas/${shared.id}`, { token: bob.token, body: { name: "pwned" } }), 403, "forbidden");
    expectEnvelope(await api("DELETE", `/api/personas/${shared.id}`, { token: bob.token }), 403, "forbidden");

    // Alice makes it private again: it disappears for Bob, even from his contacts.
    expect((await api("POST", "/api/contacts", { token: bob.token, body: { personaId: shared.id } })).status).toBe(201);
    await api("PUT", `/api/personas/${shared.id}`, { token: alice.token, body: { visibility: "private" } });
    expectEnvelope(await api("GET", `/api/personas/${shared.id}`, { token: bob.token }), 404, "not_found");
    const bobContacts = await api<{ contacts: { persona: Persona }[] }>("GET", "/api/contacts", { token: bob.token });
    expect(bobContacts.body.contacts.map((c) => c.persona.id)).not.toContain(shared.id);

    expectEnvelope(await api("GET", "/api/personas?scope=mine"), 401, "unauthorized");
  });
});

describe("relationships", () => {
  it("returns defaults, is created on first update, and is per user", async () => {
    const alice = await newAccount();
    const bob = await newAccount();
    const sarah = await systemPersona("sarah");

    const first = await api<{ relationship: Relationship }>("GET", `/api/personas/${sarah.id}/relationship`, { token: alice.token });
    expect(first.status).toBe(200);
    expect(first.body.relationship).toMatchObject({ personaId: sarah.id, relationshipType: "friend", isFavorite: false, customSystemPrompt: null, totalCalls: 0 });

    const put = await api<{ relationship: Relationship }>("PUT", `/api/personas/${sarah.id}/relationship`, {
      token: alice.token,
      body: { isFavorite: true, customSystemPrompt: "Call me Ally.", customVoiceId: "21m00Tcm4TlvDq8ikWAM", relationshipType: "mentor" },
    });
    expect(put.status).toBe(200);
    expect(put.body.relationship).toMatchObject({ isFavorite: true, customSystemPrompt: "Call me Ally.", customVoiceId: "21m00Tcm4TlvDq8ikWAM", relationshipType: "mentor" });

    const partial = await api<{ relationship: Relationship }>("PUT", `/api/personas/${sarah.id}/relationship`, { token: alice.token, body: { customVoiceId: null } });
    expect(partial.body.relationship).toMatchObject({ isFavorite: true, customVoiceId: null, relationshipType: "mentor" });

    const persona = await api<{ persona: Persona }>("GET", `/api/personas/${sarah.id}`, { token: alice.token });
    expect(persona.body.persona.isFavorite).toBe(true);

    const bobView = await api<{ relationship: Relationship }>("GET", `/api/personas/${sarah.id}/relationship`, { token: bob.token });
    expect(bobView.body.relationship).toMatchObject({ isFavorite: false, customSystemPrompt: null });
    const bobPersona = await api<{ persona: Persona }>("GET", `/api/personas/${sarah.id}`, { token: bob.token });
    expect(bobPersona.body.persona.isFavorite).toBe(false);

    expectEnvelope(await api("GET", `/api/personas/${sarah.id}/relationship`), 401, "unauthorized");
    expectEnvelope(await api("PUT", `/api/personas/${sarah.id}/relationship`, { token: alice.token, body: { isFavorite: "yes" } }), 400, "validation_failed");
  });
});

describe("contacts", () => {
  it("adds (idempotently), lists with isContact/isFavorite, and removes", async () => {
    const acct = await newAccount();
    const other = await newAccount();
    const brad = await systemPersona("brad");
    const mine = await create(acct.token);

    const add = await api<{ contact: { persona: Persona; addedAt: string } }>("POST", "/api/contacts", { token: acct.token, body: { personaId: brad.id } });
    expect(add.status).toBe(201);
    expect(add.body.contact.persona).toMatchObject({ id: brad.id, isContact: true });
    expect(Number.isNaN(Date.parse(add.body.contact.addedAt))).toBe(false);
    expect((await api("POST", "/api/contacts", { token: acct.token, body: { personaId: brad.id } })).status).toBe(201);
    await api("POST", "/api/contacts", { token: acct.token, body: { personaId: mine.id } });
    await api("PUT", `/api/personas/${brad.id}/relationship`, { token: acct.token, body: { isFavorite: true } });

    const list = await api<{ contacts: { persona: Persona }[] }>("GET", "/api/contacts", { token: acct.token });
    expect(list.body.contacts.map((c) => c.persona.id)).toEqual([brad.id, mine.id]);
    expect(list.body.contacts[0]!.persona).toMatchObject({ isContact: true, isFavorite: true });

    const otherList = await api<{ contacts: unknown[] }>("GET", "/api/contacts", { token: other.token });
    expect(otherList.body.contacts).toEqual([]);
    expectEnvelope(await api("DELETE", `/api/contacts/${brad.id}`, { token: other.token }), 404, "not_found");

    const viaPersona = await api<{ persona: Persona }>("GET", `/api/personas/${brad.id}`, { token: acct.token });
    expect(viaPersona.body.persona.isContact).toBe(true);

    expect((await api("DELETE", `/api/contacts/${brad.id}`, { token: acct.token })).status).toBe(200);
    expectEnvelope(await api("DELETE", `/api/contacts/${brad.id}`, { token: acct.token }), 404, "not_found");

    // Soft-deleting a persona hides it from contacts too.
    await api("DELETE", `/api/personas/${mine.id}`, { token: acct.token });
    const after = await api<{ contacts: unknown[] }>("GET", "/api/contacts", { token: acct.token });
    expect(after.body.contacts).toEqual([]);

    expectEnvelope(await api("POST", "/api/contacts", { token: acct.token, body: { personaId: "00000000-0000-4000-8000-000000000000" } }), 404, "not_found");
    expectEnvelope(await api("POST", "/api/contacts", { token: acct.token, body: { personaId: "nope" } }), 400, "validation_failed");
    expectEnvelope(await api("GET", "/api/contacts"), 401, "unauthorized");
  });
});

describe("voices", () => {
  it("lists the offered ElevenLabs voices including every system persona's voice", async () => {
    const res = await api<{ voices: { id: string; name: string; description: string }[] }>("GET", "/api/voices");
    expect(res.status).toBe(200);
    const ids = res.body.voices.map((v) => v.id);
    for (const slug of ["brad", "sarah", "alex"]) expect(ids).toContain((await systemPersona(slug)).voiceId);
  });
});

describe("text fields", () => {
  it("refuse control characters (NUL cannot be stored) with validation_failed, but keep newlines in prompts", async () => {
    const acct = await newAccount();
    const e = expectEnvelope(await api("POST", "/api/personas", { token: acct.token, body: personaInput({ name: "a\u0000b" }) }), 400, "validation_failed");
    expect(e.details).toMatchObject({ issues: [{ path: "name" }] });
    expectEnvelope(await api("PUT", "/api/user/profile", { token: acct.token, body: { name: "x\u0000" } }), 400, "validation_failed");
    expectEnvelope(await api("POST", "/api/personas", { token: acct.token, body: personaInput({ systemPrompt: "ok\u0000" }) }), 400, "validation_failed");
    const ok = await api<{ persona: { systemPrompt: string; name: string } }>("POST", "/api/personas", {
      token: acct.token,
      body: personaInput({ name: "  Trimmed  \n", systemPrompt: "Line one.\nLine two.\tTabbed." }),
    });
    expect(ok.status).toBe(201);
    expect(ok.body.persona).toMatchObject({ name: "Trimmed", systemPrompt: "Line one.\nLine two.\tTabbed." });
  });
});
