/**
 * `GET /v1/live/events` over real HTTP, NATS and PostgreSQL: the snapshot of live calls, then
 * call events published on the CALLS stream and human agent notifications, heartbeats; the
 * client's consumer and subscription removed when it leaves; a client that stops reading is
 * dropped instead of buffered without end; 401 without a credential.
 */
import { request as httpRequest } from 'node:http';

import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  callEvent,
  humanAgentNotify,
  publishEvent,
  publishHumanAgentNotify,
  type Names,
} from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { captureLogs, natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';

import { createApiKey, PrismaApiKeyStore } from '../src/adapters/api-keys.js';
import { liveEventsRoutes, type LiveEventsOptions } from '../src/routes/live-events.js';

let ns: NatsTestNamespace;
let names: Names;
let jsm: JetStreamManager;
let db: TestDatabase;
let prisma: PrismaClient;
let viewerKey: string;
let liveCallId: string;
let endedCallId: string;
const subscriptions: Subscription[] = [];

/** The connection the routes get: every core subscription they make is recorded. */
function recordingConnection(nc: NatsConnection): NatsConnection {
  return new Proxy(nc, {
    get(target, prop) {
      if (prop === 'subscribe') {
        return (...args: Parameters<NatsConnection['subscribe']>) => {
          const sub = target.subscribe(...args);
          subscriptions.push(sub);
          return sub;
        };
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

async function startApp(
  overrides: Partial<LiveEventsOptions> = {},
): Promise<{ app: FastifyInstance; base: string; lines: Record<string, unknown>[] }> {
  const logs = captureLogs();
  const app = Fastify({ loggerInstance: logs.log as FastifyBaseLogger });
  await app.register(liveEventsRoutes, {
    apiKeys: new PrismaApiKeyStore(prisma),
    prisma,
    nc: recordingConnection(ns.nc),
    js: jetstream(ns.nc),
    names,
    ...overrides,
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base, lines: logs.lines };
}

async function until<T>(check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
}

const consumerCount = async () => {
  const list = await jsm.consumers.list(names.streams.calls.name).next();
  return list.length;
};

interface SseEvent {
  event: string;
  data: unknown;
}

/** An open event stream: its parsed events and comments as they arrive. */
async function openStream(base: string, key: string) {
  const abort = new AbortController();
  const res = await fetch(`${base}/v1/live/events`, {
    headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
    signal: abort.signal,
  });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const reading = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) events.push({ event, data: JSON.parse(data.join('\n')) });
        }
      }
    } catch {
      // Aborted by the test.
    }
  })();
  return {
    res,
    events,
    comments,
    next: (event: string, match: (data: never) => boolean = () => true) =>
      until(() => events.find((e) => e.event === event && match(e.data as never))),
    async close() {
      abort.abort();
      await reading;
    },
  };
}

beforeAll(async () => {
  ns = await natsTestNamespace();
  names = ns.names;
  jsm = await jetstreamManager(ns.nc);
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 4 });
  viewerKey = (await createApiKey(prisma, { name: 'live-viewer', role: 'viewer' })).key;
  const agent = await prisma.agent.create({ data: { name: 'Live agent', instructions: 'Hi.' } });
  liveCallId = (
    await prisma.call.create({
      data: {
        direction: 'inbound',
        transport: 'media_streams',
        fromNumber: '+15555550142',
        toNumber: '+15555550100',
        status: 'in_progress',
        answeredAt: new Date(),
        agentId: agent.id,
      },
    })
  ).id;
  endedCallId = (
    await prisma.call.create({
      data: {
        direction: 'outbound',
        fromNumber: '+15555550100',
        toNumber: '+15555550143',
        status: 'completed',
        endedAt: new Date(),
        endReason: 'completed',
        agentId: agent.id,
      },
    })
  ).id;
}, 30_000);

afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
  await ns?.close();
});

describe('live events', () => {
  it('sends the snapshot, then call events and notifications, with heartbeats; cleans up on disconnect', async () => {
    const { app, base } = await startApp({ heartbeatMs: 100 });
    try {
      const stream = await openStream(base, viewerKey);
      expect(stream.res.status).toBe(200);
      expect(stream.res.headers.get('content-type')).toMatch(/^text\/event-stream/);

      const snapshot = await stream.next('snapshot');
      const { calls } = snapshot.data as { calls: Array<Record<string, unknown>> };
      expect(calls.map((c) => c.id)).toEqual([liveCallId]);
      expect(calls[0]).toMatchObject({
        id: liveCallId,
        direction: 'inbound',
        transport: 'media_streams',
        status: 'in_progress',
        agentName: 'Live agent',
        endedAt: null,
      });
      expect(calls.some((c) => c.id === endedCallId)).toBe(false);
      expect(await consumerCount()).toBe(1);

      const js = jetstream(ns.nc);
      await publishEvent(
        js,
        names,
        callEvent('transcript', liveCallId, { role: 'caller', text: 'I need help', final: true }),
      );
      await publishEvent(js, names, callEvent('ended', liveCallId, { reason: 'caller-hangup' }));
      const transcript = await stream.next(
        'call',
        (d: { type: string }) => d.type === 'transcript',
      );
      expect(transcript.data).toMatchObject({
        callId: liveCallId,
        type: 'transcript',
        data: { role: 'caller', text: 'I need help', final: true },
      });
      expect(typeof (transcript.data as { ts: unknown }).ts).toBe('string');
      // In the stream's order.
      await stream.next('call', (d: { type: string }) => d.type === 'ended');
      expect(
        stream.events
          .filter((e) => e.event === 'call')
          .map((e) => (e.data as { type: string }).type),
      ).toEqual(['transcript', 'ended']);

      const humanAgentId = '3f6b1c2e-9a7d-4e5f-8b1a-2c3d4e5f6a7b';
      publishHumanAgentNotify(
        ns.nc,
        names,
        humanAgentId,
        humanAgentNotify(liveCallId, { kind: 'handoff-offered', handoffId: 'ho-1', summary: 'x' }),
      );
      const notified = await stream.next('human-agent');
      expect(notified.data).toMatchObject({
        humanAgentId,
        callId: liveCallId,
        data: { kind: 'handoff-offered', handoffId: 'ho-1' },
      });

      await until(() => (stream.comments.includes('heartbeat') ? true : undefined));

      await stream.close();
      await until(async () => ((await consumerCount()) === 0 ? true : undefined));
      await until(() => (subscriptions.every((s) => s.isClosed()) ? true : undefined));
      expect(subscriptions.length).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  }, 30_000);

  it('drops a client that stops reading instead of buffering for it', async () => {
    const { app, base, lines } = await startApp({ maxBufferedBytes: 64 * 1024 });
    const url = new URL(`${base}/v1/live/events`);
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      headers: { authorization: `Bearer ${viewerKey}` },
    });
    // Never read: the server's writes fill the kernel's buffers, then the socket's own.
    req.on('response', (res) => res.pause());
    req.on('error', () => undefined);
    req.end();
    try {
      await until(async () => ((await consumerCount()) === 1 ? true : undefined));
      const dropped = () => lines.some((l) => l.msg === 'live events: client too slow, dropped');
      const js = jetstream(ns.nc);
      const text = 'x'.repeat(60_000);
      // A client that never reads cannot take this many without the server buffering them.
      for (let i = 0; i < 5_000 && !dropped(); i++) {
        await publishEvent(
          js,
          names,
          callEvent('transcript', liveCallId, { role: 'agent', text, final: false }),
        );
      }
      expect(dropped()).toBe(true);
      // The drop freed the client's consumer like a disconnect does.
      await until(async () => ((await consumerCount()) === 0 ? true : undefined));
    } finally {
      req.destroy();
      await app.close();
    }
  }, 60_000);

  it('refuses a client without a credential, and ends open streams when the server closes', async () => {
    const { app, base } = await startApp();
    const anonymous = await fetch(`${base}/v1/live/events`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: expect.any(String) });

    const stream = await openStream(base, viewerKey);
    await stream.next('snapshot');
    // Would hang if the open stream kept the server from closing.
    await app.close();
    await stream.close();
    await until(async () => ((await consumerCount()) === 0 ? true : undefined));
  }, 30_000);
});
