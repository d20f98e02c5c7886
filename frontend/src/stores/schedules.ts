/**
 * Scheduled calls store: the user's upcoming and past scheduled calls, create (one-off or
 * recurring at a local time in an IANA zone), change and cancel (`/api/calls/schedule…`).
 */
import { defineStore } from "pinia";
import { ref } from "vue";
import type { CreateScheduleRequest, ScheduledCall, UpdateScheduleRequest } from "../../../contracts/schedules";
import { useApi } from "../composables/useApi";

export type ScheduleInput = Omit<CreateScheduleRequest, "recurrence" | "durationMinutes"> &
  Partial<Pick<CreateScheduleRequest, "recurrence" | "durationMinutes">>;

export const useSchedulesStore = defineStore("schedules", () => {
  const api = useApi();
  const upcoming = ref<ScheduledCall[]>([]);
  const past = ref<ScheduledCall[]>([]);

  /** Loads both lists. */
  async function fetchAll(): Promise<void> {
    const [u, p] = await Promise.all([
      api.get<{ schedules: ScheduledCall[] }>("/api/calls/schedule", { query: { view: "upcoming" } }),
      api.get<{ schedules: ScheduledCall[] }>("/api/calls/schedule", { query: { view: "past" } }),
    ]);
    upcoming.value = u.schedules;
    past.value = p.schedules;
  }

  async function create(input: ScheduleInput): Promise<ScheduledCall> {
    const res = await api.post<{ schedule: ScheduledCall }>("/api/calls/schedule", input);
    upcoming.value = [...upcoming.value, res.schedule].sort((a, b) => a.scheduledFor.localeCompare(b.scheduledFor));
    return res.schedule;
  }

  async function update(id: string, input: UpdateScheduleRequest): Promise<ScheduledCall> {
    const res = await api.put<{ schedule: ScheduledCall }>(`/api/calls/schedule/${encodeURIComponent(id)}`, input);
    upcoming.value = upcoming.value.map((s) => (s.id === id ? res.schedule : s));
    return res.schedule;
  }

  /** Cancels a pending call (a recurring series stops). */
  async function cancel(id: string): Promise<void> {
    const res = await api.del<{ schedule: ScheduledCall }>(`/api/calls/schedule/${encodeURIComponent(id)}`);
    upcoming.value = upcoming.value.filter((s) => s.id !== id);
    past.value = [res.schedule, ...past.value];
  }

  return { upcoming, past, fetchAll, create, update, cancel };
});
