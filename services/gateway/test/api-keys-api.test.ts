/**
 * `/v1/api-keys` against real PostgreSQL: admins create (the key shown once), list (never the
 * hash) and revoke keys; a revoked key is refused from then on; other roles get 403; every write
 * has its audit row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiKey, hashApiKey } from '../src/adapters/api-keys.js';
import { asBrowser, signIn, startAuthFixture, type AuthFixture } from './auth-fixture.js';

let fx: AuthFixture;

beforeAll(async () => {
  fx = await startAuthFixture();
}, 60_000);

afterAll(async () => {
  await fx?.close();
});

const withKey = (key: string, method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) =>
  fx.app.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });

interface KeyView {
  id: string;
  name: string;
  prefix: string;
  role: string;
  revokedAt: string | null;
  key?: string;
}

describe('API keys API', { timeout: 60_000 }, () => {
  it('shows a new key once, lists it without it, and refuses it once revoked', async () => {
    const created = await withKey(fx.adminKey, 'POST', '/v1/api-keys', {
      name: ' crm-sync ',
      role: 'operator',
    });
    expect(created.statusCode).toBe(201);
    const key = created.json<KeyView>();
    expect(key).toMatchObject({ name: 'crm-sync', role: 'operator', revokedAt: null });
    expect(key.key).toMatch(/^vpk_[A-Za-z0-9_-]{43}$/);
    expect(key.prefix).toBe(key.key?.slice(0, 12));
    const stored = await fx.prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(stored.hashedKey).toBe(hashApiKey(key.key ?? ''));

    // The new key works (an operator reads the admin resources).
    expect((await withKey(key.key ?? '', 'GET', '/v1/human-agents')).statusCode).toBe(200);

    const list = await withKey(fx.adminKey, 'GET', '/v1/api-keys');
    expect(list.statusCode).toBe(200);
    const items = list.json<{ items: KeyView[] }>().items;
    const listed = items.find((k) => k.id === key.id);
    expect(listed).toMatchObject({ name: 'crm-sync', prefix: key.prefix });
    expect(list.body).not.toContain(key.key);
    expect(list.body).not.toContain(stored.hashedKey);
    expect(list.body).not.toMatch(/hashedKey/);

    expect((await withKey(fx.adminKey, 'DELETE', `/v1/api-keys/${key.id}`)).statusCode).toBe(204);
    const refused = await withKey(key.key ?? '', 'GET', '/v1/human-agents');
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toEqual({ error: 'invalid or revoked API key' });
    // Revoking again changes nothing, an unknown id is 404.
    expect((await withKey(fx.adminKey, 'DELETE', `/v1/api-keys/${key.id}`)).statusCode).toBe(204);
    expect(
      (await withKey(fx.adminKey, 'DELETE', `/v1/api-keys/${crypto.randomUUID()}`)).statusCode,
    ).toBe(404);

    const audit = await fx.prisma.auditLog.findMany({
      where: { resourceType: 'api_key', resourceId: key.id },
      orderBy: { at: 'asc' },
    });
    expect(audit.map((a) => a.action)).toEqual(['api_key.create', 'api_key.revoke']);
    expect(audit[0]?.actor).toMatch(/^api-key:vpk_/);
    expect(JSON.stringify(audit)).not.toContain(key.key);
  });

  it('lets a signed-in admin manage keys, audited as user:<id>', async () => {
    const browser = await signIn(fx, 'admin@example.com');
    const created = await asBrowser(fx, browser, 'POST', '/v1/api-keys', {
      body: { name: 'from-dashboard', role: 'viewer' },
    });
    expect(created.statusCode).toBe(201);
    const { id } = created.json<KeyView>();
    const audit = await fx.prisma.auditLog.findFirstOrThrow({
      where: { resourceType: 'api_key', resourceId: id },
    });
    expect(audit.actor).toBe(`user:${fx.users.admin.id}`);
  });

  it('refuses operators and viewers, reads too, and bad input', async () => {
    const operatorKey = (await createApiKey(fx.prisma, { name: 'op', role: 'operator' })).key;
    const read = await withKey(operatorKey, 'GET', '/v1/api-keys');
    expect(read.statusCode).toBe(403);
    expect(read.json()).toEqual({
      error: 'role operator may not manage API keys (admin may)',
    });
    const viewer = await signIn(fx, 'viewer@example.com');
    expect((await asBrowser(fx, viewer, 'GET', '/v1/api-keys')).statusCode).toBe(403);
    const operator = await signIn(fx, 'operator@example.com');
    const write = await asBrowser(fx, operator, 'POST', '/v1/api-keys', {
      body: { name: 'x', role: 'admin' },
    });
    expect(write.statusCode).toBe(403);

    const bad = await withKey(fx.adminKey, 'POST', '/v1/api-keys', {
      name: '',
      role: 'root',
      extra: 1,
    });
    expect(bad.statusCode).toBe(400);
    const fields = bad.json<{ issues: Array<{ field: string }> }>().issues.map((i) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'role', 'extra']));
    expect((await fx.app.inject({ method: 'GET', url: '/v1/api-keys' })).statusCode).toBe(401);
  });
});
