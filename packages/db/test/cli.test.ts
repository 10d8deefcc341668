import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it, onTestFinished } from 'vitest';

import { defaultMigrationsDir } from '../src/migrate.js';
import { createTestDatabase } from '../src/testing.js';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a CLI from src through tsx, as `pnpm --filter @app/db <script>` does. */
function run(command: string, env: Record<string, string | undefined>): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete childEnv[key];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', ...command.split(' ')],
      { cwd: PACKAGE_DIR, env: childEnv },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('cli - migrate and drift commands', { timeout: 60_000 }, () => {
  it('migrate prints one JSON line per applied migration, then nothing on a second run', async () => {
    const db = await createTestDatabase({ migrate: false });
    onTestFinished(() => db.drop());

    const first = await run('src/cli/migrate.ts', { DATABASE_URL: db.databaseUrl });
    expect(first).toMatchObject({ code: 0, stderr: '' });
    const lines = first.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'migration applied',
      migration: expect.stringMatching(/_init$/),
    });
    expect(lines[0]?.durationMs).toEqual(expect.any(Number));

    const second = await run('src/cli/migrate.ts', {
      DATABASE_URL: db.databaseUrl,
      MIGRATIONS_DIR: defaultMigrationsDir(),
    });
    expect(second).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('migrate exits 1 with a one-line message when DATABASE_URL is missing', async () => {
    const result = await run('src/cli/migrate.ts', { DATABASE_URL: undefined });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'migrate: DATABASE_URL is not set: set it to postgresql://user:password@host:5432/database\n',
    );
  });

  it('migrate exits 1 with a one-line message when the migrations folder does not exist', async () => {
    const result = await run('src/cli/migrate.ts', {
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/postgres',
      MIGRATIONS_DIR: '/nonexistent/migrations',
    });
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'migrate: migrations folder /nonexistent/migrations does not exist\n',
    });
  });

  it('drift passes on a throwaway database migrated from prisma/migrations', async () => {
    const result = await run('src/cli/drift.ts', { DATABASE_URL: undefined });
    expect(result).toEqual({
      code: 0,
      stdout: 'drift: the migrated database matches prisma/schema.prisma\n',
      stderr: '',
    });
  });

  it('migration:new writes nothing when the schema matches the migrations', async () => {
    // A copy, so a pending schema change on a developer's machine never writes into the repo.
    const dir = mkdtempSync(join(tmpdir(), 'db-migrations-'));
    cpSync(defaultMigrationsDir(), dir, { recursive: true });
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));

    const result = await run('src/cli/migration-new.ts add_nothing', { MIGRATIONS_DIR: dir });
    expect(result).toEqual({
      code: 0,
      stdout: 'migration:new: prisma/schema.prisma matches the migrations, nothing to write\n',
      stderr: '',
    });
  });
});
