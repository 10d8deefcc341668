/**
 * The dashboard's static files at `/`: cache headers, the SPA fallback for page paths, API and
 * probe paths kept out of it, and a gateway without a built dashboard.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { dashboardStaticRoutes, NOT_BUILT_MESSAGE } from '../src/routes/dashboard-static.js';

const INDEX =
  '<!doctype html><div id="app"></div><script type="module" src="/assets/app-1a2b.js"></script>';

async function gateway(dir: string): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(dashboardStaticRoutes, { dir });
  // An API route beside it, as in the gateway.
  app.get('/v1/things', async () => ({ items: [] }));
  await app.ready();
  return app;
}

describe('dashboard static files', () => {
  let dir: string;
  let app: FastifyInstance;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dashboard-static-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), INDEX);
    writeFileSync(join(dir, 'assets', 'app-1a2b.js'), 'console.log(1);');
    app = await gateway(dir);
  });

  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html at / with no-cache', async () => {
    const res = await app.inject({ url: '/', headers: { accept: 'text/html' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.body).toBe(INDEX);
  });

  it('serves hashed assets with a long immutable cache', async () => {
    const res = await app.inject({ url: '/assets/app-1a2b.js' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.body).toBe('console.log(1);');
  });

  it('answers a page path with index.html when the browser asks for HTML', async () => {
    for (const url of [
      '/live',
      '/reports/5f0c6f7e-4a9c-4f57-9b7c-2f6f8a7c1d2e?x=1',
      '/campaigns',
    ]) {
      const res = await app.inject({
        url,
        headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
      });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toBe(INDEX);
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('gives 404, not index.html, to a non-HTML request, a missing asset or a file outside', async () => {
    expect(
      (await app.inject({ url: '/live', headers: { accept: 'application/json' } })).statusCode,
    ).toBe(404);
    expect((await app.inject({ url: '/assets/gone-0000.js' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/favicon.ico' })).statusCode).toBe(404);
    const escape = await app.inject({ url: '/assets/..%2f..%2fetc%2fpasswd' });
    expect([403, 404]).toContain(escape.statusCode);
    expect(escape.body).not.toContain('root:');
  });

  it('keeps API, docs, webhook and probe paths out of the fallback', async () => {
    const html = { accept: 'text/html' };
    expect((await app.inject({ url: '/v1/things', headers: html })).json()).toEqual({ items: [] });
    for (const url of [
      '/v1/unknown',
      '/docs',
      '/docs/json',
      '/twilio/voice',
      '/openai/x',
      '/metrics',
      '/healthz',
      '/readyz',
    ]) {
      const res = await app.inject({ url, headers: html });
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toBe(INDEX);
    }
  });

  it('without a built dashboard: / says how to build it, the rest still works', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'dashboard-missing-'));
    const bare = await gateway(join(empty, 'dist'));
    try {
      const res = await bare.inject({ url: '/', headers: { accept: 'text/html' } });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.body).toBe(NOT_BUILT_MESSAGE);
      expect(res.body).toContain('pnpm --filter @app/dashboard build');
      expect((await bare.inject({ url: '/v1/things' })).statusCode).toBe(200);
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
