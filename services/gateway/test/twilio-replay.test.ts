/**
 * Replay protection of the Twilio webhooks (src/adapters/twilio-replay.ts, the header of
 * src/routes/twilio-webhooks.ts): against real NATS (KV claims, CALLS stream) and PostgreSQL,
 * with two gateway replicas sharing the claims bucket.
 */
import { randomUUID } from 'node:crypto';

import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { callEvent, publishEvent, type CallEvent, type CallEventType } from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase } from '@app/db/testing';
import { captureLogs, natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';
import { encodeForm, twilioSignature } from '@app/sim';

import { PrismaCallDirectory, type CallDirectory } from '../src/adapters/call-directory.js';
import { PrismaCallRecordStore } from '../src/adapters/call-record-store.js';
import { TwilioReplayGuard } from '../src/adapters/twilio-replay.js';
import { startCallRecordProjector } from '../src/handlers/call-record-projector.js';
import { twilioOutboundRoutes } from '../src/routes/twilio-outbound.js';
import { statusEventIds, twilioWebhookRoutes } from '../src/routes/twilio-webhooks.js';

const AUTH_TOKEN = 'replay-test-auth-token-0000000000';
const SECRET = 'replay-test-stream-token-secret-000000';
const OUR_NUMBER = '+15555550100';
// Not listening: inject() only. The signatures cover this URL.
const BASE = 'https://voice.example.com';

let ns: NatsTestNamespace;
let jsm: JetStreamManager;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let prisma: PrismaClient;
const apps: FastifyInstance[] = [];

async function gateway(directory: CallDirectory = new PrismaCallDirectory(prisma)) {
  const { log, lines } = captureLogs();
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger });
  await app.register(twilioWebhookRoutes, {
    publicBaseUrl: BASE,
    authToken: AUTH_TOKEN,
    mediaUrl: 'wss://bridge.example.com/media',
    streamTokenSecret: SECRET,
    streamTokenTtlSec: 60,
    js: jetstream(ns.nc),
    names: ns.names,
    directory,
    lookupWaitMs: 300,
    replay: await TwilioReplayGuard.open(ns.nc, ns.names),
  });
  await app.register(twilioOutboundRoutes, {
    publicBaseUrl: BASE,
    authToken: AUTH_TOKEN,
    mediaUrl: 'wss://bridge.example.com/media',
    streamTokenSecret: SECRET,
    streamTokenTtlSec: 60,
    js: jetstream(ns.nc),
    names: ns.names,
    directory,
  });
  apps.push(app);
  return { app, lines };
}

/** A request as Twilio sends it: form body in the given key order, signed, with a fresh token. */
function post(app: FastifyInstance, path: string, params: [string, string][]) {
  return app.inject({
    method: 'POST',
    url: path,
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
      'x-twilio-signature': twilioSignature(AUTH_TOKEN, `${BASE}${path}`, {
        ...Object.fromEntries(params),
      }),
      // Unsigned: a replayer sends whatever he likes here, so it cannot be the key.
      'i-twilio-idempotency-token': randomUUID(),
    },
    payload: encodeForm(Object.fromEntries(params)),
  });
}

async function eventCounts(callId: string): Promise<Partial<Record<CallEventType, number>>> {
  const info = await jsm.streams.info(ns.names.streams.calls.name, {
    subjects_filter: ns.names.subjects.callEventsOf(callId),
  });
  return Object.fromEntries(
    Object.entries(info.state.subjects ?? {}).map(([subject, n]) => [subject.split('.').at(-1), n]),
  );
}

let agentId: string;
let sidCounter = 0;
const newSid = () => `CA${String(++sidCounter).padStart(4, '0')}${'f'.repeat(28)}`;

/** A Media Streams call no bridge answered yet, as the projector would have stored it. */
async function ringingCall() {
  const callSid = newSid();
  const call = await prisma.call.create({
    data: {
      twilioCallSid: callSid,
      direction: 'inbound',
      transport: 'media_streams',
      fromNumber: '+15555550142',
      toNumber: OUR_NUMBER,
      status: 'ringing',
    },
  });
  return { callSid, callId: call.id };
}

beforeAll(async () => {
  ns = await natsTestNamespace();
  jsm = await jetstreamManager(ns.nc);
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl });
  const agent = await prisma.agent.create({ data: { name: 'desk', instructions: 'Be brief.' } });
  agentId = agent.id;
  await prisma.phoneNumber.create({ data: { e164: OUR_NUMBER, agentId } });
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await jsm.streams.delete(`KV_${ns.names.kv.twilioWebhookClaims.name}`).catch(() => undefined);
  await ns.close();
  await prisma.$disconnect();
  await db.drop();
});

describe('gateway - Twilio webhook replay protection', { timeout: 60_000 }, () => {
  it('creates the claims bucket with its day-long TTL', async () => {
    await TwilioReplayGuard.open(ns.nc, ns.names);
    const kv = await new Kvm(ns.nc).open(ns.names.kv.twilioWebhookClaims.name);
    const status = await kv.status();
    expect(status.ttl).toBe(24 * 60 * 60 * 1000);
    expect(status.history).toBe(1);
  });

  it('acts on a status callback once across two replicas: a replay, reordered or with another idempotency token, gets 204 and publishes nothing', async () => {
    const [a, b] = [await gateway(), await gateway()];
    const { callSid, callId } = await ringingCall();
    const params: [string, string][] = [
      ['CallSid', callSid],
      ['CallStatus', 'no-answer'],
      ['SequenceNumber', '1'],
    ];
    const first = await post(a.app, '/twilio/status', params);
    expect(first.statusCode).toBe(204);
    expect(await eventCounts(callId)).toEqual({ status: 1, ended: 1 });

    const replays = await Promise.all([
      post(b.app, '/twilio/status', params),
      post(a.app, '/twilio/status', [...params].reverse()),
      post(b.app, '/twilio/status', [params[1]!, params[0]!, params[2]!]),
    ]);
    expect(replays.map((r) => r.statusCode)).toEqual([204, 204, 204]);
    expect(await eventCounts(callId)).toEqual({ status: 1, ended: 1 });
    expect(
      [...a.lines, ...b.lines].filter((l) => l.msg === 'repeated status callback ignored'),
    ).toHaveLength(3);

    // A different callback of the same call (another status) is not a repeat.
    const next = await post(b.app, '/twilio/status', [
      ['CallSid', callSid],
      ['CallStatus', 'completed'],
      ['SequenceNumber', '2'],
    ]);
    expect(next.statusCode).toBe(204);
    expect(await eventCounts(callId)).toMatchObject({ status: 2 });
  });

  it('past the claims window a replayed status callback still records nothing: its event ids are derived', async () => {
    const { app } = await gateway();
    const { callSid, callId } = await ringingCall();
    const params: [string, string][] = [
      ['CallSid', callSid],
      ['CallStatus', 'busy'],
    ];
    expect((await post(app, '/twilio/status', params)).statusCode).toBe(204);
    // The bucket forgets every claim (as its TTL would, a day later).
    const kv = await new Kvm(ns.nc).open(ns.names.kv.twilioWebhookClaims.name);
    for await (const key of await kv.keys()) await kv.purge(key);
    expect((await post(app, '/twilio/status', params)).statusCode).toBe(204);
    // Same Nats-Msg-Id: JetStream dropped the copy (and the projector drops it by its id).
    expect(await eventCounts(callId)).toEqual({ status: 1, ended: 1 });
    const signature = twilioSignature(AUTH_TOKEN, `${BASE}/twilio/status`, {
      CallSid: callSid,
      CallStatus: 'busy',
    });
    expect(statusEventIds(callId, signature).status).not.toBe(
      statusEventIds(callId, `${signature}x`).status,
    );
  });

  it('gives the claim up when handling fails, so Twilio’s retry is acted on', async () => {
    const real = new PrismaCallDirectory(prisma);
    let failNext = true;
    const flaky: CallDirectory = {
      agentForNumber: (n) => real.agentForNumber(n),
      agentExists: (id) => real.agentExists(id),
      answeringMachineOf: (id) => real.answeringMachineOf(id),
      callForSid: async (sid) => {
        if (failNext) {
          failNext = false;
          throw new Error('database unavailable');
        }
        return real.callForSid(sid);
      },
    };
    const { app } = await gateway(flaky);
    const { callSid, callId } = await ringingCall();
    const params: [string, string][] = [
      ['CallSid', callSid],
      ['CallStatus', 'failed'],
    ];
    expect((await post(app, '/twilio/status', params)).statusCode).toBe(500);
    expect(await eventCounts(callId)).toEqual({});
    expect((await post(app, '/twilio/status', params)).statusCode).toBe(204);
    expect(await eventCounts(callId)).toEqual({ status: 1, ended: 1 });
  });

  it('a status callback for a call not known yet is not claimed: its retry, once the call is known, is acted on', async () => {
    const { app } = await gateway();
    const callSid = newSid();
    const params: [string, string][] = [
      ['CallSid', callSid],
      ['CallStatus', 'canceled'],
    ];
    expect((await post(app, '/twilio/status', params)).statusCode).toBe(204);
    const call = await prisma.call.create({
      data: {
        twilioCallSid: callSid,
        direction: 'inbound',
        transport: 'media_streams',
        fromNumber: '+15555550142',
        toNumber: OUR_NUMBER,
        status: 'ringing',
      },
    });
    expect((await post(app, '/twilio/status', params)).statusCode).toBe(204);
    expect(await eventCounts(call.id)).toEqual({ status: 1, ended: 1 });
  });

  it('a repeated voice webhook gets its TwiML again while the call rings, and <Hangup/> with no token once answered or ended', async () => {
    const projector = await startCallRecordProjector({
      nc: ns.nc,
      names: ns.names,
      store: new PrismaCallRecordStore(prisma),
      log: captureLogs().log,
    });
    try {
      const [a, b] = [await gateway(), await gateway()];
      const params: [string, string][] = [
        ['CallSid', newSid()],
        ['From', '+15555550142'],
        ['To', OUR_NUMBER],
      ];
      const first = await post(a.app, '/twilio/voice', params);
      const callId = /name="callId" value="([^"]+)"/.exec(first.body)?.[1] ?? '';
      expect(callId).not.toBe('');
      // Twilio retrying an answer it did not get, on the other replica: the call must not fail.
      const retry = await post(b.app, '/twilio/voice', [...params].reverse());
      expect(retry.statusCode).toBe(200);
      expect(retry.body).toContain(`name="callId" value="${callId}"`);
      expect(retry.body).toContain('name="token"');
      expect(await eventCounts(callId)).toEqual({ created: 1 });

      // A bridge answers: Twilio had its TwiML, so a later copy can only be a replay.
      await publishEvent(
        jetstream(ns.nc),
        ns.names,
        callEvent('answered', callId, {}) as CallEvent,
      );
      await vi.waitFor(
        async () =>
          expect(
            (await prisma.call.findUniqueOrThrow({ where: { id: callId } })).answeredAt,
          ).toBeInstanceOf(Date),
        { timeout: 15_000 },
      );
      const replay = await post(a.app, '/twilio/voice', params);
      expect(replay.statusCode).toBe(200);
      expect(replay.headers['content-type']).toMatch(/text\/xml/);
      expect(replay.body).toMatch(/<Response><Hangup\/><\/Response>$/);
      expect(replay.body).not.toContain('token');
      expect(await eventCounts(callId)).toEqual({ created: 1, answered: 1 });
      expect(a.lines.find((l) => String(l.msg).includes('refused as a replay'))).toMatchObject({
        callId,
      });

      // A call that ended without any bridge (the caller hung up while it rang): same answer.
      const { callSid: endedSid, callId: endedId } = await ringingCall();
      await prisma.call.update({
        where: { id: endedId },
        data: { status: 'canceled', endedAt: new Date() },
      });
      const late = await post(b.app, '/twilio/voice', [
        ['CallSid', endedSid],
        ['From', '+15555550142'],
        ['To', OUR_NUMBER],
      ]);
      expect(late.body).toMatch(/<Response><Hangup\/><\/Response>$/);
      expect(await eventCounts(endedId)).toEqual({});
    } finally {
      await projector.stop();
    }
  });

  it('a replayed outbound TwiML request for a call already answered gets <Hangup/>, not a fresh stream token', async () => {
    const { app } = await gateway();
    const callSid = newSid();
    const call = await prisma.call.create({
      data: {
        twilioCallSid: callSid,
        direction: 'outbound',
        transport: 'media_streams',
        fromNumber: OUR_NUMBER,
        toNumber: '+15555550142',
        status: 'ringing',
      },
    });
    const path = `/twilio/outbound?callId=${call.id}&agentId=${agentId}`;
    const params: [string, string][] = [
      ['CallSid', callSid],
      ['From', OUR_NUMBER],
      ['To', '+15555550142'],
    ];
    const first = await post(app, path, params);
    expect(first.body).toContain('name="token"');
    await prisma.call.update({
      where: { id: call.id },
      data: { status: 'in_progress', answeredAt: new Date() },
    });
    const replay = await post(app, path, params);
    expect(replay.statusCode).toBe(200);
    expect(replay.body).toMatch(/<Response><Hangup\/><\/Response>$/);
    expect(await eventCounts(call.id)).toEqual({});
  });
});

describe('gateway - voice webhook while the database is down', { timeout: 60_000 }, () => {
  it('tells a caller whose number has no known agent to try again (200 TwiML, not a 500) and publishes nothing', async () => {
    // A database nobody listens on: every read fails as in an outage.
    const down = createPrismaClient({ databaseUrl: 'postgresql://voice@127.0.0.1:1/test' });
    try {
      const { app, lines } = await gateway(new PrismaCallDirectory(down));
      const calls = ns.names.streams.calls.name;
      const before = (await jsm.streams.info(calls)).state.messages;
      const res = await post(app, '/twilio/voice', [
        ['CallSid', newSid()],
        ['From', '+15555550142'],
        ['To', OUR_NUMBER],
      ]);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/xml/);
      expect(res.body).toContain(
        '<Say>Sorry, we cannot take your call right now. Please try again in a few minutes.</Say><Hangup/>',
      );
      expect(res.body).not.toContain('<Stream');
      expect((await jsm.streams.info(calls)).state.messages).toBe(before);
      expect(lines.some((l) => l.msg === 'inbound call refused: agent lookup failed')).toBe(true);
    } finally {
      await down.$disconnect();
    }
  });
});
