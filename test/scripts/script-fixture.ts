/**
 * What the tests of the `scripts/` commands share: a fresh PostgreSQL database for the file, and
 * `runScript()` to run a script the way its `pnpm` command does and collect how it ended.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, beforeAll } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';

import { ROOT_DIR } from '../services/service-process.js';

export interface ScriptDatabase {
  /** Set once the file's `beforeAll` has run. */
  db: TestDatabase;
  prisma: PrismaClient;
}

/** A database for the calling test file: created before its tests, dropped after them. */
export function useScriptDatabase(): ScriptDatabase {
  const state = {} as ScriptDatabase;
  beforeAll(async () => {
    state.db = await createTestDatabase();
    state.prisma = createPrismaClient({ databaseUrl: state.db.databaseUrl, poolMax: 1 });
  }, 30_000);
  afterAll(async () => {
    await state.prisma?.$disconnect();
    await state.db?.drop();
  });
  return state;
}

export interface ScriptRun {
  /** The exit code; null when the script was killed (its timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `scripts/<script>` as its `pnpm` command does (tsx, source condition) to its end, with
 * only `PATH` and `env` in its environment, so a variable the test leaves out is really unset.
 */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<ScriptRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', join('scripts', script), ...args],
      { cwd: ROOT_DIR, env: { PATH: process.env.PATH ?? '', ...env }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
