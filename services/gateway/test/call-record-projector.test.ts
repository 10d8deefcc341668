import { randomBytes, randomUUID } from 'node:crypto';

import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { callEvent, publishEvent, type CallEvent, type Names } from '@app/contracts';
import { createPrismaClient, migrate, type PrismaClient } from '@app/db';
import { createTestDatabase } from '@app/db/testing';
import { captureLogs, natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';

import { PrismaCallRecordStore } from '../src/adapters/call-record-store.js';
import { startCallRecordProjector } from '../src/handlers/call-record-projector.js';

// Real NATS and PostgreSQL; this file's own namespace and databases.
const ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';
let nc: NatsConnection;
let js: JetStreamClient;
let names: Names;
let ns: NatsTestNamespace;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let prisma: PrismaClient;

/** One inbound call's events, in the order the gateway and bridge publish them. */
function conversation(callId: string): CallEvent[] {
  const at = (s: number) => ({ ts: new Date(Date.UTC(2026, 10, 25, 12, 0, s)).toISOString() });
  return [
    callEvent(
      'created',
      callId,
      {
        direction: 'inbound',
        transport: 'media-streams',
        from: '+15555550142',
        to: '+15555550100',
        agentId: 'not-a-known-agent',
        providerCallSid: `CA${randomBytes(16).toString('hex')}`,
        // Well-formed ids of rows that do not exist: dropped, never a stuck projector.
        campaignId: randomUUID(),
        contactId: randomUUID(),
      },
      at(0),
    ),
    callEvent('answered', callId, {}, at(1)),
    // A greeting the caller talked over before its first word: no transcript turn.
    callEvent('transcript', callId, { role: 'agent', text: '', final: true }, at(2)),
    callEvent(
      'transcript',
      callId,
      { role: 'agent', text: 'Hello, how can I help?', final: true },
      at(3),
    ),
    callEvent('transcript', callId, { role: 'caller', text: 'A table for', final: false }, at(5)),
    callEvent(
      'transcript',
      callId,
      { role: 'caller', text: 'A table for two, please.', final: true },
      at(6),
    ),
    callEvent('barge-in', callId, { itemId: 'item_1', audioEndMs: 1200 }, at(7)),
    callEvent('transcript', callId, { role: 'agent', text: 'Booked.', final: true }, at(8)),
    callEvent(
      'ended',
      callId,
      { reason: 'caller-hangup', durationMs: 9000, metrics: { setupMs: 180, firstAudioMs: 420 } },
      at(9),
    ),
  ] as CallEvent[];
}

async function publishAll(events: CallEvent[]) {
  for (const e of events) await publishEvent(js, names, e);
}

beforeAll(async () => {
  ns = await natsTestNamespace();
  ({ nc, names } = ns);
  js = jetstream(nc);
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl });
});

afterAll(async () => {
  await ns.close();
  await prisma.$disconnect();
  await db.drop();
});

describe('gateway - call-record projector', { timeout: 30_000 }, () => {
  it('projects a whole call: status, times, end reason, metrics, transcript in order, every event', async () => {
    const { log } = captureLogs();
    const projector = await startCallRecordProjector({
      nc,
      names,
      store: new PrismaCallRecordStore(prisma),
      log,
    });
    const callId = randomUUID();
    await publishAll(conversation(callId));
    await vi.waitFor(
      async () =>
        expect((await prisma.call.findUnique({ where: { id: callId } }))?.status).toBe('completed'),
      { timeout: 10_000 },
    );
    await projector.stop();

    const call = await prisma.call.findUniqueOrThrow({ where: { id: callId } });
    expect(call).toMatchObject({
      direction: 'inbound',
      transport: 'media_streams',
      fromNumber: '+15555550142',
      endReason: 'caller-hangup',
      durationMs: 9000,
      setupMs: 180,
      firstAudioMs: 420,
      agentId: null,
      campaignId: null,
      campaignContactId: null,
    });
    expect(call.createdAt.toISOString()).toBe('2026-11-25T12:00:00.000Z');
    expect(call.answeredAt?.toISOString()).toBe('2026-11-25T12:00:01.000Z');
    expect(call.endedAt?.toISOString()).toBe('2026-11-25T12:00:09.000Z');
    const turns = await prisma.transcriptTurn.findMany({
      where: { callId },
      orderBy: { sequence: 'asc' },
    });
    expect(turns.map((t) => [t.sequence, t.role, t.text])).toEqual([
      [0, 'assistant', 'Hello, how can I help?'],
      [1, 'user', 'A table for two, please.'],
      [2, 'assistant', 'Booked.'],
    ]);
    expect(await prisma.callEvent.count({ where: { callId } })).toBe(9);
  });

  it('applying the same event twice changes nothing (redelivery, replay)', async () => {
    const store = new PrismaCallRecordStore(prisma);
    const callId = randomUUID();
    const events = conversation(callId);
    for (const e of events) expect(await store.apply(e)).toBe('applied');
    const before = await prisma.call.findUniqueOrThrow({ where: { id: callId } });
    for (const e of events) expect(await store.apply(e)).toBe('duplicate');
    // An `answered` replayed after the end must not reopen the call either.
    expect(await prisma.call.findUniqueOrThrow({ where: { id: callId } })).toEqual(before);
    expect(await prisma.transcriptTurn.count({ where: { callId } })).toBe(3);
    expect(await prisma.callEvent.count({ where: { callId } })).toBe(9);
  });

  it('writes a ToolInvocation row per tool-called event, once per invocation', async () => {
    const store = new PrismaCallRecordStore(prisma);
    const callId = randomUUID();
    const [created, answered] = conversation(callId) as [CallEvent, CallEvent];
    await store.apply(created);
    await store.apply(answered);
    const ts = '2026-11-25T12:00:04.000Z';
    const ok = callEvent(
      'tool-called',
      callId,
      {
        invocationId: 'call_ok',
        name: 'get_time',
        args: { zone: 'Europe/Paris' },
        result: { time: '13:00' },
        latencyMs: 250,
      },
      { ts },
    ) as CallEvent;
    const failed = callEvent('tool-called', callId, {
      invocationId: 'call_bad',
      name: 'book',
      args: null,
      error: { code: 'INVALID_ARGUMENTS', message: 'day is required' },
      latencyMs: 3,
    }) as CallEvent;
    expect(await store.apply(ok)).toBe('applied');
    expect(await store.apply(failed)).toBe('applied');
    // The same invocation published again under a new event id: still one row.
    const again = callEvent('tool-called', callId, {
      invocationId: 'call_ok',
      name: 'get_time',
      args: {},
      result: 'other',
      latencyMs: 1,
    }) as CallEvent;
    expect(await store.apply(again)).toBe('applied');
    const rows = await prisma.toolInvocation.findMany({
      where: { callId },
      orderBy: { invocationId: 'asc' },
    });
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      invocationId: 'call_bad',
      name: 'book',
      args: null,
      result: null,
      error: 'INVALID_ARGUMENTS: day is required',
      latencyMs: 3,
    });
    expect(rows[1]).toMatchObject({
      invocationId: 'call_ok',
      args: { zone: 'Europe/Paris' },
      result: { time: '13:00' },
      error: null,
      latencyMs: 250,
    });
    expect(rows[1]?.finishedAt?.toISOString()).toBe(ts);
    expect(rows[1]?.startedAt.toISOString()).toBe('2026-11-25T12:00:03.750Z');
  });

  it('records a provider-error end as failed, with its duration rounded to whole ms', async () => {
    const store = new PrismaCallRecordStore(prisma);
    const callId = randomUUID();
    const [created, answered] = conversation(callId) as [CallEvent, CallEvent];
    await store.apply(created);
    await store.apply(answered);
    await store.apply(
      callEvent('ended', callId, { reason: 'provider-error', durationMs: 4320.7 }) as CallEvent,
    );
    expect(await prisma.call.findUniqueOrThrow({ where: { id: callId } })).toMatchObject({
      status: 'failed',
      endReason: 'provider-error',
      durationMs: 4321,
      setupMs: null,
      metrics: null,
    });
  });

  it('leaves the duration empty when the ended event has none (a call closed by Twilio status)', async () => {
    const store = new PrismaCallRecordStore(prisma);
    const callId = randomUUID();
    const [created] = conversation(callId) as [CallEvent];
    await store.apply(created);
    await store.apply(callEvent('ended', callId, { reason: 'no-answer' }) as CallEvent);
    expect(await prisma.call.findUniqueOrThrow({ where: { id: callId } })).toMatchObject({
      status: 'no_answer',
      endReason: 'no-answer',
      durationMs: null,
    });
  });

  it('an answering machine puts the call in progress but leaves answeredAt for the agent', async () => {
    const store = new PrismaCallRecordStore(prisma);
    const callId = randomUUID();
    const [created] = conversation(callId) as [CallEvent];
    await store.apply(created);
    await store.apply(callEvent('answered', callId, { answeredBy: 'machine' }) as CallEvent);
    expect(await prisma.call.findUniqueOrThrow({ where: { id: callId } })).toMatchObject({
      status: 'in_progress',
      answeredAt: null,
      bridgePod: null,
    });
    expect(await prisma.callEvent.count({ where: { callId, type: 'answered' } })).toBe(1);
  });

  it('terminates an event it can never project and keeps projecting the next ones', async () => {
    const { log, lines } = captureLogs();
    const projector = await startCallRecordProjector({
      nc,
      names,
      store: new PrismaCallRecordStore(prisma),
      log,
    });
    const orphan = randomUUID();
    await publishEvent(js, names, callEvent('answered', orphan, {}) as CallEvent);
    const callId = randomUUID();
    await publishAll(conversation(callId));
    await vi.waitFor(
      async () =>
        expect((await prisma.call.findUnique({ where: { id: callId } }))?.status).toBe('completed'),
      { timeout: 10_000 },
    );
    await projector.stop();
    expect(
      lines.some(
        (l) => l.msg === 'message handler failed permanently; terminated' && l.callId === orphan,
      ),
    ).toBe(true);
    expect(await prisma.callEvent.count({ where: { callId: orphan } })).toBe(0);
  });

  it('survives a PostgreSQL outage: events wait in JetStream and are all written once it is back', async () => {
    // The projector's database does not exist yet: every write fails as in an outage.
    const name = `outage_${randomBytes(6).toString('hex')}`;
    const url = `postgresql://postgres@127.0.0.1:5432/${name}`;
    const down = createPrismaClient({ databaseUrl: url });
    const { log, lines } = captureLogs();
    const projector = await startCallRecordProjector({
      nc,
      names,
      store: new PrismaCallRecordStore(down),
      log,
      retryDelayMs: () => 200,
    });
    const callId = randomUUID();
    await publishAll(conversation(callId));
    await vi.waitFor(
      () =>
        expect(
          lines.filter((l) => l.msg === 'message handler failed; will retry').length,
        ).toBeGreaterThanOrEqual(2),
      { timeout: 10_000 },
    );

    // PostgreSQL is back: the database exists with its schema.
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    try {
      await migrate({ databaseUrl: url });
      const check = createPrismaClient({ databaseUrl: url });
      await vi.waitFor(
        async () =>
          expect((await check.call.findUnique({ where: { id: callId } }))?.status).toBe(
            'completed',
          ),
        { timeout: 15_000 },
      );
      expect(await check.transcriptTurn.count({ where: { callId } })).toBe(3);
      expect(await check.callEvent.count({ where: { callId } })).toBe(9);
      await check.$disconnect();
    } finally {
      await projector.stop();
      await down.$disconnect();
      const cleanup = new pg.Client({ connectionString: ADMIN_URL });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await cleanup.end();
    }
  });
});
