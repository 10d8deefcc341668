/**
 * Prometheus histograms scraped before and after a run: the difference is what the run
 * observed, and its percentiles are interpolated linearly within a bucket, as PromQL's
 * `histogram_quantile` does. A histogram only bounds its maximum: the upper bound of the highest
 * bucket that holds an observation.
 */
import { labelsMatch, type PromSample } from './prom-text.js';

/** Cumulative bucket counts, upper bounds ascending, the last one +Inf. */
export interface Histogram {
  bounds: number[];
  cumulative: number[];
  count: number;
  sum: number;
}

/** Percentiles of a histogram, in ms. */
export interface HistogramSummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  /** Upper bound of the highest bucket with an observation; null when that is the +Inf bucket. */
  maxAtMost: number | null;
}

/** The histogram `name` (buckets `<name>_bucket`) with labels matching `match`, summed. */
export function readHistogram(
  samples: readonly PromSample[],
  name: string,
  match: Record<string, string> = {},
): Histogram {
  const byBound = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const s of samples) {
    if (!labelsMatch(s.labels, match)) continue;
    if (s.name === `${name}_bucket`) {
      const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
      byBound.set(le, (byBound.get(le) ?? 0) + s.value);
    } else if (s.name === `${name}_count`) count += s.value;
    else if (s.name === `${name}_sum`) sum += s.value;
  }
  const bounds = [...byBound.keys()].sort((a, b) => a - b);
  return { bounds, cumulative: bounds.map((b) => byBound.get(b) ?? 0), count, sum };
}

/** What `after` observed since `before` (same buckets; a missing `before` counts as empty). */
export function histogramDelta(after: Histogram, before: Histogram): Histogram {
  const prev = new Map(before.bounds.map((b, i) => [b, before.cumulative[i] ?? 0]));
  return {
    bounds: [...after.bounds],
    cumulative: after.bounds.map((b, i) => (after.cumulative[i] ?? 0) - (prev.get(b) ?? 0)),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/**
 * Quantile `q` (0..1) by linear interpolation inside the bucket that holds rank q·count; the
 * first bucket starts at 0. A quantile in the +Inf bucket is reported as the last finite bound
 * (an under-estimate: the summary's `maxAtMost` is null then). NaN when empty.
 */
export function histogramQuantile(h: Histogram, q: number): number {
  if (h.count <= 0) return Number.NaN;
  const rank = q * h.count;
  for (let i = 0; i < h.bounds.length; i += 1) {
    const cum = h.cumulative[i] as number;
    if (cum < rank) continue;
    const upper = h.bounds[i] as number;
    const lower = i === 0 ? 0 : (h.bounds[i - 1] as number);
    if (!Number.isFinite(upper)) return lower;
    const below = i === 0 ? 0 : (h.cumulative[i - 1] as number);
    const inBucket = cum - below;
    return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
  }
  return h.bounds.at(-2) ?? Number.NaN;
}

/** Percentiles of a histogram of seconds, converted to ms; null when it observed nothing. */
export function summarizeSecondsHistogram(h: Histogram): HistogramSummary | null {
  if (h.count <= 0) return null;
  let top = -1;
  for (let i = 0; i < h.bounds.length; i += 1) {
    const below = i === 0 ? 0 : (h.cumulative[i - 1] as number);
    if ((h.cumulative[i] as number) > below) top = i;
  }
  const topBound = h.bounds[top] ?? Number.POSITIVE_INFINITY;
  return {
    count: h.count,
    mean: (h.sum / h.count) * 1_000,
    p50: histogramQuantile(h, 0.5) * 1_000,
    p95: histogramQuantile(h, 0.95) * 1_000,
    p99: histogramQuantile(h, 0.99) * 1_000,
    maxAtMost: Number.isFinite(topBound) ? topBound * 1_000 : null,
  };
}
