import { createHash } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';

import {
  createApiKey,
  generateApiKey,
  hashApiKey,
  PrismaApiKeyStore,
} from '../src/adapters/api-keys.js';

// Real PostgreSQL, this file's own database.
let db: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 2 });
}, 30_000);

afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
});

describe('gateway - api keys', { timeout: 10_000 }, () => {
  it('hashes a key to the SHA-256 hex the api_keys table stores', () => {
    expect(hashApiKey('abc')).toBe(createHash('sha256').update('abc').digest('hex'));
    const { key, hashedKey, prefix } = generateApiKey();
    expect(key).toMatch(/^vpk_[A-Za-z0-9_-]{43}$/);
    expect(hashedKey).toBe(hashApiKey(key));
    expect(prefix).toBe(key.slice(0, 12));
    expect(generateApiKey().key).not.toBe(key);
  });

  it('creates keys only with a name and a known role', async () => {
    await expect(createApiKey(prisma, { name: ' ', role: 'admin' })).rejects.toThrow(RangeError);
    await expect(createApiKey(prisma, { name: 'x', role: 'root' })).rejects.toThrow(
      'role must be one of admin, operator, viewer, got "root"',
    );
  });

  it('authenticates a valid key, and refuses unknown, revoked and oversized ones', async () => {
    const store = new PrismaApiKeyStore(prisma);
    const valid = await createApiKey(prisma, { name: 'ops', role: 'operator' });
    expect(await store.authenticate(valid.key)).toEqual({
      status: 'valid',
      key: { id: valid.id, name: 'ops', prefix: valid.prefix, role: 'operator' },
    });
    expect(await store.authenticate(generateApiKey().key)).toEqual({ status: 'unknown' });
    expect(await store.authenticate('')).toEqual({ status: 'unknown' });
    expect(await store.authenticate('k'.repeat(10_000))).toEqual({ status: 'unknown' });

    const revoked = await createApiKey(prisma, { name: 'old', role: 'admin' });
    await prisma.apiKey.update({ where: { id: revoked.id }, data: { revokedAt: new Date() } });
    expect(await store.authenticate(revoked.key)).toEqual({
      status: 'revoked',
      prefix: revoked.prefix,
    });
    await store.settled();
  });

  it('writes last_used_at in the background, at most once a minute per key', async () => {
    let clock = new Date('2030-01-01T00:00:00.000Z');
    const store = new PrismaApiKeyStore(prisma, undefined, () => clock);
    const { id, key } = await createApiKey(prisma, { name: 'busy', role: 'operator' });
    const lastUsed = async () =>
      (await prisma.apiKey.findUniqueOrThrow({ where: { id } })).lastUsedAt?.toISOString();

    await store.authenticate(key);
    await store.settled();
    expect(await lastUsed()).toBe('2030-01-01T00:00:00.000Z');

    clock = new Date('2030-01-01T00:00:30.000Z');
    await store.authenticate(key);
    await store.settled();
    expect(await lastUsed()).toBe('2030-01-01T00:00:00.000Z');

    clock = new Date('2030-01-01T00:01:00.000Z');
    await store.authenticate(key);
    await store.settled();
    expect(await lastUsed()).toBe('2030-01-01T00:01:00.000Z');
  });
});
