/**
 * What the webhook routes tell operators: refused signatures counted by source on
 * `gateway_webhook_signature_failures_total`, and a span per call-starting webhook whose
 * `traceparent` the TwiML hands to the bridge. Real NATS and PostgreSQL, the routes as the
 * gateway registers them.
 */
import { randomUUID } from 'node:crypto';

import { jetstream } from '@nats-io/jetstream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase } from '@app/db/testing';
import {
  captureLogs,
  captureSpans,
  freePort,
  natsTestNamespace,
  type CapturedSpans,
  type NatsTestNamespace,
} from '@app/platform/testing';
import { encodeForm, signWebhook, twilioSignature } from '@app/sim';

import { PrismaCallDirectory } from '../src/adapters/call-directory.js';
import { KvWebhookClaims } from '../src/adapters/webhook-claims.js';
import { createWebhookMetrics, type WebhookMetrics } from '../src/metrics.js';
import { openAIWebhookRoutes } from '../src/routes/openai-webhook.js';
import { twilioOutboundRoutes } from '../src/routes/twilio-outbound.js';
import { twilioWebhookRoutes } from '../src/routes/twilio-webhooks.js';

const AUTH_TOKEN = 'gateway-observability-auth-token-0000';
const STREAM_SECRET = 'gateway-observability-stream-secret-000';
const WEBHOOK_SECRET = `whsec_${Buffer.from('gateway-observability-webhook-key').toString('base64')}`;
const OUR_NUMBER = '+15555550177';

let ns: NatsTestNamespace;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let prisma: PrismaClient;
let agentId: string;
let spans: CapturedSpans;
let registry: Registry;
let metrics: WebhookMetrics;
let app: FastifyInstance;
let baseUrl: string;

beforeAll(async () => {
  spans = await captureSpans('gateway-test');
  ns = await natsTestNamespace();
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl });
  const agent = await prisma.agent.create({ data: { name: 'desk', instructions: 'Be brief.' } });
  agentId = agent.id;
  await prisma.phoneNumber.create({ data: { e164: OUR_NUMBER, agentId } });

  registry = new Registry();
  metrics = createWebhookMetrics(registry);
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  app = Fastify({ loggerInstance: captureLogs().log as FastifyBaseLogger });
  const directory = new PrismaCallDirectory(prisma);
  const stream = {
    publicBaseUrl: baseUrl,
    authToken: AUTH_TOKEN,
    mediaUrl: 'wss://bridge.example.com/media',
    streamTokenSecret: STREAM_SECRET,
    streamTokenTtlSec: 60,
    js: jetstream(ns.nc),
    names: ns.names,
    directory,
    metrics,
  };
  await app.register(twilioWebhookRoutes, stream);
  await app.register(twilioOutboundRoutes, stream);
  await app.register(openAIWebhookRoutes, {
    webhookSecret: WEBHOOK_SECRET,
    // Never called: every webhook below is refused before a call is handled.
    openai: new OpenAI({ apiKey: 'sk-test', baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0 }),
    toleranceSec: 300,
    claims: await KvWebhookClaims.open(ns.nc, ns.names),
    directory,
    nc: ns.nc,
    js: jetstream(ns.nc),
    names: ns.names,
    offerDeadlineMs: 1_000,
    metrics,
  });
  await app.listen({ host: '127.0.0.1', port });
});

afterAll(async () => {
  await app?.close();
  await ns?.close();
  await prisma?.$disconnect();
  await db?.drop();
  await spans?.stop();
});

async function failures(source: 'twilio' | 'openai'): Promise<number> {
  const metric = await registry.getSingleMetric('gateway_webhook_signature_failures_total')?.get();
  return metric?.values.find((v) => v.labels.source === source)?.value ?? NaN;
}

function twilioPost(path: string, params: Record<string, string>, signature?: string) {
  return app.inject({
    method: 'POST',
    url: path,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature !== undefined ? { 'x-twilio-signature': signature } : {}),
    },
    payload: encodeForm(params),
  });
}

const voiceParams = (callSid: string) => ({
  CallSid: callSid,
  From: '+15555550142',
  To: OUR_NUMBER,
});

describe('gateway webhooks - signature failure metric and spans', { timeout: 30_000 }, () => {
  it('starts both series at 0, so a rate over them exists before the first failure', async () => {
    expect(await failures('twilio')).toBe(0);
    expect(await failures('openai')).toBe(0);
  });

  it('counts refused Twilio signatures (missing, wrong) on both Twilio routes, and not good ones', async () => {
    const before = await failures('twilio');
    expect((await twilioPost('/twilio/voice', voiceParams('CAunsigned'))).statusCode).toBe(403);
    const outboundPath = `/twilio/outbound?callId=${randomUUID()}&agentId=${agentId}`;
    const wrong = twilioSignature('another-token', `${baseUrl}${outboundPath}`, {});
    expect((await twilioPost(outboundPath, voiceParams('CAwrong'), wrong)).statusCode).toBe(403);
    expect(await failures('twilio')).toBe(before + 2);

    const params = voiceParams('CAsigned');
    const good = twilioSignature(AUTH_TOKEN, `${baseUrl}/twilio/voice`, params);
    expect((await twilioPost('/twilio/voice', params, good)).statusCode).toBe(200);
    expect(await failures('twilio')).toBe(before + 2);
    expect(await failures('openai')).toBe(0);
  });

  it('counts OpenAI webhooks without signature headers or with a wrong signature', async () => {
    const before = await failures('openai');
    const body = JSON.stringify({ id: 'evt_1', type: 'realtime.call.incoming', data: {} });
    const unsigned = await app.inject({
      method: 'POST',
      url: '/openai/webhook',
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    expect(unsigned.statusCode).toBe(400);
    const ts = Math.floor(Date.now() / 1_000);
    const forged = await app.inject({
      method: 'POST',
      url: '/openai/webhook',
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'wh_forged',
        'webhook-timestamp': String(ts),
        'webhook-signature': signWebhook('whsec_b3RoZXIta2V5', 'wh_forged', ts, body),
      },
      payload: body,
    });
    expect(forged.statusCode).toBe(400);
    expect(await failures('openai')).toBe(before + 2);
  });

  it("puts the /twilio/voice span's traceparent into the TwiML, for the bridge to continue", async () => {
    const params = voiceParams(`CA${randomUUID().replaceAll('-', '')}`);
    const res = await twilioPost(
      '/twilio/voice',
      params,
      twilioSignature(AUTH_TOKEN, `${baseUrl}/twilio/voice`, params),
    );
    expect(res.statusCode).toBe(200);
    const traceparent = /<Parameter name="traceparent" value="([^"]+)"\/>/.exec(res.body)?.[1];
    expect(res.body).toContain('<Parameter name="direction" value="inbound"/>');
    const span = spans
      .spans()
      .find((s) => s.name === 'twilio.voice' && s.attributes['twilio.call_sid'] === params.CallSid);
    expect(span?.instrumentationScope.name).toBe('gateway');
    const { traceId, spanId } = span!.spanContext();
    expect(traceparent).toBe(`00-${traceId}-${spanId}-01`);
    expect(span?.attributes).toMatchObject({
      'call.direction': 'inbound',
      'call.transport': 'media-streams',
      'webhook.outcome': 'connected',
    });
  });

  it('marks a refused webhook on its span', async () => {
    await twilioPost('/twilio/voice', voiceParams('CArefused-span'));
    const span = spans
      .spans()
      .filter((s) => s.name === 'twilio.voice')
      .find((s) => s.attributes['webhook.outcome'] === 'signature-refused');
    expect(span).toBeDefined();
  });
});
