/** Metrics from `/v1/stats`: tiles for the totals, charts for the series and the outcomes. */
import { useEffect, useMemo } from 'preact/hooks';

import { api, queryString, type Stats, type StatsPoint } from '../api.js';
import { BarChart, TimeChart } from '../components/charts.js';
import { ErrorNotice } from '../components/notice.js';
import { useAsync } from '../components/use-async.js';
import { millis, percent } from '../format.js';
import { navigate } from '../router.js';

const RANGES = {
  hour: { label: 'Last hour', ms: 60 * 60_000, bucket: 'minute' },
  day: { label: 'Last 24 hours', ms: 24 * 60 * 60_000, bucket: 'hour' },
  week: { label: 'Last 7 days', ms: 7 * 24 * 60 * 60_000, bucket: 'day' },
} as const;
type Range = keyof typeof RANGES;

/** The time charts, in page order: each line plots one value of every point of the series. */
const CHARTS: ReadonlyArray<{
  testId: string;
  title: string;
  /** The title ends with the range's bucket (`per minute`). */
  perBucket?: true;
  unit?: string;
  lines: Array<{ label: string; of: (p: StatsPoint) => number | null }>;
}> = [
  {
    testId: 'chart-calls',
    title: 'Calls',
    perBucket: true,
    lines: [
      { label: 'calls', of: (p) => p.calls },
      { label: 'answered', of: (p) => p.answered },
    ],
  },
  {
    testId: 'chart-concurrent',
    title: 'Concurrent calls',
    lines: [{ label: 'concurrent (max)', of: (p) => p.concurrentMax }],
  },
  {
    testId: 'chart-setup',
    title: 'Set-up time',
    unit: 'ms',
    lines: [
      { label: 'p50', of: (p) => p.setupMsP50 },
      { label: 'p95', of: (p) => p.setupMsP95 },
    ],
  },
  {
    testId: 'chart-handle',
    title: 'Average handle time',
    unit: 's',
    lines: [
      {
        label: 'avg handle (s)',
        of: (p) => (p.avgHandleMs === null ? null : p.avgHandleMs / 1000),
      },
    ],
  },
  {
    testId: 'chart-handoffs',
    title: 'Handoffs',
    lines: [{ label: 'handoffs', of: (p) => p.handoffs }],
  },
];

export function MetricsPage({ query }: { query: URLSearchParams }) {
  const range: Range = (query.get('range') as Range | null) ?? 'hour';
  const spec = RANGES[range] ?? RANGES.hour;
  const stats = useAsync(
    (signal) => {
      const to = new Date();
      const from = new Date(to.getTime() - spec.ms);
      return api<Stats>(
        `/v1/stats${queryString({
          from: from.toISOString(),
          to: to.toISOString(),
          bucket: spec.bucket,
        })}`,
        { signal },
      );
    },
    [range],
  );
  // Fresh numbers every 30 s while the page is open.
  useEffect(() => {
    const t = setInterval(stats.reload, 30_000);
    return () => clearInterval(t);
  }, [stats.reload]);

  const s = stats.data;
  // Memoised: a chart is drawn again whenever its series change identity.
  const series = useMemo(() => {
    const points = s?.series ?? [];
    return {
      at: points.map((p) => p.at),
      charts: CHARTS.map((chart) => ({
        ...chart,
        series: chart.lines.map((line) => ({ label: line.label, values: points.map(line.of) })),
      })),
    };
  }, [s]);
  const perBucket = spec.bucket === 'minute' ? 'per minute' : `per ${spec.bucket}`;

  return (
    <section class="page" data-testid="metrics-page">
      <header class="page-head">
        <h1>Metrics</h1>
        <select
          data-testid="metrics-range"
          value={range}
          onChange={(e) =>
            navigate(`/metrics?range=${(e.target as HTMLSelectElement).value}`, { replace: true })
          }
        >
          {Object.entries(RANGES).map(([key, r]) => (
            <option key={key} value={key}>
              {r.label}
            </option>
          ))}
        </select>
      </header>
      <ErrorNotice error={stats.error} />
      {s && (
        <>
          <div class="tiles" data-testid="metrics-totals">
            {tilesOf(s).map((tile) => (
              <Tile key={tile.testId} {...tile} />
            ))}
          </div>
          <div class="charts">
            {series.charts.map((chart) => (
              <TimeChart
                key={chart.testId}
                title={chart.perBucket ? `${chart.title} ${perBucket}` : chart.title}
                unit={chart.unit}
                at={series.at}
                series={chart.series}
                testId={chart.testId}
              />
            ))}
            <BarChart
              title="Outcomes"
              testId="chart-outcomes"
              bars={s.outcomes.map((o) => ({
                label: o.endReason,
                value: o.count,
              }))}
            />
          </div>
        </>
      )}
    </section>
  );
}

/** The totals' tiles, in page order. */
function tilesOf(s: Stats): Array<{ label: string; value: string; testId: string }> {
  const { totals } = s;
  return [
    { label: 'Live now', value: String(s.live), testId: 'tile-live' },
    { label: 'Calls', value: String(totals.calls), testId: 'tile-calls' },
    { label: 'Answered', value: String(totals.answered), testId: 'tile-answered' },
    {
      label: 'Set-up p50 / p95',
      value: `${millis(totals.setupMsP50)} / ${millis(totals.setupMsP95)}`,
      testId: 'tile-setup',
    },
    { label: 'Average handle time', value: millis(totals.avgHandleMs), testId: 'tile-handle' },
    {
      label: 'Tool latency p50 / p95',
      value: `${millis(totals.toolLatencyMsP50)} / ${millis(totals.toolLatencyMsP95)}`,
      testId: 'tile-tools',
    },
    { label: 'Handoff rate', value: percent(totals.handoffRate), testId: 'tile-handoff' },
  ];
}

function Tile({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div class="tile" data-testid={testId}>
      <span class="tile-label">{label}</span>
      <span class="tile-value">{value}</span>
    </div>
  );
}
