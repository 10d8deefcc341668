import { randomUUID } from 'node:crypto';

import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  callEvent,
  callOwner,
  CallOwners,
  publishEvent,
  type CallEvent,
  type RunningConsumer,
} from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase } from '@app/db/testing';
import { PrismaCallRecordStore, startCallRecordProjector } from '@app/gateway';
import { captureLogs, natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';

import { sweepLostCalls } from '../../src/handlers/owner-sweeper.js';

let ns: NatsTestNamespace;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let prisma: PrismaClient;
let owners: CallOwners;
/**
 * One projector for the file: a projector stopped between tests can leave the next event
 * delivered to its abandoned pull and held for the consumer's ack wait (30 s).
 */
let projector: RunningConsumer;

/** A call answered `answeredAgoMs` ago, as the gateway and a bridge would have published it. */
async function answeredCall(answeredAgoMs: number, openaiCallId?: string): Promise<string> {
  const callId = randomUUID();
  const ts = new Date(Date.now() - answeredAgoMs).toISOString();
  const js = jetstream(ns.nc);
  await publishEvent(
    js,
    ns.names,
    callEvent(
      'created',
      callId,
      {
        direction: 'inbound',
        transport: openaiCallId ? 'sip' : 'media-streams',
        from: '+15555550142',
        to: '+15555550100',
        agentId: 'demo',
        ...(openaiCallId ? { openaiCallId } : {}),
      },
      { ts },
    ) as CallEvent,
  );
  await publishEvent(js, ns.names, callEvent('answered', callId, {}, { ts }) as CallEvent);
  return callId;
}

async function endedEventsOf(callId: string): Promise<number> {
  const jsm = await jetstreamManager(ns.nc);
  const info = await jsm.streams.info(ns.names.streams.calls.name);
  let count = 0;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const msg = await jsm.streams
      .getMessage(ns.names.streams.calls.name, { seq })
      .catch(() => null);
    if (msg?.subject === ns.names.subjects.callEvent(callId, 'ended')) count += 1;
  }
  return count;
}

beforeAll(async () => {
  ns = await natsTestNamespace();
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl });
  owners = await CallOwners.open(ns.nc, ns.names, captureLogs().log);
  projector = await startCallRecordProjector({
    nc: ns.nc,
    names: ns.names,
    store: new PrismaCallRecordStore(prisma),
    log: captureLogs().log,
  });
});

afterAll(async () => {
  await projector?.stop();
  await ns?.close();
  await prisma?.$disconnect();
  await db?.drop();
});

describe('call-bridge - bridge_lost sweeper', { timeout: 30_000 }, () => {
  it('ends answered calls whose owner lapsed, once, and leaves owned and fresh calls alone', async () => {
    const lost = await answeredCall(120_000);
    const owned = await answeredCall(120_000);
    const fresh = await answeredCall(1_000);
    await owners.put(owned, callOwner({ pod: 'bridge-1', transport: 'media-streams' }));
    await vi.waitFor(
      async () =>
        expect(
          await prisma.call.count({
            where: { status: 'in_progress', id: { in: [lost, owned, fresh] } },
          }),
        ).toBe(3),
      { timeout: 10_000 },
    );

    const { log } = captureLogs();
    const deps = { prisma, owners, js: jetstream(ns.nc), names: ns.names, log };
    // Two bridges sweeping at the same moment.
    const [a, b] = await Promise.all([sweepLostCalls(deps), sweepLostCalls(deps)]);
    // Either sweep may find the call (the other may already see it ended, projected); between
    // them they end it, and only once.
    expect([...new Set([...a, ...b])]).toEqual([lost]);
    expect(await endedEventsOf(lost)).toBe(1);

    await vi.waitFor(
      async () =>
        expect(await prisma.call.findUnique({ where: { id: lost } })).toMatchObject({
          status: 'failed',
          endReason: 'bridge_lost',
        }),
      { timeout: 10_000 },
    );
    expect((await prisma.call.findUniqueOrThrow({ where: { id: owned } })).status).toBe(
      'in_progress',
    );
    expect((await prisma.call.findUniqueOrThrow({ where: { id: fresh } })).status).toBe(
      'in_progress',
    );
    // Once ended, the call is no longer a candidate.
    expect(await sweepLostCalls(deps)).toEqual([]);
  });

  it('an owner entry that stopped heart-beating counts as gone before the bucket TTL removes it', async () => {
    const owned = await answeredCall(120_000);
    await owners.put(owned, callOwner({ pod: 'bridge-2', transport: 'media-streams' }));
    await vi.waitFor(
      async () =>
        expect((await prisma.call.findUniqueOrThrow({ where: { id: owned } })).status).toBe(
          'in_progress',
        ),
      { timeout: 10_000 },
    );
    const { log } = captureLogs();
    const deps = {
      prisma,
      owners,
      js: jetstream(ns.nc),
      names: ns.names,
      log,
      staleAfterMs: 5_000,
    };
    // Heart-beaten just now: alive.
    expect(await sweepLostCalls(deps)).not.toContain(owned);
    // Seen from 10 s later, the same entry is two staleness periods old: its pod is gone.
    expect(await sweepLostCalls(deps, Date.now() + 10_000)).toContain(owned);
    expect(await owners.get(owned)).toBeNull();
    await vi.waitFor(
      async () =>
        expect(await prisma.call.findUniqueOrThrow({ where: { id: owned } })).toMatchObject({
          endReason: 'bridge_lost',
        }),
      { timeout: 10_000 },
    );
  });

  it('a lost SIP call is hung up at OpenAI too: its audio does not depend on the dead pod', async () => {
    const sip = await answeredCall(120_000, 'rtc_swept');
    await vi.waitFor(
      async () =>
        expect(await prisma.call.findUniqueOrThrow({ where: { id: sip } })).toMatchObject({
          status: 'in_progress',
          openaiCallId: 'rtc_swept',
        }),
      { timeout: 10_000 },
    );
    const hungUp: string[] = [];
    const { log } = captureLogs();
    const deps = {
      prisma,
      owners,
      js: jetstream(ns.nc),
      names: ns.names,
      log,
      hangUpSip: async (id: string) => {
        hungUp.push(id);
        // As OpenAI answers for a call that ended meanwhile: the sweep goes on.
        throw new Error('404 call not found');
      },
    };
    expect(await sweepLostCalls(deps)).toContain(sip);
    expect(hungUp).toEqual(['rtc_swept']);
    await vi.waitFor(
      async () =>
        expect(await prisma.call.findUniqueOrThrow({ where: { id: sip } })).toMatchObject({
          endReason: 'bridge_lost',
        }),
      { timeout: 10_000 },
    );
  });
});
