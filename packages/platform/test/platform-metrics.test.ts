import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { baseServiceEnv, parseConfig, runService, type RunningService } from '../src/index.js';

const DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/test';

/** The value of one sample line (`name{labels} value`) of a Prometheus text body. */
function sample(body: string, name: string, labels: Record<string, string> = {}): number {
  const line = body
    .split('\n')
    .find(
      (l) =>
        l.startsWith(`${name}{`) &&
        Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
    );
  if (line === undefined) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('platform metrics - on /metrics of a real service runtime', { timeout: 30_000 }, () => {
  let service: RunningService<ReturnType<typeof loadConfig>>;
  let pool: pg.Pool;
  let publish: (n: number) => Promise<void>;
  let heldClient: pg.PoolClient | undefined;

  function loadConfig() {
    return parseConfig(baseServiceEnv({ httpPort: 8098 }), {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      HTTP_HOST: '127.0.0.1',
      NATS_URL: 'nats://127.0.0.1:4222',
      NATS_PREFIX: `metrics${process.pid}`,
      DATABASE_URL,
      POD_NAME: 'metrics-0',
    });
  }

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    service = await runService({
      name: 'metrics-test',
      version: '0.0.0',
      handleSignals: false,
      loadConfig: () => {
        // HTTP_PORT 0 is not a valid configured port; any free one will do.
        const cfg = loadConfig();
        return { ...cfg, HTTP_PORT: 0 };
      },
      setup: async (ctx) => {
        ctx.observePool('database', pool);
        ctx.onClose('pool', () => pool.end());
        ctx.app.get('/ok/:id', async () => ({ ok: true }));
        ctx.app.get('/boom', async () => {
          throw new Error('handler failure');
        });
        publish = async (n) => {
          for (let i = 0; i < n; i++)
            ctx.nc.publish(`${ctx.names.prefix}metrics.test`, 'x'.repeat(10));
          await ctx.nc.flush();
        };
      },
    });
  });

  afterAll(async () => {
    heldClient?.release();
    await service?.close();
  });

  it('HTTP: requests and durations by method, route template, status and status class', async () => {
    await fetch(`${service.url}/ok/1`);
    await fetch(`${service.url}/ok/2`);
    await fetch(`${service.url}/boom`);
    const body = await (await fetch(`${service.url}/metrics`)).text();
    const ok = { method: 'GET', route: '/ok/:id', status: '200', status_class: '2xx' };
    expect(sample(body, 'http_requests_total', ok)).toBe(2);
    expect(sample(body, 'http_request_duration_seconds_count', ok)).toBe(2);
    expect(
      sample(body, 'http_requests_total', { route: '/boom', status: '500', status_class: '5xx' }),
    ).toBe(1);
  });

  it('NATS: connection status and messages and bytes out and in', async () => {
    const before = await (await fetch(`${service.url}/metrics`)).text();
    const sentBefore = sample(before, 'nats_messages_sent_total');
    const bytesBefore = sample(before, 'nats_bytes_sent_total');
    await publish(5);
    const body = await (await fetch(`${service.url}/metrics`)).text();
    expect(sample(body, 'nats_connection_status', { service: 'metrics-test' })).toBe(1);
    expect(sample(body, 'nats_messages_sent_total') - sentBefore).toBeGreaterThanOrEqual(5);
    expect(sample(body, 'nats_bytes_sent_total') - bytesBefore).toBeGreaterThanOrEqual(50);
    // Provisioning JetStream already exchanged API requests and replies.
    expect(sample(body, 'nats_messages_received_total')).toBeGreaterThan(0);
    expect(sample(body, 'nats_bytes_received_total')).toBeGreaterThan(0);
    expect(sample(body, 'nats_reconnects_total')).toBe(0);
  });

  it('database pool: total, idle and waiting clients of the observed pool', async () => {
    heldClient = await pool.connect();
    const second = await pool.connect();
    second.release();
    // Both clients of the pool (max 2) are open, one is held: a third query must wait.
    const held = await pool.connect();
    const waiting = pool.query('SELECT 1');
    const body = await (await fetch(`${service.url}/metrics`)).text();
    expect(sample(body, 'db_pool_connections_total', { pool: 'database' })).toBe(2);
    expect(sample(body, 'db_pool_connections_idle', { pool: 'database' })).toBe(0);
    expect(sample(body, 'db_pool_waiting_clients', { pool: 'database' })).toBe(1);
    held.release();
    await waiting;
    const after = await (await fetch(`${service.url}/metrics`)).text();
    expect(sample(after, 'db_pool_connections_idle', { pool: 'database' })).toBe(1);
    expect(sample(after, 'db_pool_waiting_clients', { pool: 'database' })).toBe(0);
  });
});
