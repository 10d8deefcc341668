import { once } from 'node:events';

import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { type NatsConnection } from '@nats-io/transport-node';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';

import { type Names } from '@app/contracts';
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
