/**
 * `runBackground(label, fn, onError)`: the one way the pipeline starts async work it does not
 * await (LLM streams, provider connects). Aborts and teardown races are ignored; anything else is
 * reported once through `onError` with a `[label]` prefix. Never leaves a floating promise.
 */

/** True for errors that only mean "we cancelled this on purpose". */
export function isAbortError(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const name = (err as { name?: unknown }).name;
  return name === "AbortError" || name === "TimeoutError";
}

export function runBackground(label: string, fn: () => Promise<void>, onError: (err: unknown, label: string) => void): void {
  let p: Promise<void>;
  try {
    p = fn();
  } catch (err) {
    if (!isAbortError(err)) onError(err, label);
    return;
  }
  p.catch((err: unknown) => {
    if (!isAbortError(err)) onError(err, label);
  });
}
