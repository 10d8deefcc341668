import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { scrubEvent, startErrorTracking } from '../src/error-tracking.js';
import { createLogger, REDACTED } from '../src/logger.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const FIXTURE = 'packages/platform/test/fixtures/failing-service.ts';
const SECRET = 'sk-fixture-4f9a8b7c6d5e';

/** A stand-in for Sentry's ingest: records every envelope POSTed to /api/<project>/envelope/. */
let ingest: Server;
let ingestPort = 0;
let envelopes: Array<{ path: string; body: string }> = [];

beforeAll(async () => {
  ingest = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body =
        req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString() : raw.toString();
      envelopes.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => ingest.listen(0, '127.0.0.1', resolve));
  ingestPort = (ingest.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => ingest.close(() => resolve()));
});

beforeEach(() => {
  envelopes = [];
});

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface FixtureRun {
  code: number | null;
  stdout: string;
  stderr: string;
  report: {
    sentryLoaded: boolean;
    uncaughtHandlers: number;
    rejectionHandlers: number;
    spanValid: boolean;
    propagationFields: string[];
  };
}

/** Runs the failing service as a real process until it dies of its own error. */
async function runFixture(failure: 'exception' | 'rejection', dsn?: string): Promise<FixtureRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', FIXTURE], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(await freePort()),
      NATS_URL: 'nats://127.0.0.1:4222',
      NATS_PREFIX: `errtrack${process.pid}`,
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/test',
      FIXTURE_API_KEY: SECRET,
      FIXTURE_FAILURE: failure,
      ...(dsn ? { SENTRY_DSN: dsn } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = stdout.split('\n').find((l) => l.includes('"sentryLoaded"'));
  if (!line) throw new Error(`the fixture did not reach its failure:\n${stdout}\n${stderr}`);
  return { code, stdout, stderr, report: JSON.parse(line) as FixtureRun['report'] };
}

/** The event items of the recorded envelopes (header line, item header, payload per item). */
function events(): Array<Record<string, unknown>> {
  return envelopes.flatMap(({ body }) => {
    const lines = body.split('\n');
    const out: Array<Record<string, unknown>> = [];
    for (let i = 1; i + 1 < lines.length; i += 2) {
      const header = JSON.parse(lines[i] as string) as { type?: string };
      if (header.type === 'event') out.push(JSON.parse(lines[i + 1] as string));
    }
    return out;
  });
}

describe(
  'error tracking - a real service runtime reporting to a Sentry DSN',
  { timeout: 30_000 },
  () => {
    for (const failure of ['exception', 'rejection'] as const) {
      it(`reports an unhandled ${failure}, scrubbed, then exits 1`, async () => {
        const run = await runFixture(failure, `http://public@127.0.0.1:${ingestPort}/1`);
        expect(run.code).toBe(1);
        expect(run.report.sentryLoaded).toBe(true);
        // Sentry left our OpenTelemetry setup alone: spans get ids, W3C propagation is ours.
        expect(run.report.spanValid).toBe(true);
        expect(run.report.propagationFields).toEqual(['traceparent', 'tracestate', 'baggage']);
        expect(envelopes.length).toBeGreaterThan(0);
        expect(envelopes.every((e) => e.path.startsWith('/api/1/envelope/'))).toBe(true);

        const all = envelopes.map((e) => e.body).join('\n');
        expect(all).toContain('fixture failure for');
        // Neither the planted secret nor the full phone number leaves the process.
        expect(all).not.toContain(SECRET);
        expect(all).not.toContain('+14155551234');
        expect(all).toContain('+1415*****34');

        expect(run.stdout).toContain('{"boomStatus":500}');
        // One event per error: the fatal log line of the same error is not sent again.
        expect(
          events()
            .map((e) => e.level)
            .sort(),
        ).toEqual(['error', 'fatal']);
        const handlerEvent = events().find((e) => e.level === 'error');
        const event = events().find((e) => e.level === 'fatal');
        expect(handlerEvent).toMatchObject({
          level: 'error',
          tags: { service: 'failing-service', route: '/boom', status: '500', method: 'GET' },
        });
        expect(JSON.stringify(handlerEvent)).toContain(
          `handler failure for +1415*****34 with key ${REDACTED}`,
        );

        expect(event).toMatchObject({
          level: 'fatal',
          environment: 'test',
          release: 'failing-service@1.2.3',
          tags: {
            service: 'failing-service',
            origin: failure === 'exception' ? 'uncaughtException' : 'unhandledRejection',
          },
        });
        const exception = (event?.exception as { values: Array<{ type: string; value: string }> })
          .values[0];
        expect(exception?.type).toBe('Error');
        expect(exception?.value).toBe(`fixture failure for +1415*****34 with key ${REDACTED}`);
        // The runtime logged the failure as fatal (also scrubbed by the logger's own rules).
        expect(run.stdout).toMatch(/"level":60.*"origin":"(uncaughtException|unhandledRejection)"/);
      });
    }

    it('without SENTRY_DSN loads no Sentry code, installs no handler and sends nothing', async () => {
      const run = await runFixture('exception');
      expect(run.code).toBe(1);
      expect(run.report.sentryLoaded).toBe(false);
      expect(run.report.rejectionHandlers).toBe(0);
      // Node's own crash report, as before error tracking existed.
      expect(run.stderr).toContain('fixture failure for');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(envelopes).toEqual([]);
    });
  },
);

describe('error tracking - the handle', () => {
  it('is disabled, and imports nothing, without a DSN', async () => {
    const lines: string[] = [];
    const log = createLogger({
      service: 't',
      version: '0',
      destination: { write: (l: string) => lines.push(l) },
    });
    const tracking = await startErrorTracking({
      dsn: undefined,
      serviceName: 't',
      serviceVersion: '0',
      environment: 'test',
      log,
    });
    expect(tracking.enabled).toBe(false);
    tracking.capture(new Error('ignored'));
    await tracking.close();
    expect(lines).toEqual([]);
  });

  it('scrubs secrets by key and value, URL credentials, bearer tokens and phone numbers', () => {
    const event = {
      message: `call +14155551234 failed; key ${SECRET}; Authorization: Bearer abc.def-ghi`,
      extra: {
        DATABASE_URL: 'postgresql://u:p@db/x',
        url: 'postgres://user:hunter2@db:5432/app',
        to: '+442071838750',
        nested: { apiKey: 'k', fromNumbers: ['+14155550000'], note: 'ok' },
      },
    };
    expect(scrubEvent(event, [SECRET])).toEqual({
      message: `call +1415*****34 failed; key ${REDACTED}; Authorization: Bearer ${REDACTED}`,
      extra: {
        DATABASE_URL: REDACTED,
        url: `postgres://${REDACTED}@db:5432/app`,
        to: '+4420******50',
        nested: { apiKey: REDACTED, fromNumbers: ['+1415*****00'], note: 'ok' },
      },
    });
  });
});
