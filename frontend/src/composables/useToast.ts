/** Brief confirmation messages ("Persona created") shown by the ToastHost in App.vue. */
import { ref } from "vue";
import type { Ref } from "vue";

export interface Toast {
  id: number;
  message: string;
  tone: "success" | "error" | "info";
}

const toasts = ref<Toast[]>([]);
let nextId = 1;

/** The toast list and `show(message)`; toasts disappear after `durationMs`. */
export function useToast(): { toasts: Ref<Toast[]>; show: (message: string, tone?: Toast["tone"], durationMs?: number) => void; dismiss: (id: number) => void } {
  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((t) => t.id !== id);
  }
  function show(message: string, tone: Toast["tone"] = "success", durationMs = 3500): void {
    const id = nextId++;
    toasts.value = [...toasts.value.slice(-2), { id, message, tone }];
    setTimeout(() => dismiss(id), durationMs);
  }
  return { toasts, show, dismiss };
}
