import { randomBytes } from 'node:crypto';

import pg from 'pg';

import { migrate } from './migrate.js';

/**
 * Test helpers against the real PostgreSQL (STYLE.md 6.9: never mock Prisma). Each test file
 * creates its own database, so files run in parallel without seeing each other's rows.
 */

/** Admin connection used to create and drop test databases. */
const DEFAULT_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** URL of the new database, same server and credentials as the admin URL. */
  databaseUrl: string;
  /** Database name (`test_<pid>_<random>`). */
  name: string;
  /** Drops the database, ending any connection still open to it. Safe to call twice. */
  drop(): Promise<void>;
}

export interface CreateTestDatabaseOptions {
  /**
   * Apply the migrations after creating it.
   * @defaultValue true
   */
  migrate?: boolean;
  /** Migrations folder. @defaultValue the runner's default */
  migrationsDir?: string;
  /**
   * Server to create it on, as an admin URL.
   * @defaultValue env `TEST_DATABASE_ADMIN_URL`, else `postgresql://postgres@127.0.0.1:5432/postgres`
   */
  adminUrl?: string;
}

/** Creates a uniquely named database, migrated unless `migrate: false`. */
export async function createTestDatabase(
  options: CreateTestDatabaseOptions = {},
): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? process.env.TEST_DATABASE_ADMIN_URL ?? DEFAULT_ADMIN_URL;
  const name = `test_${process.pid}_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (admin) => admin.query(`CREATE DATABASE "${name}"`));

  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  let dropped = false;
  const drop = async (): Promise<void> => {
    if (dropped) return;
    dropped = true;
    await withAdmin(adminUrl, (admin) =>
      admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
    );
  };

  if (options.migrate ?? true) {
    try {
      await migrate({
        databaseUrl,
        ...(options.migrationsDir === undefined ? {} : { migrationsDir: options.migrationsDir }),
      });
    } catch (error) {
      await drop();
      throw error;
    }
  }
  return { databaseUrl, name, drop };
}

async function withAdmin<T>(adminUrl: string, work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => {});
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}
