import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNames } from '@app/contracts';
import { createTestDatabase } from '@app/db/testing';

import { freePort, ROOT_DIR, spawnService, waitForOk } from './service-process.js';

const SERVICES = readdirSync(join(ROOT_DIR, 'services'));
const NATS_URL = 'nats://127.0.0.1:4222';

describe('services - each starts against real NATS and PostgreSQL, serves health, stops cleanly', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const prefix = `t${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    const nc = await connect({ servers: NATS_URL });
    const jsm = await jetstreamManager(nc);
    const names = createNames(prefix);
    for (const stream of [
      ...Object.values(names.streams).map((s) => s.name),
      ...Object.values(names.kv).map((b) => `KV_${b.name}`),
    ]) {
      await jsm.streams.delete(stream).catch(() => undefined);
    }
    await nc.close();
    await db?.drop();
  });

  it('finds the five services of ARCHITECTURE.md', () => {
    expect(SERVICES.sort()).toEqual(
      ['call-bridge', 'campaign-scheduler', 'gateway', 'handoff', 'tool-runner'].sort(),
    );
  });

  for (const name of SERVICES) {
    it(
      `${name} - starts, reports nats and database ready, logs JSON, exits 0 on SIGTERM`,
      { timeout: 60_000 },
      async () => {
        const port = await freePort();
        const proc = spawnService(name, {
          DATABASE_URL: db.databaseUrl,
          NATS_URL,
          NATS_PREFIX: prefix,
          HTTP_HOST: '127.0.0.1',
          HTTP_PORT: String(port),
          LOG_LEVEL: 'info',
          POD_NAME: `${name}-test`,
          SHUTDOWN_TIMEOUT_MS: '10000',
          ...(name === 'call-bridge' ? { DRAIN_TIMEOUT_MS: '1000' } : {}),
        });
        try {
          const base = `http://127.0.0.1:${port}`;
          await waitForOk(`${base}/readyz`, proc, 30_000);

          const ready = (await (await fetch(`${base}/readyz`)).json()) as {
            status: string;
            checks: Record<string, { ok: boolean }>;
          };
          expect(ready.status).toBe('ready');
          expect(ready.checks.nats?.ok).toBe(true);
          expect(ready.checks.database?.ok).toBe(true);

          const health = await fetch(`${base}/healthz`);
          expect(health.status).toBe(200);

          const metrics = await fetch(`${base}/metrics`);
          expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
          expect(await metrics.text()).toContain('process_cpu_user_seconds_total');
        } finally {
          proc.child.kill('SIGTERM');
        }
        const { code } = await proc.exited;
        expect(code).toBe(0);
        expect(proc.stderr).toEqual([]);
        expect(proc.stdout.length).toBeGreaterThan(0);
        for (const line of proc.stdout) {
          const entry = JSON.parse(line) as Record<string, unknown>;
          expect(entry.service).toBe(name);
          expect(entry.pod).toBe(`${name}-test`);
        }
        const messages = proc.stdout.map((l) => (JSON.parse(l) as { msg?: string }).msg);
        expect(messages).toContain('service ready');
      },
    );
  }

  it(
    'a service given a bad env value exits 1 with one line naming the variable',
    { timeout: 30_000 },
    async () => {
      const proc = spawnService('gateway', {
        DATABASE_URL: db.databaseUrl,
        NATS_URL,
        HTTP_PORT: 'not-a-port',
      });
      const { code } = await proc.exited;
      expect(code).toBe(1);
      expect(proc.stderr).toHaveLength(1);
      expect(proc.stderr[0]).toMatch(/^gateway: invalid configuration: .*HTTP_PORT/);
      expect(proc.stdout).toEqual([]);
    },
  );

  it(
    'a service missing DATABASE_URL exits 1 and does not print other variables',
    { timeout: 30_000 },
    async () => {
      const proc = spawnService('handoff', { NATS_URL });
      const { code } = await proc.exited;
      expect(code).toBe(1);
      expect(proc.stderr).toHaveLength(1);
      expect(proc.stderr[0]).toContain('DATABASE_URL');
    },
  );
});
