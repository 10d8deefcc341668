/**
 * `/v1/users` against real PostgreSQL: admins create, list, rename, re-role and disable users;
 * no answer carries a password; disabling ends sessions; every write is audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { seed } from '../../../prisma/seed.js';
import { asBrowser, signIn, startAuthFixture, type AuthFixture } from './auth-fixture.js';

let fx: AuthFixture;

beforeAll(async () => {
  fx = await startAuthFixture();
}, 60_000);

afterAll(async () => {
  await fx?.close();
});

const withKey = (method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown) =>
  fx.app.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${fx.adminKey}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });

interface UserView {
  id: string;
  email: string;
  name: string;
  role: string;
  disabledAt: string | null;
}

const NEW_PASSWORD = 'a long enough password';

describe('users API', { timeout: 60_000 }, () => {
  it('creates a user who can sign in, lists and reads users, never with a password', async () => {
    const created = await withKey('POST', '/v1/users', {
      email: 'Carol@Example.com',
      name: 'Carol',
      role: 'operator',
      password: NEW_PASSWORD,
    });
    expect(created.statusCode).toBe(201);
    const carol = created.json<UserView>();
    expect(carol).toMatchObject({ email: 'carol@example.com', role: 'operator', disabledAt: null });
    await signIn(fx, 'carol@example.com', NEW_PASSWORD);

    const list = await withKey('GET', '/v1/users');
    expect(list.statusCode).toBe(200);
    expect(list.json<{ items: UserView[] }>().items.map((u) => u.email)).toEqual(
      expect.arrayContaining(['admin@example.com', 'carol@example.com']),
    );
    const one = await withKey('GET', `/v1/users/${carol.id}`);
    expect(one.json()).toMatchObject({ id: carol.id, name: 'Carol' });
    for (const body of [created.body, list.body, one.body]) {
      expect(body).not.toMatch(/password|scrypt/i);
    }
    expect((await withKey('GET', `/v1/users/${crypto.randomUUID()}`)).statusCode).toBe(404);

    const taken = await withKey('POST', '/v1/users', {
      email: 'CAROL@example.com',
      name: 'Carol 2',
      role: 'viewer',
      password: NEW_PASSWORD,
    });
    expect(taken.statusCode).toBe(409);
  });

  it('refuses a short password, a bad email and an unknown role', async () => {
    const res = await withKey('POST', '/v1/users', {
      email: 'not-an-email',
      name: 'X',
      role: 'root',
      password: 'short',
    });
    expect(res.statusCode).toBe(400);
    const fields = res.json<{ issues: Array<{ field: string }> }>().issues.map((i) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['email', 'role', 'password']));
  });

  it('updates name and role, disables a user (ending their sessions), audited', async () => {
    const dave = (
      await withKey('POST', '/v1/users', {
        email: 'dave@example.com',
        name: 'Dave',
        role: 'viewer',
        password: NEW_PASSWORD,
      })
    ).json<UserView>();
    const daveBrowser = await signIn(fx, 'dave@example.com', NEW_PASSWORD);

    const admin = await signIn(fx, 'admin@example.com');
    const promoted = await asBrowser(fx, admin, 'PATCH', `/v1/users/${dave.id}`, {
      body: { name: 'David', role: 'operator' },
    });
    expect(promoted.statusCode).toBe(200);
    expect(promoted.json()).toMatchObject({ name: 'David', role: 'operator' });
    // The role is read on every request: Dave's open session may write now.
    const write = await asBrowser(fx, daveBrowser, 'POST', '/v1/human-agents', {
      body: { name: 'Dave desk', phoneNumber: '+15555550170' },
    });
    expect(write.statusCode).toBe(201);

    const disabled = await asBrowser(fx, admin, 'PATCH', `/v1/users/${dave.id}`, {
      body: { disabled: true },
    });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json<UserView>().disabledAt).not.toBeNull();
    expect((await asBrowser(fx, daveBrowser, 'GET', '/v1/session')).statusCode).toBe(401);
    const again = await fx.app.inject({
      method: 'POST',
      url: '/v1/session',
      payload: { email: 'dave@example.com', password: NEW_PASSWORD },
    });
    expect(again.statusCode).toBe(401);
    // Enabled again: signs in anew; the session from before stays revoked.
    await asBrowser(fx, admin, 'PATCH', `/v1/users/${dave.id}`, { body: { disabled: false } });
    await signIn(fx, 'dave@example.com', NEW_PASSWORD);
    expect((await asBrowser(fx, daveBrowser, 'GET', '/v1/session')).statusCode).toBe(401);

    const audit = await fx.prisma.auditLog.findMany({
      where: { resourceType: 'user', resourceId: dave.id },
      orderBy: { at: 'asc' },
    });
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ['user.create', expect.stringMatching(/^api-key:vpk_/)],
      ['user.update', `user:${fx.users.admin.id}`],
      ['user.update', `user:${fx.users.admin.id}`],
      ['user.update', `user:${fx.users.admin.id}`],
    ]);
    expect(JSON.stringify(audit)).not.toMatch(/scrypt|password/i);
  });

  it('a new password ends the sessions, and an admin cannot disable or demote themselves', async () => {
    const admin = await signIn(fx, 'admin@example.com');
    const self = await asBrowser(fx, admin, 'PATCH', `/v1/users/${fx.users.admin.id}`, {
      body: { role: 'viewer' },
    });
    expect(self.statusCode).toBe(409);
    const selfDisable = await asBrowser(fx, admin, 'PATCH', `/v1/users/${fx.users.admin.id}`, {
      body: { disabled: true },
    });
    expect(selfDisable.statusCode).toBe(409);

    const viewer = await signIn(fx, 'viewer@example.com');
    const reset = await asBrowser(fx, admin, 'PATCH', `/v1/users/${fx.users.viewer.id}`, {
      body: { password: NEW_PASSWORD },
    });
    expect(reset.statusCode).toBe(200);
    expect((await asBrowser(fx, viewer, 'GET', '/v1/session')).statusCode).toBe(401);
    await signIn(fx, 'viewer@example.com', NEW_PASSWORD);
  });

  it('refuses operators and viewers', async () => {
    const operator = await signIn(fx, 'operator@example.com');
    const res = await asBrowser(fx, operator, 'GET', '/v1/users');
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ error: 'role operator may not manage users (admin may)' });
  });

  it('the dev seed makes admin@example.com an admin who signs in with the dev password', async () => {
    await seed(fx.prisma);
    await seed(fx.prisma);
    const res = await fx.app.inject({
      method: 'POST',
      url: '/v1/session',
      payload: { email: 'admin@example.com', password: 'admin-dev-password' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ user: { email: 'admin@example.com', role: 'admin' } });
  });
});
