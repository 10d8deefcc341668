/**
 * The tool-runner in process over real NATS and PostgreSQL (a namespace and a database per test
 * file), with the real handoff service behind transfer_to_human and a local HTTP server standing
 * in for the backends of HTTP tools: it checks each request's signature as a receiver would and
 * refuses a bad one with 401. That server is on loopback, so the runner allows private networks
 * (the SSRF guard's production default refuses them; destination-guard.test.ts tests that).
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';

import { Registry } from 'prom-client';

import { request, toolExecuteRequest, type Names, type ToolResult } from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { startHandoff, type RunningHandoff } from '@app/handoff';
import { captureLogs, natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';
import { BUILTIN_TOOLS } from '@app/tools';

import {
  startToolRunner,
  type RunningToolRunner,
  type ToolRunnerSettings,
} from '../../src/tool-runner.js';

/** A San Francisco caller: +1 415 maps to exactly one zone. */
export const CALLER = '+14155550100';
export const OURS = '+15555550100';
export const SECRET = 'http-tool-secret-0001';
/** The runner's clock: fixed, so rate-limit windows and times are deterministic. */
export const NOW = new Date('2026-11-30T18:00:00.000Z');

export interface ReceivedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: string;
  headers: IncomingMessage['headers'];
  signatureValid: boolean;
}

export interface Harness {
  ns: NatsTestNamespace;
  names: Names;
  prisma: PrismaClient;
  runner: RunningToolRunner;
  registry: Registry;
  handoff: RunningHandoff;
  agentId: string;
  /** An agent with only get_time. */
  narrowAgentId: string;
  /** Requests the HTTP tool server received, by path. */
  received: (path: string) => ReceivedRequest[];
  baseUrl: string;
  logs: Record<string, unknown>[];
  /** A new Call row (inbound from CALLER to OURS, SIP unless said). */
  newCall(fields?: { direction?: 'inbound' | 'outbound'; endedAt?: Date }): Promise<string>;
  /** Runs one invocation through `tool-runner.execute` as the bridge does; returns `data`. */
  invoke(
    callId: string,
    name: string,
    args: unknown,
    options?: { agentId?: string; invocationId?: string; deadlineMs?: number },
  ): Promise<ToolResult>;
  close(): Promise<void>;
}

export async function until<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function verify(secret: string, headers: IncomingMessage['headers'], signed: string): boolean {
  const ts = headers['x-signature-timestamp'];
  const sig = headers['x-signature'];
  if (typeof ts !== 'string' || typeof sig !== 'string') return false;
  // Replay guard a receiver would apply: the timestamp is the runner's (fixed) clock.
  if (Math.abs(Number(ts) - NOW.getTime() / 1_000) > 300) return false;
  const want = Buffer.from(
    `sha256=${createHmac('sha256', secret).update(`${ts}.${signed}`).digest('hex')}`,
  );
  const got = Buffer.from(sig);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** The backends of the HTTP tools, by path. */
function startToolServer(received: ReceivedRequest[]): Promise<Server> {
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const body = Buffer.concat(chunks).toString('utf8');
      const hasBody = ['POST', 'PUT', 'PATCH'].includes(req.method ?? '');
      const signatureValid = verify(
        SECRET,
        req.headers,
        hasBody ? body : `${url.pathname}${url.search}`,
      );
      received.push({
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body,
        headers: req.headers,
        signatureValid,
      });
      const hit = (hits.get(url.pathname) ?? 0) + 1;
      hits.set(url.pathname, hit);
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (url.pathname.startsWith('/signed/') && !signatureValid) {
        json(401, { error: 'bad signature' });
        return;
      }
      switch (url.pathname) {
        case '/signed/orders':
          json(200, { order: JSON.parse(body) as unknown, status: 'shipped' });
          return;
        case '/signed/slots':
          // Fails twice, then answers: an idempotent GET is retried through it.
          if (hit <= 2) json(503, { error: 'busy' });
          else json(200, { slots: ['09:00', '10:30'], day: url.searchParams.get('day') });
          return;
        case '/signed/flaky-post':
          json(500, { error: 'down' });
          return;
        case '/missing':
          json(404, { error: 'no such order' });
          return;
        case '/slow':
          setTimeout(() => json(200, { late: true }), 3_000);
          return;
        case '/big':
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('x'.repeat(5_000));
          return;
        case '/wide':
          json(200, { rows: Array.from({ length: 400 }, (_, i) => ({ i, text: 'y'.repeat(50) })) });
          return;
        default:
          json(404, { error: 'unknown path' });
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export async function startHarness(settings: Partial<ToolRunnerSettings> = {}): Promise<Harness> {
  const ns = await natsTestNamespace();
  const db: TestDatabase = await createTestDatabase();
  const prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 4 });
  const received: ReceivedRequest[] = [];
  const server = await startToolServer(received);
  const address = server.address();
  const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const http = (
    name: string,
    path: string,
    fields: Partial<Parameters<typeof prisma.httpTool.create>[0]['data']> = {},
  ) => ({
    name,
    description: `HTTP tool ${name}`,
    url: `${baseUrl}${path}`,
    parameters: { type: 'object', properties: {}, additionalProperties: true },
    ...fields,
  });
  await prisma.httpTool.createMany({
    data: [
      http('lookup_order', '/signed/orders', {
        parameters: {
          type: 'object',
          properties: { orderId: { type: 'string', pattern: '^[0-9]+$' } },
          required: ['orderId'],
          additionalProperties: false,
        },
        signingSecret: SECRET,
        headers: { 'x-api-key': 'k-123' },
      }),
      http('wrong_secret', '/signed/orders', { signingSecret: 'not-the-secret' }),
      http('list_slots', '/signed/slots', {
        method: 'GET',
        signingSecret: SECRET,
        maxRetries: 2,
      }),
      http('flaky_post', '/signed/flaky-post', { signingSecret: SECRET, maxRetries: 2 }),
      http('missing_order', '/missing'),
      http('slow_tool', '/slow', { timeoutMs: 300 }),
      http('big_tool', '/big', { maxResponseBytes: 1_000 }),
      http('wide_tool', '/wide'),
      http('disabled_tool', '/signed/orders', { enabled: false }),
    ],
  });
  const agent = await prisma.agent.create({
    data: {
      name: 'tools-agent',
      instructions: 'Help.',
      toolNames: [
        ...BUILTIN_TOOLS.keys(),
        'lookup_order',
        'wrong_secret',
        'list_slots',
        'flaky_post',
        'missing_order',
        'slow_tool',
        'big_tool',
        'wide_tool',
        'disabled_tool',
        'ghost_tool',
      ],
    },
  });
  const narrow = await prisma.agent.create({
    data: { name: 'narrow-agent', instructions: 'Help.', toolNames: ['get_time'] },
  });

  const logs = captureLogs();
  const handoff = await startHandoff({
    nc: ns.nc,
    names: ns.names,
    prisma,
    twilio: null,
    webhook: null,
    log: logs.log,
  });
  const registry = new Registry();
  const runner = await startToolRunner({
    nc: ns.nc,
    names: ns.names,
    prisma,
    registry,
    log: logs.log,
    version: '0.1.0',
    now: () => NOW,
    settings: {
      httpRetryBaseMs: 20,
      httpDestinations: { allowPrivateNetworks: true, allowedHosts: [] },
      ...settings,
    },
  });

  return {
    ns,
    names: ns.names,
    prisma,
    runner,
    registry,
    handoff,
    agentId: agent.id,
    narrowAgentId: narrow.id,
    received: (path) => received.filter((r) => r.path === path),
    baseUrl,
    logs: logs.lines,
    async newCall(fields = {}) {
      const direction = fields.direction ?? 'inbound';
      const call = await prisma.call.create({
        data: {
          direction,
          transport: 'sip',
          openaiCallId: `rtc_${randomUUID().replace(/-/g, '')}`,
          fromNumber: direction === 'inbound' ? CALLER : OURS,
          toNumber: direction === 'inbound' ? OURS : CALLER,
          status: 'in_progress',
          agentId: agent.id,
          ...(fields.endedAt ? { endedAt: fields.endedAt } : {}),
        },
      });
      return call.id;
    },
    async invoke(callId, name, args, options = {}) {
      const reply = await request(
        ns.nc,
        ns.names,
        'tool-execute',
        toolExecuteRequest(callId, {
          invocationId: options.invocationId ?? `call_${randomUUID().slice(0, 8)}`,
          name,
          args: args as never,
          agentId: options.agentId ?? agent.id,
          ...(options.deadlineMs ? { deadlineMs: options.deadlineMs } : {}),
        }),
        { timeoutMs: 15_000 },
      );
      return reply.data;
    },
    async close() {
      await runner.stop();
      await handoff.stop();
      await new Promise((r) => server.close(r));
      server.closeAllConnections();
      await prisma.$disconnect();
      await ns.close();
      await db.drop();
    },
  };
}
