/**
 * The session store against real PostgreSQL: what makes a session stop counting, and the
 * `last_seen_at` bookkeeping written at most once a minute.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';

import { hashSessionToken, PrismaSessionStore } from '../src/adapters/sessions.js';
import { createUser, type UserRecord } from '../src/adapters/users.js';

let db: TestDatabase;
let prisma: PrismaClient;
let user: UserRecord;

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 2 });
  user = await createUser(prisma, {
    email: 'erin@example.com',
    name: 'Erin',
    role: 'operator',
    password: 'a long enough password',
  });
}, 60_000);

afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
});

describe('sessions - store', { timeout: 30_000 }, () => {
  it('stores only the hash of a random token and ends the session at expiresAt', async () => {
    let now = new Date('2026-11-30T10:00:00.000Z');
    const store = new PrismaSessionStore(prisma, { ttlMs: 3_600_000, now: () => now });
    const { token, session } = await store.create(user);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const row = await prisma.userSession.findUniqueOrThrow({ where: { id: session.id } });
    expect(row.tokenHash).toBe(hashSessionToken(token));
    expect(row.expiresAt.toISOString()).toBe('2026-11-30T11:00:00.000Z');

    expect((await store.authenticate(token))?.user).toMatchObject({
      id: user.id,
      role: 'operator',
    });
    expect(await store.authenticate(`${token}x`)).toBeNull();
    expect(await store.authenticate('')).toBeNull();
    now = new Date('2026-11-30T11:00:00.000Z');
    expect(await store.authenticate(token)).toBeNull();
    await store.settled();
  });

  it('writes last_seen_at at most once a minute', async () => {
    let now = new Date('2026-11-30T10:00:00.000Z');
    const store = new PrismaSessionStore(prisma, { ttlMs: 3_600_000, now: () => now });
    const { token, session } = await store.create(user);
    const lastSeen = async () => {
      await store.settled();
      return (
        await prisma.userSession.findUniqueOrThrow({ where: { id: session.id } })
      ).lastSeenAt.toISOString();
    };
    now = new Date('2026-11-30T10:00:30.000Z');
    await store.authenticate(token);
    expect(await lastSeen()).toBe('2026-11-30T10:00:00.000Z');
    now = new Date('2026-11-30T10:01:00.000Z');
    await store.authenticate(token);
    expect(await lastSeen()).toBe('2026-11-30T10:01:00.000Z');
  });

  it('refuses the sessions of a disabled user and a revoked session', async () => {
    const store = new PrismaSessionStore(prisma, { ttlMs: 3_600_000 });
    const a = await store.create(user);
    const b = await store.create(user);
    await store.revoke(a.session.id);
    await store.revoke(a.session.id);
    expect(await store.authenticate(a.token)).toBeNull();
    expect(await store.authenticate(b.token)).not.toBeNull();
    await prisma.user.update({ where: { id: user.id }, data: { disabledAt: new Date() } });
    expect(await store.authenticate(b.token)).toBeNull();
    await prisma.user.update({ where: { id: user.id }, data: { disabledAt: null } });
    await store.settled();
  });
});
