/**
 * Personas store: the persona catalogue the user can see, persona CRUD, favourites (the
 * relationship's `isFavorite`), relationship overrides, contacts and the voice list.
 * Lists are keyed by id so a change made on one page shows on every other.
 */
import { defineStore } from "pinia";
import { computed, ref } from "vue";
import type { Contact, Persona, PersonaInput, PersonaScope, Relationship, RelationshipInput, Voice } from "../api/types";
import { useApi } from "../composables/useApi";

export const usePersonasStore = defineStore("personas", () => {
  const api = useApi();

  /** Every persona loaded so far, by id. */
  const byId = ref<Record<string, Persona>>({});
  /** Ids of the last loaded list, in API order. */
  const listIds = ref<string[]>([]);
  const contacts = ref<Contact[]>([]);
  const voices = ref<Voice[]>([]);
  const relationships = ref<Record<string, Relationship>>({});

  const list = computed(() => listIds.value.map((id) => byId.value[id]).filter((p): p is Persona => p !== undefined));
  const favorites = computed(() => list.value.filter((p) => p.isFavorite));

  function remember(persona: Persona): Persona {
    byId.value[persona.id] = persona;
    return persona;
  }

  function patch(id: string, changes: Partial<Persona>): void {
    const current = byId.value[id];
    if (current) byId.value[id] = { ...current, ...changes };
    contacts.value = contacts.value.map((c) => (c.persona.id === id ? { ...c, persona: { ...c.persona, ...changes } } : c));
  }

  /** Loads personas for a scope (all = system + public + mine). */
  async function fetchList(scope: PersonaScope = "all"): Promise<Persona[]> {
    const res = await api.get<{ personas: Persona[] }>("/api/personas", { query: { scope } });
    res.personas.forEach(remember);
    listIds.value = res.personas.map((p) => p.id);
    return res.personas;
  }

  /** Loads one persona. */
  async function get(id: string): Promise<Persona> {
    const res = await api.get<{ persona: Persona }>(`/api/personas/${encodeURIComponent(id)}`);
    return remember(res.persona);
  }

  async function create(input: PersonaInput): Promise<Persona> {
    const res = await api.post<{ persona: Persona }>("/api/personas", input);
    listIds.value = [res.persona.id, ...listIds.value];
    return remember(res.persona);
  }

  async function update(id: string, input: Partial<PersonaInput>): Promise<Persona> {
    const res = await api.put<{ persona: Persona }>(`/api/personas/${encodeURIComponent(id)}`, input);
    return remember(res.persona);
  }

  async function remove(id: string): Promise<void> {
    await api.del<{ ok: boolean }>(`/api/personas/${encodeURIComponent(id)}`);
    listIds.value = listIds.value.filter((x) => x !== id);
    contacts.value = contacts.value.filter((c) => c.persona.id !== id);
    const { [id]: _removed, ...rest } = byId.value;
    byId.value = rest;
  }

  async function getRelationship(personaId: string): Promise<Relationship> {
    const res = await api.get<{ relationship: Relationship }>(`/api/personas/${encodeURIComponent(personaId)}/relationship`);
    relationships.value[personaId] = res.relationship;
    return res.relationship;
  }

  async function updateRelationship(personaId: string, input: RelationshipInput): Promise<Relationship> {
    const res = await api.put<{ relationship: Relationship }>(`/api/personas/${encodeURIComponent(personaId)}/relationship`, input);
    relationships.value[personaId] = res.relationship;
    patch(personaId, { isFavorite: res.relationship.isFavorite });
    return res.relationship;
  }

  /** Sets the favourite flag; the star flips at once and flips back if the API refuses. */
  async function setFavorite(personaId: string, isFavorite: boolean): Promise<void> {
    const before = byId.value[personaId]?.isFavorite;
    patch(personaId, { isFavorite });
    try {
      await updateRelationship(personaId, { isFavorite });
    } catch (err) {
      if (before !== undefined) patch(personaId, { isFavorite: before });
      throw err;
    }
  }

  async function fetchContacts(): Promise<Contact[]> {
    const res = await api.get<{ contacts: Contact[] }>("/api/contacts");
    res.contacts.forEach((c) => remember(c.persona));
    contacts.value = res.contacts;
    return res.contacts;
  }

  async function addContact(personaId: string): Promise<void> {
    await api.post<{ contact: Contact }>("/api/contacts", { personaId });
    patch(personaId, { isContact: true });
  }

  async function removeContact(personaId: string): Promise<void> {
    await api.del<{ ok: boolean }>(`/api/contacts/${encodeURIComponent(personaId)}`);
    patch(personaId, { isContact: false });
    contacts.value = contacts.value.filter((c) => c.persona.id !== personaId);
  }

  /** Loads the voices personas can use (cached after the first load). */
  async function fetchVoices(): Promise<Voice[]> {
    if (voices.value.length > 0) return voices.value;
    const res = await api.get<{ voices: Voice[] }>("/api/voices");
    voices.value = res.voices;
    return res.voices;
  }

  /** Forgets everything user-specific (on logout). */
  function $reset(): void {
    byId.value = {};
    listIds.value = [];
    contacts.value = [];
    relationships.value = {};
  }

  return {
    byId,
    list,
    favorites,
    contacts,
    voices,
    relationships,
    fetchList,
    get,
    create,
    update,
    remove,
    getRelationship,
    updateRelationship,
    setFavorite,
    fetchContacts,
    addContact,
    removeContact,
    fetchVoices,
    $reset,
  };
});
