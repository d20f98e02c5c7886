/** Admin/operations data shapes (from contracts/ops.ts) and the small fetchers the admin pages use. */
import type { AdminCall, AggregateCostsResponse, CallTimelineResponse, Discrepancy, TimelineTurn } from "../../../contracts/ops";
import { api } from "./client";

export type { AdminCall, AggregateCostsResponse, CallTimelineResponse, Discrepancy, TimelineTurn };

export function fetchAdminCalls(params: { status?: string; limit?: number } = {}): Promise<AdminCall[]> {
  const q = new URLSearchParams();
  if (params.status) q.set("status", params.status);
  q.set("limit", String(params.limit ?? 100));
  return api.get<{ calls: AdminCall[] }>(`/api/admin/calls?${q.toString()}`).then((r) => r.calls);
}

export function fetchCallTimeline(id: string): Promise<CallTimelineResponse> {
  return api.get<CallTimelineResponse>(`/api/admin/calls/${encodeURIComponent(id)}/timeline`);
}

export function fetchDiscrepancies(includeResolved = false): Promise<Discrepancy[]> {
  return api.get<{ discrepancies: Discrepancy[] }>(`/api/admin/discrepancies?includeResolved=${includeResolved}`).then((r) => r.discrepancies);
}

export function fetchCosts(groupBy: "service" | "persona" | "day"): Promise<AggregateCostsResponse> {
  return api.get<AggregateCostsResponse>(`/api/admin/costs?groupBy=${groupBy}`);
}

/** Response latency of a turn: end of caller speech → first reply audio sent (ms). */
export function responseMs(turn: TimelineTurn): number | null {
  return turn.latency?.firstAudioSentMs ?? null;
}
