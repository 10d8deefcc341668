import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

import { PrismaClient } from './generated/prisma/client.js';

/** The subset of a pino logger the client reports to. */
export interface DbLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface CreatePrismaClientOptions {
  /** `postgresql://` URL; `?schema=` is not read, use the database's search_path instead. */
  databaseUrl: string;
  /**
   * Most connections in the pg pool.
   * @defaultValue 10
   */
  poolMax?: number;
  /**
   * Receives Prisma's `warn`/`error` events and idle pool connection errors (which would
   * otherwise be unhandled `'error'` events).
   * @defaultValue silent
   */
  log?: DbLogger;
  /**
   * Receives the client's `pg` Pool once created, e.g. to expose its `totalCount`, `idleCount`
   * and `waitingCount` as metrics. The pool stays the client's: `$disconnect()` ends it.
   * @defaultValue none
   */
  onPool?: (pool: pg.Pool) => void;
}

/**
 * Builds the Prisma client on a `pg` pool through `@prisma/adapter-pg` (Prisma 7 has no native
 * query engine). Connects lazily on the first query; call `$disconnect()` on shutdown.
 *
 * @throws RangeError when `poolMax` is not a positive integer.
 */
export function createPrismaClient(options: CreatePrismaClientOptions): PrismaClient {
  const poolMax = options.poolMax ?? 10;
  if (!Number.isInteger(poolMax) || poolMax < 1) {
    throw new RangeError(`poolMax must be a positive integer, got ${poolMax}`);
  }
  const log = options.log;
  // An explicit pool, so its counters can be observed; the adapter ends it on `$disconnect()`.
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: poolMax });
  options.onPool?.(pool);
  const adapter = new PrismaPg(pool, {
    disposeExternalPool: true,
    onPoolError: (err) => log?.warn({ err }, 'database pool connection error'),
    onConnectionError: (err) => log?.warn({ err }, 'database connection error'),
  });
  if (log === undefined) return new PrismaClient({ adapter });

  const client = new PrismaClient({
    adapter,
    log: [
      { emit: 'event', level: 'warn' },
      { emit: 'event', level: 'error' },
    ],
  });
  client.$on('warn', (event) => log.warn({ target: event.target }, event.message));
  client.$on('error', (event) => log.error({ target: event.target }, event.message));
  // The event-typed client differs from PrismaClient only in which `$on` events it accepts.
  return client as unknown as PrismaClient;
}

export interface CheckDatabaseOptions {
  /**
   * Give up after this long, in ms.
   * @defaultValue 2_000
   */
  timeoutMs?: number;
}

/**
 * Readiness check: runs `SELECT 1`. Resolves when the database answers; rejects with the driver
 * error, or with a timeout error after `timeoutMs` so a hung connection cannot hang `/readyz`.
 */
export async function checkDatabase(
  prisma: PrismaClient,
  options: CheckDatabaseOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`database did not answer SELECT 1 within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([prisma.$queryRaw`SELECT 1`, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
