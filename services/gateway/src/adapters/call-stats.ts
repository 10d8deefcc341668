/**
 * The figures of the metrics page (`GET /v1/stats`), computed by PostgreSQL so only the answer
 * crosses the wire: a series per time bucket, totals, outcomes and the calls live now.
 *
 * What each figure counts:
 * - `calls`, `answered`, set-up percentiles, average handle time and `handoffs` (of a bucket or
 *   of the totals) describe the calls that *started* (`created_at`) in that bucket or range, so
 *   a bucket's numbers are about one set of calls and the totals are their sum.
 * - `concurrentMax` is the most calls live at one instant within the bucket (clipped to the
 *   range), a call being live over `[answeredAt ?? createdAt, endedAt ?? now)`: it counts calls
 *   that started before the bucket too.
 * - `handoffRate` = answered calls with at least one handoff / answered calls (null if none).
 * - Tool latency: `latency_ms` of the tool invocations of those calls (finished ones).
 * - `outcomes`: the ended calls of the range by `end_reason` (`unknown` when none was recorded).
 * - `live`: calls not ended, now, whenever they started (the agent and campaign filters apply).
 *
 * Durations are whole ms (rounded); null when there is nothing to measure. Buckets are aligned
 * to UTC (a `day` is a UTC day). Every value reaches SQL as a bound parameter.
 */
import type { CallStats, StatsPoint } from '@app/contracts';
import { Prisma, type PrismaClient } from '@app/db';

export const BUCKETS = ['minute', 'hour', 'day'] as const;
export type Bucket = (typeof BUCKETS)[number];

export const BUCKET_MS: Record<Bucket, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

/** The most buckets one request may ask for: a chart has no use for more points. */
export const MAX_BUCKETS = 2_000;

export interface StatsQuery {
  /** Inclusive. */
  from: Date;
  /** Exclusive; after `from`. */
  to: Date;
  bucket: Bucket;
  agentId?: string;
  campaignId?: string;
}

/** The body of `GET /v1/stats` (its schema is in `@app/contracts`, shared with the dashboard). */
export type { CallStats, StatsPoint };

/** Start of the UTC-aligned bucket holding `at`. */
export function bucketStart(at: Date, bucket: Bucket): Date {
  const ms = BUCKET_MS[bucket];
  return new Date(Math.floor(at.getTime() / ms) * ms);
}

/** How many buckets `[from, to)` spans once aligned. */
export function bucketCount(from: Date, to: Date, bucket: Bucket): number {
  return Math.ceil((to.getTime() - bucketStart(from, bucket).getTime()) / BUCKET_MS[bucket]);
}

const ms = (value: number | null): number | null => (value === null ? null : Math.round(value));

/** Computes the stats; `now` ends the calls still live (for concurrency). */
export async function callStats(
  prisma: PrismaClient,
  query: StatsQuery,
  now: Date,
): Promise<CallStats> {
  const { from, to, bucket } = query;
  const width = BUCKET_MS[bucket];
  const origin = bucketStart(from, bucket);
  const count = bucketCount(from, to, bucket);
  const originMs = origin.getTime();

  const scope = Prisma.sql`${
    query.agentId ? Prisma.sql`AND c.agent_id = ${query.agentId}::uuid` : Prisma.empty
  } ${query.campaignId ? Prisma.sql`AND c.campaign_id = ${query.campaignId}::uuid` : Prisma.empty}`;
  const started = Prisma.sql`c.created_at >= ${from}::timestamptz
    AND c.created_at < ${to}::timestamptz ${scope}`;
  /** The bucket index of a timestamp: whole buckets since `origin`. */
  const bucketOf = (column: Prisma.Sql) =>
    Prisma.sql`floor((extract(epoch FROM ${column}) * 1000 - ${originMs}::numeric) / ${width}::numeric)::int`;

  // One read-only snapshot on one connection: the series, totals and live count agree with each
  // other, and a dashboard's polling holds one pooled connection, not six.
  const [perBucket, concurrency, [totals], [tools], outcomes, [live]] = await prisma.$transaction(
    (tx) =>
      Promise.all([
        tx.$queryRaw<
          Array<{
            b: number;
            calls: number;
            answered: number;
            p50: number | null;
            p95: number | null;
            avg: number | null;
            handoffs: number;
          }>
        >`
      SELECT ${bucketOf(Prisma.sql`c.created_at`)} AS b,
             count(*)::int AS calls,
             count(c.answered_at)::int AS answered,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY c.setup_ms) AS p50,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY c.setup_ms) AS p95,
             avg(c.duration_ms)::float8 AS avg,
             coalesce(sum(h.n), 0)::int AS handoffs
        FROM calls c
        LEFT JOIN LATERAL (SELECT count(*) AS n FROM handoffs WHERE call_id = c.id) h ON true
       WHERE ${started}
       GROUP BY 1`,
        // Concurrency by a sweep: +1 where a call goes live, -1 where it stops, a 0 at each bucket's
        // first instant; the running sum after all changes at an instant is the number live then,
        // and a bucket's most is the largest sum at any of its instants.
        tx.$queryRaw<Array<{ b: number; n: number }>>`
      WITH spans AS (
        SELECT coalesce(c.answered_at, c.created_at) AS s,
               coalesce(c.ended_at, ${now}::timestamptz) AS e
          FROM calls c
         WHERE c.created_at < ${to}::timestamptz ${scope}
      ),
      changes AS (
        SELECT s AS ts, 1 AS d FROM spans WHERE e > s AND s < ${to}::timestamptz AND e > ${from}::timestamptz
        UNION ALL
        SELECT e, -1 FROM spans WHERE e > s AND s < ${to}::timestamptz AND e > ${from}::timestamptz
        UNION ALL
        SELECT greatest(${from}::timestamptz,
                        ${origin}::timestamptz + g * ${width}::int * interval '1 millisecond'), 0
          FROM generate_series(0, ${count}::int - 1) AS g
      ),
      levels AS (
        SELECT ts, sum(sum(d)) OVER (ORDER BY ts) AS n FROM changes GROUP BY ts
      )
      SELECT ${bucketOf(Prisma.sql`ts`)} AS b, max(n)::int AS n
        FROM levels
       WHERE ts >= ${from}::timestamptz AND ts < ${to}::timestamptz
       GROUP BY 1`,
        tx.$queryRaw<
          Array<{
            calls: number;
            answered: number;
            avg: number | null;
            p50: number | null;
            p95: number | null;
            handed: number;
          }>
        >`
      SELECT count(*)::int AS calls,
             count(c.answered_at)::int AS answered,
             avg(c.duration_ms)::float8 AS avg,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY c.setup_ms) AS p50,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY c.setup_ms) AS p95,
             (count(*) FILTER (WHERE c.answered_at IS NOT NULL
                AND EXISTS (SELECT 1 FROM handoffs h WHERE h.call_id = c.id)))::int AS handed
        FROM calls c
       WHERE ${started}`,
        tx.$queryRaw<Array<{ p50: number | null; p95: number | null }>>`
      SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY t.latency_ms) AS p50,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY t.latency_ms) AS p95
        FROM tool_invocations t
        JOIN calls c ON c.id = t.call_id
       WHERE ${started}`,
        tx.$queryRaw<Array<{ end_reason: string; n: number }>>`
      SELECT coalesce(c.end_reason, 'unknown') AS end_reason, count(*)::int AS n
        FROM calls c
       WHERE ${started} AND c.ended_at IS NOT NULL
       GROUP BY 1
       ORDER BY 2 DESC, 1`,
        tx.$queryRaw<Array<{ n: number }>>`
      SELECT count(*)::int AS n FROM calls c WHERE c.ended_at IS NULL ${scope}`,
      ]),
    { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead, timeout: 30_000 },
  );

  const rows = new Map(perBucket.map((r) => [r.b, r]));
  const peaks = new Map(concurrency.map((r) => [r.b, r.n]));
  const series: StatsPoint[] = [];
  for (let i = 0; i < count; i++) {
    const row = rows.get(i);
    series.push({
      at: new Date(originMs + i * width).toISOString(),
      calls: row?.calls ?? 0,
      answered: row?.answered ?? 0,
      concurrentMax: peaks.get(i) ?? 0,
      setupMsP50: ms(row?.p50 ?? null),
      setupMsP95: ms(row?.p95 ?? null),
      avgHandleMs: ms(row?.avg ?? null),
      handoffs: row?.handoffs ?? 0,
    });
  }
  const answered = totals?.answered ?? 0;
  return {
    series,
    totals: {
      calls: totals?.calls ?? 0,
      answered,
      avgHandleMs: ms(totals?.avg ?? null),
      setupMsP50: ms(totals?.p50 ?? null),
      setupMsP95: ms(totals?.p95 ?? null),
      handoffRate: answered === 0 ? null : (totals?.handed ?? 0) / answered,
      toolLatencyMsP50: ms(tools?.p50 ?? null),
      toolLatencyMsP95: ms(tools?.p95 ?? null),
    },
    outcomes: outcomes.map((o) => ({ endReason: o.end_reason, count: o.n })),
    live: live?.n ?? 0,
  };
}
