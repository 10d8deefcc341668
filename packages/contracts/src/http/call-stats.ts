/**
 * The body of the gateway's `GET /v1/stats` (the dashboard's metrics page): one schema, so the
 * route's validation and docs, the SQL adapter's type and the dashboard's reading of it cannot
 * drift apart. The browser imports the types only: no zod reaches its bundle.
 */
import { z } from 'zod';

const msOrNull = z.number().nullable().describe('ms, rounded; null when nothing was measured');

export const statsPointSchema = z.object({
  at: z.string().describe('bucket start, ISO 8601 UTC'),
  calls: z.number().int(),
  answered: z.number().int(),
  concurrentMax: z.number().int(),
  setupMsP50: msOrNull,
  setupMsP95: msOrNull,
  avgHandleMs: msOrNull,
  handoffs: z.number().int(),
});

export const callStatsSchema = z.object({
  series: z.array(statsPointSchema),
  totals: z.object({
    calls: z.number().int(),
    answered: z.number().int(),
    avgHandleMs: msOrNull,
    setupMsP50: msOrNull,
    setupMsP95: msOrNull,
    handoffRate: z.number().nullable().describe('0 to 1: answered calls with a handoff'),
    toolLatencyMsP50: msOrNull,
    toolLatencyMsP95: msOrNull,
  }),
  outcomes: z.array(z.object({ endReason: z.string(), count: z.number().int() })),
  live: z.number().int(),
});

/** One bucket of the series. */
export type StatsPoint = z.output<typeof statsPointSchema>;
/** The whole answer of `GET /v1/stats`. */
export type CallStats = z.output<typeof callStatsSchema>;
