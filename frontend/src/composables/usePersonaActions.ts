/** Favourite / add-to-contacts actions shared by persona lists, with per-persona busy state and toasts. */
import { ref } from "vue";
import type { Ref } from "vue";
import type { Persona } from "../api/types";
import { describeError } from "../lib/errors";
import { usePersonasStore } from "../stores/personas";
import { useToast } from "./useToast";

export function usePersonaActions(): {
  busy: Ref<Record<string, boolean>>;
  toggleFavorite: (p: Persona) => Promise<void>;
  addContact: (p: Persona) => Promise<void>;
  removeContact: (p: Persona) => Promise<void>;
} {
  const store = usePersonasStore();
  const toast = useToast();
  const busy = ref<Record<string, boolean>>({});

  async function guarded(id: string, fn: () => Promise<void>): Promise<void> {
    if (busy.value[id]) return;
    busy.value[id] = true;
    try {
      await fn();
    } catch (err) {
      toast.show(describeError(err), "error");
    } finally {
      busy.value[id] = false;
    }
  }

  return {
    busy,
    toggleFavorite: (p) => guarded(p.id, () => store.setFavorite(p.id, !p.isFavorite)),
    addContact: (p) =>
      guarded(p.id, async () => {
        await store.addContact(p.id);
        toast.show(`${p.name} is in your contacts.`);
      }),
    removeContact: (p) =>
      guarded(p.id, async () => {
        await store.removeContact(p.id);
        toast.show(`${p.name} was removed from your contacts.`, "info");
      }),
  };
}
