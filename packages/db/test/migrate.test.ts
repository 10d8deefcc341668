import { createHash } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';

import {
  defaultMigrationsDir,
  markMigrationRolledBack,
  migrate,
  MigrationError,
  MigrationErrorCode,
} from '../src/index.js';
import { createTestDatabase } from '../src/testing.js';

const MIGRATIONS_DIR = defaultMigrationsDir();
const MIGRATION_NAMES = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

/** A fresh, unmigrated database dropped when the test ends. */
async function emptyDatabase(): Promise<string> {
  const db = await createTestDatabase({ migrate: false });
  onTestFinished(() => db.drop());
  return db.databaseUrl;
}

/** A copy of the migrations folder the test may edit, removed when the test ends. */
function migrationsCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'db-migrations-'));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function query<T extends pg.QueryResultRow>(databaseUrl: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

interface MigrationRow {
  id: string;
  checksum: string;
  migration_name: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
  applied_steps_count: number;
}

const rowsOf = (databaseUrl: string): Promise<MigrationRow[]> =>
  query<MigrationRow>(
    databaseUrl,
    'SELECT * FROM _prisma_migrations ORDER BY started_at, migration_name',
  );

describe(
  'migrate - applies prisma/migrations with Prisma-compatible history',
  { timeout: 30_000 },
  () => {
    it('finds the init migration and the hand-written ones in the repository', () => {
      expect(MIGRATION_NAMES[0]).toMatch(/^\d{14}_init$/);
      for (const name of MIGRATION_NAMES) expect(name).toMatch(/^\d{14}_[a-z0-9_]+$/);
    });

    it('applies every migration to a fresh database, in order, and records each with its checksum', async () => {
      const databaseUrl = await emptyDatabase();
      const info: Array<Record<string, unknown>> = [];
      const { applied } = await migrate({
        databaseUrl,
        log: { info: (fields) => info.push(fields), warn: () => {} },
      });
      expect(applied).toEqual(MIGRATION_NAMES);
      expect(info.map((fields) => fields.migration)).toEqual(MIGRATION_NAMES);

      const rows = await rowsOf(databaseUrl);
      expect(rows.map((row) => row.migration_name)).toEqual(MIGRATION_NAMES);
      for (const row of rows) {
        const bytes = readFileSync(join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
        expect(row.checksum).toBe(createHash('sha256').update(bytes).digest('hex'));
        expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(row.finished_at).toBeInstanceOf(Date);
        expect(row.rolled_back_at).toBeNull();
        expect(row.logs).toBeNull();
        expect(row.applied_steps_count).toBe(1);
      }
      const tables = await query<{ table_name: string }>(
        databaseUrl,
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
      );
      expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['calls', 'agents']));
    });

    it("keeps Prisma's exact _prisma_migrations columns", async () => {
      const databaseUrl = await emptyDatabase();
      await migrate({ databaseUrl });
      const columns = await query<Record<string, unknown>>(
        databaseUrl,
        `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
         FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
      );
      expect(columns).toEqual([
        {
          column_name: 'id',
          data_type: 'character varying',
          character_maximum_length: 36,
          is_nullable: 'NO',
          column_default: null,
        },
        {
          column_name: 'checksum',
          data_type: 'character varying',
          character_maximum_length: 64,
          is_nullable: 'NO',
          column_default: null,
        },
        {
          column_name: 'finished_at',
          data_type: 'timestamp with time zone',
          character_maximum_length: null,
          is_nullable: 'YES',
          column_default: null,
        },
        {
          column_name: 'migration_name',
          data_type: 'character varying',
          character_maximum_length: 255,
          is_nullable: 'NO',
          column_default: null,
        },
        {
          column_name: 'logs',
          data_type: 'text',
          character_maximum_length: null,
          is_nullable: 'YES',
          column_default: null,
        },
        {
          column_name: 'rolled_back_at',
          data_type: 'timestamp with time zone',
          character_maximum_length: null,
          is_nullable: 'YES',
          column_default: null,
        },
        {
          column_name: 'started_at',
          data_type: 'timestamp with time zone',
          character_maximum_length: null,
          is_nullable: 'NO',
          column_default: 'now()',
        },
        {
          column_name: 'applied_steps_count',
          data_type: 'integer',
          character_maximum_length: null,
          is_nullable: 'NO',
          column_default: '0',
        },
      ]);
    });

    it('is idempotent: a second run applies nothing and adds no rows', async () => {
      const databaseUrl = await emptyDatabase();
      await migrate({ databaseUrl });
      const before = await rowsOf(databaseUrl);
      expect(await migrate({ databaseUrl })).toEqual({ applied: [] });
      expect(await rowsOf(databaseUrl)).toEqual(before);
    });

    it('applies only the new folder when a migration is added later', async () => {
      const databaseUrl = await emptyDatabase();
      const dir = migrationsCopy();
      await migrate({ databaseUrl, migrationsDir: dir });
      mkdirSync(join(dir, '29991231000000_add_note'));
      writeFileSync(
        join(dir, '29991231000000_add_note', 'migration.sql'),
        'ALTER TABLE "agents" ADD COLUMN "note" TEXT;\n',
      );
      expect(await migrate({ databaseUrl, migrationsDir: dir })).toEqual({
        applied: ['29991231000000_add_note'],
      });
    });

    it('refuses to continue when an applied migration was modified', async () => {
      const databaseUrl = await emptyDatabase();
      const dir = migrationsCopy();
      await migrate({ databaseUrl, migrationsDir: dir });
      const first = MIGRATION_NAMES[0] ?? '';
      appendFileSync(join(dir, first, 'migration.sql'), '-- edited after it was applied\n');

      const error = await migrate({ databaseUrl, migrationsDir: dir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect(error).toMatchObject({
        code: MigrationErrorCode.ChecksumMismatch,
        migration: first,
        message: expect.stringContaining(`migration ${first} was modified after it was applied`),
      });
    });

    it('rolls a failing migration back, records the failure, and refuses until it is resolved', async () => {
      const databaseUrl = await emptyDatabase();
      const dir = migrationsCopy();
      await migrate({ databaseUrl, migrationsDir: dir });
      const broken = '29991231000000_broken';
      mkdirSync(join(dir, broken));
      const file = join(dir, broken, 'migration.sql');
      writeFileSync(
        file,
        'CREATE TABLE "half_done" ("id" INTEGER);\nSELECT * FROM "no_such_table";\n',
      );

      await expect(migrate({ databaseUrl, migrationsDir: dir })).rejects.toMatchObject({
        code: MigrationErrorCode.Failed,
        migration: broken,
        message: expect.stringContaining('relation "no_such_table" does not exist'),
      });
      // The transaction was rolled back: nothing of the broken migration is left behind.
      expect(await query(databaseUrl, `SELECT to_regclass('half_done') AS t`)).toEqual([
        { t: null },
      ]);
      const failed = (await rowsOf(databaseUrl)).find((row) => row.migration_name === broken);
      expect(failed).toMatchObject({
        finished_at: null,
        rolled_back_at: null,
        applied_steps_count: 0,
      });
      expect(failed?.logs).toContain('no_such_table');

      // Even with the file fixed, a recorded failure blocks every run until someone resolves it.
      writeFileSync(file, 'CREATE TABLE "half_done" ("id" INTEGER);\n');
      await expect(migrate({ databaseUrl, migrationsDir: dir })).rejects.toMatchObject({
        code: MigrationErrorCode.PreviouslyFailed,
        migration: broken,
      });

      expect(await markMigrationRolledBack({ databaseUrl, migrationName: broken })).toBe(1);
      expect(await migrate({ databaseUrl, migrationsDir: dir })).toEqual({ applied: [broken] });
    });

    it('is safe with two runners at once: one applies everything, the other nothing', async () => {
      const databaseUrl = await emptyDatabase();
      const results = await Promise.all([migrate({ databaseUrl }), migrate({ databaseUrl })]);
      const applied = results.map((r) => r.applied).sort((a, b) => b.length - a.length);
      expect(applied).toEqual([MIGRATION_NAMES, []]);
      const rows = await rowsOf(databaseUrl);
      expect(rows.map((row) => row.migration_name)).toEqual(MIGRATION_NAMES);
    });

    it("waits on Prisma's advisory lock and gives up after lockTimeoutMs", async () => {
      const databaseUrl = await emptyDatabase();
      const holder = new pg.Client({ connectionString: databaseUrl });
      holder.on('error', () => {});
      await holder.connect();
      onTestFinished(() => holder.end());
      await holder.query('SELECT pg_advisory_lock(72707369)');

      await expect(migrate({ databaseUrl, lockTimeoutMs: 200 })).rejects.toMatchObject({
        code: MigrationErrorCode.LockTimeout,
        retryable: true,
      });
      await holder.query('SELECT pg_advisory_unlock(72707369)');
      expect((await migrate({ databaseUrl })).applied).toEqual(MIGRATION_NAMES);
    });

    it('runs a migration marked no-transaction outside a transaction (CREATE INDEX CONCURRENTLY)', async () => {
      const databaseUrl = await emptyDatabase();
      const dir = migrationsCopy();
      mkdirSync(join(dir, '29991231000000_concurrent_index'));
      writeFileSync(
        join(dir, '29991231000000_concurrent_index', 'migration.sql'),
        '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY "calls_end_reason_idx" ON "calls"("end_reason");\n',
      );
      const { applied } = await migrate({ databaseUrl, migrationsDir: dir });
      expect(applied.at(-1)).toBe('29991231000000_concurrent_index');
      expect(
        await query(databaseUrl, `SELECT to_regclass('calls_end_reason_idx')::text AS i`),
      ).toEqual([{ i: 'calls_end_reason_idx' }]);
    });

    it('names the folder when a migration has no migration.sql', async () => {
      const databaseUrl = await emptyDatabase();
      const dir = migrationsCopy();
      mkdirSync(join(dir, '29991231000000_empty'));
      await expect(migrate({ databaseUrl, migrationsDir: dir })).rejects.toMatchObject({
        code: MigrationErrorCode.FileMissing,
        migration: '29991231000000_empty',
      });
    });

    it('makes audit_logs append-only (hand-written trigger migration)', async () => {
      const databaseUrl = await emptyDatabase();
      await migrate({ databaseUrl });
      await query(
        databaseUrl,
        `INSERT INTO audit_logs (actor, action, resource_type) VALUES ('system:test', 'agent.create', 'agent')`,
      );
      await expect(
        query(databaseUrl, `UPDATE audit_logs SET actor = 'someone else'`),
      ).rejects.toThrow('audit_logs is append-only: UPDATE is not allowed');
      await expect(query(databaseUrl, 'DELETE FROM audit_logs')).rejects.toThrow(
        'audit_logs is append-only: DELETE is not allowed',
      );
      expect(await query(databaseUrl, 'SELECT count(*)::int AS n FROM audit_logs')).toEqual([
        { n: 1 },
      ]);
    });
  },
);
