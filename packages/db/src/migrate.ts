import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import pg from 'pg';

/**
 * Applies `prisma/migrations/<timestamp>_<name>/migration.sql` in order and records them in
 * Prisma's own `_prisma_migrations` table, so this runner and `prisma migrate deploy` (where its
 * native engine exists) read and write the same history. Each migration runs in a transaction;
 * a Postgres advisory lock (the key Prisma's engine uses) serialises replicas migrating at once.
 */

/** Advisory lock key of Prisma's schema engine (`pg_advisory_lock(72707369)`), shared on purpose. */
const ADVISORY_LOCK_KEY = 72707369;

/** A migration whose file contains this line runs outside a transaction (e.g. `CREATE INDEX CONCURRENTLY`). */
const NO_TRANSACTION_MARKER = /^--\s*migrate:no-transaction\s*$/m;

/**
 * Prisma's `_prisma_migrations` table, as its schema engine creates it (identifiers unquoted,
 * same types and defaults), plus `IF NOT EXISTS`.
 */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

/** Stable codes of {@link MigrationError}. */
export const MigrationErrorCode = {
  /** No migrations folder found; `message` lists where it looked. */
  DirNotFound: 'MIGRATIONS_DIR_NOT_FOUND',
  /** A migration folder has no `migration.sql`. */
  FileMissing: 'MIGRATION_FILE_MISSING',
  /** An applied migration's `migration.sql` changed since it was applied. */
  ChecksumMismatch: 'MIGRATION_CHECKSUM_MISMATCH',
  /** An earlier run of this migration failed and was not resolved. */
  PreviouslyFailed: 'MIGRATION_PREVIOUSLY_FAILED',
  /** The migration's SQL failed now; its transaction was rolled back. */
  Failed: 'MIGRATION_FAILED',
  /** Another runner held the lock for longer than `lockTimeoutMs`. */
  LockTimeout: 'MIGRATION_LOCK_TIMEOUT',
} as const;
export type MigrationErrorCode = (typeof MigrationErrorCode)[keyof typeof MigrationErrorCode];

/**
 * Why migrating stopped. Someone must act (fix the file, resolve the failed row), so only a lock
 * timeout is retryable. Same shape as platform's `AppError` (`code`, `retryable`, `cause`) without depending on it, so
 * the migration image carries only this package.
 */
export class MigrationError extends Error {
  readonly code: MigrationErrorCode;
  /** Folder name of the migration concerned; null when the error is not about one migration. */
  readonly migration: string | null;
  /** True only for {@link MigrationErrorCode.LockTimeout}: another runner may finish. */
  readonly retryable: boolean;

  constructor(
    code: MigrationErrorCode,
    message: string,
    options?: ErrorOptions & { migration?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.migration = options?.migration ?? null;
    this.retryable = code === MigrationErrorCode.LockTimeout;
  }
}

/** The subset of a pino logger the runner uses. */
export interface MigrationLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface MigrateOptions {
  /** `postgresql://` URL of the database to migrate. */
  databaseUrl: string;
  /**
   * Folder holding `<timestamp>_<name>/migration.sql`.
   * @defaultValue {@link defaultMigrationsDir}()
   */
  migrationsDir?: string;
  /** Receives one `info` line per applied migration and `warn` for oddities. @defaultValue silent */
  log?: MigrationLogger;
  /**
   * How long to wait for another runner's lock, in ms.
   * @defaultValue 120_000
   */
  lockTimeoutMs?: number;
}

export interface MigrateResult {
  /** Folder names applied by this run, in order; empty when the database was up to date. */
  applied: string[];
}

/** One migration folder on disk. */
export interface LocalMigration {
  /** Folder name, `<yyyymmddhhmmss>_<name>`. */
  name: string;
  /** SQL text of `migration.sql`. */
  sql: string;
  /** SHA-256 hex of the `migration.sql` bytes, as Prisma stores it. */
  checksum: string;
}

interface MigrationRow {
  id: string;
  checksum: string;
  migration_name: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
}

/**
 * Where the migrations are when no folder is given: the repository's `prisma/migrations`, seen
 * from `src/` (tsx, vitest) and from `dist/` alike, then a copy inside this package
 * (`<package>/prisma/migrations` or `<package>/migrations`, for images that ship the package on
 * its own). The migration image sets the folder explicitly (the CLI reads `MIGRATIONS_DIR`).
 */
export function defaultMigrationsDir(): string {
  const candidates = migrationsDirCandidates();
  const found = candidates.find((dir) => existsSync(dir));
  if (found === undefined) {
    throw new MigrationError(
      MigrationErrorCode.DirNotFound,
      `no migrations folder found (looked in ${candidates.join(', ')}): pass migrationsDir or set MIGRATIONS_DIR`,
    );
  }
  return found;
}

function migrationsDirCandidates(): string[] {
  // This file is packages/db/{src,dist}/migrate.{ts,js}: both are two levels below the package.
  return [
    fileURLToPath(new URL('../../../prisma/migrations', import.meta.url)),
    fileURLToPath(new URL('../prisma/migrations', import.meta.url)),
    fileURLToPath(new URL('../migrations', import.meta.url)),
  ];
}

/** SHA-256 hex of a migration file's bytes: the value of `_prisma_migrations.checksum`. */
export function migrationChecksum(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads every migration folder, sorted by name (their timestamp prefix orders them). */
export async function readMigrations(migrationsDir: string): Promise<LocalMigration[]> {
  if (!existsSync(migrationsDir)) {
    throw new MigrationError(
      MigrationErrorCode.DirNotFound,
      `migrations folder ${migrationsDir} does not exist`,
    );
  }
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const migrations: LocalMigration[] = [];
  for (const name of names) {
    const file = join(migrationsDir, name, 'migration.sql');
    if (!existsSync(file)) {
      throw new MigrationError(
        MigrationErrorCode.FileMissing,
        `migration ${name} has no migration.sql (${file})`,
        { migration: name },
      );
    }
    const bytes = await readFile(file);
    migrations.push({ name, sql: bytes.toString('utf8'), checksum: migrationChecksum(bytes) });
  }
  return migrations;
}

/**
 * Applies every pending migration. Refuses to start when an applied migration's file changed or
 * an earlier run failed, since either means the database is not what the files say.
 *
 * @throws {@link MigrationError} for every condition someone must fix; driver errors for
 * connection problems.
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const migrationsDir = options.migrationsDir ?? defaultMigrationsDir();
  const lockTimeoutMs = options.lockTimeoutMs ?? 120_000;
  if (!Number.isInteger(lockTimeoutMs) || lockTimeoutMs < 1) {
    throw new RangeError(`lockTimeoutMs must be a positive integer (ms), got ${lockTimeoutMs}`);
  }
  const log = options.log;
  const local = await readMigrations(migrationsDir);

  const client = new pg.Client({ connectionString: options.databaseUrl });
  // An idle client error (server restart) would otherwise be an uncaught 'error' event.
  client.on('error', () => {});
  await client.connect();
  try {
    await acquireLock(client, lockTimeoutMs);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const rows = (
        await client.query<MigrationRow>(
          `SELECT "id", "checksum", "migration_name", "finished_at", "rolled_back_at", "logs"
             FROM "_prisma_migrations" ORDER BY "started_at", "migration_name"`,
        )
      ).rows;
      const pending = planMigrations(local, rows, log);
      const applied: string[] = [];
      for (const migration of pending) {
        const startedAt = Date.now();
        await applyMigration(client, migration);
        applied.push(migration.name);
        log?.info(
          { migration: migration.name, durationMs: Date.now() - startedAt },
          'migration applied',
        );
      }
      return { applied };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_KEY]).catch(() => {});
    }
  } finally {
    await client.end();
  }
}

async function acquireLock(client: pg.Client, lockTimeoutMs: number): Promise<void> {
  // lock_timeout bounds the wait for the advisory lock like any other lock wait.
  await client.query(`SET lock_timeout = ${lockTimeoutMs}`);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEY]);
  } catch (error) {
    if ((error as { code?: string }).code === '55P03') {
      throw new MigrationError(
        MigrationErrorCode.LockTimeout,
        `another migration run held the lock for more than ${lockTimeoutMs} ms`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    await client.query('RESET lock_timeout');
  }
}

/** Checks the recorded history against the files and returns the migrations still to apply. */
function planMigrations(
  local: LocalMigration[],
  rows: MigrationRow[],
  log: MigrationLogger | undefined,
): LocalMigration[] {
  const byName = new Map(local.map((migration) => [migration.name, migration]));
  const applied = new Set<string>();
  for (const row of rows) {
    if (row.rolled_back_at !== null) continue;
    if (row.finished_at === null) {
      throw new MigrationError(
        MigrationErrorCode.PreviouslyFailed,
        `migration ${row.migration_name} failed earlier${row.logs ? ` (${firstLine(row.logs)})` : ''}: fix the cause, then mark it rolled back (packages/db README, "A migration failed")`,
        { migration: row.migration_name },
      );
    }
    const file = byName.get(row.migration_name);
    if (file === undefined) {
      // A newer release migrated this database; an older one may still run against it.
      log?.warn({ migration: row.migration_name }, 'applied migration not found locally');
      continue;
    }
    if (file.checksum !== row.checksum) {
      throw new MigrationError(
        MigrationErrorCode.ChecksumMismatch,
        `migration ${row.migration_name} was modified after it was applied (checksum ${row.checksum.slice(0, 12)}… in the database, ${file.checksum.slice(0, 12)}… on disk): restore the file and add a new migration instead`,
        { migration: row.migration_name },
      );
    }
    applied.add(row.migration_name);
  }
  return local.filter((migration) => !applied.has(migration.name));
}

async function applyMigration(client: pg.Client, migration: LocalMigration): Promise<void> {
  const id = randomUUID();
  const inTransaction = !NO_TRANSACTION_MARKER.test(migration.sql);
  try {
    if (inTransaction) await client.query('BEGIN');
    await client.query(
      `INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at", "applied_steps_count")
       VALUES ($1, $2, $3, clock_timestamp(), 0)`,
      [id, migration.checksum, migration.name],
    );
    // A simple-protocol query (no parameters) may hold many statements, as migration.sql does.
    await client.query(migration.sql);
    await client.query(
      `UPDATE "_prisma_migrations" SET "finished_at" = clock_timestamp(), "applied_steps_count" = 1
        WHERE "id" = $1`,
      [id],
    );
    if (inTransaction) await client.query('COMMIT');
  } catch (error) {
    if (inTransaction) await client.query('ROLLBACK').catch(() => {});
    const message = error instanceof Error ? error.message : String(error);
    // Record the failure the way Prisma does (finished_at NULL, logs set), so neither this runner
    // nor `prisma migrate deploy` continues until someone resolves it.
    await client
      .query(
        `INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "logs", "started_at", "applied_steps_count")
         VALUES ($1, $2, $3, $4, clock_timestamp(), 0)
         ON CONFLICT ("id") DO UPDATE SET "logs" = EXCLUDED."logs"`,
        [id, migration.checksum, migration.name, message],
      )
      .catch(() => {});
    throw new MigrationError(
      MigrationErrorCode.Failed,
      `migration ${migration.name} failed: ${firstLine(message)}`,
      { cause: error, migration: migration.name },
    );
  }
}

/**
 * Marks a failed migration as rolled back (what `prisma migrate resolve --rolled-back` does), so
 * the next run applies it again. Use it after fixing the migration file or the database.
 *
 * @returns how many failed rows were marked; 0 when the migration had not failed.
 */
export async function markMigrationRolledBack(options: {
  databaseUrl: string;
  migrationName: string;
}): Promise<number> {
  const client = new pg.Client({ connectionString: options.databaseUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    const result = await client.query(
      `UPDATE "_prisma_migrations" SET "rolled_back_at" = now()
        WHERE "migration_name" = $1 AND "finished_at" IS NULL AND "rolled_back_at" IS NULL`,
      [options.migrationName],
    );
    return result.rowCount ?? 0;
  } finally {
    await client.end();
  }
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}
