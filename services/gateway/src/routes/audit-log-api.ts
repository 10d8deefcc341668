/**
 * `GET /v1/audit-log`: the audit trail, read-only (issue 10).
 *
 * - Admins only (`admin` role, key or session; 403 for the others): the trail shows who
 *   changed what across the whole platform.
 * - Read-only by construction: this plugin registers a GET and nothing else, and no other
 *   route writes `audit_logs` except the audit row of its own write. The table itself refuses
 *   UPDATE, DELETE and TRUNCATE (triggers, migration `20261125000100_audit_logs_append_only`),
 *   whatever code asks; a test holds both.
 * - Rows hold no full phone number (masked on insert by a trigger, migration
 *   `20261201040000_audit_append_only_and_retention`), so a caller's erasure leaves them as
 *   they are.
 * - Newest first, keyset pages (`nextCursor`), filters combined with AND.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';

import type { AuditLog, Prisma, PrismaClient } from '@app/db';

import type { ApiKeyStore } from '../adapters/api-keys.js';
import {
  BAD_CURSOR,
  decodeCursor,
  errorSchema,
  invalidSchema,
  issuesOf,
  pageOf,
  pageQuerySchema,
  UUID,
  type Issue,
} from './admin-resource.js';
import { adminResourceAuth } from './api-key-auth.js';
import { describeRoute } from './route-docs.js';

export interface AuditLogApiOptions {
  apiKeys: ApiKeyStore;
  prisma: PrismaClient;
}

const ADMIN_ONLY = ['admin'] as const;

const text = (what: string) => z.string().trim().min(1).max(200).optional().describe(what);
const instant = (what: string) =>
  z.iso
    .datetime({ offset: true, error: 'an ISO 8601 date-time (2026-12-01T00:00:00Z)' })
    .optional()
    .describe(what);

const listQuerySchema = pageQuerySchema
  .extend({
    actor: text('only this actor (`api-key:vpk_ab12`, `user:<id>`, `system:retention`)'),
    action: text('only this action (`agent.update`, `data_subject.erase`)'),
    resourceType: text('only this resource type (`agent`, `do_not_call_entry`)'),
    resourceId: text('only this resource (with resourceType, usually)'),
    from: instant('only rows at or after this instant'),
    to: instant('only rows before this instant'),
  })
  .strict();

const entrySchema = z.object({
  id: z.string(),
  actor: z.string(),
  action: z.string(),
  resourceType: z.string(),
  resourceId: z.string().nullable(),
  before: z.unknown().describe('the resource before the action; null on create'),
  after: z.unknown().describe('the resource after the action; null on delete'),
  at: z.string(),
});
const listSchema = z.object({ items: z.array(entrySchema), nextCursor: z.string().nullable() });

function view(row: AuditLog) {
  return {
    id: row.id,
    actor: row.actor,
    action: row.action,
    resourceType: row.resourceType,
    resourceId: row.resourceId,
    before: row.before,
    after: row.after,
    at: row.at.toISOString(),
  };
}

export async function auditLogApiRoutes(
  app: FastifyInstance,
  opts: AuditLogApiOptions,
): Promise<void> {
  const { prisma } = opts;
  adminResourceAuth(app, {
    apiKeys: opts.apiKeys,
    rolesFor: () => ADMIN_ONLY,
    actionFor: () => 'read the audit log',
    failureLog: 'audit log request failed',
  });

  const invalid = (reply: FastifyReply, issues: Issue[]) =>
    reply.code(400).send({ error: 'invalid audit log query', issues });

  app.get(
    '/v1/audit-log',
    {
      ...describeRoute({
        tags: ['Audit'],
        summary: 'List the audit trail, newest first (admins only)',
        description:
          'Every admin action with its actor, time, and the resource before and after. ' +
          'Append-only: no route changes or deletes an entry. Phone numbers appear masked ' +
          '(`+14***00`). Filters combine with AND; pass `nextCursor` back as `cursor` with the ' +
          'same filters, it is null on the last page.',
        querystring: listQuerySchema,
        response: { 200: listSchema, 400: invalidSchema, 403: errorSchema },
      }),
    },
    async (request, reply) => {
      const parsed = listQuerySchema.safeParse(request.query);
      if (!parsed.success) return invalid(reply, issuesOf(parsed.error));
      const { limit, cursor, actor, action, resourceType, resourceId, from, to } = parsed.data;
      const after = cursor === undefined ? null : decodeCursor(cursor, 2);
      const at = after ? new Date(after[0] ?? '') : null;
      if (
        cursor !== undefined &&
        (after === null || at === null || Number.isNaN(at.getTime()) || !UUID.test(after[1] ?? ''))
      ) {
        return invalid(reply, [BAD_CURSOR]);
      }
      const where: Prisma.AuditLogWhereInput = {
        ...(actor ? { actor } : {}),
        ...(action ? { action } : {}),
        ...(resourceType ? { resourceType } : {}),
        ...(resourceId ? { resourceId } : {}),
        ...(from || to
          ? {
              at: { ...(from ? { gte: new Date(from) } : {}), ...(to ? { lt: new Date(to) } : {}) },
            }
          : {}),
        ...(after && at ? { OR: [{ at: { lt: at } }, { at, id: { lt: after[1] } }] } : {}),
      };
      const rows = await prisma.auditLog.findMany({
        where,
        orderBy: [{ at: 'desc' }, { id: 'desc' }],
        take: limit + 1,
      });
      return reply.send(pageOf(rows, limit, (r) => [r.at.toISOString(), r.id], view));
    },
  );
}
