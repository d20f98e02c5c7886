/**
 * Colour theme: "light", "dark" or "system" (follows the OS), saved in localStorage and applied
 * as the `dark` class on <html> (index.html applies it before first paint too).
 */
import { ref, watch } from "vue";
import type { Ref } from "vue";

export type ThemePreference = "light" | "dark" | "system";
const KEY = "cmb.theme";

function read(): ThemePreference {
  try {
    const v = globalThis.localStorage?.getItem(KEY);
    return v === "light" || v === "dark" ? v : "system";
  } catch {
    return "system";
  }
}

const preference = ref<ThemePreference>(read());
let started = false;

function apply(pref: ThemePreference): void {
  if (typeof document === "undefined") return;
  const systemDark = typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.classList.toggle("dark", pref === "dark" || (pref === "system" && systemDark));
}

/** The shared theme preference; changing it saves and applies it. */
export function useTheme(): { preference: Ref<ThemePreference>; cycle: () => void } {
  if (!started) {
    started = true;
    watch(
      preference,
      (pref) => {
        try {
          if (pref === "system") globalThis.localStorage?.removeItem(KEY);
          else globalThis.localStorage?.setItem(KEY, pref);
        } catch {
          // Not saved; still applied for this tab.
        }
        apply(pref);
      },
      { immediate: true },
    );
    if (typeof matchMedia === "function") {
      matchMedia("(prefers-color-scheme: dark)").addEventListener?.("change", () => apply(preference.value));
    }
  }
  const order: ThemePreference[] = ["system", "light", "dark"];
  return {
    preference,
    cycle: () => {
      preference.value = order[(order.indexOf(preference.value) + 1) % order.length] ?? "system";
    },
  };
}
