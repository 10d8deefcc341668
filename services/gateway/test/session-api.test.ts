/**
 * Dashboard sign-in against real PostgreSQL: `/v1/session`, the cookie's attributes, and a
 * session used on an admin resource (`/v1/human-agents`) with its CSRF and Origin checks, roles,
 * expiry, revocation and audit actor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { hashSessionToken } from '../src/adapters/sessions.js';
import { sessionCookieName } from '../src/routes/session-auth.js';
import {
  asBrowser,
  PASSWORD,
  PUBLIC_BASE_URL,
  signIn,
  startAuthFixture,
  TTL_SEC,
  type AuthFixture,
} from './auth-fixture.js';

let fx: AuthFixture;

beforeAll(async () => {
  fx = await startAuthFixture();
}, 60_000);

afterAll(async () => {
  await fx?.close();
});

const signInWith = (payload: unknown, headers: Record<string, string> = {}) =>
  fx.app.inject({ method: 'POST', url: '/v1/session', payload: payload as object, headers });

/** The stored session of a browser's cookie. */
const sessionRow = (cookie: string) =>
  fx.prisma.userSession.findUniqueOrThrow({
    where: { tokenHash: hashSessionToken(cookie.split('=')[1] ?? '') },
  });

describe('session API - sign-in', { timeout: 60_000 }, () => {
  it('signs in with the right password, whatever the case of the email', async () => {
    const res = await signInWith({ email: '  OPERATOR@example.com ', password: PASSWORD });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ user: object; csrfToken: string }>();
    expect(body.user).toEqual({
      id: fx.users.operator.id,
      email: 'operator@example.com',
      name: 'The operator',
      role: 'operator',
    });
    expect(body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(JSON.stringify(body)).not.toMatch(/scrypt|passwordHash/);
  });

  it('sets a Secure, HttpOnly, SameSite=Strict __Host- cookie living as long as the session', async () => {
    const res = await signInWith({ email: 'viewer@example.com', password: PASSWORD });
    const header = String(res.headers['set-cookie']);
    expect(header).toMatch(/^__Host-vp_session=[A-Za-z0-9_-]{43};/);
    expect(header).toMatch(/; HttpOnly/);
    expect(header).toMatch(/; Secure/);
    expect(header).toMatch(/; SameSite=Strict/);
    expect(header).toMatch(/; Path=\//);
    expect(header).toMatch(new RegExp(`; Max-Age=${TTL_SEC}`));
    expect(header).not.toMatch(/Domain=/i);
    // The cookie holds the token; the database only its SHA-256.
    const token = /^__Host-vp_session=([^;]+)/.exec(header)?.[1] ?? '';
    const row = await fx.prisma.userSession.findUniqueOrThrow({
      where: { tokenHash: hashSessionToken(token) },
    });
    expect(row.userId).toBe(fx.users.viewer.id);
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBe(TTL_SEC * 1000);
    expect(sessionCookieName(false)).toBe('vp_session');
  });

  it('answers the same 401 for a wrong password, an unknown email and a disabled user', async () => {
    const wrong = await signInWith({ email: 'admin@example.com', password: 'not the password' });
    const unknown = await signInWith({ email: 'nobody@example.com', password: PASSWORD });
    const disabledUser = await fx.prisma.user.create({
      data: {
        email: 'gone@example.com',
        name: 'Gone',
        role: 'admin',
        passwordHash: (await fx.prisma.user.findUniqueOrThrow({ where: { id: fx.users.admin.id } }))
          .passwordHash,
        disabledAt: new Date(),
      },
    });
    const disabled = await signInWith({ email: disabledUser.email, password: PASSWORD });
    for (const res of [wrong, unknown, disabled]) {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: 'wrong email or password' });
      expect(res.headers['set-cookie']).toBeUndefined();
    }
  });

  it('refuses a malformed body with 400 and a sign-in posted from another site with 403', async () => {
    const missing = await signInWith({ email: 'admin@example.com' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({
      error: 'invalid sign-in',
      issues: [{ field: 'password' }],
    });
    const notJson = await fx.app.inject({
      method: 'POST',
      url: '/v1/session',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":',
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json<{ error: string }>().error).toBeTruthy();
    const foreign = await signInWith(
      { email: 'admin@example.com', password: PASSWORD },
      { origin: 'https://evil.example' },
    );
    expect(foreign.statusCode).toBe(403);
  });

  it('tells who is signed in, and 401 without a session', async () => {
    const browser = await signIn(fx, 'admin@example.com');
    const me = await asBrowser(fx, browser, 'GET', '/v1/session');
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({
      user: {
        id: fx.users.admin.id,
        email: 'admin@example.com',
        name: 'The admin',
        role: 'admin',
      },
      csrfToken: browser.csrf,
    });
    const anonymous = await fx.app.inject({ method: 'GET', url: '/v1/session' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toEqual({ error: 'not signed in' });
  });
});

describe('session API - a session on the admin API', { timeout: 60_000 }, () => {
  it('reads with the cookie alone', async () => {
    const browser = await signIn(fx, 'viewer@example.com');
    const res = await asBrowser(fx, browser, 'GET', '/v1/human-agents', { csrf: null });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toHaveProperty('items');
  });

  it('writes only with the CSRF token, and audits the write as user:<id>', async () => {
    const browser = await signIn(fx, 'operator@example.com');
    const body = { name: 'Desk', phoneNumber: '+15555550181' };
    const without = await asBrowser(fx, browser, 'POST', '/v1/human-agents', { body, csrf: null });
    expect(without.statusCode).toBe(403);
    expect(without.json()).toEqual({ error: 'missing or wrong CSRF token' });
    const wrong = await asBrowser(fx, browser, 'POST', '/v1/human-agents', {
      body,
      csrf: 'x'.repeat(43),
    });
    expect(wrong.statusCode).toBe(403);
    expect(await fx.prisma.humanAgent.count({ where: { name: 'Desk' } })).toBe(0);

    const ok = await asBrowser(fx, browser, 'POST', '/v1/human-agents', { body });
    expect(ok.statusCode).toBe(201);
    const { id } = ok.json<{ id: string }>();
    const audit = await fx.prisma.auditLog.findFirstOrThrow({
      where: { resourceType: 'human_agent', resourceId: id },
    });
    expect(audit).toMatchObject({
      actor: `user:${fx.users.operator.id}`,
      action: 'human_agent.create',
    });
  });

  it('refuses a write from a foreign Origin, accepts our own and PUBLIC_BASE_URL', async () => {
    const browser = await signIn(fx, 'operator@example.com');
    const body = (n: number) => ({ name: `Origin ${n}`, phoneNumber: `+1555555019${n}` });
    const foreign = await asBrowser(fx, browser, 'POST', '/v1/human-agents', {
      body: body(1),
      origin: 'https://evil.example',
    });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json()).toEqual({ error: 'request from another origin refused' });
    // inject's Host is localhost:80, so http://localhost is this server's own origin.
    const own = await asBrowser(fx, browser, 'POST', '/v1/human-agents', {
      body: body(2),
      origin: 'http://localhost',
    });
    expect(own.statusCode).toBe(201);
    const publicUrl = await asBrowser(fx, browser, 'POST', '/v1/human-agents', {
      body: body(3),
      origin: PUBLIC_BASE_URL,
    });
    expect(publicUrl.statusCode).toBe(201);
  });

  it('lets a viewer read but not write', async () => {
    const browser = await signIn(fx, 'viewer@example.com');
    const res = await asBrowser(fx, browser, 'POST', '/v1/human-agents', {
      body: { name: 'Nope', phoneNumber: '+15555550188' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({
      error: 'role viewer may not change human agents (admin or operator may)',
    });
  });

  it('refuses an expired and a revoked session with 401', async () => {
    const expired = await signIn(fx, 'operator@example.com');
    const expiredRow = await sessionRow(expired.cookie);
    await fx.prisma.userSession.update({
      where: { id: expiredRow.id },
      data: { expiresAt: new Date(Date.now() - 1_000) },
    });
    const revoked = await signIn(fx, 'operator@example.com');
    await fx.sessions.revoke((await sessionRow(revoked.cookie)).id);
    for (const browser of [expired, revoked]) {
      const res = await asBrowser(fx, browser, 'GET', '/v1/human-agents');
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: 'session expired or signed out: sign in again' });
      expect((await asBrowser(fx, browser, 'GET', '/v1/session')).statusCode).toBe(401);
    }
  });

  it('prefers an Authorization header to the cookie, with the API key rules', async () => {
    const browser = await signIn(fx, 'viewer@example.com');
    const res = await fx.app.inject({
      method: 'GET',
      url: '/v1/human-agents',
      headers: { cookie: browser.cookie, authorization: 'Bearer vpk_not-a-key' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error: 'invalid or revoked API key' });
  });
});

describe('session API - sign-out', { timeout: 60_000 }, () => {
  it('needs the CSRF token, then revokes the session and clears the cookie', async () => {
    const browser = await signIn(fx, 'admin@example.com');
    const without = await asBrowser(fx, browser, 'DELETE', '/v1/session', { csrf: null });
    expect(without.statusCode).toBe(403);
    expect((await asBrowser(fx, browser, 'GET', '/v1/session')).statusCode).toBe(200);

    const out = await asBrowser(fx, browser, 'DELETE', '/v1/session');
    expect(out.statusCode).toBe(204);
    const cleared = out.cookies.find((c) => c.name === fx.cookieName);
    expect(cleared?.value).toBe('');
    expect((await sessionRow(browser.cookie)).revokedAt).not.toBeNull();
    // The old cookie, replayed, is worth nothing.
    expect((await asBrowser(fx, browser, 'GET', '/v1/session')).statusCode).toBe(401);
    expect((await asBrowser(fx, browser, 'GET', '/v1/human-agents')).statusCode).toBe(401);
  });

  it('a new sign-in from the same browser revokes its previous session', async () => {
    const first = await signIn(fx, 'operator@example.com');
    const res = await fx.app.inject({
      method: 'POST',
      url: '/v1/session',
      headers: { cookie: first.cookie },
      payload: { email: 'operator@example.com', password: PASSWORD },
    });
    expect(res.statusCode).toBe(200);
    expect((await sessionRow(first.cookie)).revokedAt).not.toBeNull();
  });
});
