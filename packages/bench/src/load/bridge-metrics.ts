/**
 * The bridge's own Prometheus metrics (services/call-bridge/src/metrics.ts), scraped from its
 * `/metrics` before and after a run: what the run added is the difference.
 */
import { loopDelayFromGauges, type LoopDelay } from '../probes/loop-delay.js';
import {
  histogramDelta,
  readHistogram,
  summarizeSecondsHistogram,
  type HistogramSummary,
} from '../stats/histogram.js';
import { parsePromText, sampleValue, type PromSample } from '../stats/prom-text.js';

export type Scrape = PromSample[];

/** The two directions, as the bridge labels them. */
export const TO_MODEL = 'caller-to-openai';
export const TO_CALLER = 'openai-to-caller';

export async function scrape(baseUrl: string): Promise<Scrape> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (!res.ok) throw new Error(`${baseUrl}/metrics answered ${res.status}`);
  return parsePromText(await res.text());
}

export function histogramBetween(
  before: Scrape,
  after: Scrape,
  name: string,
  match: Record<string, string> = {},
): HistogramSummary | null {
  return summarizeSecondsHistogram(
    histogramDelta(readHistogram(after, name, match), readHistogram(before, name, match)),
  );
}

export function counterBetween(
  before: Scrape,
  after: Scrape,
  name: string,
  match: Record<string, string> = {},
): number {
  return sampleValue(after, name, match) - sampleValue(before, name, match);
}

/**
 * The bridge's event-loop delay since the previous scrape: prom-client resets its
 * `monitorEventLoopDelay` histogram at every collection. Null when the metrics are absent.
 */
export function bridgeLoopDelay(after: Scrape): LoopDelay | null {
  const gauge = (name: string) => after.find((s) => s.name === name)?.value;
  const mean = gauge('nodejs_eventloop_lag_mean_seconds');
  const p50 = gauge('nodejs_eventloop_lag_p50_seconds');
  const p99 = gauge('nodejs_eventloop_lag_p99_seconds');
  const max = gauge('nodejs_eventloop_lag_max_seconds');
  if (mean === undefined || p50 === undefined || p99 === undefined || max === undefined)
    return null;
  return loopDelayFromGauges({ mean, p50, p99, max });
}
