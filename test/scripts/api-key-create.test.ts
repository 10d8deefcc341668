import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { runScript, useScriptDatabase } from './script-fixture.js';

const database = useScriptDatabase();

/** Runs the script as its `pnpm` command does, to its end. */
const run = (args: string[], env: Record<string, string>) =>
  runScript('api-key-create.ts', args, env, 20_000);

describe('scripts - pnpm api-key:create', { timeout: 30_000 }, () => {
  it('prints a new key alone on stdout and stores only its SHA-256', async () => {
    const { code, stdout, stderr } = await run(['local-dev', 'operator'], {
      DATABASE_URL: database.db.databaseUrl,
    });
    expect(code, stderr).toBe(0);
    const key = stdout.trim();
    expect(key).toMatch(/^vpk_[A-Za-z0-9_-]{43}$/);
    expect(stderr).toMatch(/not stored and cannot be shown again/);
    expect(stderr).not.toContain(key);
    const hashedKey = createHash('sha256').update(key).digest('hex');
    const row = await database.prisma.apiKey.findUniqueOrThrow({ where: { hashedKey } });
    expect(row).toMatchObject({
      name: 'local-dev',
      role: 'operator',
      prefix: key.slice(0, 12),
      revokedAt: null,
      lastUsedAt: null,
    });
  });

  it('refuses an unknown role, missing arguments and a missing DATABASE_URL', async () => {
    const before = await database.prisma.apiKey.count();
    const badRole = await run(['ci', 'root'], { DATABASE_URL: database.db.databaseUrl });
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/role must be one of admin, operator, viewer/);
    const noArgs = await run([], { DATABASE_URL: database.db.databaseUrl });
    expect(noArgs.code).toBe(2);
    expect(noArgs.stderr).toMatch(/usage: pnpm api-key:create <name> <role>/);
    const noDb = await run(['ci', 'admin'], {});
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toMatch(/DATABASE_URL is not set/);
    expect(await database.prisma.apiKey.count()).toBe(before);
  });
});
