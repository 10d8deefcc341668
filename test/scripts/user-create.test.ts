import { execFile } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { verifyPassword } from '@app/gateway';

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

/** Runs the script as `pnpm user:create` does (tsx, source condition), to its end. */
function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', join('scripts', 'user-create.ts'), ...args],
      { cwd: ROOT_DIR, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const PASSWORD = 'a long enough password';

describe('scripts - pnpm user:create', { timeout: 120_000 }, () => {
  it('creates a user with the password from USER_PASSWORD, stored only as a scrypt hash', async () => {
    const { code, stdout, stderr } = await run(['Ops@Example.com', 'admin', 'Ops lead'], {
      DATABASE_URL: db.databaseUrl,
      USER_PASSWORD: PASSWORD,
    });
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/created user ops@example.com \(role admin/);
    expect(stdout + stderr).not.toContain(PASSWORD);
    const row = await prisma.user.findUniqueOrThrow({ where: { email: 'ops@example.com' } });
    expect(stdout.trim()).toBe(row.id);
    expect(row).toMatchObject({ name: 'Ops lead', role: 'admin', disabledAt: null });
    expect(row.passwordHash).toMatch(/^scrypt\$/);
    expect(await verifyPassword(PASSWORD, row.passwordHash)).toBe(true);

    const again = await run(['ops@example.com', 'viewer'], {
      DATABASE_URL: db.databaseUrl,
      USER_PASSWORD: PASSWORD,
    });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/a user with the email ops@example.com exists/);
  });

  it('refuses a short password, an unknown role, missing arguments and missing variables', async () => {
    const before = await prisma.user.count();
    const env = { DATABASE_URL: db.databaseUrl, USER_PASSWORD: PASSWORD };
    // Independent runs, side by side: each spends seconds loading the gateway's modules.
    const [short, badRole, noArgs, noPassword, noDb] = await Promise.all([
      run(['a@example.com', 'admin'], { ...env, USER_PASSWORD: 'short' }),
      run(['a@example.com', 'root'], env),
      run([], env),
      run(['a@example.com', 'admin'], { DATABASE_URL: db.databaseUrl }),
      run(['a@example.com', 'admin'], { USER_PASSWORD: PASSWORD }),
    ]);
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/the password must be 12/);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/role must be one of admin, operator, viewer/);
    expect(noArgs.code).toBe(2);
    expect(noArgs.stderr).toMatch(/usage: USER_PASSWORD=… pnpm user:create <email> <role>/);
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toMatch(/USER_PASSWORD is not set/);
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toMatch(/DATABASE_URL is not set/);
    expect(await prisma.user.count()).toBe(before);
  });
});
