/**
 * The HTTP edge (routes/edge-security.ts) on two gateway app instances sharing one NATS
 * namespace, as two replicas do: rate limits counted across both, per policy and per client,
 * 429 and 413 answers, security headers and CSP (dashboard strict, /docs scoped), CORS closed
 * unless an origin is configured.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureLogs, natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';

import { KvRateCounter } from '../src/adapters/kv-rate-limit-store.js';
import { loadConfig } from '../src/config.js';
import { registerApiDocs } from '../src/routes/api-docs.js';
import { dashboardStaticRoutes } from '../src/routes/dashboard-static.js';
import { edgeSecurityPlugin, WEBHOOK_BODY_LIMIT } from '../src/routes/edge-security.js';

const LIMITS = { 'sign-in': 3, read: 8, write: 5, webhook: 20 } as const;
const INDEX =
  '<!doctype html><link rel="stylesheet" href="/assets/app.css"><div id="app"></div>' +
  '<script type="module" src="/assets/app.js"></script>';

let ns: NatsTestNamespace;
let nc2: NatsConnection;
let dir: string;
/** The shared clock of both replicas: every request of a test falls in one known window. */
const clock = { now: 0 };
let a: FastifyInstance;
let b: FastifyInstance;
let cors: FastifyInstance;

async function replica(
  nc: NatsConnection,
  opts: { corsOrigins?: string[] } = {},
): Promise<FastifyInstance> {
  const spec = ns.names.kv.gatewayRateLimits;
  const counter = new KvRateCounter(await new Kvm(nc).open(spec.name), spec.ttlMs, () => clock.now);
  const app = Fastify({ loggerInstance: captureLogs().log as FastifyBaseLogger });
  await app.register(edgeSecurityPlugin, {
    counter,
    limits: LIMITS,
    trustedProxyHops: 1,
    bodyLimitBytes: 4_096,
    ...(opts.corsOrigins ? { corsOrigins: opts.corsOrigins } : {}),
  });
  await registerApiDocs(app, { version: '0.0.0' });
  // Routes shaped as the gateway's: the policy follows the method and path.
  app.get('/v1/things', async () => ({ items: [] }));
  app.post('/v1/things', { bodyLimit: 1_024 }, async () => ({ ok: true }));
  app.post('/v1/session', async () => ({ ok: true }));
  app.post('/twilio/voice', async () => ({ ok: true }));
  app.post('/v1/imports', async () => ({ ok: true }));
  await app.register(dashboardStaticRoutes, { dir });
  await app.ready();
  return app;
}

beforeAll(async () => {
  ns = await natsTestNamespace();
  nc2 = await connect({ servers: 'nats://127.0.0.1:4222' });
  dir = mkdtempSync(join(tmpdir(), 'edge-security-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1);');
  a = await replica(ns.nc);
  b = await replica(nc2);
  cors = await replica(ns.nc, { corsOrigins: ['https://admin.example.com'] });
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), cors?.close()]);
  await nc2?.close();
  await ns?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh minute for each test, 15 s in: Retry-After is then 45. */
let minute = 10_000_000;
const freshWindow = () => {
  minute += 1;
  clock.now = minute * 60_000 + 15_000;
};

/** A request from one client address (the proxy in front appends it to X-Forwarded-For). */
const from = (ip: string, headers: Record<string, string> = {}) => ({
  'x-forwarded-for': ip,
  ...headers,
});

describe('gateway edge - rate limits shared by replicas', () => {
  it('counts the requests of both replicas against one limit, then answers 429', async () => {
    freshWindow();
    const statuses: number[] = [];
    for (let i = 0; i < LIMITS.read; i++) {
      const app = i % 2 === 0 ? a : b;
      statuses.push(
        (await app.inject({ url: '/v1/things', headers: from('203.0.113.7') })).statusCode,
      );
    }
    expect(statuses).toEqual(Array(LIMITS.read).fill(200));
    for (const app of [a, b]) {
      const res = await app.inject({ url: '/v1/things', headers: from('203.0.113.7') });
      expect(res.statusCode).toBe(429);
      expect(res.headers['retry-after']).toBe('45');
      expect(res.headers['x-ratelimit-limit']).toBe(String(LIMITS.read));
      expect(res.headers['x-ratelimit-remaining']).toBe('0');
      expect(res.json()).toEqual({
        error: `too many requests: at most ${LIMITS.read} read requests per 60 s; retry in 45 s`,
      });
    }
    // Another client address is not affected; nor is the next window.
    expect((await a.inject({ url: '/v1/things', headers: from('203.0.113.8') })).statusCode).toBe(
      200,
    );
    freshWindow();
    expect((await b.inject({ url: '/v1/things', headers: from('203.0.113.7') })).statusCode).toBe(
      200,
    );
  });

  it('limits per API key, whatever address it comes from, and keeps keys apart', async () => {
    freshWindow();
    const key = (k: string, ip: string) => from(ip, { authorization: `Bearer ${k}` });
    for (let i = 0; i < LIMITS.write; i++) {
      const res = await (i % 2 ? a : b).inject({
        method: 'POST',
        url: '/v1/things',
        headers: key('vpk_one', `198.51.100.${i}`),
        payload: {},
      });
      expect(res.statusCode).toBe(200);
    }
    const over = await a.inject({
      method: 'POST',
      url: '/v1/things',
      headers: key('vpk_one', '198.51.100.99'),
      payload: {},
    });
    expect(over.statusCode).toBe(429);
    // Reads are a separate budget; another key has its own.
    expect(
      (await a.inject({ url: '/v1/things', headers: key('vpk_one', '1.1.1.1') })).statusCode,
    ).toBe(200);
    const other = await b.inject({
      method: 'POST',
      url: '/v1/things',
      headers: key('vpk_two', '198.51.100.1'),
      payload: {},
    });
    expect(other.statusCode).toBe(200);
  });

  it('makes sign-in strict per address, even when the client sends made-up keys', async () => {
    freshWindow();
    const attempt = (app: FastifyInstance, i: number) =>
      app.inject({
        method: 'POST',
        url: '/v1/session',
        headers: from('192.0.2.9', { authorization: `Bearer guess-${i}` }),
        payload: { email: 'a@example.com', password: 'x' },
      });
    const statuses = [];
    for (let i = 0; i < LIMITS['sign-in'] + 2; i++)
      statuses.push((await attempt(i % 2 ? a : b, i)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it('lets webhooks through far above the API limits, and never limits CORS preflights', async () => {
    freshWindow();
    for (let i = 0; i < LIMITS.webhook; i++) {
      const res = await (i % 2 ? a : b).inject({
        method: 'POST',
        url: '/twilio/voice',
        headers: from('54.172.60.1'),
        payload: { CallSid: 'CA1' },
      });
      expect(res.statusCode).toBe(200);
    }
    const over = await a.inject({
      method: 'POST',
      url: '/twilio/voice',
      headers: from('54.172.60.1'),
      payload: {},
    });
    expect(over.statusCode).toBe(429);
    for (let i = 0; i < LIMITS.read + 2; i++) {
      const res = await a.inject({
        method: 'OPTIONS',
        url: '/v1/things',
        headers: from('54.172.60.2'),
      });
      expect(res.statusCode).not.toBe(429);
    }
  });
});

describe('gateway edge - body size', () => {
  it('answers 413 with the route limit before reading the body', async () => {
    freshWindow();
    const res = await a.inject({
      method: 'POST',
      url: '/v1/things',
      headers: from('10.9.0.1', { 'content-type': 'application/json' }),
      payload: JSON.stringify({ pad: 'x'.repeat(2_000) }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json<{ error: string }>().error).toMatch(
      /^request body too large: \d+ bytes, at most 1024 here$/,
    );
  });

  it('gives routes without a limit of their own the global one, and webhooks a small one', async () => {
    freshWindow();
    const post = (url: string, size: number) =>
      a.inject({
        method: 'POST',
        url,
        headers: from('10.9.0.2', { 'content-type': 'application/json' }),
        payload: JSON.stringify({ pad: 'x'.repeat(size) }),
      });
    expect((await post('/v1/imports', 3_000)).statusCode).toBe(200);
    expect((await post('/v1/imports', 5_000)).statusCode).toBe(413);
    // Twilio's routes set none: theirs is WEBHOOK_BODY_LIMIT, above the global 4 KiB here.
    expect((await post('/twilio/voice', 10_000)).statusCode).toBe(200);
    expect((await post('/twilio/voice', WEBHOOK_BODY_LIMIT)).statusCode).toBe(413);
  });
});

describe('gateway edge - security headers', () => {
  it('serves the dashboard with a strict CSP: no inline script or style, no framing', async () => {
    freshWindow();
    const res = await a.inject({ url: '/', headers: from('10.8.0.1', { accept: 'text/html' }) });
    expect(res.statusCode).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    const directives = new Map(
      csp.split(';').map((d) => {
        const [name = '', ...values] = d.trim().split(/\s+/);
        return [name, values.join(' ')];
      }),
    );
    expect(directives.get('default-src')).toBe("'self'");
    expect(directives.get('script-src')).toBe("'self'");
    expect(directives.get('style-src')).toBe("'self'");
    expect(directives.get('object-src')).toBe("'none'");
    expect(directives.get('frame-ancestors')).toBe("'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-powered-by']).toBeUndefined();
    // The API's answers carry the headers too.
    const api = await a.inject({ url: '/v1/things', headers: from('10.8.0.1') });
    expect(api.headers['content-security-policy']).toBe(csp);
  });

  it('loosens only style-src, and only for /docs', async () => {
    freshWindow();
    const docs = await a.inject({ url: '/docs/', headers: from('10.8.0.2') });
    expect(docs.statusCode).toBe(200);
    const csp = String(docs.headers['content-security-policy']);
    expect(csp).toMatch(/style-src 'self' 'unsafe-inline'/);
    expect(csp).toMatch(/script-src 'self';/);
    const page = await a.inject({ url: '/', headers: from('10.8.0.2', { accept: 'text/html' }) });
    expect(String(page.headers['content-security-policy'])).not.toMatch(/unsafe-inline/);
  });
});

describe('gateway edge - CORS', () => {
  const preflight = (app: FastifyInstance, origin: string) =>
    app.inject({
      method: 'OPTIONS',
      url: '/v1/things',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });

  it('grants no origin by default', async () => {
    freshWindow();
    const res = await preflight(a, 'https://admin.example.com');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const get = await a.inject({ url: '/v1/things', headers: { origin: 'https://evil.example' } });
    expect(get.statusCode).toBe(200);
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('grants exactly the configured origins, without credentials', async () => {
    freshWindow();
    const ok = await preflight(cors, 'https://admin.example.com');
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('https://admin.example.com');
    expect(ok.headers['access-control-allow-credentials']).toBeUndefined();
    const other = await preflight(cors, 'https://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('gateway edge - config', () => {
  const BASE = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/voice' };

  it('defaults to no CORS origin, strict sign-in and the 1 MiB body limit', () => {
    expect(loadConfig(BASE)).toMatchObject({
      CORS_ORIGINS: [],
      RATE_LIMIT_SIGN_IN_PER_MIN: 10,
      RATE_LIMIT_READ_PER_MIN: 600,
      RATE_LIMIT_WRITE_PER_MIN: 120,
      RATE_LIMIT_WEBHOOK_PER_MIN: 6000,
      TRUSTED_PROXY_HOPS: 0,
      BODY_LIMIT_BYTES: 1024 * 1024,
    });
  });

  it('reads a list of origins and names what is not an origin', () => {
    const origins = 'https://admin.example.com, http://127.0.0.1:5173';
    expect(loadConfig({ ...BASE, CORS_ORIGINS: origins }).CORS_ORIGINS).toEqual([
      'https://admin.example.com',
      'http://127.0.0.1:5173',
    ]);
    for (const bad of ['https://admin.example.com/', '*', 'admin.example.com']) {
      expect(() => loadConfig({ ...BASE, CORS_ORIGINS: bad })).toThrow(
        /CORS_ORIGINS.*not an origin/s,
      );
    }
    expect(() => loadConfig({ ...BASE, RATE_LIMIT_SIGN_IN_PER_MIN: '0' })).toThrow(
      /RATE_LIMIT_SIGN_IN_PER_MIN/,
    );
  });
});
