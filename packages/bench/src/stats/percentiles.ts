/**
 * Percentiles of exact samples (nearest rank: the value at rank ⌈q·n⌉), so a reported p99 is a
 * value that was really observed, never an average of two.
 */

/** Percentiles of one measurement, in the unit of its samples (ms throughout the bench). */
export interface Percentiles {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile `q` (0..1) of ascending `sorted`; NaN when empty. */
export function nearestRank(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Summary of `samples`; null when there are none (JSON has no NaN). */
export function summarize(samples: ArrayLike<number>): Percentiles | null {
  if (samples.length === 0) return null;
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    mean: sum / sorted.length,
    p50: nearestRank(sorted, 0.5),
    p95: nearestRank(sorted, 0.95),
    p99: nearestRank(sorted, 0.99),
    max: sorted[sorted.length - 1] as number,
  };
}
