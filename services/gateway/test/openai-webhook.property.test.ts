/**
 * Property: whatever arrives at `/openai/webhook` (any body signed with our secret, mutations
 * of a real `realtime.call.incoming` event, any headers without a good signature) gets a valid
 * answer or a clear 4xx, never a 5xx, and a refused webhook publishes nothing. Real NATS and
 * PostgreSQL; OpenAI's REST API (the reject of a call nobody takes) is a stand-in that accepts.
 */
import { randomBytes } from 'node:crypto';

import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import fc from 'fast-check';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Names } from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase } from '@app/db/testing';
import { provisionJetStream } from '@app/platform';
import { captureLogs, natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';
import { signWebhook, SIM_DEFAULTS } from '@app/sim';

import { PrismaCallDirectory } from '../src/adapters/call-directory.js';
import { KvWebhookClaims } from '../src/adapters/webhook-claims.js';
import { openAIWebhookRoutes } from '../src/routes/openai-webhook.js';

const SECRET = SIM_DEFAULTS.openai.webhookSecret;
const RUNS = { numRuns: 120 };

let ns: NatsTestNamespace;
let names: Names;
let jsm: JetStreamManager;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let prisma: PrismaClient;
let app: FastifyInstance;

beforeAll(async () => {
  ns = await natsTestNamespace();
  names = ns.names;
  await provisionJetStream(ns.nc, names, captureLogs().log);
  jsm = await jetstreamManager(ns.nc);
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl });
  app = Fastify({ loggerInstance: captureLogs().log as FastifyBaseLogger });
  await app.register(openAIWebhookRoutes, {
    webhookSecret: SECRET,
    // Every REST call (rejecting a call no agent takes) succeeds.
    openai: new OpenAI({
      apiKey: 'sk-property',
      maxRetries: 0,
      fetch: () => Promise.resolve(new Response('{}', { status: 200 })),
    }),
    toleranceSec: 300,
    claims: await KvWebhookClaims.open(ns.nc, names),
    directory: new PrismaCallDirectory(prisma),
    nc: ns.nc,
    js: jetstream(ns.nc),
    names,
    offerDeadlineMs: 100,
    offerRetryPauseMs: 10,
  });
  await app.ready();
}, 60_000);

afterAll(async () => {
  await app?.close();
  await ns?.close();
  await prisma?.$disconnect();
  await db?.drop();
});

const storedEvents = async () => (await jsm.streams.info(names.streams.calls.name)).state.messages;

function signedRequest(body: string, id = `wh_${randomBytes(12).toString('hex')}`) {
  const ts = Math.floor(Date.now() / 1_000);
  return {
    method: 'POST' as const,
    url: '/openai/webhook',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signWebhook(SECRET, id, ts, body),
    },
    payload: body,
  };
}

function expectClearAnswer(res: { statusCode: number; body: string }): void {
  expect(res.statusCode, res.body).toBeLessThan(500);
  if (res.statusCode >= 400) {
    expect((JSON.parse(res.body) as { error?: unknown }).error).toEqual(expect.any(String));
  }
}

const incoming = fc.stringMatching(/^[0-9a-f]{16}$/).map((hex) => ({
  object: 'event',
  id: `evt_${hex}`,
  type: 'realtime.call.incoming',
  created_at: Math.floor(Date.now() / 1_000),
  data: {
    call_id: `rtc_${hex}`,
    sip_headers: [
      { name: 'From', value: `"Caller" <sip:${SIM_DEFAULTS.numbers.caller}@sip.twilio.com>` },
      { name: 'To', value: `<sip:+15555550111@sip.twilio.com>` },
    ],
  },
}));

/** The event with its fields, or its data's fields, dropped or replaced by any JSON. */
const mutatedIncoming = fc
  .tuple(
    incoming,
    fc.subarray(['object', 'id', 'type', 'created_at', 'data']),
    fc.dictionary(fc.constantFrom('id', 'type', 'data', 'created_at'), fc.jsonValue(), {
      maxKeys: 2,
    }),
    fc.dictionary(fc.constantFrom('call_id', 'sip_headers'), fc.jsonValue(), { maxKeys: 2 }),
  )
  .map(([event, drop, replace, replaceData]) => {
    const out: Record<string, unknown> = {
      ...event,
      data: { ...event.data, ...replaceData },
      ...replace,
    };
    for (const k of drop) delete out[k];
    return out;
  });

describe(
  'gateway OpenAI webhook - property: any body gets a clear answer',
  { timeout: 180_000 },
  () => {
    it('signed bodies of any content: a valid answer or a clear 4xx; nothing published when refused', async () => {
      let handled = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.string({ maxLength: 200 }),
            fc.jsonValue().map((v) => JSON.stringify(v)),
            incoming.map((e) => JSON.stringify(e)),
            mutatedIncoming.map((e) => JSON.stringify(e)),
          ),
          async (body) => {
            const before = await storedEvents();
            const res = await app.inject(signedRequest(body));
            expectClearAnswer(res);
            if (res.statusCode >= 400) expect(await storedEvents()).toBe(before);
            else handled += 1;
          },
        ),
        RUNS,
      );
      expect(handled).toBeGreaterThan(0);
    });

    it('the same webhook id twice: the second is answered duplicate, nothing published', async () => {
      await fc.assert(
        fc.asyncProperty(incoming, async (event) => {
          const body = JSON.stringify(event);
          const id = `wh_${randomBytes(12).toString('hex')}`;
          expect((await app.inject(signedRequest(body, id))).statusCode).toBe(200);
          const before = await storedEvents();
          const again = await app.inject(signedRequest(body, id));
          expect(again.statusCode).toBe(200);
          expect(again.json()).toEqual({ status: 'duplicate' });
          expect(await storedEvents()).toBe(before);
        }),
        { numRuns: 20 },
      );
    });

    it('any headers without our signature: a clear 4xx, nothing published', async () => {
      const before = await storedEvents();
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(
            fc.constantFrom('webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type'),
            fc.string({ minLength: 1, maxLength: 60 }).filter((s) => /^[\x21-\x7e]+$/.test(s)),
          ),
          fc.oneof(
            fc.string({ maxLength: 200 }),
            incoming.map((e) => JSON.stringify(e)),
          ),
          async (headers, payload) => {
            const res = await app.inject({
              method: 'POST',
              url: '/openai/webhook',
              headers,
              payload,
            });
            expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
            expectClearAnswer(res);
          },
        ),
        RUNS,
      );
      expect(await storedEvents()).toBe(before);
    });
  },
);
