/**
 * `GET /v1/audit-log` against real PostgreSQL: admins only, filters, keyset pages; and the
 * proof the trail cannot be edited: no route of any admin plugin writes under /v1/audit-log,
 * and the table refuses UPDATE, DELETE and TRUNCATE from SQL itself. Numbers are masked on
 * insert, whoever writes the row.
 */
import Fastify, { type FastifyBaseLogger, type RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureLogs } from '@app/platform/testing';

import { PrismaApiKeyStore } from '../src/adapters/api-keys.js';
import { agentsApiRoutes } from '../src/routes/agents-api.js';
import { apiKeysApiRoutes } from '../src/routes/api-keys-api.js';
import { auditLogApiRoutes } from '../src/routes/audit-log-api.js';
import { callRecordsApiRoutes } from '../src/routes/call-records-api.js';
import { dataSubjectsApiRoutes } from '../src/routes/data-subjects-api.js';
import { doNotCallApiRoutes } from '../src/routes/do-not-call-api.js';
import { httpToolsApiRoutes } from '../src/routes/http-tools-api.js';
import { humanAgentsApiRoutes } from '../src/routes/human-agents-api.js';
import { phoneNumbersApiRoutes } from '../src/routes/phone-numbers-api.js';
import { statsApiRoutes } from '../src/routes/stats-api.js';
import { usersApiRoutes } from '../src/routes/users-api.js';
import { adminApiFixture, fieldsOf, type AdminApiFixture } from './admin-api-fixture.js';

let f: AdminApiFixture;

beforeAll(async () => {
  f = await adminApiFixture([auditLogApiRoutes, doNotCallApiRoutes]);
});

afterAll(async () => {
  await f?.close();
});

type Entry = {
  id: string;
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string | null;
  before: unknown;
  after: unknown;
  at: string;
};
type Page = { items: Entry[]; nextCursor: string | null };

async function insertRow(action: string, at: string, actor = 'system:test'): Promise<void> {
  await f.prisma.auditLog.create({
    data: { actor, action, resourceType: 'thing', resourceId: action, at: new Date(at) },
  });
}

describe('audit log API', { timeout: 60_000 }, () => {
  it('lets admins only read it', async () => {
    expect((await f.call('GET', '/v1/audit-log', undefined, 'admin')).statusCode).toBe(200);
    for (const role of ['operator', 'viewer'] as const) {
      const res = await f.call('GET', '/v1/audit-log', undefined, role);
      expect(res.statusCode, role).toBe(403);
      expect(res.json<{ error: string }>().error).toMatch(/may not read the audit log/);
    }
    expect((await f.call('GET', '/v1/audit-log', undefined, null)).statusCode).toBe(401);
  });

  it('filters and pages newest first, and refuses a bad query by field', async () => {
    for (let i = 0; i < 5; i++) await insertRow(`paged.${i}`, `2026-01-0${i + 1}T00:00:00Z`);
    await insertRow('other.0', '2026-01-03T12:00:00Z', 'system:other');

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/v1/audit-log?actor=system:test&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page: Page = (await f.call('GET', query, undefined, 'admin')).json<Page>();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((e) => e.action));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(['paged.4', 'paged.3', 'paged.2', 'paged.1', 'paged.0']);

    const ranged = await f.call(
      'GET',
      '/v1/audit-log?resourceType=thing&from=2026-01-02T00:00:00Z&to=2026-01-04T00:00:00Z',
      undefined,
      'admin',
    );
    expect(ranged.json<Page>().items.map((e) => e.action)).toEqual([
      'other.0',
      'paged.2',
      'paged.1',
    ]);
    const one = await f.call('GET', '/v1/audit-log?action=paged.3', undefined, 'admin');
    expect(one.json<Page>().items).toMatchObject([
      { actor: 'system:test', action: 'paged.3', resourceType: 'thing', resourceId: 'paged.3' },
    ]);

    const bad = await f.call(
      'GET',
      '/v1/audit-log?from=yesterday&limit=0&colour=red',
      undefined,
      'admin',
    );
    expect(bad.statusCode).toBe(400);
    expect(fieldsOf(bad).sort()).toEqual(['colour', 'from', 'limit']);
    expect(fieldsOf(await f.call('GET', '/v1/audit-log?cursor=abc', undefined, 'admin'))).toEqual([
      'cursor',
    ]);
  });

  it('holds admin actions with actor, time, before and after, numbers masked', async () => {
    const created = await f.call('POST', '/v1/do-not-call', { phone: '+14155550199' }, 'admin');
    expect(created.statusCode).toBe(201);
    const id = created.json<{ id: string }>().id;
    const page = (
      await f.call(
        'GET',
        `/v1/audit-log?resourceType=do_not_call_entry&resourceId=${id}`,
        undefined,
        'admin',
      )
    ).json<Page>();
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({
      actor: expect.stringMatching(/^api-key:vpk_/) as unknown,
      action: 'do_not_call.create',
      before: null,
      after: { phone: '+14***99', source: 'api' },
    });
    expect(Date.now() - Date.parse(page.items[0]?.at ?? '')).toBeLessThan(10 * 60_000);
    // The trigger masks whatever the writer sends, anywhere in the row.
    await f.prisma.auditLog.create({
      data: {
        actor: 'system:test',
        action: 'mask.check',
        resourceType: 'thing',
        resourceId: '+442071838750',
        before: { note: 'call +14155550123 back', list: ['+33612345678'] },
        after: { count: 12345678901234 },
      },
    });
    const masked = await f.prisma.auditLog.findFirstOrThrow({ where: { action: 'mask.check' } });
    expect(masked).toMatchObject({
      resourceId: '+44***50',
      before: { note: 'call +14***23 back', list: ['+33***78'] },
      after: { count: 12345678901234 },
    });
  });

  it('has no route that writes it: every audit-log route of every admin plugin is a read', async () => {
    const routes: Array<Pick<RouteOptions, 'method' | 'url'>> = [];
    const app = Fastify({ loggerInstance: captureLogs().log as FastifyBaseLogger });
    app.addHook('onRoute', (route) => {
      routes.push({ method: route.method, url: route.url });
    });
    const apiKeys = new PrismaApiKeyStore(f.prisma);
    for (const plugin of [
      auditLogApiRoutes,
      dataSubjectsApiRoutes,
      agentsApiRoutes,
      phoneNumbersApiRoutes,
      doNotCallApiRoutes,
      callRecordsApiRoutes,
      statsApiRoutes,
      humanAgentsApiRoutes,
      httpToolsApiRoutes,
      usersApiRoutes,
      apiKeysApiRoutes,
    ]) {
      await app.register(plugin, { apiKeys, prisma: f.prisma });
    }
    await app.ready();
    const audit = routes.filter((r) => r.url.startsWith('/v1/audit-log'));
    expect(audit.flatMap((r) => [r.method].flat()).sort()).toEqual(['GET', 'HEAD']);
    expect(routes.length).toBeGreaterThan(20);
    await app.close();

    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      for (const url of ['/v1/audit-log', '/v1/audit-log/00000000-0000-0000-0000-000000000000']) {
        const res = await f.call(method, url, {}, 'admin');
        expect(res.statusCode, `${method} ${url}`).toBe(404);
      }
    }
  });

  it('is append-only in the database: UPDATE, DELETE and TRUNCATE are refused', async () => {
    await insertRow('sql.check', '2026-02-01T00:00:00Z');
    const before = await f.prisma.auditLog.count();
    await expect(
      f.prisma.$executeRawUnsafe(`UPDATE audit_logs SET actor = 'someone else'`),
    ).rejects.toThrow(/append-only: UPDATE is not allowed/);
    await expect(
      f.prisma.$executeRawUnsafe(`DELETE FROM audit_logs WHERE action = 'sql.check'`),
    ).rejects.toThrow(/append-only: DELETE is not allowed/);
    await expect(f.prisma.$executeRawUnsafe('TRUNCATE audit_logs')).rejects.toThrow(
      /append-only: TRUNCATE is not allowed/,
    );
    await expect(
      f.prisma.auditLog.update({
        where: { id: (await f.prisma.auditLog.findFirstOrThrow()).id },
        data: { actor: 'x' },
      }),
    ).rejects.toThrow(/append-only/);
    expect(await f.prisma.auditLog.count()).toBe(before);
    expect(await f.prisma.auditLog.count({ where: { actor: 'someone else' } })).toBe(0);
  });
});
