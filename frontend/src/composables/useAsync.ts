/**
 * Loading / error / data state around one async operation. Only the latest call's outcome is
 * kept, so a slow earlier request can't overwrite a newer one.
 */
import { computed, ref, shallowRef } from "vue";
import type { ComputedRef, Ref, ShallowRef } from "vue";
import { describeError } from "../lib/errors";

export interface AsyncState<A extends unknown[], R> {
  /** True while the latest call is running. */
  loading: Ref<boolean>;
  /** The latest call's failure, if any. */
  error: ShallowRef<unknown>;
  /** The latest call's result. */
  data: ShallowRef<R | undefined>;
  /** A message fit to show the user for `error`, or null. */
  errorMessage: ComputedRef<string | null>;
  /** Runs the operation; resolves to its result, or undefined when it failed (see `error`). */
  run: (...args: A) => Promise<R | undefined>;
}

/** Wraps `fn` with loading/error/data refs. */
export function useAsync<A extends unknown[], R>(fn: (...args: A) => Promise<R>): AsyncState<A, R> {
  const loading = ref(false);
  const error = shallowRef<unknown>(null);
  const data = shallowRef<R | undefined>(undefined);
  let latest = 0;

  async function run(...args: A): Promise<R | undefined> {
    const id = ++latest;
    loading.value = true;
    error.value = null;
    try {
      const result = await fn(...args);
      if (id === latest) data.value = result;
      return result;
    } catch (err) {
      if (id === latest) error.value = err;
      return undefined;
    } finally {
      if (id === latest) loading.value = false;
    }
  }

  const errorMessage = computed(() => (error.value ? describeError(error.value) : null));
  return { loading, error, data, errorMessage, run };
}
