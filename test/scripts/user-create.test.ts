import { describe, expect, it } from 'vitest';

import { verifyPassword } from '@app/gateway';

import { runScript, useScriptDatabase } from './script-fixture.js';

const database = useScriptDatabase();

/** Runs the script as its `pnpm` command does, to its end. */
const run = (args: string[], env: Record<string, string>) =>
  runScript('user-create.ts', args, env, 60_000);

const PASSWORD = 'a long enough password';

describe('scripts - pnpm user:create', { timeout: 120_000 }, () => {
  it('creates a user with the password from USER_PASSWORD, stored only as a scrypt hash', async () => {
    const { code, stdout, stderr } = await run(['Ops@Example.com', 'admin', 'Ops lead'], {
      DATABASE_URL: database.db.databaseUrl,
      USER_PASSWORD: PASSWORD,
    });
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/created user ops@example.com \(role admin/);
    expect(stdout + stderr).not.toContain(PASSWORD);
    const row = await database.prisma.user.findUniqueOrThrow({
      where: { email: 'ops@example.com' },
    });
    expect(stdout.trim()).toBe(row.id);
    expect(row).toMatchObject({ name: 'Ops lead', role: 'admin', disabledAt: null });
    expect(row.passwordHash).toMatch(/^scrypt\$/);
    expect(await verifyPassword(PASSWORD, row.passwordHash)).toBe(true);

    const again = await run(['ops@example.com', 'viewer'], {
      DATABASE_URL: database.db.databaseUrl,
      USER_PASSWORD: PASSWORD,
    });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/a user with the email ops@example.com exists/);
  });

  it('refuses a short password, an unknown role, missing arguments and missing variables', async () => {
    const before = await database.prisma.user.count();
    const env = { DATABASE_URL: database.db.databaseUrl, USER_PASSWORD: PASSWORD };
    // Independent runs, side by side: each spends seconds loading the gateway's modules.
    const [short, badRole, noArgs, noPassword, noDb] = await Promise.all([
      run(['a@example.com', 'admin'], { ...env, USER_PASSWORD: 'short' }),
      run(['a@example.com', 'root'], env),
      run([], env),
      run(['a@example.com', 'admin'], { DATABASE_URL: database.db.databaseUrl }),
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
    expect(await database.prisma.user.count()).toBe(before);
  });
});
