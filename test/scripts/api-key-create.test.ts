import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';

import { ROOT_DIR } from '../services/service-process.js';

let db: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 1 });
}, 30_000);

afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
});

/** Runs the script as `pnpm api-key:create` does (tsx, source condition), to its end. */
function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', join('scripts', 'api-key-create.ts'), ...args],
      { cwd: ROOT_DIR, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('scripts - pnpm api-key:create', { timeout: 30_000 }, () => {
  it('prints a new key alone on stdout and stores only its SHA-256', async () => {
    const { code, stdout, stderr } = await run(['local-dev', 'operator'], {
      DATABASE_URL: db.databaseUrl,
    });
    expect(code, stderr).toBe(0);
    const key = stdout.trim();
    expect(key).toMatch(/^vpk_[A-Za-z0-9_-]{43}$/);
    expect(stderr).toMatch(/not stored and cannot be shown again/);
    expect(stderr).not.toContain(key);
    const hashedKey = createHash('sha256').update(key).digest('hex');
    const row = await prisma.apiKey.findUniqueOrThrow({ where: { hashedKey } });
    expect(row).toMatchObject({
      name: 'local-dev',
      role: 'operator',
      prefix: key.slice(0, 12),
      revokedAt: null,
      lastUsedAt: null,
    });
  });

  it('refuses an unknown role, missing arguments and a missing DATABASE_URL', async () => {
    const before = await prisma.apiKey.count();
    const badRole = await run(['ci', 'root'], { DATABASE_URL: db.databaseUrl });
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/role must be one of admin, operator, viewer/);
    const noArgs = await run([], { DATABASE_URL: db.databaseUrl });
    expect(noArgs.code).toBe(2);
    expect(noArgs.stderr).toMatch(/usage: pnpm api-key:create <name> <role>/);
    const noDb = await run(['ci', 'admin'], {});
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toMatch(/DATABASE_URL is not set/);
    expect(await prisma.apiKey.count()).toBe(before);
  });
});
