import { describe, expect, it } from 'vitest';

import { attachDatabase, type DatabaseHost } from '../src/index.js';

const DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/test';

describe('attachDatabase - the service runtime sees the pg pool', { timeout: 30_000 }, () => {
  it('hands the pool to observePool, whose counters follow queries, and ends it on close', async () => {
    const observed: Array<{
      name: string;
      pool: { totalCount: number; idleCount: number; waitingCount: number };
    }> = [];
    const closeSteps: Array<() => Promise<void>> = [];
    const host: DatabaseHost = {
      config: { DATABASE_URL, DATABASE_POOL_MAX: 3 },
      addCheck: () => undefined,
      onClose: (_name, run) => closeSteps.push(run),
      observePool: (name, pool) => observed.push({ name, pool }),
    };
    const prisma = attachDatabase(host);
    expect(observed.map((o) => o.name)).toEqual(['database']);
    const pool = observed[0]!.pool;
    expect(pool.totalCount).toBe(0);

    await prisma.$queryRaw`SELECT 1`;
    expect(pool.totalCount).toBe(1);
    expect(pool.idleCount).toBe(1);
    expect(pool.waitingCount).toBe(0);

    for (const run of closeSteps) await run();
    expect(pool.totalCount).toBe(0);
  });

  it('works for a host without observePool', async () => {
    const closeSteps: Array<() => Promise<void>> = [];
    const prisma = attachDatabase({
      config: { DATABASE_URL, DATABASE_POOL_MAX: 1 },
      addCheck: () => undefined,
      onClose: (_name, run) => closeSteps.push(run),
    });
    await expect(prisma.$queryRaw`SELECT 1 AS one`).resolves.toEqual([{ one: 1 }]);
    for (const run of closeSteps) await run();
  });
});
