/**
 * Charts: time series with uPlot (small, canvas), outcome bars as plain SVG. uPlot sizes its
 * elements through the CSSOM, which a `style-src 'self'` CSP allows (only markup styles are
 * blocked).
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

import 'uplot/dist/uPlot.min.css';

const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c'];

export interface Series {
  label: string;
  values: Array<number | null>;
}

export function TimeChart(props: {
  title: string;
  /** Bucket starts, ISO 8601. */
  at: string[];
  series: Series[];
  testId: string;
  unit?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = props.at.map((iso) => new Date(iso).getTime() / 1000);
    const data: uPlot.AlignedData = [xs, ...props.series.map((s) => s.values)];
    const width = () => Math.max(280, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 200,
        series: [
          {},
          ...props.series.map((s, i) => ({
            label: s.label,
            stroke: COLORS[i % COLORS.length] ?? '#2563eb',
            width: 2,
            spanGaps: false,
            // A lone bucket between empty ones is a point, not an invisible line.
            points: { show: true, size: 5 },
          })),
        ],
        axes: [{}, { label: props.unit ?? '', size: 60 }],
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
      },
      data,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 200 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [props.at, props.series, props.unit]);
  return (
    <figure class="chart" data-testid={props.testId}>
      <figcaption>{props.title}</figcaption>
      <div ref={box} class="chart-canvas" />
      {props.at.length === 0 && <p class="muted">No data in this range.</p>}
    </figure>
  );
}

/** Horizontal bars, one per label; widths are SVG attributes, not styles. */
export function BarChart(props: {
  title: string;
  bars: Array<{ label: string; value: number }>;
  testId: string;
}) {
  const max = Math.max(1, ...props.bars.map((b) => b.value));
  const row = 26;
  const labelWidth = 140;
  const barWidth = 300;
  return (
    <figure class="chart" data-testid={props.testId}>
      <figcaption>{props.title}</figcaption>
      {props.bars.length === 0 ? (
        <p class="muted">No calls in this range.</p>
      ) : (
        <svg
          viewBox={`0 0 ${labelWidth + barWidth + 60} ${props.bars.length * row}`}
          class="bars"
          role="img"
          aria-label={props.title}
        >
          {props.bars.map((b, i) => (
            <g key={b.label} transform={`translate(0 ${i * row})`}>
              <text x={labelWidth - 8} y={row / 2 + 4} text-anchor="end">
                {b.label}
              </text>
              <rect
                x={labelWidth}
                y={4}
                height={row - 8}
                width={Math.max(1, (b.value / max) * barWidth)}
                fill={COLORS[i % COLORS.length]}
              />
              <text x={labelWidth + (b.value / max) * barWidth + 6} y={row / 2 + 4}>
                {String(b.value)}
              </text>
            </g>
          ))}
        </svg>
      )}
    </figure>
  );
}
