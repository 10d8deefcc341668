import { describe, expect, it } from 'vitest';

import {
  histogramDelta,
  histogramQuantile,
  readHistogram,
  summarizeSecondsHistogram,
} from '../src/stats/histogram.js';
import { summarize } from '../src/stats/percentiles.js';
import { parsePromText } from '../src/stats/prom-text.js';

const scrape = (counts: [string, number][], sum: number, direction = 'a') =>
  parsePromText(
    [
      '# HELP x_seconds test',
      '# TYPE x_seconds histogram',
      ...counts.map(([le, n]) => `x_seconds_bucket{le="${le}",direction="${direction}"} ${n}`),
      `x_seconds_sum{direction="${direction}"} ${sum}`,
      `x_seconds_count{direction="${direction}"} ${counts.at(-1)?.[1] ?? 0}`,
    ].join('\n'),
  );

describe('histogram percentiles', () => {
  it('interpolates a quantile linearly inside the bucket that holds its rank', () => {
    const h = readHistogram(
      scrape(
        [
          ['0.001', 50],
          ['0.002', 90],
          ['0.004', 100],
          ['+Inf', 100],
        ],
        0.12,
      ),
      'x_seconds',
    );
    expect(histogramQuantile(h, 0.5)).toBeCloseTo(0.001);
    // Rank 70 of 100 is halfway through the (0.001, 0.002] bucket.
    expect(histogramQuantile(h, 0.7)).toBeCloseTo(0.0015);
    expect(histogramQuantile(h, 0.99)).toBeCloseTo(0.0038);
  });

  it('reports only what happened between two scrapes, and bounds the max by a bucket', () => {
    const before = readHistogram(
      scrape(
        [
          ['0.001', 10],
          ['0.01', 10],
          ['+Inf', 10],
        ],
        0.005,
      ),
      'x_seconds',
    );
    const after = readHistogram(
      scrape(
        [
          ['0.001', 10],
          ['0.01', 20],
          ['+Inf', 20],
        ],
        0.055,
      ),
      'x_seconds',
    );
    const s = summarizeSecondsHistogram(histogramDelta(after, before));
    expect(s).toMatchObject({ count: 10, maxAtMost: 10 });
    expect(s?.mean).toBeCloseTo(5);
    expect(s?.p50).toBeGreaterThan(1);
  });

  it('keeps label sets apart', () => {
    const samples = [
      ...scrape(
        [
          ['1', 3],
          ['+Inf', 3],
        ],
        1,
        'in',
      ),
      ...scrape(
        [
          ['1', 5],
          ['+Inf', 5],
        ],
        1,
        'out',
      ),
    ];
    expect(readHistogram(samples, 'x_seconds', { direction: 'out' }).count).toBe(5);
  });
});

describe('exact percentiles', () => {
  it('uses the nearest rank, so every percentile is an observed value', () => {
    const s = summarize(Array.from({ length: 100 }, (_v, i) => i + 1));
    expect(s).toMatchObject({ count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
    expect(summarize([])).toBeNull();
  });
});
