/**
 * `GET /v1/stats`: the figures of the dashboard's metrics page (calls per bucket, concurrency,
 * set-up time, handle time, handoffs, outcomes, tool latency, live calls), computed in SQL by
 * `adapters/call-stats.ts`, which says what each figure counts.
 *
 * - Any role reads (`adminResourceAuth`).
 * - `to` defaults to now, `from` to a day before `to`, `bucket` to `hour`. A range of more than
 *   2000 buckets answers 400 naming `bucket`: pick a larger bucket or a shorter range.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

import { callStatsSchema } from '@app/contracts';
import type { PrismaClient } from '@app/db';

import type { ApiKeyStore } from '../adapters/api-keys.js';
import { bucketCount, BUCKETS, callStats, MAX_BUCKETS } from '../adapters/call-stats.js';
import { adminResourceAuth } from './api-key-auth.js';
import { errorSchema, issuesOf, rangeFields } from './call-report-schemas.js';
import { describeRoute } from './route-docs.js';

export interface StatsApiOptions {
  apiKeys: ApiKeyStore;
  prisma: PrismaClient;
  /** The clock: the default `to`, and the end of calls still live. @defaultValue `() => new Date()` */
  now?: () => Date;
}

const DEFAULT_SPAN_MS = 24 * 60 * 60 * 1000;

export const statsQuerySchema = z.object({
  ...rangeFields,
  bucket: z
    .enum(BUCKETS, { error: 'bucket is minute, hour or day' })
    .optional()
    .describe('width of a series point (default hour), aligned to UTC'),
});

/** The body: one schema with the dashboard (`@app/contracts`). */
export const statsSchema = callStatsSchema;

export async function statsApiRoutes(app: FastifyInstance, opts: StatsApiOptions): Promise<void> {
  const now = opts.now ?? (() => new Date());
  adminResourceAuth(app, {
    apiKeys: opts.apiKeys,
    actionFor: () => 'change stats',
    failureLog: 'stats request failed',
  });

  app.get(
    '/v1/stats',
    {
      ...describeRoute({
        tags: ['Reports'],
        summary: 'Call metrics over a time range, per bucket and in total',
        description:
          'Per bucket and in total, figures describe the calls that started in the bucket or ' +
          'range; concurrentMax is the most calls live at once within the bucket; live is the ' +
          'number of calls not ended now.',
        querystring: statsQuerySchema,
        response: { 200: statsSchema, 400: errorSchema },
      }),
    },
    async (request, reply) => {
      const parsed = statsQuerySchema.safeParse(request.query);
      if (!parsed.success) {
        return reply
          .code(400)
          .send({ error: 'invalid stats query', issues: issuesOf(parsed.error) });
      }
      const at = now();
      const q = parsed.data;
      const to = q.to ?? at;
      const from = q.from ?? new Date(to.getTime() - DEFAULT_SPAN_MS);
      const bucket = q.bucket ?? 'hour';
      if (to.getTime() <= from.getTime()) {
        return reply.code(400).send({
          error: 'invalid stats query',
          issues: [{ field: 'to', code: 'invalid_field', message: 'to must be after from' }],
        });
      }
      const buckets = bucketCount(from, to, bucket);
      if (buckets > MAX_BUCKETS) {
        return reply.code(400).send({
          error: 'invalid stats query',
          issues: [
            {
              field: 'bucket',
              code: 'too_many_buckets',
              message: `the range holds ${buckets} ${bucket} buckets, at most ${MAX_BUCKETS}: choose a larger bucket or a shorter range`,
            },
          ],
        });
      }
      return reply.send(
        await callStats(
          opts.prisma,
          { from, to, bucket, agentId: q.agentId, campaignId: q.campaignId },
          at,
        ),
      );
    },
  );
}
