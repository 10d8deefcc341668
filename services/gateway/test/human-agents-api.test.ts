/**
 * `/v1/human-agents` against real PostgreSQL: CRUD with roles, validation, presence and the
 * idle clock the handoff service routes on, and the audit rows of writes.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { captureLogs } from '@app/platform/testing';

import { createApiKey, PrismaApiKeyStore } from '../src/adapters/api-keys.js';
import { humanAgentsApiRoutes } from '../src/routes/human-agents-api.js';

let db: TestDatabase;
let prisma: PrismaClient;
let app: FastifyInstance;
const keys = { admin: '', operator: '', viewer: '' };

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 4 });
  for (const role of ['admin', 'operator', 'viewer'] as const) {
    keys[role] = (await createApiKey(prisma, { name: `test-${role}`, role })).key;
  }
  app = Fastify({ loggerInstance: captureLogs().log as FastifyBaseLogger });
  await app.register(humanAgentsApiRoutes, { apiKeys: new PrismaApiKeyStore(prisma), prisma });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await prisma?.$disconnect();
  await db?.drop();
});

function call(
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  url: string,
  body?: unknown,
  key: string | null = keys.operator,
) {
  return app.inject({
    method,
    url,
    headers: {
      ...(key !== null ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
}

describe('human-agents API', () => {
  it('creates, reads, updates and deletes a human, with an audit row per write', async () => {
    const created = await call('POST', '/v1/human-agents', {
      name: 'Alice',
      skills: ['billing', 'billing', 'spanish'],
      phoneNumber: '+15555550177',
    });
    expect(created.statusCode).toBe(201);
    const alice = created.json<{ id: string; skills: string[]; status: string }>();
    expect(alice.skills).toEqual(['billing', 'spanish']);
    expect(alice.status).toBe('offline');

    const read = await call('GET', `/v1/human-agents/${alice.id}`, undefined, keys.viewer);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ name: 'Alice', phoneNumber: '+15555550177' });

    const patched = await call('PATCH', `/v1/human-agents/${alice.id}`, {
      sipUri: 'sip:alice@pbx.example.com',
      skills: ['billing'],
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({
      sipUri: 'sip:alice@pbx.example.com',
      skills: ['billing'],
    });

    const bySkill = await call('GET', '/v1/human-agents?skill=billing', undefined, keys.viewer);
    expect(bySkill.json<{ items: Array<{ id: string }> }>().items.map((h) => h.id)).toContain(
      alice.id,
    );

    expect((await call('DELETE', `/v1/human-agents/${alice.id}`)).statusCode).toBe(204);
    expect((await call('GET', `/v1/human-agents/${alice.id}`)).statusCode).toBe(404);
    const audit = await prisma.auditLog.findMany({
      where: { resourceType: 'human_agent', resourceId: alice.id },
      orderBy: { at: 'asc' },
    });
    expect(audit.map((a) => a.action)).toEqual([
      'human_agent.create',
      'human_agent.update',
      'human_agent.delete',
    ]);
    expect(audit[0]?.actor).toMatch(/^api-key:vpk_/);
  });

  it('refuses bad input, unreachable humans, anonymous callers and viewers that write', async () => {
    const bad = await call('POST', '/v1/human-agents', {
      name: '',
      phoneNumber: '5550177',
      skills: ['Not A Skill'],
      extra: true,
    });
    expect(bad.statusCode).toBe(400);
    const fields = bad.json<{ issues: Array<{ field: string }> }>().issues.map((i) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'phoneNumber', 'skills.0', '(body)']));

    const unreachable = await call('POST', '/v1/human-agents', { name: 'Nobody' });
    expect(unreachable.statusCode).toBe(400);
    expect(unreachable.json()).toMatchObject({ issues: [{ code: 'unreachable' }] });

    expect((await call('GET', '/v1/human-agents', undefined, null)).statusCode).toBe(401);
    const viewer = await call(
      'POST',
      '/v1/human-agents',
      { name: 'V', phoneNumber: '+15555550178' },
      keys.viewer,
    );
    expect(viewer.statusCode).toBe(403);

    const a = await call('POST', '/v1/human-agents', {
      name: 'C1',
      twilioClientIdentity: 'desk_1',
    });
    expect(a.statusCode).toBe(201);
    const dup = await call('POST', '/v1/human-agents', {
      name: 'C2',
      twilioClientIdentity: 'desk_1',
    });
    expect(dup.statusCode).toBe(409);
  });

  it('presence: available starts the idle clock, a repeat keeps it, busy clears it', async () => {
    const id = (
      await call('POST', '/v1/human-agents', { name: 'Bob', phoneNumber: '+15555550179' })
    ).json<{ id: string }>().id;
    const first = await call('PUT', `/v1/human-agents/${id}/presence`, { status: 'available' });
    expect(first.statusCode).toBe(200);
    const since = first.json<{ availableSince: string; status: string }>();
    expect(since.status).toBe('available');
    expect(since.availableSince).not.toBeNull();

    const again = await call('PUT', `/v1/human-agents/${id}/presence`, { status: 'available' });
    expect(again.json<{ availableSince: string }>().availableSince).toBe(since.availableSince);

    const busy = await call('PUT', `/v1/human-agents/${id}/presence`, { status: 'busy' });
    expect(busy.json()).toMatchObject({ status: 'busy', availableSince: null });

    const wrong = await call('PUT', `/v1/human-agents/${id}/presence`, { status: 'asleep' });
    expect(wrong.statusCode).toBe(400);
    expect(
      (await call('PUT', `/v1/human-agents/${crypto.randomUUID()}/presence`, { status: 'busy' }))
        .statusCode,
    ).toBe(404);

    const available = await call('GET', '/v1/human-agents?status=busy', undefined, keys.viewer);
    expect(available.json<{ items: Array<{ id: string }> }>().items.map((h) => h.id)).toEqual([id]);
  });
});
