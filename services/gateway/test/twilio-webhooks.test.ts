import { once } from 'node:events';

import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { type NatsConnection } from '@nats-io/transport-node';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';

import {
  callEvent,
  publishEvent,
  type CallEvent,
  type CallEventType,
  type Names,
} from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase } from '@app/db/testing';
import { verifyStreamToken } from '@app/platform';
import {
  captureLogs,
  freePort,
  natsTestNamespace,
  type NatsTestNamespace,
} from '@app/platform/testing';
import { encodeForm, parseScenario, ScenarioBook, startTwilioSim, twilioSignature } from '@app/sim';

import { PrismaCallDirectory } from '../src/adapters/call-directory.js';
import { PrismaCallRecordStore } from '../src/adapters/call-record-store.js';
import { startCallRecordProjector } from '../src/handlers/call-record-projector.js';
import { twilioWebhookRoutes } from '../src/routes/twilio-webhooks.js';

const ACCOUNT = { sid: `AC${'1'.repeat(32)}`, authToken: 'gateway-test-auth-token-000000000' };
const SECRET = 'gateway-test-stream-token-secret-00000';
const OUR_NUMBER = '+15555550100';

let nc: NatsConnection;
let jsm: JetStreamManager;
let names: Names;
let ns: NatsTestNamespace;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let prisma: PrismaClient;
let agentId: string;

/** A gateway with only the Twilio webhooks, listening so the simulator can reach it. */
async function startGateway(authToken: string | undefined, mediaUrl = 'ws://127.0.0.1:9/media') {
  const { log, lines } = captureLogs();
  // The public URL (which signatures cover) must be known before the routes exist: take a
  // free port first, then listen on it.
  const port = await freePort();
  const app: FastifyInstance = Fastify({ loggerInstance: log as FastifyBaseLogger });
  await app.register(twilioWebhookRoutes, {
    publicBaseUrl: `http://127.0.0.1:${port}`,
    authToken,
    mediaUrl,
    streamTokenSecret: SECRET,
    streamTokenTtlSec: 60,
    js: jetstream(nc),
    names,
    directory: new PrismaCallDirectory(prisma),
    lookupWaitMs: 3_000,
  });
  await app.listen({ host: '127.0.0.1', port });
  return { app, url: `http://127.0.0.1:${port}`, lines };
}

const storedEvents = async () => (await jsm.streams.info(names.streams.calls.name)).state.messages;

/** How many events of each type the CALLS stream holds for one call, e.g. `{ created: 1 }`. */
async function eventCounts(callId: string): Promise<Partial<Record<CallEventType, number>>> {
  const info = await jsm.streams.info(names.streams.calls.name, {
    subjects_filter: names.subjects.callEventsOf(callId),
  });
  return Object.fromEntries(
    Object.entries(info.state.subjects ?? {}).map(([subject, n]) => [subject.split('.').at(-1), n]),
  );
}

/** POSTs a Twilio webhook to the gateway, signed as Twilio signs it. */
function signedPost(
  gw: { app: FastifyInstance; url: string },
  path: string,
  params: Record<string, string>,
) {
  return gw.app.inject({
    method: 'POST',
    url: path,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilioSignature(ACCOUNT.authToken, `${gw.url}${path}`, params),
    },
    payload: encodeForm(params),
  });
}

beforeAll(async () => {
  ns = await natsTestNamespace();
  ({ nc, names } = ns);
  jsm = await jetstreamManager(nc);
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl });
  const agent = await prisma.agent.create({
    data: { name: 'front desk', instructions: 'Be brief.' },
  });
  agentId = agent.id;
  await prisma.phoneNumber.create({ data: { e164: OUR_NUMBER, agentId } });
});

afterAll(async () => {
  await ns.close();
  await prisma.$disconnect();
  await db.drop();
});

describe('gateway - Twilio webhooks', { timeout: 30_000 }, () => {
  it('a simulated inbound call gets <Connect><Stream> with call id, agent id and a valid token, and is recorded to the end', async () => {
    const bridge = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(bridge, 'listening');
    const { port } = bridge.address() as { port: number };
    const started = new Promise<Record<string, string>>((resolve) => {
      bridge.on('connection', (ws) => {
        ws.on('message', (raw) => {
          const msg = JSON.parse(String(raw)) as {
            event: string;
            start?: { customParameters: Record<string, string> };
          };
          if (msg.event === 'start' && msg.start) {
            resolve(msg.start.customParameters);
            // The bridge ends the stream; with no TwiML left, Twilio completes the call.
            setTimeout(() => ws.close(), 50);
          }
        });
      });
    });
    const gw = await startGateway(ACCOUNT.authToken, `ws://127.0.0.1:${port}/media`);
    const projector = await startCallRecordProjector({
      nc,
      names,
      store: new PrismaCallRecordStore(prisma),
      log: captureLogs().log,
    });
    const sim = await startTwilioSim({
      accounts: [ACCOUNT],
      numbers: [
        {
          number: OUR_NUMBER,
          accountSid: ACCOUNT.sid,
          voiceUrl: `${gw.url}/twilio/voice`,
          statusCallback: `${gw.url}/twilio/status`,
        },
      ],
      scenarios: new ScenarioBook(),
      pacing: 'fast',
    });
    try {
      const call = await sim.ringInbound({
        to: OUR_NUMBER,
        from: '+15555550142',
        scenario: parseScenario({ name: 'quiet', caller: { steps: [{ pauseMs: 5_000 }] } }),
      });
      const params = await started;
      const token = verifyStreamToken(params.token ?? '', SECRET);
      expect(token.ok).toBe(true);
      expect(params.agentId).toBe(agentId);
      expect(token.ok && token.claims).toMatchObject({ callId: params.callId, agentId });
      await call.ended;
      // The status callback closed the call even though no bridge ever answered with audio.
      await vi.waitFor(
        async () => {
          const row = await prisma.call.findUnique({ where: { twilioCallSid: call.callSid } });
          expect(row).toMatchObject({
            id: params.callId,
            status: 'completed',
            endReason: 'completed',
            agentId,
            fromNumber: '+15555550142',
          });
        },
        { timeout: 10_000 },
      );
    } finally {
      await sim.close();
      await projector.stop();
      await gw.app.close();
      bridge.close();
    }
  });

  it('puts the time the voice webhook arrived in the stream token (setupStartMs)', async () => {
    const gw = await startGateway(ACCOUNT.authToken);
    const before = Date.now();
    const res = await signedPost(gw, '/twilio/voice', {
      CallSid: `CA${'5'.repeat(32)}`,
      From: '+15555550142',
      To: OUR_NUMBER,
    });
    const after = Date.now();
    await gw.app.close();
    const token = /name="token" value="([^"]+)"/.exec(res.body)?.[1] ?? '';
    const verified = verifyStreamToken(token, SECRET);
    expect(verified.ok).toBe(true);
    const setupStartMs = verified.ok ? verified.claims.setupStartMs : undefined;
    expect(setupStartMs).toBeGreaterThanOrEqual(before - 1);
    expect(setupStartMs).toBeLessThanOrEqual(after);
  });

  it('a final status for a call a bridge answered publishes only `status`: the bridge ends it with the true reason', async () => {
    const projector = await startCallRecordProjector({
      nc,
      names,
      store: new PrismaCallRecordStore(prisma),
      log: captureLogs().log,
    });
    const gw = await startGateway(ACCOUNT.authToken);
    try {
      const callSid = `CA${'6'.repeat(32)}`;
      const voice = await signedPost(gw, '/twilio/voice', {
        CallSid: callSid,
        From: '+15555550142',
        To: OUR_NUMBER,
      });
      const callId = /name="callId" value="([^"]+)"/.exec(voice.body)?.[1] ?? '';
      // The bridge takes the media stream and announces the call answered.
      await publishEvent(jetstream(nc), names, callEvent('answered', callId, {}) as CallEvent);
      await vi.waitFor(
        async () =>
          expect(
            (await prisma.call.findUnique({ where: { id: callId } }))?.answeredAt,
          ).toBeInstanceOf(Date),
        { timeout: 10_000 },
      );

      const status = await signedPost(gw, '/twilio/status', {
        CallSid: callSid,
        CallStatus: 'completed',
        SequenceNumber: '3',
      });
      expect(status.statusCode).toBe(204);
      // The route publishes (and JetStream acks) before it answers: what it sent is stored.
      expect(await eventCounts(callId)).toEqual({ created: 1, answered: 1, status: 1 });
      await vi.waitFor(
        async () =>
          expect(await prisma.callEvent.count({ where: { callId, type: 'status' } })).toBe(1),
        { timeout: 10_000 },
      );
      expect(await prisma.call.findUniqueOrThrow({ where: { id: callId } })).toMatchObject({
        status: 'in_progress',
        endedAt: null,
      });

      // The owning bridge ends the call with what really happened.
      await publishEvent(
        jetstream(nc),
        names,
        callEvent('ended', callId, { reason: 'caller-hangup', durationMs: 7_250 }) as CallEvent,
      );
      await vi.waitFor(
        async () =>
          expect(await prisma.call.findUnique({ where: { id: callId } })).toMatchObject({
            status: 'completed',
            endReason: 'caller-hangup',
            durationMs: 7_250,
          }),
        { timeout: 10_000 },
      );
    } finally {
      await gw.app.close();
      await projector.stop();
    }
  });

  it('a final status for a call no Media Streams bridge answered closes it with that status', async () => {
    const projector = await startCallRecordProjector({
      nc,
      names,
      store: new PrismaCallRecordStore(prisma),
      log: captureLogs().log,
    });
    const gw = await startGateway(ACCOUNT.authToken);
    try {
      // Media Streams, socket never opened: only the voice webhook happened.
      const neverBridgedSid = `CA${'7'.repeat(32)}`;
      const voice = await signedPost(gw, '/twilio/voice', {
        CallSid: neverBridgedSid,
        From: '+15555550142',
        To: OUR_NUMBER,
      });
      const neverBridged = /name="callId" value="([^"]+)"/.exec(voice.body)?.[1] ?? '';
      // SIP, answered: no Media Streams bridge and no sweeper covers it, so Twilio's word ends it.
      const sip = await prisma.call.create({
        data: {
          twilioCallSid: `CA${'8'.repeat(32)}`,
          direction: 'inbound',
          transport: 'sip',
          fromNumber: '+15555550142',
          toNumber: OUR_NUMBER,
          status: 'in_progress',
          answeredAt: new Date(),
        },
      });
      await vi.waitFor(
        async () =>
          expect(await prisma.call.findUnique({ where: { id: neverBridged } })).not.toBeNull(),
        { timeout: 10_000 },
      );

      const cases = [
        { callId: neverBridged, callSid: neverBridgedSid, status: 'completed', row: 'completed' },
        { callId: sip.id, callSid: sip.twilioCallSid ?? '', status: 'failed', row: 'failed' },
      ];
      for (const c of cases) {
        const res = await signedPost(gw, '/twilio/status', {
          CallSid: c.callSid,
          CallStatus: c.status,
        });
        expect(res.statusCode).toBe(204);
        expect(await eventCounts(c.callId)).toMatchObject({ status: 1, ended: 1 });
        const ended = await jsm.streams.getMessage(names.streams.calls.name, {
          last_by_subj: names.subjects.callEvent(c.callId, 'ended'),
        });
        expect(ended?.json<CallEvent>().data).toEqual({ reason: c.status });
      }
      for (const c of cases) {
        await vi.waitFor(
          async () =>
            expect(await prisma.call.findUnique({ where: { id: c.callId } })).toMatchObject({
              status: c.row,
              endReason: c.status,
              durationMs: null,
            }),
          { timeout: 10_000 },
        );
      }
    } finally {
      await gw.app.close();
      await projector.stop();
    }
  });

  it('refuses a bad or missing signature with 403 and records nothing', async () => {
    const gw = await startGateway(ACCOUNT.authToken);
    const params = {
      CallSid: `CA${'2'.repeat(32)}`,
      From: '+15555550142',
      To: OUR_NUMBER,
      AccountSid: ACCOUNT.sid,
    };
    const before = await storedEvents();
    const send = (signature: string | undefined, body = params) =>
      gw.app.inject({
        method: 'POST',
        url: '/twilio/voice',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(signature ? { 'x-twilio-signature': signature } : {}),
        },
        payload: encodeForm(body),
      });
    expect((await send(undefined)).statusCode).toBe(403);
    expect((await send('not-a-signature')).statusCode).toBe(403);
    // Signed for another URL (a proxy rewriting the host would look like this).
    expect(
      (await send(twilioSignature(ACCOUNT.authToken, 'http://evil.example/twilio/voice', params)))
        .statusCode,
    ).toBe(403);
    // Signed correctly, then a parameter changed.
    const good = twilioSignature(ACCOUNT.authToken, `${gw.url}/twilio/voice`, params);
    expect((await send(good, { ...params, To: '+15555550199' })).statusCode).toBe(403);
    expect(await storedEvents()).toBe(before);
    expect(gw.lines.filter((l) => l.msg === 'twilio signature invalid')).toHaveLength(4);
    // The same request correctly signed goes through (so the 403s above were the signature).
    expect((await send(good)).statusCode).toBe(200);
    expect(await storedEvents()).toBe(before + 1);
    await gw.app.close();
  });

  it('a retried voice webhook for the same CallSid is the same call: same call id, one created event', async () => {
    const gw = await startGateway(ACCOUNT.authToken);
    const params = { CallSid: `CA${'4'.repeat(32)}`, From: '+15555550142', To: OUR_NUMBER };
    const post = () =>
      gw.app.inject({
        method: 'POST',
        url: '/twilio/voice',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilioSignature(
            ACCOUNT.authToken,
            `${gw.url}/twilio/voice`,
            params,
          ),
        },
        payload: encodeForm(params),
      });
    const before = await storedEvents();
    const first = await post();
    const second = await post();
    const callIdOf = (body: string) => /name="callId" value="([^"]+)"/.exec(body)?.[1];
    expect(callIdOf(first.body)).toBeDefined();
    expect(callIdOf(second.body)).toBe(callIdOf(first.body));
    expect(await storedEvents()).toBe(before + 1);
    await gw.app.close();
  });

  it('answers a call to a number we do not serve with a polite <Say> and <Hangup>, logged, nothing recorded', async () => {
    const gw = await startGateway(ACCOUNT.authToken);
    const params = { CallSid: `CA${'3'.repeat(32)}`, From: '+15555550142', To: '+15555550111' };
    const before = await storedEvents();
    const res = await gw.app.inject({
      method: 'POST',
      url: '/twilio/voice',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(ACCOUNT.authToken, `${gw.url}/twilio/voice`, params),
      },
      payload: encodeForm(params),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/xml/);
    expect(res.body).toMatch(/<Say>[^<]+<\/Say><Hangup\/><\/Response>$/);
    expect(await storedEvents()).toBe(before);
    expect(gw.lines.find((l) => l.msg === 'inbound call refused')).toMatchObject({
      reason: 'unknown-number',
    });
    // The phone numbers are under pii.*, which the logger redacts.
    expect(JSON.stringify(gw.lines)).not.toContain('+15555550111');
    await gw.app.close();
  });

  it('answers 503 when no Twilio auth token is configured (it cannot verify anything)', async () => {
    const gw = await startGateway(undefined);
    const res = await gw.app.inject({
      method: 'POST',
      url: '/twilio/status',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'CallSid=CA1&CallStatus=completed',
    });
    expect(res.statusCode).toBe(503);
    await gw.app.close();
  });
});
