/**
 * The report's chart, latency and CPU against concurrency, drawn with Vega-Lite (to SVG, no
 * canvas) and rasterised to PNG with resvg (a prebuilt binary inside its npm package): no
 * native build step.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

import type { LoadRunResult } from '../results.js';

interface Point {
  calls: number;
  series: string;
  ms: number;
  limited: string;
}

/** Log scales need positive values: anything below is drawn at this floor. */
const FLOOR_MS = 0.01;

function latencyPoints(runs: readonly LoadRunResult[]): Point[] {
  const out: Point[] = [];
  for (const r of runs) {
    const limited = r.generator.limited ? 'generator-limited' : 'generator kept pace';
    const add = (series: string, v: number | null | undefined) => {
      if (v !== null && v !== undefined && Number.isFinite(v)) {
        out.push({ calls: r.settings.calls, series, ms: Math.max(FLOOR_MS, v), limited });
      }
    };
    add('bridge p99 caller→model', r.forwardLatencyMs.callerToModel?.p99);
    add('bridge p99 model→caller', r.forwardLatencyMs.modelToCaller?.p99);
    add('end-to-end p99 model→caller', r.endToEndMs.modelToCaller?.p99);
    add('bridge loop delay p99', r.bridge.loopDelayMs?.p99);
    add('generator loop delay p99', r.generator.loopDelayMs.p99);
  }
  return out;
}

export function chartSpec(runs: readonly LoadRunResult[]): TopLevelSpec {
  const cpu = runs.flatMap((r) =>
    r.bridge.coreShare === null
      ? []
      : [
          {
            calls: r.settings.calls,
            percent: r.bridge.coreShare * 100,
            limited: r.generator.limited ? 'generator-limited' : 'generator kept pace',
          },
        ],
  );
  const x = {
    field: 'calls',
    type: 'quantitative' as const,
    title: 'concurrent calls (N)',
    scale: { type: 'log' as const },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    background: 'white',
    config: { font: 'DejaVu Sans', legend: { labelLimit: 360, orient: 'right' } },
    vconcat: [
      {
        title: 'Latency against concurrency (one bridge on one core)',
        width: 560,
        height: 320,
        layer: [
          {
            data: { values: latencyPoints(runs) },
            mark: { type: 'line', point: { size: 60, filled: true } },
            encoding: {
              x,
              y: {
                field: 'ms',
                type: 'quantitative',
                title: 'ms (log)',
                scale: { type: 'log' },
              },
              color: { field: 'series', type: 'nominal', title: null },
              shape: { field: 'limited', type: 'nominal', title: null },
            },
          },
          {
            data: {
              values: [
                { ms: 5, label: 'target 5 ms' },
                { ms: 20, label: 'criterion 20 ms' },
              ],
            },
            layer: [
              {
                mark: { type: 'rule', strokeDash: [4, 4], color: '#888' },
                encoding: { y: { field: 'ms', type: 'quantitative' } },
              },
              {
                mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#555' },
                encoding: {
                  y: { field: 'ms', type: 'quantitative' },
                  x: { value: 0 },
                  text: { field: 'label' },
                },
              },
            ],
          },
        ],
      },
      {
        title: 'Bridge CPU (share of its one core)',
        width: 560,
        height: 200,
        data: { values: cpu },
        mark: {
          type: 'line',
          color: '#4c78a8',
          point: { size: 60, filled: true, color: '#4c78a8' },
        },
        encoding: {
          x,
          y: { field: 'percent', type: 'quantitative', title: '% of one core' },
          shape: { field: 'limited', type: 'nominal', title: null },
        },
      },
    ],
    resolve: { scale: { shape: 'shared' }, legend: { shape: 'shared' } },
  } as TopLevelSpec;
}

/** The chart as PNG bytes. */
export async function renderChart(runs: readonly LoadRunResult[]): Promise<Buffer> {
  const view = new vega.View(vega.parse(compile(chartSpec(runs)).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: 1.5 },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  })
    .render()
    .asPng();
  return Buffer.from(png);
}
