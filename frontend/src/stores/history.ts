/** Call history store: the paged, filtered list (`GET /api/calls`) and transcript search (`GET /api/calls/search`). */
import { defineStore } from "pinia";
import { ref } from "vue";
import type { CallStatus } from "../../../contracts/calls";
import type { CallListItem, CallListResponse, CallSearchResult } from "../../../contracts/history";
import { useApi } from "../composables/useApi";

export interface HistoryFilters {
  personaId?: string;
  status?: CallStatus;
  /** ISO instants. */
  from?: string;
  to?: string;
}

export const useHistoryStore = defineStore("history", () => {
  const api = useApi();
  const calls = ref<CallListItem[]>([]);
  const total = ref(0);
  const page = ref(1);
  const pageSize = ref(20);
  const results = ref<CallSearchResult[] | null>(null);

  async function fetchPage(filters: HistoryFilters = {}, p = 1): Promise<void> {
    const query: Record<string, string> = { page: String(p), pageSize: String(pageSize.value) };
    for (const [k, v] of Object.entries(filters)) if (v) query[k] = v;
    const res = await api.get<CallListResponse>("/api/calls", { query });
    calls.value = res.calls;
    total.value = res.total;
    page.value = res.page;
  }

  /** Searches transcripts; an empty query clears the results. */
  async function search(q: string, personaId?: string): Promise<void> {
    if (!q.trim()) {
      results.value = null;
      return;
    }
    const query: Record<string, string> = { q: q.trim() };
    if (personaId) query.personaId = personaId;
    const res = await api.get<{ results: CallSearchResult[] }>("/api/calls/search", { query });
    results.value = res.results;
  }

  return { calls, total, page, pageSize, results, fetchPage, search };
});
