/**
 * Small statistics for the benchmark: nearest-rank percentiles (p50 of [1,2,3,4] is 2, p95 of
 * 200 samples is the 190th smallest), mean, and a one-line summary. Pure; NaN/∞ samples are
 * dropped before anything is computed, and an empty sample set yields null, never 0.
 */

/** Finite values of `xs`, sorted ascending (a copy). */
export function sortedFinite(xs: readonly number[]): number[] {
  return xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
}

/** Nearest-rank percentile (`p` in 0..100) of the finite values; null when there are none. */
export function percentile(xs: readonly number[], p: number): number | null {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const s = sortedFinite(xs);
  if (s.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1] ?? null;
}

export function mean(xs: readonly number[]): number | null {
  const s = sortedFinite(xs);
  if (s.length === 0) return null;
  return s.reduce((a, b) => a + b, 0) / s.length;
}

export interface Summary {
  n: number;
  min: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

export function summarize(xs: readonly number[]): Summary {
  const s = sortedFinite(xs);
  return {
    n: s.length,
    min: s[0] ?? null,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: s.at(-1) ?? null,
    mean: mean(s),
  };
}

/** Rounds to `digits` decimals, keeping null. */
export function round(x: number | null, digits = 0): number | null {
  if (x === null) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** "n=212 p50=612 p95=655 p99=700 max=731 ms" */
export function formatSummary(s: Summary, unit = "ms"): string {
  const f = (x: number | null): string => (x === null ? "–" : String(round(x, 1)));
  return `n=${s.n} min=${f(s.min)} p50=${f(s.p50)} p95=${f(s.p95)} p99=${f(s.p99)} max=${f(s.max)} ${unit}`;
}
