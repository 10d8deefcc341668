/** Metrics from `/v1/stats`: tiles for the totals, charts for the series and the outcomes. */
import { useEffect, useMemo } from 'preact/hooks';

import { api, queryString, type Stats } from '../api.js';
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
  const series = useMemo(() => {
    const points = s?.series ?? [];
    const at = points.map((p) => p.at);
    return {
      at,
      calls: [
        { label: 'calls', values: points.map((p) => p.calls) },
        { label: 'answered', values: points.map((p) => p.answered) },
      ],
      concurrent: [{ label: 'concurrent (max)', values: points.map((p) => p.concurrentMax) }],
      setup: [
        { label: 'p50', values: points.map((p) => p.setupMsP50) },
        { label: 'p95', values: points.map((p) => p.setupMsP95) },
      ],
      handle: [
        {
          label: 'avg handle (s)',
          values: points.map((p) => (p.avgHandleMs === null ? null : p.avgHandleMs / 1000)),
        },
      ],
      handoffs: [{ label: 'handoffs', values: points.map((p) => p.handoffs) }],
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
            <Tile label="Live now" value={String(s.live)} testId="tile-live" />
            <Tile label="Calls" value={String(s.totals.calls)} testId="tile-calls" />
            <Tile label="Answered" value={String(s.totals.answered)} testId="tile-answered" />
            <Tile
              label="Set-up p50 / p95"
              value={`${millis(s.totals.setupMsP50)} / ${millis(s.totals.setupMsP95)}`}
              testId="tile-setup"
            />
            <Tile
              label="Average handle time"
              value={millis(s.totals.avgHandleMs)}
              testId="tile-handle"
            />
            <Tile
              label="Tool latency p50 / p95"
              value={`${millis(s.totals.toolLatencyMsP50)} / ${millis(s.totals.toolLatencyMsP95)}`}
              testId="tile-tools"
            />
            <Tile
              label="Handoff rate"
              value={percent(s.totals.handoffRate)}
              testId="tile-handoff"
            />
          </div>
          <div class="charts">
            <TimeChart
              title={`Calls ${perBucket}`}
              at={series.at}
              series={series.calls}
              testId="chart-calls"
            />
            <TimeChart
              title="Concurrent calls"
              at={series.at}
              series={series.concurrent}
              testId="chart-concurrent"
            />
            <TimeChart
              title="Set-up time"
              unit="ms"
              at={series.at}
              series={series.setup}
              testId="chart-setup"
            />
            <TimeChart
              title="Average handle time"
              unit="s"
              at={series.at}
              series={series.handle}
              testId="chart-handle"
            />
            <TimeChart
              title="Handoffs"
              at={series.at}
              series={series.handoffs}
              testId="chart-handoffs"
            />
            <BarChart
              title="Outcomes"
              testId="chart-outcomes"
              bars={s.outcomes.map((o) => ({
                label: o.endReason ?? 'in progress',
                value: o.count,
              }))}
            />
          </div>
        </>
      )}
    </section>
  );
}

function Tile({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div class="tile" data-testid={testId}>
      <span class="tile-label">{label}</span>
      <span class="tile-value">{value}</span>
    </div>
  );
}
