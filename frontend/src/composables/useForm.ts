/**
 * Small form-state helper: reactive values, per-field rules run on blur and on submit, and
 * server-side `validation_failed` details mapped back onto fields. A rule returns an error
 * message or null. Nothing here knows about specific forms (see lib/validation.ts for rules).
 */
import { reactive, ref, toRaw } from "vue";
import type { Ref, UnwrapNestedRefs } from "vue";
import { ApiError } from "../api/client";
import { describeError } from "../lib/errors";
import type { ErrorContext } from "../lib/errors";

export type Rule<V, T> = (value: V, values: T) => string | null;
export type Rules<T> = { [K in keyof T]?: Rule<T[K], T>[] };

export interface FormState<T extends object> {
  values: UnwrapNestedRefs<T>;
  /** Current message per field ("" = none). */
  errors: Partial<Record<keyof T & string, string>>;
  /** A message for the whole form (e.g. a server error with no field). */
  formError: Ref<string | null>;
  submitting: Ref<boolean>;
  /** Runs one field's rules; returns true when it is valid. */
  validateField: (field: keyof T & string) => boolean;
  /** Runs every rule; returns true when the form is valid. */
  validate: () => boolean;
  /** Validates, then runs `fn` with submitting state; API errors land on fields or formError. */
  handleSubmit: (fn: (values: T) => Promise<void>, context?: ErrorContext) => () => Promise<void>;
  /** Puts an API error's field details (and message) onto the form. */
  applyError: (err: unknown, context?: ErrorContext) => void;
  reset: (next?: Partial<T>) => void;
}

export interface FormOptions<T> {
  /** Server field paths that belong to a differently named form field (e.g. `traits` → `traitsText`). */
  aliases?: Record<string, keyof T & string>;
}

/** Creates form state for `initial` values with `rules`. */
export function useForm<T extends object>(initial: T, rules: Rules<T> = {}, options: FormOptions<T> = {}): FormState<T> {
  const start = structuredClone(initial);
  const values = reactive(structuredClone(initial)) as UnwrapNestedRefs<T>;
  const errors = reactive<Partial<Record<keyof T & string, string>>>({}) as Partial<Record<keyof T & string, string>>;
  const formError = ref<string | null>(null);
  const submitting = ref(false);

  const current = (): T => values as unknown as T;
  const snapshot = (): T => structuredClone(toRaw(values) as T);

  function validateField(field: keyof T & string): boolean {
    const fieldRules = rules[field] ?? [];
    const all = current();
    for (const rule of fieldRules) {
      const message = rule(all[field], all);
      if (message) {
        errors[field] = message;
        return false;
      }
    }
    delete errors[field];
    return true;
  }

  function validate(): boolean {
    let ok = true;
    for (const field of Object.keys(rules) as (keyof T & string)[]) {
      if (!validateField(field)) ok = false;
    }
    return ok;
  }

  function applyError(err: unknown, context: ErrorContext = "generic"): void {
    if (err instanceof ApiError) {
      const fields = err.fieldErrors();
      const known = Object.keys(start) as (keyof T & string)[];
      let placed = false;
      for (const [path, message] of Object.entries(fields)) {
        const head = path.split(".")[0] ?? path;
        const field = options.aliases?.[head] ?? known.find((k) => path === k || path.startsWith(`${k}.`));
        if (field) {
          errors[field] = message;
          placed = true;
        }
      }
      formError.value = placed && err.code === "validation_failed" ? "Please fix the highlighted fields." : describeError(err, context);
      return;
    }
    formError.value = describeError(err, context);
  }

  function handleSubmit(fn: (values: T) => Promise<void>, context: ErrorContext = "generic") {
    return async () => {
      formError.value = null;
      if (!validate()) {
        formError.value = "Please fix the highlighted fields.";
        return;
      }
      submitting.value = true;
      try {
        await fn(snapshot());
      } catch (err) {
        applyError(err, context);
      } finally {
        submitting.value = false;
      }
    };
  }

  function reset(next: Partial<T> = {}): void {
    Object.assign(values, structuredClone({ ...start, ...next }));
    for (const key of Object.keys(errors)) delete errors[key as keyof T & string];
    formError.value = null;
  }

  return { values, errors, formError, submitting, validateField, validate, handleSubmit, applyError, reset };
}
