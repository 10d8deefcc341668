/**
 * A gateway with the sign-in pieces wired as main.ts wires them (the root session plugin first,
 * then the route plugins), on its own migrated PostgreSQL database. One admin API key and one
 * user per role, all with the password {@link PASSWORD}.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { captureLogs } from '@app/platform/testing';

import { createApiKey, PrismaApiKeyStore } from '../src/adapters/api-keys.js';
import { PrismaSessionStore } from '../src/adapters/sessions.js';
import { createUser, PrismaUserStore, type UserRecord } from '../src/adapters/users.js';
import { apiKeysApiRoutes } from '../src/routes/api-keys-api.js';
import { humanAgentsApiRoutes } from '../src/routes/human-agents-api.js';
import { sessionApiRoutes } from '../src/routes/session-api.js';
import { sessionAuthPlugin, sessionCookieName } from '../src/routes/session-auth.js';
import { usersApiRoutes } from '../src/routes/users-api.js';

export const PASSWORD = 'correct horse battery staple';
export const PUBLIC_BASE_URL = 'https://voice.example.com';
export const TTL_SEC = 3_600;

export interface AuthFixture {
  db: TestDatabase;
  prisma: PrismaClient;
  app: FastifyInstance;
  sessions: PrismaSessionStore;
  adminKey: string;
  users: Record<'admin' | 'operator' | 'viewer', UserRecord>;
  cookieName: string;
  close(): Promise<void>;
}

export async function startAuthFixture(opts: { secure?: boolean } = {}): Promise<AuthFixture> {
  const secure = opts.secure ?? true;
  const db = await createTestDatabase();
  const prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 4 });
  const adminKey = (await createApiKey(prisma, { name: 'test-admin', role: 'admin' })).key;
  const users = {} as AuthFixture['users'];
  for (const role of ['admin', 'operator', 'viewer'] as const) {
    users[role] = await createUser(prisma, {
      email: `${role}@Example.COM`,
      name: `The ${role}`,
      role,
      password: PASSWORD,
    });
  }
  const apiKeys = new PrismaApiKeyStore(prisma);
  const sessions = new PrismaSessionStore(prisma, { ttlMs: TTL_SEC * 1000 });
  const cookie = { secure, ttlSec: TTL_SEC };
  const app = Fastify({ loggerInstance: captureLogs().log as FastifyBaseLogger });
  await app.register(sessionAuthPlugin, { sessions, cookie, publicBaseUrl: PUBLIC_BASE_URL });
  await app.register(sessionApiRoutes, { users: new PrismaUserStore(prisma), sessions, cookie });
  await app.register(usersApiRoutes, { apiKeys, prisma });
  await app.register(apiKeysApiRoutes, { apiKeys, prisma });
  await app.register(humanAgentsApiRoutes, { apiKeys, prisma });
  await app.ready();
  return {
    db,
    prisma,
    app,
    sessions,
    adminKey,
    users,
    cookieName: sessionCookieName(secure),
    async close() {
      await app.close();
      await sessions.settled();
      await apiKeys.settled();
      await prisma.$disconnect();
      await db.drop();
    },
  };
}

/** A signed-in browser: its cookie header and the session's CSRF token. */
export interface Browser {
  cookie: string;
  csrf: string;
}

export async function signIn(
  fx: AuthFixture,
  email: string,
  password = PASSWORD,
): Promise<Browser> {
  const res = await fx.app.inject({
    method: 'POST',
    url: '/v1/session',
    payload: { email, password },
  });
  if (res.statusCode !== 200) throw new Error(`sign-in answered ${res.statusCode}: ${res.body}`);
  const set = res.cookies.find((c) => c.name === fx.cookieName);
  if (!set) throw new Error('sign-in set no session cookie');
  return {
    cookie: `${fx.cookieName}=${set.value}`,
    csrf: res.json<{ csrfToken: string }>().csrfToken,
  };
}

/** A request as the dashboard makes it: the cookie, JSON, and the CSRF token unless told not. */
export function asBrowser(
  fx: AuthFixture,
  browser: Browser,
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  url: string,
  opts: { body?: unknown; csrf?: string | null; origin?: string } = {},
) {
  const csrf = opts.csrf === undefined ? browser.csrf : opts.csrf;
  return fx.app.inject({
    method,
    url,
    headers: {
      cookie: browser.cookie,
      ...(csrf !== null ? { 'x-csrf-token': csrf } : {}),
      ...(opts.origin !== undefined ? { origin: opts.origin } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.body !== undefined ? { payload: JSON.stringify(opts.body) } : {}),
  });
}
