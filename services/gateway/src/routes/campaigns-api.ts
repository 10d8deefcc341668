/**
 * `/v1/campaigns`: campaigns CRUD, contacts import and start/pause/resume/cancel (issue 7).
 *
 * - API key required (`api-key-auth.ts`): any role reads, `admin`/`operator` write (403 else).
 * - Refusals have the shape of `POST /v1/calls`: 400 `{ error, issues: [{ field, code, message }] }`;
 *   404 `{ error }` for an unknown campaign; 409 `{ error, status }` when the campaign's status
 *   does not allow the action (settings and contacts change only while draft or paused; only a
 *   draft is deleted).
 * - Every write commits with its `audit_logs` row (actor `api-key:<prefix>`).
 * - A status change publishes `campaigns.<id>.started|paused|resumed|canceled` with the counts,
 *   after the commit. If that publish fails the change stands (the runner reads the database, not
 *   the event): the failure is logged and the answer says `event: 'not_published'`.
 */
import type { Readable } from 'node:stream';

import type { JetStreamClient } from '@nats-io/jetstream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';

import { campaignEvent, publishEvent, type CampaignEventType, type Names } from '@app/contracts';
import type { Campaign, PrismaClient } from '@app/db';
import type { DialingDirectory, ValidationIssue } from '@app/dialing';

import type { ApiKeyStore } from '../adapters/api-keys.js';
import { importContacts, type ImportOptions } from '../adapters/campaign-contact-import.js';
import { BodyTooLargeError, csvContacts, CsvImportError } from '../adapters/campaign-csv.js';
import {
  campaignView,
  PrismaCampaignStore,
  UUID,
  type CampaignWrite,
} from '../adapters/campaign-store.js';
import type { RawContact } from '../domain/campaign-contacts.js';
import {
  campaignBodySchema,
  campaignIssues,
  readCampaignBody,
  type CampaignFields,
} from '../domain/campaign-input.js';
import { campaignProgress, eventCounts } from '../domain/campaign-progress.js';
import { adminResourceAuth } from './api-key-auth.js';
import { describeRoute } from './route-docs.js';

export interface CampaignsApiOptions {
  apiKeys: ApiKeyStore;
  /** Checks that the agent exists, the from-numbers are ours and the pool has numbers. */
  directory: DialingDirectory;
  prisma: PrismaClient;
  js: JetStreamClient;
  names: Names;
  /** Largest contacts import (CSV or JSON), in bytes. @defaultValue 20 MiB */
  importBodyLimit?: number;
  /** Batching and limits of an import. */
  importOptions?: ImportOptions;
  /** The clock, for tests. @defaultValue `() => new Date()` */
  now?: () => Date;
}

/** A campaign's settings are a few short fields. */
const BODY_LIMIT = 64 * 1024;
const DEFAULT_IMPORT_LIMIT = 20 * 1024 * 1024;
const PAGE_DEFAULT = 50;
const PAGE_MAX = 200;

/** Methods any role may use; the rest write. */

/** Each action: the statuses it leaves, the one it reaches, the event it publishes. */
const ACTIONS = {
  start: { from: ['draft'], to: 'running', event: 'started' },
  pause: { from: ['running'], to: 'paused', event: 'paused' },
  resume: { from: ['paused'], to: 'running', event: 'resumed' },
  cancel: { from: ['draft', 'running', 'paused'], to: 'canceled', event: 'canceled' },
} as const satisfies Record<
  string,
  { from: readonly Campaign['status'][]; to: Campaign['status']; event: CampaignEventType }
>;

/**
 * One contact of a JSON import, for the docs: `readContact` (campaign-contacts.ts) checks each
 * row itself, so a bad row is rejected alone instead of failing the whole import.
 */
const contactDocSchema = z.object({
  phone: z.string().describe('E.164, or a national number with a country prefix'),
  name: z.string().optional(),
  timezone: z.string().optional().describe("IANA zone; default the campaign's"),
  maxAttempts: z.number().int().optional(),
  variables: z.record(z.string(), z.string()).optional(),
});
const idParams = z.object({ id: z.string().describe('the campaign id (UUID)') });
const pageQuery = z.object({
  limit: z.string().optional().describe(`page size, 1 to ${PAGE_MAX} (default ${PAGE_DEFAULT})`),
  cursor: z.string().optional().describe('the nextCursor of the previous page'),
});
const INVALID = {
  description: 'invalid campaign: `{ error, issues: [{ field, code, message }] }`',
};
const NOT_FOUND = { description: 'no campaign with this id' };
const WRONG_STATUS = {
  description: "the campaign's status does not allow it: `{ error, status }`",
};
const tags = ['Campaigns'];

/** Each route's options: its body limit and its OpenAPI description (`/docs`). */
const ROUTES = {
  create: {
    bodyLimit: BODY_LIMIT,
    ...describeRoute({
      tags,
      summary: 'Create a campaign (draft)',
      description: 'Audited.',
      body: campaignBodySchema,
      response: { 201: { description: 'the campaign' }, 400: INVALID },
    }),
  },
  list: describeRoute({
    tags,
    summary: 'List campaigns',
    querystring: pageQuery,
    response: { 200: { description: '`{ items, nextCursor }`' }, 400: INVALID },
  }),
  get: describeRoute({
    tags,
    summary: 'Get a campaign and its progress',
    params: idParams,
    response: { 200: { description: 'the campaign with `progress`' }, 404: NOT_FOUND },
  }),
  update: {
    bodyLimit: BODY_LIMIT,
    ...describeRoute({
      tags,
      summary: 'Update a campaign',
      description: 'Only the fields sent change; only while draft or paused. Audited.',
      params: idParams,
      body: campaignBodySchema.partial(),
      response: {
        200: { description: 'the campaign' },
        400: INVALID,
        404: NOT_FOUND,
        409: WRONG_STATUS,
      },
    }),
  },
  remove: describeRoute({
    tags,
    summary: 'Delete a draft campaign',
    description: 'Only a draft; cancel a campaign that ran. Audited.',
    params: idParams,
    response: { 204: { description: 'deleted' }, 404: NOT_FOUND, 409: WRONG_STATUS },
  }),
};

/** A contacts import: JSON (documented) or a CSV file streamed as it arrives. */
const importDoc = describeRoute({
  tags,
  summary: 'Import contacts',
  description:
    'A JSON array of contacts, or `text/csv` with a header row `phone,name,…` (optional ' +
    '`timezone` and `maxAttempts` columns; every other column is a variable). Rows are checked ' +
    'one by one: bad rows are listed as rejected, the others stored; a phone already in the ' +
    'campaign is merged. Only while draft or paused. Audited.',
  params: idParams,
  body: z.array(contactDocSchema),
  response: {
    200: { description: '`{ accepted, merged, rejectedCount, rejected }`' },
    400: INVALID,
    404: NOT_FOUND,
    409: WRONG_STATUS,
  },
});

/** The status actions' descriptions. */
const actionDoc = (action: string, from: readonly string[]) =>
  describeRoute({
    tags,
    summary: `${action[0]?.toUpperCase()}${action.slice(1)} a campaign`,
    description: `Needs a campaign that is ${from.join(' or ')}. Publishes the campaign event. Audited.`,
    params: idParams,
    response: {
      200: { description: 'the campaign with `progress` and `event`' },
      404: NOT_FOUND,
      409: WRONG_STATUS,
    },
  });

const invalid = (reply: FastifyReply, issues: ValidationIssue[]) =>
  reply.code(400).send({ error: 'invalid campaign', issues });

function refusal<T>(
  reply: FastifyReply,
  result: Exclude<CampaignWrite<T>, { kind: 'ok' }>,
  what: string,
) {
  if (result.kind === 'not_found') return reply.code(404).send({ error: 'campaign not found' });
  return reply
    .code(409)
    .send({ error: `the campaign is ${result.status}: ${what}`, status: result.status });
}

/** What the database says about the agent and the from-numbers, as issues. */
async function directoryIssues(
  directory: DialingDirectory,
  fields: Partial<CampaignFields>,
): Promise<ValidationIssue[]> {
  const issues: ValidationIssue[] = [];
  if (fields.agentId !== undefined && !(await directory.agentExists(fields.agentId))) {
    issues.push({
      field: 'agentId',
      code: 'unknown_agent',
      message: 'agentId: no agent with this id',
    });
  }
  for (const [i, number] of (fields.fromNumbers ?? []).entries()) {
    if ((await directory.ourNumber(number)) === null) {
      issues.push({
        field: `fromNumbers.${i}`,
        code: 'from_not_ours',
        message: `fromNumbers.${i} is not one of our numbers`,
      });
    }
  }
  if (fields.fromPool && (await directory.poolNumbers(fields.fromPool)).length === 0) {
    issues.push({
      field: 'fromPool',
      code: 'unknown_pool',
      message: `fromPool "${fields.fromPool}" has no phone numbers (unknown or empty pool)`,
    });
  }
  return issues;
}

export async function campaignsApiRoutes(
  app: FastifyInstance,
  opts: CampaignsApiOptions,
): Promise<void> {
  const now = opts.now ?? (() => new Date());
  const store = new PrismaCampaignStore(opts.prisma);
  const importLimit = opts.importBodyLimit ?? DEFAULT_IMPORT_LIMIT;
  const actor = adminResourceAuth(app, {
    apiKeys: opts.apiKeys,
    actionFor: () => 'change campaigns',
    failureLog: 'campaign request failed',
  });

  app.removeContentTypeParser('text/plain');
  // The CSV reaches the handler as the raw stream: it is parsed as it arrives, never buffered.
  app.addContentTypeParser('text/csv', (_request, payload, done) => done(null, payload));

  app.post('/v1/campaigns', ROUTES.create, async (request, reply) => {
    const read = readCampaignBody(request.body, false);
    if (!read.ok) return invalid(reply, read.issues);
    const fields = read.fields as CampaignFields;
    const issues = [
      ...(await directoryIssues(opts.directory, fields)),
      ...campaignIssues({
        startAt: fields.startAt ?? null,
        endAt: fields.endAt ?? null,
        fromNumbers: fields.fromNumbers ?? [],
        fromPool: fields.fromPool ?? null,
      }),
    ];
    if (issues.length > 0) return invalid(reply, issues);
    const view = await store.create(fields, actor(request));
    request.log.info({ campaignId: view.id }, 'campaign created');
    return reply.code(201).send(view);
  });

  app.get('/v1/campaigns', ROUTES.list, async (request, reply) => {
    const query = request.query as { limit?: string; cursor?: string };
    const limit = query.limit === undefined ? PAGE_DEFAULT : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX) {
      return invalid(reply, [
        { field: 'limit', code: 'invalid_field', message: `limit is 1 to ${PAGE_MAX}` },
      ]);
    }
    if (query.cursor !== undefined && !UUID.test(query.cursor)) {
      return invalid(reply, [
        { field: 'cursor', code: 'invalid_field', message: 'cursor is a nextCursor of this API' },
      ]);
    }
    return reply.send(await store.list(limit, query.cursor));
  });

  app.get('/v1/campaigns/:id', ROUTES.get, async (request, reply) => {
    const { id } = request.params as { id: string };
    const row = await store.get(id);
    if (row === null) return reply.code(404).send({ error: 'campaign not found' });
    const progress = campaignProgress(await store.tally(id), row, now());
    return reply.send({ ...campaignView(row), progress });
  });

  app.patch('/v1/campaigns/:id', ROUTES.update, async (request, reply) => {
    const { id } = request.params as { id: string };
    const read = readCampaignBody(request.body, true);
    if (!read.ok) return invalid(reply, read.issues);
    const issues = await directoryIssues(opts.directory, read.fields);
    if (issues.length > 0) return invalid(reply, issues);
    const result = await store.update(id, read.fields, actor(request), campaignIssues);
    if (result.kind === 'invalid') return invalid(reply, result.issues);
    if (result.kind !== 'ok')
      return refusal(reply, result, 'it can be changed only while draft or paused');
    return reply.send(result.value);
  });

  app.delete('/v1/campaigns/:id', ROUTES.remove, async (request, reply) => {
    const { id } = request.params as { id: string };
    const result = await store.remove(id, actor(request));
    if (result.kind !== 'ok')
      return refusal(reply, result, 'only a draft can be deleted (cancel it instead)');
    request.log.info({ campaignId: id }, 'campaign deleted');
    return reply.code(204).send();
  });

  const importOptions = {
    bodyLimit: importLimit,
    ...importDoc,
    schema: { ...importDoc.schema, consumes: ['application/json', 'text/csv'] },
  };
  app.post('/v1/campaigns/:id/contacts', importOptions, async (request, reply) => {
    const { id } = request.params as { id: string };
    const type = request.headers['content-type'] ?? '';
    let rows: AsyncIterable<RawContact>;
    if (type.startsWith('text/csv')) {
      const length = Number(request.headers['content-length']);
      if (length > importLimit) throw new BodyTooLargeError(importLimit);
      rows = csvContacts(request.body as Readable, importLimit);
    } else if (Array.isArray(request.body)) {
      rows = (async function* () {
        yield* request.body as RawContact[];
      })();
    } else {
      return invalid(reply, [
        {
          field: 'body',
          code: 'invalid_field',
          message: 'send a JSON array of { phone, name?, variables? } or a text/csv file',
        },
      ]);
    }
    let result;
    try {
      result = await importContacts(opts.prisma, id, actor(request), rows, opts.importOptions);
    } catch (err) {
      if (err instanceof CsvImportError) {
        return invalid(reply, [{ field: 'body', code: 'invalid_csv', message: err.message }]);
      }
      throw err;
    }
    if (result.kind !== 'ok')
      return refusal(reply, result, 'contacts can be added only while draft or paused');
    request.log.info(
      {
        campaignId: id,
        accepted: result.value.accepted,
        merged: result.value.merged,
        rejected: result.value.rejectedCount,
      },
      'campaign contacts imported',
    );
    return reply.send(result.value);
  });

  for (const [action, spec] of Object.entries(ACTIONS)) {
    const doc = actionDoc(action, spec.from);
    app.post(`/v1/campaigns/:id/${action}`, doc, async (request, reply) => {
      const { id } = request.params as { id: string };
      const result = await store.transition(id, action, spec.from, spec.to, actor(request));
      if (result.kind !== 'ok') {
        return refusal(
          reply,
          result,
          `${action} needs a campaign that is ${spec.from.join(' or ')}`,
        );
      }
      const { campaign, tally } = result.value;
      let event: 'published' | 'not_published' = 'published';
      try {
        await publishEvent(
          opts.js,
          opts.names,
          campaignEvent(spec.event, { campaignId: id, counts: eventCounts(tally) }),
          { timeoutMs: 5_000 },
        );
      } catch (err) {
        event = 'not_published';
        request.log.error(
          { err, campaignId: id, event: spec.event },
          'campaign event not published',
        );
      }
      request.log.info(
        { campaignId: id, status: campaign.status, event: spec.event },
        'campaign status changed',
      );
      return reply.send({ ...campaign, progress: campaignProgress(tally, campaign, now()), event });
    });
  }
}
