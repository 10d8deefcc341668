/**
 * Tests that try to get in (issue 10): missing, wrong and revoked API keys and sessions, and
 * role escalation, against the gateway wired as main.ts wires it (./security-fixture.ts), with
 * real PostgreSQL and NATS. Every refusal is also checked to have changed nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { API_KEY_PREFIX } from '../src/adapters/api-keys.js';
import { PUBLIC_BASE_URL, securityFixture, type SecurityFixture } from './security-fixture.js';

let f: SecurityFixture;

beforeAll(async () => {
  f = await securityFixture();
}, 120_000);

afterAll(async () => {
  await f?.close();
});

/** A read and a write of every REST resource: what an intruder would try first. */
const PROTECTED: Array<['GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', string, unknown?]> = [
  ['GET', '/v1/agents'],
  ['POST', '/v1/agents', { name: 'intruder', instructions: 'x' }],
  ['GET', '/v1/calls'],
  ['GET', '/v1/calls/export.csv'],
  ['POST', '/v1/calls', { to: '+15555550142', agentId: '00000000-0000-4000-8000-000000000000' }],
  ['GET', '/v1/stats'],
  ['GET', '/v1/campaigns'],
  ['POST', '/v1/campaigns', { name: 'intruder', agentId: '00000000-0000-4000-8000-000000000000' }],
  ['GET', '/v1/phone-numbers'],
  ['GET', '/v1/do-not-call'],
  ['POST', '/v1/do-not-call', { phoneNumber: '+15555550142' }],
  ['GET', '/v1/human-agents'],
  ['GET', '/v1/http-tools'],
  ['GET', '/v1/users'],
  [
    'POST',
    '/v1/users',
    { email: 'x@example.com', name: 'x', role: 'admin', password: 'p'.repeat(12) },
  ],
  ['GET', '/v1/api-keys'],
  ['POST', '/v1/api-keys', { name: 'intruder', role: 'admin' }],
];

/** What the refusals must not have changed. */
async function counts() {
  const [agents, users, apiKeys, campaigns, dnc] = await Promise.all([
    f.prisma.agent.count(),
    f.prisma.user.count(),
    f.prisma.apiKey.count(),
    f.prisma.campaign.count(),
    f.prisma.doNotCallEntry.count(),
  ]);
  return { agents, users, apiKeys, campaigns, dnc };
}

function withAuthorization(authorization: string | undefined, cookie?: string) {
  return async ([method, url, body]: (typeof PROTECTED)[number]) =>
    f.inject({
      method,
      url,
      headers: {
        ...(authorization !== undefined ? { authorization } : {}),
        ...(cookie !== undefined ? { cookie } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
}

describe('security - who may get in', { timeout: 120_000 }, () => {
  it('refuses every route without credentials, with a wrong, malformed or revoked key: 401, nothing changed', async () => {
    const before = await counts();
    const validLooking = `${API_KEY_PREFIX}${'A'.repeat(43)}`;
    const attempts: Array<[string, string | undefined]> = [
      ['none', undefined],
      ['empty bearer', 'Bearer '],
      ['wrong key', `Bearer ${validLooking}`],
      ['admin key with a character added', `Bearer ${f.keys.admin}x`],
      ['admin key cut short', `Bearer ${f.keys.admin.slice(0, -1)}`],
      ['revoked key', `Bearer ${f.keys.revoked}`],
      ['another scheme', `Basic ${Buffer.from(`admin:${f.keys.admin}`).toString('base64')}`],
      ['SQL in the key', "Bearer ' OR '1'='1"],
      ['a lone prefix', `Bearer ${API_KEY_PREFIX}`],
    ];
    for (const [label, authorization] of attempts) {
      const send = withAuthorization(authorization);
      for (const route of PROTECTED) {
        const res = await send(route);
        expect(res.statusCode, `${label}: ${route[0]} ${route[1]}`).toBe(401);
        expect(res.headers['www-authenticate'], label).toMatch(/^Bearer/);
        expect(res.headers['content-type'], label).toMatch(/^application\/json/);
      }
    }
    expect(await counts()).toEqual(before);
  });

  it('refuses a forged, signed-out or foreign session, and a session write without its CSRF token', async () => {
    const before = await counts();
    // A cookie value nobody was given.
    for (const cookie of [
      `${f.cookieName}=forged`,
      `${f.cookieName}=${'a'.repeat(43)}`,
      `${f.cookieName}=' OR '1'='1`,
    ]) {
      for (const route of PROTECTED) {
        expect((await withAuthorization(undefined, cookie)(route)).statusCode).toBe(401);
      }
    }
    // An admin's session, driven without the CSRF token, with another session's token, or
    // from another origin: 403, not a write.
    const admin = f.browsers.admin;
    const write = (headers: Record<string, string>) =>
      f.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: { cookie: admin.cookie, 'content-type': 'application/json', ...headers },
        payload: JSON.stringify({ name: 'csrf', role: 'admin' }),
      });
    expect((await write({})).statusCode).toBe(403);
    expect((await write({ 'x-csrf-token': f.browsers.viewer.csrf })).statusCode).toBe(403);
    expect((await write({ 'x-csrf-token': `${admin.csrf}x` })).statusCode).toBe(403);
    expect(
      (await write({ 'x-csrf-token': admin.csrf, origin: 'https://evil.example.com' })).statusCode,
    ).toBe(403);
    expect(await counts()).toEqual(before);
    // The same request, done right, works: the refusals above were about the CSRF token.
    const ok = await write({ 'x-csrf-token': admin.csrf, origin: PUBLIC_BASE_URL });
    expect(ok.statusCode).toBe(201);

    // A session signed out is dead, even though the browser (or a thief) kept the cookie.
    const viewer = f.browsers.viewer;
    const signOut = await f.inject({
      method: 'DELETE',
      url: '/v1/session',
      headers: { cookie: viewer.cookie, 'x-csrf-token': viewer.csrf },
    });
    expect(signOut.statusCode).toBe(204);
    const reuse = await f.inject({
      method: 'GET',
      url: '/v1/agents',
      headers: { cookie: viewer.cookie },
    });
    expect(reuse.statusCode).toBe(401);
  });

  it('a viewer writes nothing, by key or by session: 403', async () => {
    const before = await counts();
    const agent = (await f.call('POST', '/v1/agents', { name: 'target', instructions: 'x' })).json<{
      id: string;
    }>();
    const writes: Array<['POST' | 'PATCH' | 'PUT' | 'DELETE', string, unknown?]> = [
      ['POST', '/v1/agents', { name: 'by viewer', instructions: 'x' }],
      ['PATCH', `/v1/agents/${agent.id}`, { name: 'renamed by viewer' }],
      ['DELETE', `/v1/agents/${agent.id}`],
      ['POST', '/v1/calls', { to: '+15555550142', agentId: f.agentId }],
      ['POST', '/v1/campaigns', { name: 'by viewer', agentId: f.agentId }],
      ['POST', '/v1/do-not-call', { phoneNumber: '+15555550142' }],
      ['POST', '/v1/human-agents', { name: 'by viewer', phoneNumber: '+15555550177' }],
      [
        'POST',
        '/v1/users',
        { email: 'v@example.com', name: 'v', role: 'admin', password: 'p'.repeat(12) },
      ],
      ['POST', '/v1/api-keys', { name: 'by viewer', role: 'admin' }],
    ];
    for (const [method, url, body] of writes) {
      expect((await f.call(method, url, body, 'viewer')).statusCode, `${method} ${url}`).toBe(403);
    }
    // By session: a signed-in viewer with a valid CSRF token.
    const res = await f.app.inject({
      method: 'POST',
      url: '/v1/session',
      payload: { email: 'viewer@example.com', password: 'correct horse battery staple' },
    });
    const set = res.cookies.find((c) => c.name === f.cookieName);
    const cookie = `${f.cookieName}=${set?.value}`;
    const csrf = res.json<{ csrfToken: string }>().csrfToken;
    for (const [method, url, body] of writes) {
      const r = await f.inject({
        method,
        url,
        headers: {
          cookie,
          'x-csrf-token': csrf,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
      expect(r.statusCode, `session ${method} ${url}`).toBe(403);
    }
    expect(await counts()).toEqual({ ...before, agents: before.agents + 1 });
    expect((await f.prisma.agent.findUniqueOrThrow({ where: { id: agent.id } })).name).toBe(
      'target',
    );
  });

  it('an operator cannot make itself or anyone an admin: no admin key, no user, no role change', async () => {
    const before = await counts();
    const operatorUser = await f.prisma.user.findUniqueOrThrow({
      where: { email: 'operator@example.com' },
    });
    const escalations: Array<['GET' | 'POST' | 'PATCH' | 'DELETE', string, unknown?]> = [
      ['POST', '/v1/api-keys', { name: 'mine now', role: 'admin' }],
      ['POST', '/v1/api-keys', { name: 'mine now', role: 'operator' }],
      ['GET', '/v1/api-keys'],
      [
        'POST',
        '/v1/users',
        { email: 'op2@example.com', name: 'x', role: 'admin', password: 'p'.repeat(12) },
      ],
      ['PATCH', `/v1/users/${operatorUser.id}`, { role: 'admin' }],
      ['GET', '/v1/users'],
    ];
    for (const [method, url, body] of escalations) {
      expect((await f.call(method, url, body, 'operator')).statusCode, `key ${method} ${url}`).toBe(
        403,
      );
      const { cookie, csrf } = f.browsers.operator;
      const r = await f.inject({
        method,
        url,
        headers: {
          cookie,
          'x-csrf-token': csrf,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
      expect(r.statusCode, `session ${method} ${url}`).toBe(403);
    }
    expect(await counts()).toEqual(before);
    expect((await f.prisma.user.findUniqueOrThrow({ where: { id: operatorUser.id } })).role).toBe(
      'operator',
    );
    // An operator does write what operators write: the refusals were about the role.
    expect(
      (await f.call('POST', '/v1/agents', { name: 'by operator', instructions: 'x' }, 'operator'))
        .statusCode,
    ).toBe(201);
  });

  it('a made-up role, or extra fields, cannot smuggle privileges into a key or a user', async () => {
    const before = await counts();
    for (const role of ['superadmin', 'ADMIN', 'admin ', ['admin'], null]) {
      expect((await f.call('POST', '/v1/api-keys', { name: 'odd', role })).statusCode).toBe(400);
    }
    // Nor can extra fields set the key, its hash or its revocation: the body is strict.
    const res = await f.call('POST', '/v1/api-keys', {
      name: 'viewer key',
      role: 'viewer',
      hashedKey: 'x',
      key: `${API_KEY_PREFIX}chosen`,
      prefix: 'chosen',
      revokedAt: null,
    });
    expect(res.statusCode).toBe(400);
    for (const role of ['superadmin', 'owner']) {
      const user = await f.call('POST', '/v1/users', {
        email: `${role}@example.com`,
        name: role,
        role,
        password: 'p'.repeat(12),
      });
      expect(user.statusCode).toBe(400);
    }
    expect(await counts()).toEqual(before);
  });

  it('a disabled user, a changed password or a demoted admin: the sessions already open lose their power at once', async () => {
    const signInAs = async (email: string, password: string) => {
      const res = await f.inject({
        method: 'POST',
        url: '/v1/session',
        payload: { email, password },
      });
      expect(res.statusCode).toBe(200);
      const set = res.cookies.find((c) => c.name === f.cookieName);
      return {
        cookie: `${f.cookieName}=${set?.value}`,
        csrf: res.json<{ csrfToken: string }>().csrfToken,
      };
    };
    const asSession = (
      b: { cookie: string; csrf: string },
      method: 'GET' | 'POST',
      url: string,
      body?: unknown,
    ) =>
      f.inject({
        method,
        url,
        headers: {
          cookie: b.cookie,
          'x-csrf-token': b.csrf,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
    const newUser = async (email: string, role: 'admin' | 'operator') => {
      const res = await f.call('POST', '/v1/users', {
        email,
        name: email,
        role,
        password: 'a long enough password',
      });
      expect(res.statusCode).toBe(201);
      return res.json<{ id: string }>().id;
    };

    // Disabled: the open session is refused.
    const disabledId = await newUser('to-disable@example.com', 'operator');
    const disabled = await signInAs('to-disable@example.com', 'a long enough password');
    expect((await asSession(disabled, 'GET', '/v1/agents')).statusCode).toBe(200);
    expect((await f.call('PATCH', `/v1/users/${disabledId}`, { disabled: true })).statusCode).toBe(
      200,
    );
    expect((await asSession(disabled, 'GET', '/v1/agents')).statusCode).toBe(401);

    // A new password (the old one leaked): the sessions opened with the old one end.
    const rotatedId = await newUser('rotated@example.com', 'operator');
    const stolen = await signInAs('rotated@example.com', 'a long enough password');
    expect(
      (await f.call('PATCH', `/v1/users/${rotatedId}`, { password: 'another long password' }))
        .statusCode,
    ).toBe(200);
    expect((await asSession(stolen, 'GET', '/v1/agents')).statusCode).toBe(401);

    // Demoted from admin: the open session acts with the new role, not the one it signed in with.
    const demotedId = await newUser('demoted@example.com', 'admin');
    const demoted = await signInAs('demoted@example.com', 'a long enough password');
    expect((await asSession(demoted, 'GET', '/v1/api-keys')).statusCode).toBe(200);
    expect((await f.call('PATCH', `/v1/users/${demotedId}`, { role: 'viewer' })).statusCode).toBe(
      200,
    );
    const before = await counts();
    expect(
      (await asSession(demoted, 'POST', '/v1/api-keys', { name: 'late', role: 'admin' }))
        .statusCode,
    ).toBe(403);
    expect(
      (await asSession(demoted, 'POST', '/v1/agents', { name: 'late', instructions: 'x' }))
        .statusCode,
    ).toBe(403);
    expect(await counts()).toEqual(before);
  });

  it('a key revoked while in use is refused on its very next request', async () => {
    const created = await f.call('POST', '/v1/api-keys', { name: 'short-lived', role: 'operator' });
    expect(created.statusCode).toBe(201);
    const { id, key } = created.json<{ id: string; key: string }>();
    const use = () =>
      f.inject({ method: 'GET', url: '/v1/agents', headers: { authorization: `Bearer ${key}` } });
    expect((await use()).statusCode).toBe(200);
    expect((await f.call('DELETE', `/v1/api-keys/${id}`)).statusCode).toBeLessThan(300);
    const refused = await use();
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['www-authenticate']).toMatch(/invalid_token/);
  });
});
