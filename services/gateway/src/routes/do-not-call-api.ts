/**
 * `/v1/do-not-call`: numbers that must never be dialled (issue 9).
 *
 * - Auth (`api-key-auth.ts`): any role reads, `admin`/`operator` write (403 else).
 * - Numbers are normalised with `@app/dialing` `parsePhone`, as the dialer normalises a call's
 *   `to` before its exact lookup in `do_not_call_entries` (`validateCallRequest` at intake, and
 *   again before each attempt): `+1 (415) 555-0100` listed here is the `+14155550100` refused
 *   there, including calls already queued.
 * - `POST` is idempotent: a number already listed answers 200 with the entry as it is (its
 *   reason and source unchanged, no audit row: nothing was written); a new one 201.
 * - `DELETE /v1/do-not-call/:phone` takes the number URL-encoded (`%2B14155550100`).
 * - Every write commits with its `audit_logs` row (`do_not_call.create`, `do_not_call.delete`).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

import type { DoNotCallEntry } from '@app/db';
import { parsePhone } from '@app/dialing';

import {
  adminResource,
  errorSchema,
  invalidSchema,
  issuesOf,
  isUniqueViolation,
  pageOf,
  pageQuerySchema,
  readListQuery,
  UUID,
  type AdminResourceOptions,
} from './admin-resource.js';
import { describeRoute } from './route-docs.js';

export type DoNotCallApiOptions = AdminResourceOptions;

/** A cursor's keys: the ISO `createdAt` and the id of the last entry of a page. */
const validCursorKeys = ([at, id]: readonly string[]) =>
  !Number.isNaN(new Date(at ?? '').getTime()) && UUID.test(id ?? '');

const BODY_LIMIT = 8 * 1024;
const TAGS = ['Do not call'];
/** `do_not_call_entries.source` of the entries this API adds. */
const SOURCE = 'api';

/** A phone number in international format, normalised to E.164 (issues name `field`). */
const phoneOf = (field: string) =>
  z
    .string()
    .max(64)
    .describe('international format (+14155550100); stored as E.164')
    .transform((raw, ctx) => {
      const parsed = parsePhone(field, raw);
      if (parsed.ok) return parsed.e164;
      ctx.addIssue({ code: 'custom', message: parsed.issue.message });
      return z.NEVER;
    });

const createSchema = z.strictObject({
  phone: phoneOf('phone'),
  reason: z.string().trim().min(1, 'reason is null or some text').max(500).nullable().optional(),
});
const listQuerySchema = pageQuerySchema.extend({
  phone: z
    .string()
    // A `+` left unencoded in a query string arrives as a space (form encoding): `?phone=+1415…`
    // means `+1415…`, and a number without its `+` would be refused anyway.
    .transform((v) => v.replace(/^ (?=\d)/, '+'))
    .pipe(phoneOf('phone'))
    .optional()
    .describe('only this number (any international format)'),
});
const phoneParamsSchema = z.object({
  phone: phoneOf('phone').describe('the number, URL-encoded (%2B14155550100)'),
});

const entrySchema = z.object({
  id: z.string(),
  phone: z.string(),
  reason: z.string().nullable(),
  source: z
    .string()
    .describe('api, import, voice (the caller asked during a call: callId names it)'),
  callId: z.string().nullable().describe('the call in which the caller opted out (source voice)'),
  createdAt: z.string(),
});
const listSchema = z.object({ items: z.array(entrySchema), nextCursor: z.string().nullable() });

function view(e: DoNotCallEntry) {
  return {
    id: e.id,
    phone: e.phone,
    reason: e.reason,
    source: e.source,
    callId: e.callId,
    createdAt: e.createdAt.toISOString(),
  };
}

export async function doNotCallApiRoutes(
  app: FastifyInstance,
  opts: DoNotCallApiOptions,
): Promise<void> {
  const { prisma } = opts;
  // Its 404 names the number (`this number is not on the list`), not the entry: no `notFound`.
  const { invalid, audited } = adminResource(app, opts, {
    noun: 'do-not-call entry',
    action: 'change the do-not-call list',
    failureLog: 'do-not-call request failed',
    resourceType: 'do_not_call_entry',
    view,
  });

  app.get(
    '/v1/do-not-call',
    {
      ...describeRoute({
        tags: TAGS,
        summary: 'List do-not-call entries',
        description: 'Newest first; `nextCursor` is null on the last page.',
        querystring: listQuerySchema,
        response: { 200: listSchema, 400: invalidSchema },
      }),
    },
    async (request, reply) => {
      const query = readListQuery(listQuerySchema, request.query, 2, validCursorKeys);
      if (!query.ok) return invalid(reply, query.issues);
      const { data, after } = query;
      const { limit, phone } = data;
      const at = after ? new Date(after[0] ?? '') : null;
      const rows = await prisma.doNotCallEntry.findMany({
        where: {
          ...(phone ? { phone } : {}),
          ...(after && at
            ? { OR: [{ createdAt: { lt: at } }, { createdAt: at, id: { lt: after[1] } }] }
            : {}),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit + 1,
      });
      return reply.send(pageOf(rows, limit, (e) => [e.createdAt.toISOString(), e.id], view));
    },
  );

  app.post(
    '/v1/do-not-call',
    {
      bodyLimit: BODY_LIMIT,
      ...describeRoute({
        tags: TAGS,
        summary: 'Add a number to the do-not-call list',
        description:
          'Idempotent: a number already listed answers 200 with its entry unchanged. Queued ' +
          'calls to it are refused before they are placed.',
        body: createSchema,
        response: { 200: entrySchema, 201: entrySchema, 400: invalidSchema },
      }),
    },
    async (request, reply) => {
      const parsed = createSchema.safeParse(request.body);
      if (!parsed.success) return invalid(reply, issuesOf(parsed.error));
      const { phone, reason } = parsed.data;
      const existing = await prisma.doNotCallEntry.findUnique({ where: { phone } });
      if (existing !== null) return reply.code(200).send(view(existing));
      try {
        const created = await prisma.$transaction(async (tx) => {
          const row = await tx.doNotCallEntry.create({
            data: { phone, reason: reason ?? null, source: SOURCE },
          });
          await audited(tx, request, 'do_not_call.create', row.id, null, row);
          return row;
        });
        request.log.info({ dncEntryId: created.id }, 'number added to the do-not-call list');
        return reply.code(201).send(view(created));
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        // Listed by a concurrent request since our read: the same answer as if it were first.
        const row = await prisma.doNotCallEntry.findUnique({ where: { phone } });
        if (row === null) throw err;
        return reply.code(200).send(view(row));
      }
    },
  );

  app.delete(
    '/v1/do-not-call/:phone',
    {
      ...describeRoute({
        tags: TAGS,
        summary: 'Remove a number from the do-not-call list',
        params: phoneParamsSchema,
        response: { 204: { description: 'removed' }, 400: invalidSchema, 404: errorSchema },
      }),
    },
    async (request, reply) => {
      const parsed = phoneParamsSchema.safeParse(request.params);
      if (!parsed.success) return invalid(reply, issuesOf(parsed.error));
      const { phone } = parsed.data;
      const deleted = await prisma.$transaction(async (tx) => {
        const before = await tx.doNotCallEntry.findUnique({ where: { phone } });
        if (before === null) return false;
        // deleteMany: a concurrent delete makes this one find nothing, not throw.
        const { count } = await tx.doNotCallEntry.deleteMany({ where: { id: before.id } });
        if (count === 0) return false;
        await audited(tx, request, 'do_not_call.delete', before.id, before, null);
        return true;
      });
      if (!deleted) return reply.code(404).send({ error: 'this number is not on the list' });
      request.log.info('number removed from the do-not-call list');
      return reply.code(204).send();
    },
  );
}
