/**
 * `/v1/api-keys`: the REST API's keys, managed by admins (any other role gets 403, reads too: a
 * key list tells an attacker which key to go after).
 *
 * - `GET /v1/api-keys`: every key, newest first; never its hash.
 * - `POST /v1/api-keys` `{ name, role }`: 201 with `key`, the only time the key is shown.
 * - `DELETE /v1/api-keys/:id`: revokes (sets `revokedAt`; the row stays, for the audit trail);
 *   the key is refused from the next request on. Revoking a revoked key changes nothing.
 *
 * Every write commits with its `audit_logs` row (never the key itself).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';

import type { ApiKey, PrismaClient } from '@app/db';

import { createApiKey, type ApiKeyStore } from '../adapters/api-keys.js';
import { adminResourceAuth } from './api-key-auth.js';
import {
  errorSchema,
  idParamsSchema,
  invalidSchema,
  issuesOf,
  roleSchema,
  UUID,
  writeAudit,
} from './auth-api-common.js';
import { describeRoute } from './route-docs.js';

export interface ApiKeysApiOptions {
  apiKeys: ApiKeyStore;
  prisma: PrismaClient;
}

const BODY_LIMIT = 8 * 1024;
const TAGS = ['API keys'];
/** Far more keys than anyone keeps; bounds one answer. */
const LIST_MAX = 1_000;

const createSchema = z.strictObject({
  name: z.string().trim().min(1, 'name is required, e.g. "crm-sync"').max(200),
  role: roleSchema,
});

const apiKeySchema = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string().describe('the first characters of the key, to tell keys apart'),
  role: roleSchema,
  createdAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
});
const createdSchema = apiKeySchema.extend({
  key: z.string().describe('the key: shown this once, never stored'),
});

type KeyRow = Pick<ApiKey, 'id' | 'name' | 'prefix' | 'role' | 'createdAt'> &
  Partial<Pick<ApiKey, 'lastUsedAt' | 'revokedAt'>>;

function view(k: KeyRow): z.output<typeof apiKeySchema> {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    role: k.role,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}

/** Never `hashedKey`: the list is for people, and the hash is no business of theirs. */
const KEY_FIELDS = {
  id: true,
  name: true,
  prefix: true,
  role: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
} as const;

const notFound = (reply: FastifyReply) => reply.code(404).send({ error: 'API key not found' });

export async function apiKeysApiRoutes(
  app: FastifyInstance,
  opts: ApiKeysApiOptions,
): Promise<void> {
  const { prisma } = opts;
  const actor = adminResourceAuth(app, {
    apiKeys: opts.apiKeys,
    rolesFor: () => ['admin'],
    actionFor: () => 'manage API keys',
    failureLog: 'api key request failed',
  });

  app.get(
    '/v1/api-keys',
    {
      ...describeRoute({
        tags: TAGS,
        summary: 'List API keys',
        description: 'Newest first. Admins only. The keys themselves are never shown again.',
        response: { 200: z.object({ items: z.array(apiKeySchema) }), 403: errorSchema },
      }),
    },
    async (_request, reply) => {
      const rows = await prisma.apiKey.findMany({
        select: KEY_FIELDS,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: LIST_MAX,
      });
      return reply.send({ items: rows.map(view) });
    },
  );

  app.post(
    '/v1/api-keys',
    {
      bodyLimit: BODY_LIMIT,
      ...describeRoute({
        tags: TAGS,
        summary: 'Create an API key',
        description:
          'Answers the key once (`key`); only its SHA-256 is stored. Use it as ' +
          '`Authorization: Bearer <key>`.',
        body: createSchema,
        response: { 201: createdSchema, 400: invalidSchema, 403: errorSchema },
      }),
    },
    async (request, reply) => {
      const parsed = createSchema.safeParse(request.body);
      if (!parsed.success) {
        return reply.code(400).send({ error: 'invalid API key', issues: issuesOf(parsed.error) });
      }
      const created = await prisma.$transaction(async (tx) => {
        const row = await createApiKey(tx, parsed.data);
        const { key: _key, ...shown } = row;
        await writeAudit(tx, {
          actor: actor(request),
          action: 'api_key.create',
          resourceType: 'api_key',
          resourceId: row.id,
          before: null,
          after: view(shown),
        });
        return row;
      });
      request.log.info({ apiKeyId: created.id, keyPrefix: created.prefix }, 'api key created');
      return reply.code(201).send({ ...view(created), key: created.key });
    },
  );

  app.delete(
    '/v1/api-keys/:id',
    {
      ...describeRoute({
        tags: TAGS,
        summary: 'Revoke an API key',
        description: 'The key is refused from the next request on. The record stays.',
        params: idParamsSchema,
        response: {
          204: { description: 'revoked (or already was)' },
          403: errorSchema,
          404: errorSchema,
        },
      }),
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      if (!UUID.test(id)) return notFound(reply);
      const found = await prisma.$transaction(async (tx) => {
        const before = await tx.apiKey.findUnique({ where: { id }, select: KEY_FIELDS });
        if (before === null) return false;
        // Conditional, so two concurrent revokes write one audit row.
        const revoked = await tx.apiKey.updateMany({
          where: { id, revokedAt: null },
          data: { revokedAt: new Date() },
        });
        if (revoked.count === 0) return true;
        const after = await tx.apiKey.findUniqueOrThrow({ where: { id }, select: KEY_FIELDS });
        await writeAudit(tx, {
          actor: actor(request),
          action: 'api_key.revoke',
          resourceType: 'api_key',
          resourceId: id,
          before: view(before),
          after: view(after),
        });
        return true;
      });
      if (!found) return notFound(reply);
      return reply.code(204).send();
    },
  );
}
