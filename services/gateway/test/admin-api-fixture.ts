/**
 * One gateway-like app with a plugin under test on a fresh PostgreSQL database, an API key per
 * role, and `call()` to send a request as one of them (or anonymously).
 */
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  type LightMyRequestResponse,
} from 'fastify';
import { expect } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { captureLogs } from '@app/platform/testing';

import { createApiKey, PrismaApiKeyStore, type ApiKeyStore } from '../src/adapters/api-keys.js';

export type Role = 'admin' | 'operator' | 'viewer';

export interface AdminApiFixture {
  db: TestDatabase;
  prisma: PrismaClient;
  app: FastifyInstance;
  keys: Record<Role, string>;
  call: (
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    url: string,
    body?: unknown,
    as?: Role | null,
  ) => Promise<LightMyRequestResponse>;
  close: () => Promise<void>;
}

export async function adminApiFixture(
  plugins: Array<FastifyPluginAsync<{ apiKeys: ApiKeyStore; prisma: PrismaClient }>>,
): Promise<AdminApiFixture> {
  const db = await createTestDatabase();
  const prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 4 });
  const keys = { admin: '', operator: '', viewer: '' };
  for (const role of ['admin', 'operator', 'viewer'] as const) {
    keys[role] = (await createApiKey(prisma, { name: `test-${role}`, role })).key;
  }
  const app = Fastify({ loggerInstance: captureLogs().log as FastifyBaseLogger });
  const apiKeys = new PrismaApiKeyStore(prisma);
  for (const plugin of plugins) await app.register(plugin, { apiKeys, prisma });
  await app.ready();
  return {
    db,
    prisma,
    app,
    keys,
    call: (method, url, body, as = 'operator') =>
      app.inject({
        method,
        url,
        headers: {
          ...(as !== null ? { authorization: `Bearer ${keys[as]}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      }),
    close: async () => {
      await app.close();
      await prisma.$disconnect();
      await db.drop();
    },
  };
}

/** The `field`s of a 400's issues. */
export const fieldsOf = (res: { json: <T>() => T }) =>
  res.json<{ issues: Array<{ field: string }> }>().issues.map((i) => i.field);

/**
 * Every item of a list, walked page by page from `url` (which sets `limit`) as `as`, following
 * each `nextCursor`; each page must answer 200. Stops after 10 pages, so a cursor that never ends
 * fails the test's count instead of hanging it.
 */
export async function walkPages<T>(
  f: AdminApiFixture,
  url: string,
  as: Role = 'viewer',
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const after: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const res = await f.call('GET', `${url}${after}`, undefined, as);
    expect(res.statusCode).toBe(200);
    const page = res.json<{ items: T[]; nextCursor: string | null }>();
    items.push(...page.items);
    cursor = page.nextCursor;
    pages += 1;
  } while (cursor !== null && pages < 10);
  return { items, pages };
}
