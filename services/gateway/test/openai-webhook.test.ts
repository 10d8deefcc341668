import { randomBytes, randomUUID } from 'node:crypto';

import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';

import {
  callEvent,
  publishEvent,
  serveEndpoint,
  type CallEvent,
  type CallEventType,
  type SipOfferRequest,
  type SipOfferResult,
} from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase } from '@app/db/testing';
import { provisionJetStream } from '@app/platform';
import {
  captureLogs,
  freePort,
  natsTestNamespace,
  type NatsTestNamespace,
} from '@app/platform/testing';
import { signWebhook, SIM_DEFAULTS, startSimulators, type Simulators } from '@app/sim';

import { PrismaCallDirectory } from '../src/adapters/call-directory.js';
import { PrismaCallRecordStore } from '../src/adapters/call-record-store.js';
import { KvWebhookClaims } from '../src/adapters/webhook-claims.js';
import { startCallRecordProjector } from '../src/handlers/call-record-projector.js';
import { callIdForOpenAICall } from '../src/handlers/sip-call-incoming.js';
import { openAIWebhookRoutes } from '../src/routes/openai-webhook.js';

// Real NATS (a namespace per test), PostgreSQL (a database for this file) and the simulators:
// OpenAI's sends the signed webhooks of the calls Twilio's SIP trunk hands it, and receives
// our rejects. Only the call-bridge side of `call-bridge.sip-offer` is a stand-in.
const SECRET = SIM_DEFAULTS.openai.webhookSecret;
const SIP_NUMBER = SIM_DEFAULTS.numbers.sip;
const CALLER = SIM_DEFAULTS.numbers.caller;
/** A SIP number of the simulated trunk that no agent answers. */
const NOT_OURS = '+15555550111';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let prisma: PrismaClient;
let frontDeskId: string;
let salesId: string;
let sims: Simulators;
/** Where the simulated OpenAI posts its webhooks: each test's gateway listens here. */
let gatewayPort: number;

/** What a stand-in bridge answers to its `n`-th offer (1-based). */
type Bridge = (offer: SipOfferRequest, n: number) => SipOfferResult;

interface Gateway {
  app: FastifyInstance;
  ns: NatsTestNamespace;
  jsm: JetStreamManager;
  lines: Record<string, unknown>[];
  /** Offers the stand-in bridge received, in order. */
  offers: SipOfferRequest[];
}

/** A gateway with only the OpenAI webhook, on its own NATS namespace, closed after the test. */
async function startGateway(
  opts: {
    secret?: string | null;
    apiKey?: string | null;
    deadlineMs?: number;
    bridge?: Bridge;
    projector?: boolean;
    /** Listen where the simulated OpenAI posts (tests that ring through the simulators). */
    listen?: boolean;
  } = {},
): Promise<Gateway> {
  const ns = await natsTestNamespace();
  const { nc, names } = ns;
  const { log, lines } = captureLogs();
  const offers: SipOfferRequest[] = [];
  const claims = await KvWebhookClaims.open(nc, names);
  const apiKey = opts.apiKey === undefined ? SIM_DEFAULTS.openai.apiKey : opts.apiKey;
  let sub: Subscription | undefined;
  if (opts.bridge) {
    const bridge = opts.bridge;
    sub = serveEndpoint({
      nc,
      names,
      endpoint: 'sip-offer',
      logger: log,
      handler: (offer) => {
        offers.push(offer);
        return bridge(offer, offers.length);
      },
    });
  }
  const projector = opts.projector
    ? await startCallRecordProjector({
        nc,
        names,
        store: new PrismaCallRecordStore(prisma),
        log,
      })
    : undefined;
  // The simulator's keep-alive connection would hold close() up for Fastify's 72 s idle timeout
  // when a test ends with a webhook in flight.
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger, forceCloseConnections: true });
  await app.register(openAIWebhookRoutes, {
    webhookSecret: opts.secret === undefined ? SECRET : (opts.secret ?? undefined),
    openai: apiKey
      ? new OpenAI({ apiKey, baseURL: `${sims.openaiHttpUrl}/v1`, maxRetries: 0 })
      : undefined,
    toleranceSec: 300,
    claims,
    directory: new PrismaCallDirectory(prisma),
    nc,
    js: jetstream(nc),
    names,
    offerDeadlineMs: opts.deadlineMs ?? 2_000,
    offerRetryPauseMs: 20,
  });
  if (opts.listen) await app.listen({ host: '127.0.0.1', port: gatewayPort });
  const jsm = await jetstreamManager(nc);
  onTestFinished(async () => {
    await app.close();
    sub?.unsubscribe();
    await projector?.stop();
    await jsm.streams.delete(`KV_${names.kv.openaiWebhookIds.name}`).catch(() => undefined);
    await ns.close();
  });
  return { app, ns, jsm, lines, offers };
}

/** Every event the CALLS stream holds in a gateway's namespace. */
const storedEvents = async (gw: Gateway) =>
  (await gw.jsm.streams.info(gw.ns.names.streams.calls.name)).state.messages;

/** How many events of each type the CALLS stream holds for one call, e.g. `{ created: 1 }`. */
async function eventCounts(
  gw: Gateway,
  callId: string,
): Promise<Partial<Record<CallEventType, number>>> {
  const info = await gw.jsm.streams.info(gw.ns.names.streams.calls.name, {
    subjects_filter: gw.ns.names.subjects.callEventsOf(callId),
  });
  return Object.fromEntries(
    Object.entries(info.state.subjects ?? {}).map(([subject, n]) => [subject.split('.').at(-1), n]),
  );
}

async function lastEvent<E extends CallEventType>(gw: Gateway, callId: string, event: E) {
  const msg = await gw.jsm.streams.getMessage(gw.ns.names.streams.calls.name, {
    last_by_subj: gw.ns.names.subjects.callEvent(callId, event),
  });
  return msg?.json<CallEvent<E>>();
}

const rtcId = () => `rtc_${randomBytes(16).toString('hex')}`;

/** A `realtime.call.incoming` event as OpenAI sends it (openai-realtime.md §6 step 2). */
function callIncoming(
  callId: string,
  sip: { from?: string; to?: string; extra?: Array<{ name: string; value: string }> } = {},
) {
  return {
    object: 'event',
    id: `evt_${randomBytes(12).toString('hex')}`,
    type: 'realtime.call.incoming',
    created_at: Math.floor(Date.now() / 1_000),
    data: {
      call_id: callId,
      sip_headers: [
        { name: 'From', value: sip.from ?? `"Caller" <sip:${CALLER}@sip.twilio.com>;tag=8d1` },
        { name: 'To', value: sip.to ?? `<sip:${SIP_NUMBER}@sip.api.openai.com>` },
        { name: 'Call-ID', value: `${randomBytes(8).toString('hex')}@sip.twilio.com` },
        ...(sip.extra ?? []),
      ],
    },
  };
}

/** The request OpenAI would send for `event`, signed (Standard Webhooks, §6.1). */
function signed(
  event: object | string,
  o: { id?: string; ts?: number; secret?: string; omit?: string } = {},
) {
  const body = typeof event === 'string' ? event : JSON.stringify(event);
  const id = o.id ?? `wh_${randomBytes(12).toString('hex')}`;
  const ts = o.ts ?? Math.floor(Date.now() / 1_000);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': signWebhook(o.secret ?? SECRET, id, ts, body),
  };
  if (o.omit) delete headers[o.omit];
  return { method: 'POST' as const, url: '/openai/webhook', headers, payload: body };
}

const accepting: Bridge = () => ({ status: 'accepted', pod: 'bridge-test-1' });

/** The simulated OpenAI's view of the SIP call Twilio's trunk handed it for `callSid`. */
const simCall = (callSid: string) => sims.openai.calls().find((c) => c.callSid === callSid);

/**
 * Waits until the simulated OpenAI got our answer to the call's webhook: the gateway publishes
 * everything before it answers, so its events are stored by then.
 */
async function webhookAnswered(callSid: string) {
  await vi.waitFor(() => expect(simCall(callSid)?.webhookStatus).toBe(200), { timeout: 10_000 });
}

/** The SIP status the simulated OpenAI saw in our reject of a call, if any. */
function rejectedWith(recording: { entries: ReadonlyArray<{ kind: string; data?: object }> }) {
  const entry = recording.entries.find((e) => e.kind === 'openai.call-rejected');
  return (entry?.data as { sipStatus?: number } | undefined)?.sipStatus;
}

/** Ends a call the stand-in bridge "accepted" (the simulator would ring it for 30 s). */
async function hangUp(openaiCallId: string) {
  await new OpenAI({
    apiKey: SIM_DEFAULTS.openai.apiKey,
    baseURL: `${sims.openaiHttpUrl}/v1`,
    maxRetries: 0,
  }).realtime.calls.hangup(openaiCallId);
}

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl });
  frontDeskId = (
    await prisma.agent.create({ data: { name: 'front desk', instructions: 'Be brief.' } })
  ).id;
  salesId = (await prisma.agent.create({ data: { name: 'sales', instructions: 'Sell.' } })).id;
  await prisma.phoneNumber.create({
    data: { e164: SIP_NUMBER, agentId: frontDeskId, transport: 'sip' },
  });
  gatewayPort = await freePort();
  sims = await startSimulators({
    webhookUrl: `http://127.0.0.1:${gatewayPort}/openai/webhook`,
    pacing: 'fast',
  });
  sims.twilio.configureNumber({
    number: NOT_OURS,
    accountSid: SIM_DEFAULTS.twilio.accountSid,
    sip: true,
  });
});

afterAll(async () => {
  await sims?.close();
  await prisma?.$disconnect();
  await db?.drop();
});

describe('gateway - OpenAI webhook (SIP calls)', { timeout: 30_000 }, () => {
  it('answers 503 and logs an error when OPENAI_WEBHOOK_SECRET or OPENAI_API_KEY is not set', async () => {
    for (const unset of [{ secret: null }, { apiKey: null }]) {
      const gw = await startGateway(unset);
      const res = await gw.app.inject(signed(callIncoming(rtcId())));
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ error: 'openai webhooks are not configured' });
      expect(gw.lines.find((l) => l.level === 50)?.msg).toMatch(/OPENAI_WEBHOOK_SECRET/);
      expect(await storedEvents(gw)).toBe(0);
    }
  });

  it('refuses missing headers, a bad signature, a stale or a future timestamp with 400: nothing claimed, nothing recorded', async () => {
    const gw = await startGateway({ bridge: accepting });
    const event = callIncoming(rtcId());
    const id = `wh_${randomBytes(12).toString('hex')}`;
    const now = Math.floor(Date.now() / 1_000);
    const tampered = signed(event, { id });
    tampered.payload = tampered.payload.replace(CALLER, '+15555550143');
    const refused = [
      signed(event, { id, omit: 'webhook-signature' }),
      signed(event, { id, omit: 'webhook-id' }),
      signed(event, { id, omit: 'webhook-timestamp' }),
      signed(event, { id, secret: `whsec_${Buffer.from('another secret').toString('base64')}` }),
      tampered,
      // A minute past the 300 s tolerance each way: the requests before this one may take a
      // while on a loaded machine, and a 1 s margin would let "too new" become acceptable.
      signed(event, { id, ts: now - 360 }),
      signed(event, { id, ts: now + 360 }),
    ];
    const answers = [];
    for (const req of refused) answers.push(await gw.app.inject(req));
    expect(answers.map((r) => r.statusCode)).toEqual([400, 400, 400, 400, 400, 400, 400]);
    expect(answers[0]?.json()).toEqual({
      error: 'missing webhook-id, webhook-timestamp or webhook-signature header',
    });
    expect(answers[3]?.json().error).toMatch(/signature does not match/);
    expect(answers[5]?.json().error).toMatch(/too old/);
    expect(answers[6]?.json().error).toMatch(/too new/);
    expect(gw.lines.filter((l) => l.level === 40)).toHaveLength(7);
    expect(gw.offers).toHaveLength(0);
    expect(await storedEvents(gw)).toBe(0);
    // Nothing was claimed: the genuine delivery with the same webhook id goes through.
    const genuine = await gw.app.inject(signed(event, { id }));
    expect(genuine.json()).toMatchObject({ status: 'accepted' });
  });

  it('answers 200 ignored to other event types and records nothing', async () => {
    const gw = await startGateway({ bridge: accepting });
    const res = await gw.app.inject(
      signed({
        object: 'event',
        id: 'evt_1',
        type: 'batch.completed',
        created_at: Math.floor(Date.now() / 1_000),
        data: { id: 'batch_1' },
      }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ignored' });
    expect(gw.offers).toHaveLength(0);
    expect(await storedEvents(gw)).toBe(0);
  });

  it('answers a replayed webhook id 200 duplicate (a 4xx would be retried for days) and acts on nothing twice', async () => {
    const gw = await startGateway({ bridge: accepting });
    const openaiCallId = rtcId();
    const delivery = signed(callIncoming(openaiCallId));
    const first = await gw.app.inject(delivery);
    const { callId } = callIdForOpenAICall(openaiCallId);
    expect(first.json()).toEqual({ status: 'accepted', callId });
    const replay = await gw.app.inject(delivery);
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toEqual({ status: 'duplicate' });
    expect(gw.offers).toHaveLength(1);
    expect(await eventCounts(gw, callId)).toEqual({ created: 1 });
  });

  it('handles a call once when it arrives again under another webhook id (200 duplicate)', async () => {
    const gw = await startGateway({ bridge: accepting });
    const event = callIncoming(rtcId());
    const first = await gw.app.inject(signed(event));
    expect(first.json()).toMatchObject({ status: 'accepted' });
    const again = await gw.app.inject(signed({ ...event, id: 'evt_other' }));
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ status: 'duplicate' });
    expect(gw.offers).toHaveLength(1);
    expect(await storedEvents(gw)).toBe(1);
  });

  it('routes to the agent an X-Agent-Id header names, else to the agent of the called number', async () => {
    const gw = await startGateway({ bridge: accepting, listen: true });
    // Through the simulated trunk: the header travels Twilio → OpenAI → webhook.
    const call = await sims.twilio.ringInbound({
      to: SIP_NUMBER,
      from: CALLER,
      sipHeaders: { 'X-Agent-Id': salesId, 'X-Campaign': 'spring' },
    });
    await vi.waitFor(() => expect(gw.offers).toHaveLength(1), { timeout: 10_000 });
    const offer = gw.offers[0];
    const openaiCallId = simCall(call.callSid)?.callId ?? '';
    expect(offer?.callId).toBe(callIdForOpenAICall(openaiCallId).callId);
    expect(offer?.data).toEqual({
      openaiCallId,
      from: CALLER,
      to: SIP_NUMBER,
      agentId: salesId,
      sipHeaders: { 'X-Agent-Id': salesId, 'X-Campaign': 'spring' },
      direction: 'inbound',
    });
    await webhookAnswered(call.callSid);
    await hangUp(openaiCallId);

    // No header, an unknown agent id, or no agent id at all: the number's agent.
    for (const extra of [
      [],
      [{ name: 'X-Agent-Id', value: '00000000-0000-4000-8000-000000000000' }],
      [{ name: 'x-agent-id', value: 'sales' }],
    ]) {
      const res = await gw.app.inject(signed(callIncoming(rtcId(), { extra })));
      expect(res.json()).toMatchObject({ status: 'accepted' });
      expect(gw.offers.at(-1)?.data.agentId).toBe(frontDeskId);
    }
  });

  it('records an accepted call: created with transport sip and the OpenAI call id, projected into PostgreSQL', async () => {
    const gw = await startGateway({ bridge: accepting, projector: true, listen: true });
    const call = await sims.twilio.ringInbound({ to: SIP_NUMBER, from: CALLER });
    await webhookAnswered(call.callSid);
    const openaiCallId = simCall(call.callSid)?.callId ?? '';
    const { callId } = callIdForOpenAICall(openaiCallId);
    expect((await lastEvent(gw, callId, 'created'))?.data).toEqual({
      direction: 'inbound',
      transport: 'sip',
      from: CALLER,
      to: SIP_NUMBER,
      agentId: frontDeskId,
      openaiCallId,
    });
    await vi.waitFor(
      async () =>
        expect(await prisma.call.findUnique({ where: { id: callId } })).toMatchObject({
          direction: 'inbound',
          transport: 'sip',
          openaiCallId,
          twilioCallSid: null,
          fromNumber: CALLER,
          toNumber: SIP_NUMBER,
          agentId: frontDeskId,
          status: 'ringing',
        }),
      { timeout: 10_000 },
    );
    // Taken by a bridge: the gateway rejects nothing.
    expect(simCall(call.callSid)?.state).toBe('ringing');
    expect(await eventCounts(gw, callId)).toEqual({ created: 1 });
    await hangUp(openaiCallId);
  });

  it('an outbound call our dialer sent to OpenAI over SIP is recorded on our call id, not as a new inbound call', async () => {
    const gw = await startGateway({ bridge: accepting, projector: true });
    const ourCallId = randomUUID();
    const callee = '+15555550123';
    // The dialer's own `created` (no OpenAI call id yet), as it publishes it after dialing.
    await publishEvent(
      jetstream(gw.ns.nc),
      gw.ns.names,
      callEvent('created', ourCallId, {
        direction: 'outbound',
        transport: 'sip',
        from: SIP_NUMBER,
        to: callee,
        agentId: frontDeskId,
      }) as CallEvent,
    );
    const openaiCallId = rtcId();
    const headers = (callId: string) => [
      { name: 'X-Agent-Id', value: frontDeskId },
      { name: 'X-Call-Id', value: callId },
    ];
    const from = `<sip:${SIP_NUMBER}@sip.twilio.com>`;
    const to = `<sip:${callee}@sip.api.openai.com>`;
    const res = await gw.app.inject(
      signed(callIncoming(openaiCallId, { from, to, extra: headers(ourCallId) })),
    );
    expect(res.json()).toMatchObject({ status: 'accepted', callId: ourCallId });
    expect(gw.offers.at(-1)?.callId).toBe(ourCallId);
    expect(gw.offers.at(-1)?.data.direction).toBe('outbound');
    expect((await lastEvent(gw, ourCallId, 'created'))?.data).toMatchObject({
      direction: 'outbound',
      openaiCallId,
    });
    await vi.waitFor(
      async () =>
        expect(await prisma.call.findUnique({ where: { id: ourCallId } })).toMatchObject({
          direction: 'outbound',
          transport: 'sip',
          openaiCallId,
          toNumber: callee,
        }),
      { timeout: 10_000 },
    );
    // From a caller's number the header is ignored: a caller cannot name a call of ours.
    const spoofed = randomUUID();
    const other = rtcId();
    const res2 = await gw.app.inject(signed(callIncoming(other, { extra: headers(spoofed) })));
    expect(res2.json()).toMatchObject({ callId: callIdForOpenAICall(other).callId });
  });

  it('rejects a call to a number that is not ours with 404 at OpenAI, answers 200 and records nothing', async () => {
    const gw = await startGateway({ bridge: accepting, listen: true });
    const call = await sims.twilio.ringInbound({ to: NOT_OURS, from: CALLER });
    const ended = await call.ended;
    expect(rejectedWith(call.recording)).toBe(404);
    expect(ended.status).toBe('failed');
    await webhookAnswered(call.callSid);
    expect(gw.offers).toHaveLength(0);
    expect(await storedEvents(gw)).toBe(0);
    expect(gw.lines.find((l) => l.msg === 'inbound sip call refused')).toMatchObject({
      reason: 'unknown-number',
      sipStatus: 404,
    });
    // The numbers are under pii.*, which the logger redacts.
    expect(JSON.stringify(gw.lines)).not.toContain(NOT_OURS.slice(1));
  });

  it('rejects a caller without a phone number with 433, logs a reject OpenAI refused, and still answers 200', async () => {
    const gw = await startGateway({ bridge: accepting });
    // A call id the simulator never saw: its reject fails with 404.
    const res = await gw.app.inject(
      signed(callIncoming(rtcId(), { from: '"Anonymous" <sip:anonymous@anonymous.invalid>' })),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'rejected', reason: 'caller-id-not-e164' });
    expect(gw.lines.find((l) => l.msg === 'rejecting the sip call at openai failed')).toMatchObject(
      { sipStatus: 433, err: expect.objectContaining({ status: 404 }) },
    );
    expect(await storedEvents(gw)).toBe(0);
  });

  it('offers again while bridges are at capacity and answers accepted when one takes the call', async () => {
    const gw = await startGateway({
      bridge: (_offer, n) =>
        n < 3 ? { status: 'rejected', reason: 'at-capacity' } : { status: 'accepted', pod: 'b-3' },
    });
    const openaiCallId = rtcId();
    const res = await gw.app.inject(signed(callIncoming(openaiCallId)));
    const { callId } = callIdForOpenAICall(openaiCallId);
    expect(res.json()).toEqual({ status: 'accepted', callId });
    // The same offer (one envelope id) each time: NATS picks the pod.
    expect(gw.offers).toHaveLength(3);
    expect(new Set(gw.offers.map((o) => o.id)).size).toBe(1);
    expect(await eventCounts(gw, callId)).toEqual({ created: 1 });
  });

  it('every bridge at capacity until the deadline: 486 at OpenAI, error and ended busy recorded', async () => {
    const gw = await startGateway({
      bridge: () => ({ status: 'rejected', reason: 'at-capacity' }),
      // Long enough for a loaded machine to get a refusal back at all: with none the message
      // says no bridge answered, which is another case.
      deadlineMs: 2_000,
      projector: true,
      listen: true,
    });
    const call = await sims.twilio.ringInbound({ to: SIP_NUMBER, from: CALLER });
    const ended = await call.ended;
    expect(rejectedWith(call.recording)).toBe(486);
    expect(ended.status).toBe('busy');
    await webhookAnswered(call.callSid);
    expect(gw.offers.length).toBeGreaterThan(2);
    const { callId } = callIdForOpenAICall(simCall(call.callSid)?.callId ?? '');
    expect((await lastEvent(gw, callId, 'error'))?.data).toMatchObject({
      source: 'gateway',
      code: 'no_bridge_capacity',
      message: expect.stringMatching(/at capacity/),
    });
    expect((await lastEvent(gw, callId, 'ended'))?.data).toEqual({ reason: 'busy' });
    await vi.waitFor(
      async () =>
        expect(await prisma.call.findUnique({ where: { id: callId } })).toMatchObject({
          status: 'busy',
          endReason: 'busy',
        }),
      { timeout: 10_000 },
    );
    expect(await prisma.callEvent.count({ where: { callId, type: 'error' } })).toBe(1);
  });

  it('with no bridge running at all, rejects busy at once (no responders), long before the deadline', async () => {
    const gw = await startGateway({ deadlineMs: 10_000, listen: true });
    const startedAt = Date.now();
    const call = await sims.twilio.ringInbound({ to: SIP_NUMBER, from: CALLER });
    const ended = await call.ended;
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    expect(rejectedWith(call.recording)).toBe(486);
    expect(ended.status).toBe('busy');
    await webhookAnswered(call.callSid);
    const { callId } = callIdForOpenAICall(simCall(call.callSid)?.callId ?? '');
    expect(await eventCounts(gw, callId)).toEqual({ created: 1, error: 1, ended: 1 });
    expect((await lastEvent(gw, callId, 'error'))?.data.message).toMatch(/no call-bridge/);
    expect(gw.lines.find((l) => l.msg === 'sip call taken by no bridge')).toMatchObject({
      reason: 'no-bridge',
      attempts: 1,
    });
  });

  it('does not offer again a call a bridge took and failed: 500 at OpenAI, ended failed', async () => {
    const gw = await startGateway({
      bridge: () => ({ status: 'rejected', reason: 'accept-failed' }),
      listen: true,
    });
    const call = await sims.twilio.ringInbound({ to: SIP_NUMBER, from: CALLER });
    const ended = await call.ended;
    expect(rejectedWith(call.recording)).toBe(500);
    expect(ended.status).toBe('failed');
    await webhookAnswered(call.callSid);
    expect(gw.offers).toHaveLength(1);
    const { callId } = callIdForOpenAICall(simCall(call.callSid)?.callId ?? '');
    expect((await lastEvent(gw, callId, 'error'))?.data).toMatchObject({
      code: 'sip_offer_failed',
      message: expect.stringMatching(/accept-failed/),
    });
    expect((await lastEvent(gw, callId, 'ended'))?.data).toEqual({ reason: 'failed' });
  });

  it('releases its claims when handling fails, so the redelivery of the same webhook is handled', async () => {
    const gw = await startGateway({ bridge: accepting });
    const openaiCallId = rtcId();
    const delivery = signed(callIncoming(openaiCallId));
    // JetStream is lost: the created event cannot be stored.
    await gw.jsm.streams.delete(gw.ns.names.streams.calls.name);
    const failed = await gw.app.inject(delivery);
    expect(failed.statusCode).toBe(500);
    expect(gw.offers).toHaveLength(0);
    await provisionJetStream(gw.ns.nc, gw.ns.names);
    const retried = await gw.app.inject(delivery);
    expect(retried.json()).toEqual({
      status: 'accepted',
      callId: callIdForOpenAICall(openaiCallId).callId,
    });
    expect(gw.offers).toHaveLength(1);
  });

  it('refuses a body over 64 KiB with 413 before verifying it', async () => {
    const gw = await startGateway({ bridge: accepting });
    const huge = callIncoming(rtcId(), {
      extra: [{ name: 'X-Padding', value: 'x'.repeat(64 * 1024) }],
    });
    const res = await gw.app.inject(signed(huge));
    expect(res.statusCode).toBe(413);
    expect(gw.offers).toHaveLength(0);
  });
});
