/**
 * Gives a service its database: a pooled Prisma client, a /readyz check and a close step.
 * Typed structurally against the service runtime's context so this package never imports
 * @app/platform (packages stay independent of each other's internals).
 */
import { checkDatabase, createPrismaClient } from './client.js';
import type { PrismaClient } from './generated/prisma/client.js';

/** The part of a service context this needs (see `ServiceContext` in @app/platform). */
export interface DatabaseHost {
  readonly config: { readonly DATABASE_URL: string; readonly DATABASE_POOL_MAX: number };
  addCheck(name: string, check: () => Promise<{ ok: boolean; detail?: string }>): void;
  onClose(name: string, run: () => Promise<void>): void;
  /** Exposes the pool's counters on /metrics (`db_pool_*{pool="database"}`). */
  observePool?(
    name: string,
    pool: {
      readonly totalCount: number;
      readonly idleCount: number;
      readonly waitingCount: number;
    },
  ): void;
}

/**
 * Creates the client, registers `database` on /readyz, exposes the pool's metrics and closes the
 * pool on shutdown.
 */
export function attachDatabase(host: DatabaseHost): PrismaClient {
  const prisma = createPrismaClient({
    databaseUrl: host.config.DATABASE_URL,
    poolMax: host.config.DATABASE_POOL_MAX,
    onPool: (pool) => host.observePool?.('database', pool),
  });
  host.addCheck('database', async () => {
    try {
      await checkDatabase(prisma);
      return { ok: true };
    } catch (err) {
      return { ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  });
  host.onClose('database', () => prisma.$disconnect());
  return prisma;
}
