/**
 * The call records, read (issue 9): `GET /v1/calls` (filters, keyset pages newest first),
 * `GET /v1/calls/:id` (with its timeline, transcript, tool calls and handoffs) and
 * `GET /v1/calls/export.csv` (the same filters, streamed).
 *
 * - Auth as every admin resource (`adminResourceAuth`): any role reads. `POST /v1/calls` lives
 *   in calls-api.ts, another plugin with its own hook.
 * - A bad query answers 400 `{ error, issues: [{ field, code, message }] }`, every issue at once;
 *   an unknown or malformed id 404.
 * - The export is written as it is read, a page of rows at a time, and the next page is read
 *   only when the socket has taken the last: the response's backpressure paces the database,
 *   so a year of calls costs the memory of one page.
 * - `/v1/calls/export.csv` is a static path, which find-my-way always prefers to the parametric
 *   `/v1/calls/:id`, whatever the registration order (a test holds it).
 */
import { pipeline, Readable } from 'node:stream';

import { stringify } from 'csv-stringify';
import type { FastifyInstance } from 'fastify';

import type { PrismaClient } from '@app/db';

import type { ApiKeyStore } from '../adapters/api-keys.js';
import { PrismaCallReports } from '../adapters/call-reports.js';
import { CALL_CSV_COLUMNS, callCsvFilename, callCsvRecord } from '../domain/call-csv.js';
import { adminResourceAuth } from './api-key-auth.js';
import {
  callDetailSchema,
  callFilterQuerySchema,
  callIdParamsSchema,
  callListQuerySchema,
  callListSchema,
  errorSchema,
  issuesOf,
} from './call-report-schemas.js';
import { describeRoute } from './route-docs.js';

export interface CallRecordsApiOptions {
  apiKeys: ApiKeyStore;
  prisma: PrismaClient;
  /** Rows read per query while exporting. @defaultValue 1000 */
  exportPageSize?: number;
}

const DEFAULT_LIMIT = 50;

export async function callRecordsApiRoutes(
  app: FastifyInstance,
  opts: CallRecordsApiOptions,
): Promise<void> {
  const reports = new PrismaCallReports(opts.prisma);
  const exportPageSize = opts.exportPageSize ?? 1_000;
  adminResourceAuth(app, {
    apiKeys: opts.apiKeys,
    actionFor: () => 'change calls',
    failureLog: 'call report request failed',
  });

  app.get(
    '/v1/calls',
    {
      ...describeRoute({
        tags: ['Calls', 'Reports'],
        summary: 'List calls, newest first',
        description:
          'Filters combine with AND. Pages are keyset pages: pass `nextCursor` back as `cursor` ' +
          'with the same filters; it is null on the last page.',
        querystring: callListQuerySchema,
        response: { 200: callListSchema, 400: errorSchema },
      }),
    },
    async (request, reply) => {
      const parsed = callListQuerySchema.safeParse(request.query);
      if (!parsed.success) {
        return reply
          .code(400)
          .send({ error: 'invalid call query', issues: issuesOf(parsed.error) });
      }
      const { limit, cursor, ...filters } = parsed.data;
      return reply.send(await reports.list(filters, limit ?? DEFAULT_LIMIT, cursor));
    },
  );

  app.get(
    '/v1/calls/export.csv',
    {
      ...describeRoute({
        tags: ['Calls', 'Reports'],
        summary: 'Export calls as CSV',
        description:
          'The calls the list would return for the same filters, newest first, one row each with ' +
          'the columns of a call summary, streamed. A cell starting with = + - @ tab or CR is ' +
          "prefixed with ' so spreadsheets show it as text.",
        querystring: callFilterQuerySchema,
        response: { 200: { description: 'text/csv' }, 400: errorSchema },
      }),
      // A HEAD would read (and throw away) the whole export.
      exposeHeadRoute: false,
    },
    async (request, reply) => {
      const parsed = callFilterQuerySchema.safeParse(request.query);
      if (!parsed.success) {
        return reply
          .code(400)
          .send({ error: 'invalid call query', issues: issuesOf(parsed.error) });
      }
      const filters = parsed.data;
      const records = Readable.from(
        (async function* () {
          for await (const call of reports.each(filters, exportPageSize)) yield callCsvRecord(call);
        })(),
      );
      const csv = stringify({ header: true, columns: [...CALL_CSV_COLUMNS] });
      // Once the 200 is out, a failed read can only cut the response short; the log says why.
      // A client that goes away mid-download ends the pipeline too (and the reads): routine.
      pipeline(records, csv, (err) => {
        if (!err) return;
        if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') {
          request.log.info('call export abandoned by the client');
        } else {
          request.log.error({ err }, 'call export failed');
        }
      });
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="${callCsvFilename(filters.from, filters.to)}"`,
        )
        .header('cache-control', 'no-store')
        .send(csv);
    },
  );

  app.get(
    '/v1/calls/:id',
    {
      ...describeRoute({
        tags: ['Calls', 'Reports'],
        summary: 'One call with its events, transcript, tool invocations and handoffs',
        params: callIdParamsSchema,
        response: { 200: callDetailSchema, 404: errorSchema },
      }),
    },
    async (request, reply) => {
      const params = callIdParamsSchema.safeParse(request.params);
      const call = params.success ? await reports.detail(params.data.id) : null;
      return call === null ? reply.code(404).send({ error: 'call not found' }) : reply.send(call);
    },
  );
}
