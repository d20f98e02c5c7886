/** Memory editor store: what one persona knows about the user — facts and recent summaries; add, edit, delete, forget all. */
import { defineStore } from "pinia";
import { ref } from "vue";
import type { CreateMemoryRequest, MemoriesResponse, Memory, UpdateMemoryRequest } from "../../../contracts/memories";
import { useApi } from "../composables/useApi";

export const useMemoriesStore = defineStore("memories", () => {
  const api = useApi();
  const personaId = ref<string | null>(null);
  const personaName = ref("");
  const facts = ref<Memory[]>([]);
  const summaries = ref<Memory[]>([]);
  const base = (id: string) => `/api/personas/${encodeURIComponent(id)}/memories`;

  async function load(id: string): Promise<void> {
    const res = await api.get<MemoriesResponse>(base(id));
    personaId.value = id;
    personaName.value = res.personaName;
    facts.value = res.facts;
    summaries.value = res.summaries;
  }

  async function add(input: Partial<CreateMemoryRequest> & { content: string }): Promise<void> {
    if (!personaId.value) return;
    const res = await api.post<{ memory: Memory }>(base(personaId.value), input);
    facts.value = [res.memory, ...facts.value.filter((f) => f.id !== res.memory.id)];
  }

  async function update(id: string, input: UpdateMemoryRequest): Promise<void> {
    if (!personaId.value) return;
    const res = await api.put<{ memory: Memory }>(`${base(personaId.value)}/${encodeURIComponent(id)}`, input);
    facts.value = facts.value.map((f) => (f.id === id ? res.memory : f));
    summaries.value = summaries.value.map((s) => (s.id === id ? res.memory : s));
  }

  async function remove(id: string): Promise<void> {
    if (!personaId.value) return;
    await api.del(`${base(personaId.value)}/${encodeURIComponent(id)}`);
    facts.value = facts.value.filter((f) => f.id !== id);
    summaries.value = summaries.value.filter((s) => s.id !== id);
  }

  async function forgetAll(): Promise<number> {
    if (!personaId.value) return 0;
    const res = await api.del<{ forgotten: number }>(base(personaId.value));
    facts.value = [];
    summaries.value = [];
    return res.forgotten;
  }

  return { personaId, personaName, facts, summaries, load, add, update, remove, forgetAll };
});
