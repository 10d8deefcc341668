import Fastify from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';

import {
  createMetricsRegistry,
  registerHealthRoutes,
  type HealthCheck,
  type HealthRoutesOptions,
} from '../src/health.js';
import { captureLogs } from '../src/testing.js';

function buildApp(opts: Partial<HealthRoutesOptions> = {}) {
  const { log, lines: logLines } = captureLogs();
  const app = Fastify({ loggerInstance: log });
  const registry = createMetricsRegistry({ service: 'test', pod: 'test-0' });
  registerHealthRoutes(app, { checks: {}, registry, ...opts });
  app.get('/calls/:id', async () => ({ ok: true }));
  onTestFinished(() => app.close());
  return { app, logLines, registry };
}

const ok: HealthCheck = () => ({ ok: true, detail: 'fine' });

describe('health routes', () => {
  it('/healthz answers 200 while the process is alive', async () => {
    const { app } = buildApp({ checks: { broken: () => ({ ok: false }) } });
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz answers 200 with each check and its latency when all pass', async () => {
    const { app } = buildApp({ checks: { nats: ok, postgres: async () => ({ ok: true }) } });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      status: 'ready',
      reasons: [],
      checks: { nats: { ok: true, detail: 'fine' }, postgres: { ok: true } },
    });
    expect(typeof body.checks.nats.latencyMs).toBe('number');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('/readyz answers 503 when a check fails, throws or times out', async () => {
    const { app } = buildApp({
      checkTimeoutMs: 50,
      checks: {
        nats: ok,
        postgres: () => ({ ok: false, detail: 'connection refused' }),
        redis: async () => {
          throw new Error('boom');
        },
        slow: () => new Promise(() => {}),
      },
    });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({
      status: 'not-ready',
      reasons: ['check-failed'],
      checks: {
        nats: { ok: true },
        postgres: { ok: false, detail: 'connection refused' },
        redis: { ok: false, detail: 'boom' },
        slow: { ok: false, detail: 'timed out after 50ms' },
      },
    });
  });

  it('/readyz answers 503 once shutting down, without running the checks', async () => {
    let shuttingDown = false;
    let calls = 0;
    const { app } = buildApp({
      checks: { nats: () => ((calls += 1), { ok: true }) },
      isShuttingDown: () => shuttingDown,
    });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    shuttingDown = true;
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({
      status: 'not-ready',
      reasons: ['shutting-down'],
      checks: {},
    });
    expect(calls).toBe(1);
  });

  it('/readyz reports capacity and answers 503 when it is exhausted', async () => {
    let used = 3;
    const { app } = buildApp({ checks: { nats: ok }, capacity: () => ({ used, limit: 4 }) });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json().capacity).toEqual({ used: 3, limit: 4, available: 1 });
    used = 4;
    const full = await app.inject({ method: 'GET', url: '/readyz' });
    expect(full.statusCode).toBe(503);
    expect(full.json()).toMatchObject({
      reasons: ['capacity-exhausted'],
      capacity: { used: 4, limit: 4, available: 0 },
    });
  });

  it('/readyz leaves out an infinite capacity limit', async () => {
    const { app } = buildApp({ capacity: () => ({ used: 0, limit: Number.POSITIVE_INFINITY }) });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).not.toHaveProperty('capacity');
  });

  it('/metrics serves Prometheus text with default metrics, labels and HTTP metrics', async () => {
    const { app } = buildApp();
    await app.inject({ method: 'GET', url: '/calls/c-1' });
    await app.inject({ method: 'GET', url: '/calls/c-2' });
    await app.inject({ method: 'GET', url: '/nowhere' });
    await app.inject({ method: 'GET', url: '/healthz' });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(text).toMatch(/process_cpu_user_seconds_total\{service="test",pod="test-0"\}/);
    expect(text).toContain(
      'http_requests_total{method="GET",route="/calls/:id",status="200",status_class="2xx",service="test",pod="test-0"} 2',
    );
    expect(text).toContain(
      'http_requests_total{method="GET",route="unmatched",status="404",status_class="4xx",service="test",pod="test-0"} 1',
    );
    // Both requests observed (their count, not a fast bucket: a loaded machine is slow).
    expect(text).toMatch(
      /http_request_duration_seconds_count\{service="test",pod="test-0",method="GET",route="\/calls\/:id",status="200",status_class="2xx"\} 2/,
    );
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{le="0.005",service="test",pod="test-0",method="GET",route="\/calls\/:id",status="200",status_class="2xx"\} [0-2]\n/,
    );
    expect(text).not.toContain('route="/healthz"');
  });

  it('does not log probes at info, but still logs the app routes', async () => {
    const { app, logLines } = buildApp();
    await app.inject({ method: 'GET', url: '/healthz' });
    await app.inject({ method: 'GET', url: '/readyz' });
    await app.inject({ method: 'GET', url: '/metrics' });
    expect(logLines).toEqual([]);
    await app.inject({ method: 'GET', url: '/calls/c-1' });
    expect(logLines.map((l) => l.msg)).toEqual(['incoming request', 'request completed']);
  });
});
