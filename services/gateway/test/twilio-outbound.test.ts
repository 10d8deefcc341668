import { randomUUID } from 'node:crypto';
import { once } from 'node:events';

import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { type NatsConnection } from '@nats-io/transport-node';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import twilio from 'twilio';
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
import {
  encodeForm,
  ScenarioBook,
  startTwilioSim,
  twilioSignature,
  type TwilioSimHandle,
  type TwilioSimOptions,
} from '@app/sim';

import { PrismaCallDirectory } from '../src/adapters/call-directory.js';
import { PrismaCallRecordStore } from '../src/adapters/call-record-store.js';
import { startCallRecordProjector } from '../src/handlers/call-record-projector.js';
import { machineAnsweredEventId, twilioOutboundRoutes } from '../src/routes/twilio-outbound.js';
import { twilioWebhookRoutes } from '../src/routes/twilio-webhooks.js';

const ACCOUNT = { sid: `AC${'1'.repeat(32)}`, authToken: 'gateway-outbound-test-auth-token-00' };
const SECRET = 'gateway-outbound-test-stream-secret-000';
/** Our number, the caller id of the outbound calls. */
const OUR_NUMBER = '+15555550100';
/** What the voicemail agent leaves; the SDK escapes it as XML, the simulator decodes it. */
const VOICEMAIL = "Hi, it's Acme Dental & Co. Please call us back about tomorrow's visit.";

let nc: NatsConnection;
let jsm: JetStreamManager;
let names: Names;
let ns: NatsTestNamespace;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let prisma: PrismaClient;
const agents = { off: '', hangup: '', voicemail: '' };

interface Gateway {
  app: FastifyInstance;
  url: string;
  lines: Array<Record<string, unknown>>;
}

/**
 * A gateway with the Twilio routes (outbound TwiML and status callbacks), listening so the
 * simulator can reach it.
 */
async function startGateway(mediaUrl = 'ws://127.0.0.1:9/media'): Promise<Gateway> {
  const { log, lines } = captureLogs();
  // Signatures cover the public URL: take a free port first, then listen on it.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const shared = {
    publicBaseUrl: url,
    authToken: ACCOUNT.authToken,
    mediaUrl,
    streamTokenSecret: SECRET,
    streamTokenTtlSec: 60,
    js: jetstream(nc),
    names,
    directory: new PrismaCallDirectory(prisma),
  };
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger });
  await app.register(twilioWebhookRoutes, { ...shared, lookupWaitMs: 3_000 });
  await app.register(twilioOutboundRoutes, shared);
  await app.listen({ host: '127.0.0.1', port });
  return { app, url, lines };
}

const outboundPath = (callId: string, agentId: string) =>
  `/twilio/outbound?callId=${callId}&agentId=${agentId}`;

/** The form Twilio posts to the TwiML URL of an answered outbound call. */
function answerParams(answeredBy?: string): Record<string, string> {
  return {
    AccountSid: ACCOUNT.sid,
    CallSid: `CA${randomUUID().replace(/-/g, '')}`,
    CallStatus: 'in-progress',
    Direction: 'outbound-api',
    From: OUR_NUMBER,
    To: '+15555550177',
    ...(answeredBy ? { AnsweredBy: answeredBy } : {}),
  };
}

/** POSTs to the gateway, signed as Twilio signs it (over the URL with its query string). */
function signedPost(gw: Gateway, path: string, params: Record<string, string>) {
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

async function lastEvent(callId: string, event: CallEventType): Promise<CallEvent | undefined> {
  const msg = await jsm.streams.getMessage(names.streams.calls.name, {
    last_by_subj: names.subjects.callEvent(callId, event),
  });
  return msg?.json<CallEvent>();
}

const paramOf = (twiml: string, name: string) =>
  new RegExp(`name="${name}" value="([^"]+)"`).exec(twiml)?.[1];

/** The simulator, with our number as caller id and a behaviour per called number. */
function startSim(
  gw: Gateway,
  behaviours: NonNullable<TwilioSimOptions['behaviours']>,
): Promise<TwilioSimHandle> {
  return startTwilioSim({
    accounts: [ACCOUNT],
    numbers: [{ number: OUR_NUMBER, accountSid: ACCOUNT.sid, voiceUrl: `${gw.url}/twilio/voice` }],
    behaviours,
    scenarios: new ScenarioBook(),
    pacing: 'fast',
  });
}

/**
 * Places an outbound call through the official SDK exactly as the dialer does (twilio.md §5.1,
 * plan "Dialer → Twilio"): TwiML from /twilio/outbound, status callbacks to /twilio/status,
 * then `created` with the CallSid so the callbacks find the call.
 */
async function dial(
  gw: Gateway,
  sim: TwilioSimHandle,
  opts: {
    to: string;
    agentId: string;
    machineDetection?: 'Enable' | 'DetectMessageEnd';
    /** Ring timeout, s. @defaultValue 5 */
    timeoutSec?: number;
  },
) {
  const client = twilio(ACCOUNT.sid, ACCOUNT.authToken);
  client.api.baseUrl = sim.url;
  const callId = randomUUID();
  const call = await client.calls.create({
    to: opts.to,
    from: OUR_NUMBER,
    url: `${gw.url}${outboundPath(callId, opts.agentId)}`,
    method: 'POST',
    statusCallback: `${gw.url}/twilio/status`,
    statusCallbackMethod: 'POST',
    statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    timeout: opts.timeoutSec ?? 5,
    ...(opts.machineDetection ? { machineDetection: opts.machineDetection } : {}),
  });
  await publishEvent(
    jetstream(nc),
    names,
    callEvent('created', callId, {
      direction: 'outbound',
      transport: 'media-streams',
      from: OUR_NUMBER,
      to: opts.to,
      agentId: opts.agentId,
      providerCallSid: call.sid,
    }) as CallEvent,
  );
  return { callId, callSid: call.sid, client };
}

/** Waits for the call's record to reach a final status. */
async function endedRow(callId: string) {
  let row = await prisma.call.findUnique({ where: { id: callId } });
  await vi.waitFor(
    async () => {
      row = await prisma.call.findUnique({ where: { id: callId } });
      expect(row?.endedAt).toBeInstanceOf(Date);
    },
    { timeout: 15_000, interval: 100 },
  );
  return row!;
}

beforeAll(async () => {
  ns = await natsTestNamespace();
  ({ nc, names } = ns);
  jsm = await jetstreamManager(nc);
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl });
  const create = (name: string, data: object) =>
    prisma.agent.create({ data: { name, instructions: 'Be brief.', ...data } });
  agents.off = (await create('no detection', {})).id;
  agents.hangup = (await create('hangs up on machines', { amdMode: 'hangup' })).id;
  agents.voicemail = (
    await create('leaves a voicemail', { amdMode: 'voicemail', voicemailMessage: VOICEMAIL })
  ).id;
  await prisma.phoneNumber.create({ data: { e164: OUR_NUMBER, agentId: agents.off } });
});

afterAll(async () => {
  await ns.close();
  await prisma.$disconnect();
  await db.drop();
});

describe('gateway - POST /twilio/outbound', { timeout: 30_000 }, () => {
  it('refuses a bad or missing signature, or one over another query, with 403 and publishes nothing', async () => {
    const gw = await startGateway();
    try {
      const callId = randomUUID();
      const path = outboundPath(callId, agents.hangup);
      const params = answerParams('machine_end_beep');
      const send = (signature: string | undefined, url = path) =>
        gw.app.inject({
          method: 'POST',
          url,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            ...(signature ? { 'x-twilio-signature': signature } : {}),
          },
          payload: encodeForm(params),
        });
      const before = await storedEvents();
      expect((await send(undefined)).statusCode).toBe(403);
      expect((await send('not-a-signature')).statusCode).toBe(403);
      // Signed without the query string: the signature covers the full URL.
      const pathOnly = twilioSignature(ACCOUNT.authToken, `${gw.url}/twilio/outbound`, params);
      expect((await send(pathOnly)).statusCode).toBe(403);
      // A correctly signed URL replayed with another call id in its query.
      const good = twilioSignature(ACCOUNT.authToken, `${gw.url}${path}`, params);
      expect((await send(good, outboundPath(randomUUID(), agents.hangup))).statusCode).toBe(403);
      expect(await storedEvents()).toBe(before);
      expect(gw.lines.filter((l) => l.msg === 'twilio signature invalid')).toHaveLength(4);
      // The same request correctly signed goes through (so the 403s above were the signature).
      expect((await send(good)).statusCode).toBe(200);
      expect(await storedEvents()).toBe(before + 1);
    } finally {
      await gw.app.close();
    }
  });

  it('answers 400 to a signed request whose query or form is not a call of ours, publishing nothing', async () => {
    const gw = await startGateway();
    try {
      const before = await storedEvents();
      const callId = randomUUID();
      for (const path of [
        '/twilio/outbound',
        `/twilio/outbound?callId=${callId}`,
        `/twilio/outbound?agentId=${agents.hangup}`,
        outboundPath('CA123', agents.hangup),
        outboundPath(callId, 'front-desk'),
        `${outboundPath(callId, agents.hangup)}&callId=${randomUUID()}`,
      ]) {
        const res = await signedPost(gw, path, answerParams('machine_end_beep'));
        expect({ path, status: res.statusCode }).toEqual({ path, status: 400 });
      }
      const { CallSid: _, ...noCallSid } = answerParams('machine_end_beep');
      const res = await signedPost(gw, outboundPath(callId, agents.hangup), noCallSid);
      expect(res.statusCode).toBe(400);
      expect(await storedEvents()).toBe(before);
    } finally {
      await gw.app.close();
    }
  });

  it('connects a person to the bridge with a valid stream token for this call and agent, publishing nothing', async () => {
    const gw = await startGateway();
    try {
      const before = await storedEvents();
      for (const answeredBy of ['human', 'unknown', undefined]) {
        const callId = randomUUID();
        const sent = Date.now();
        const res = await signedPost(
          gw,
          outboundPath(callId, agents.voicemail),
          answerParams(answeredBy),
        );
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(/text\/xml/);
        expect(res.body).toMatch(
          /<Response><Connect><Stream url="ws:\/\/127\.0\.0\.1:9\/media">(<Parameter [^>]+\/>){4}<\/Stream><\/Connect><\/Response>$/,
        );
        expect(paramOf(res.body, 'callId')).toBe(callId);
        // For the bridge's call span (telemetry is not started here: no traceparent).
        expect(paramOf(res.body, 'direction')).toBe('outbound');
        expect(paramOf(res.body, 'agentId')).toBe(agents.voicemail);
        const token = verifyStreamToken(paramOf(res.body, 'token') ?? '', SECRET);
        expect(token.ok && token.claims).toMatchObject({ callId, agentId: agents.voicemail });
        const setupStartMs = token.ok ? token.claims.setupStartMs : undefined;
        expect(setupStartMs).toBeGreaterThanOrEqual(sent - 1);
        expect(setupStartMs).toBeLessThanOrEqual(Date.now());
      }
      // `created` is the dialer's, `answered` the bridge's once the stream starts.
      expect(await storedEvents()).toBe(before);
    } finally {
      await gw.app.close();
    }
  });

  it('hangs up on a machine for a `hangup` agent and publishes answered by machine once, however often Twilio asks', async () => {
    const gw = await startGateway();
    try {
      const callId = randomUUID();
      const params = answerParams('machine_start');
      const first = await signedPost(gw, outboundPath(callId, agents.hangup), params);
      const retried = await signedPost(gw, outboundPath(callId, agents.hangup), params);
      for (const res of [first, retried]) {
        expect(res.statusCode).toBe(200);
        expect(res.body).toMatch(/<Response><Hangup\/><\/Response>$/);
      }
      expect(await eventCounts(callId)).toEqual({ answered: 1 });
      const answered = await lastEvent(callId, 'answered');
      expect(answered).toMatchObject({
        id: machineAnsweredEventId(callId),
        data: { answeredBy: 'machine' },
      });
      expect(gw.lines.find((l) => l.msg === 'answering machine: hung up')).toMatchObject({
        callId,
        reason: 'amd-hangup',
        answeredBy: 'machine_start',
      });
    } finally {
      await gw.app.close();
    }
  });

  it("leaves a `voicemail` agent's message after the greeting, then hangs up", async () => {
    const gw = await startGateway();
    try {
      const callId = randomUUID();
      const res = await signedPost(
        gw,
        outboundPath(callId, agents.voicemail),
        answerParams('machine_end_beep'),
      );
      expect(res.statusCode).toBe(200);
      const say = new twilio.twiml.VoiceResponse();
      say.say(VOICEMAIL);
      say.hangup();
      expect(res.body).toBe(say.toString());
      expect(res.body).toContain('Acme Dental &amp; Co.');
      expect(res.body).toMatch(/<Say>[^<]+<\/Say><Hangup\/><\/Response>$/);
      expect((await lastEvent(callId, 'answered'))?.data).toEqual({ answeredBy: 'machine' });

      // Before the beep (placed with `Enable`): no half-heard message, just a hangup.
      const early = randomUUID();
      const start = await signedPost(
        gw,
        outboundPath(early, agents.voicemail),
        answerParams('machine_start'),
      );
      expect(start.body).toMatch(/<Response><Hangup\/><\/Response>$/);
      expect((await lastEvent(early, 'answered'))?.data).toEqual({ answeredBy: 'machine' });
      expect(
        gw.lines.find((l) => l.msg === 'answering machine: hung up' && l.callId === early),
      ).toMatchObject({ level: 40, reason: 'greeting-not-over' });
    } finally {
      await gw.app.close();
    }
  });

  it('connects a machine to the agent when the agent has detection off', async () => {
    const gw = await startGateway();
    try {
      const callId = randomUUID();
      const res = await signedPost(
        gw,
        outboundPath(callId, agents.off),
        answerParams('machine_end_beep'),
      );
      expect(res.body).toContain('<Connect><Stream');
      expect(paramOf(res.body, 'agentId')).toBe(agents.off);
      expect(await eventCounts(callId)).toEqual({});
    } finally {
      await gw.app.close();
    }
  });

  it('answers a call for an agent that does not exist with the polite goodbye, publishing nothing', async () => {
    const gw = await startGateway();
    try {
      const before = await storedEvents();
      const callId = randomUUID();
      const res = await signedPost(
        gw,
        outboundPath(callId, randomUUID()),
        answerParams('machine_end_beep'),
      );
      expect(res.statusCode).toBe(200);
      expect(res.body).toMatch(/<Response><Say>[^<]+<\/Say><Hangup\/><\/Response>$/);
      expect(await storedEvents()).toBe(before);
      expect(gw.lines.find((l) => l.msg === 'outbound call refused')).toMatchObject({
        callId,
        reason: 'unknown-agent',
      });
    } finally {
      await gw.app.close();
    }
  });
});

describe('gateway - outbound calls through the Twilio simulator', { timeout: 40_000 }, () => {
  it('a simulated answering machine hears the voicemail; the call ends completed, never answered by the agent', async () => {
    const gw = await startGateway();
    const projector = await startCallRecordProjector({
      nc,
      names,
      store: new PrismaCallRecordStore(prisma),
      log: captureLogs().log,
    });
    const sim = await startSim(gw, { '+15555550161': { answer: 'machine', ringMs: 500 } });
    try {
      const { callId, callSid } = await dial(gw, sim, {
        to: '+15555550161',
        agentId: agents.voicemail,
        machineDetection: 'DetectMessageEnd',
      });
      const row = await endedRow(callId);
      const heard = sim.recordingOf(callSid);
      expect(heard?.ofKind('call.amd')[0]?.data).toMatchObject({
        answeredBy: 'machine_end_beep',
        mode: 'DetectMessageEnd',
      });
      expect(heard?.ofKind('twiml.say').map((e) => e.data?.text)).toEqual([VOICEMAIL]);
      expect(heard?.ofKind('twiml.hangup')).toHaveLength(1);
      expect(heard?.ofKind('protocol.error')).toEqual([]);
      expect(sim.getCall(callSid)).toMatchObject({
        status: 'completed',
        endReason: 'twiml-hangup',
      });

      // Twilio's `completed` ended it: an answering machine leaves nothing for a bridge to end.
      expect(row).toMatchObject({
        direction: 'outbound',
        status: 'completed',
        endReason: 'completed',
        answeredAt: null,
        twilioCallSid: callSid,
        agentId: agents.voicemail,
      });
      expect(await eventCounts(callId)).toMatchObject({ created: 1, answered: 1, ended: 1 });
      expect((await lastEvent(callId, 'answered'))?.data).toEqual({ answeredBy: 'machine' });
      expect((await lastEvent(callId, 'ended'))?.data).toEqual({ reason: 'completed' });
      const stored = await prisma.callEvent.findMany({ where: { callId, type: 'answered' } });
      expect(stored.map((e) => e.data)).toEqual([{ answeredBy: 'machine' }]);
    } finally {
      await sim.close();
      await projector.stop();
      await gw.app.close();
    }
  });

  it('a simulated machine is hung up on for a `hangup` agent (MachineDetection=Enable)', async () => {
    const gw = await startGateway();
    const projector = await startCallRecordProjector({
      nc,
      names,
      store: new PrismaCallRecordStore(prisma),
      log: captureLogs().log,
    });
    const sim = await startSim(gw, { '+15555550162': { answer: 'machine', ringMs: 500 } });
    try {
      const { callId, callSid } = await dial(gw, sim, {
        to: '+15555550162',
        agentId: agents.hangup,
        machineDetection: 'Enable',
      });
      const row = await endedRow(callId);
      const heard = sim.recordingOf(callSid);
      expect(heard?.ofKind('call.amd')[0]?.data).toMatchObject({ answeredBy: 'machine_start' });
      expect(heard?.ofKind('twiml.say')).toEqual([]);
      expect(heard?.ofKind('twiml.hangup')).toHaveLength(1);
      expect(row).toMatchObject({ status: 'completed', endReason: 'completed', answeredAt: null });
      expect((await lastEvent(callId, 'answered'))?.data).toEqual({ answeredBy: 'machine' });
    } finally {
      await sim.close();
      await projector.stop();
      await gw.app.close();
    }
  });

  it('a simulated person is connected to the bridge with the call, agent and a valid token', async () => {
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
    const gw = await startGateway(`ws://127.0.0.1:${port}/media`);
    const projector = await startCallRecordProjector({
      nc,
      names,
      store: new PrismaCallRecordStore(prisma),
      log: captureLogs().log,
    });
    const sim = await startSim(gw, { '+15555550163': { answer: 'human', ringMs: 500 } });
    try {
      const { callId, callSid } = await dial(gw, sim, {
        to: '+15555550163',
        agentId: agents.voicemail,
        machineDetection: 'DetectMessageEnd',
      });
      const params = await started;
      expect(params).toMatchObject({ callId, agentId: agents.voicemail });
      const token = verifyStreamToken(params.token ?? '', SECRET);
      expect(token.ok && token.claims).toMatchObject({ callId, agentId: agents.voicemail });
      expect(sim.recordingOf(callSid)?.ofKind('call.amd')[0]?.data).toMatchObject({
        answeredBy: 'human',
      });
      // No bridge published `answered` here (the fake one does not), so Twilio's word ends it.
      expect(await endedRow(callId)).toMatchObject({ status: 'completed', endReason: 'completed' });
    } finally {
      await sim.close();
      await projector.stop();
      await gw.app.close();
      bridge.close();
    }
  });

  it('an outbound call that never connects ends with its status as reason: busy, no-answer, failed, canceled', async () => {
    const gw = await startGateway();
    const projector = await startCallRecordProjector({
      nc,
      names,
      store: new PrismaCallRecordStore(prisma),
      log: captureLogs().log,
    });
    const sim = await startSim(gw, {
      '+15555550164': { answer: 'busy', ringMs: 300 },
      '+15555550165': { answer: 'no-answer' },
      '+15555550166': { answer: 'fail' },
      '+15555550167': { answer: 'no-answer' },
    });
    try {
      const cases = [
        { to: '+15555550164', reason: 'busy', status: 'busy' },
        { to: '+15555550165', reason: 'no-answer', status: 'no_answer' },
        { to: '+15555550166', reason: 'failed', status: 'failed' },
        { to: '+15555550167', reason: 'canceled', status: 'canceled' },
      ];
      const calls = await Promise.all(
        cases.map(async (c) => ({
          ...c,
          ...(await dial(gw, sim, {
            to: c.to,
            agentId: agents.hangup,
            machineDetection: 'Enable',
            // The one the dialer cancels rings for a minute (6 s here).
            timeoutSec: c.reason === 'canceled' ? 60 : 5,
          })),
        })),
      );
      // The dialer gives up on the one still ringing.
      const ringing = calls.find((c) => c.reason === 'canceled')!;
      await vi.waitFor(() => expect(sim.getCall(ringing.callSid)?.status).toBe('ringing'));
      await ringing.client.calls(ringing.callSid).update({ status: 'canceled' });

      for (const c of calls) {
        expect(await endedRow(c.callId)).toMatchObject({
          status: c.status,
          endReason: c.reason,
          answeredAt: null,
        });
        expect((await lastEvent(c.callId, 'ended'))?.data).toEqual({ reason: c.reason });
        expect(await eventCounts(c.callId)).toMatchObject({ created: 1, ended: 1 });
        expect(await eventCounts(c.callId)).not.toHaveProperty('answered');
        // Twilio never asked for TwiML: nobody answered.
        expect(sim.recordingOf(c.callSid)?.ofKind('webhook.voice')).toEqual([]);
      }
    } finally {
      await sim.close();
      await projector.stop();
      await gw.app.close();
    }
  });
});
