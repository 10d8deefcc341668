/**
 * Property: whatever Twilio's side sends (any form body, signed or not, any content type, and
 * mutations of a real voice or status callback), the webhooks answer a valid response or a
 * clear 4xx, never a 5xx, and publish a call event only for a call they connect. Real NATS and
 * PostgreSQL.
 */
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import fc from 'fast-check';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Names } from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase } from '@app/db/testing';
import { captureLogs, natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';
import { encodeForm, twilioSignature } from '@app/sim';

import { PrismaCallDirectory } from '../src/adapters/call-directory.js';
import { twilioWebhookRoutes } from '../src/routes/twilio-webhooks.js';

const AUTH_TOKEN = 'gateway-property-auth-token-0000000000';
const BASE = 'https://voice.example.com';
const OUR_NUMBER = '+15555550100';
const RUNS = { numRuns: 150 };

let ns: NatsTestNamespace;
let names: Names;
let jsm: JetStreamManager;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let prisma: PrismaClient;
let app: FastifyInstance;

beforeAll(async () => {
  ns = await natsTestNamespace();
  names = ns.names;
  jsm = await jetstreamManager(ns.nc);
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl });
  const agent = await prisma.agent.create({ data: { name: 'desk', instructions: 'Be brief.' } });
  await prisma.phoneNumber.create({ data: { e164: OUR_NUMBER, agentId: agent.id } });
  app = Fastify({ loggerInstance: captureLogs().log as FastifyBaseLogger });
  await app.register(twilioWebhookRoutes, {
    publicBaseUrl: BASE,
    authToken: AUTH_TOKEN,
    mediaUrl: 'ws://127.0.0.1:9/media',
    streamTokenSecret: 'gateway-property-stream-token-secret-000',
    streamTokenTtlSec: 60,
    js: jetstream(ns.nc),
    names,
    directory: new PrismaCallDirectory(prisma),
    lookupWaitMs: 0,
  });
  await app.ready();
}, 60_000);

afterAll(async () => {
  await app?.close();
  await ns?.close();
  await prisma?.$disconnect();
  await db?.drop();
});

type Params = Record<string, string | string[]>;

const storedEvents = async () => (await jsm.streams.info(names.streams.calls.name)).state.messages;

const signedPost = (path: string, params: Params) =>
  app.inject({
    method: 'POST',
    url: path,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilioSignature(AUTH_TOKEN, `${BASE}${path}`, params),
    },
    payload: encodeForm(params),
  });

/** A 4xx must say why: a JSON body with a non-empty `error`. */
function expectClearAnswer(res: { statusCode: number; body: string }): void {
  expect(res.statusCode, res.body).toBeLessThan(500);
  if (res.statusCode >= 400) {
    expect((JSON.parse(res.body) as { error?: unknown }).error).toEqual(expect.any(String));
  }
}

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('', '+', OUR_NUMBER, '+15555550142', 'CA' + '0'.repeat(32), 'completed'),
);
const value = fc.oneof(
  { weight: 4, arbitrary: text },
  fc.array(text, { minLength: 2, maxLength: 3 }),
);
const anyParams: fc.Arbitrary<Params> = fc.dictionary(
  fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('CallSid', 'From', 'To', 'CallStatus')),
  value,
  { maxKeys: 6 },
);

/** A real callback with some of its fields dropped, replaced or repeated. */
function mutated(valid: Params): fc.Arbitrary<Params> {
  return fc
    .record({
      drop: fc.subarray(Object.keys(valid)),
      replace: fc.dictionary(fc.constantFrom(...Object.keys(valid)), value, { maxKeys: 2 }),
      extra: anyParams,
    })
    .map(({ drop, replace, extra }) => {
      const out: Params = { ...extra, ...valid, ...replace };
      for (const k of drop) delete out[k];
      return out;
    });
}

const voiceCallback = fc
  .stringMatching(/^[0-9a-f]{32}$/)
  .map((hex): Params => ({ CallSid: `CA${hex}`, From: '+15555550142', To: OUR_NUMBER }));
const statusCallback = fc
  .stringMatching(/^[0-9a-f]{32}$/)
  .map((hex): Params => ({ CallSid: `CA${hex}`, CallStatus: 'completed', SequenceNumber: '3' }));

describe(
  'gateway Twilio webhooks - property: any form body gets a clear answer',
  { timeout: 120_000 },
  () => {
    it('signed arbitrary and mutated voice callbacks: TwiML or a clear 4xx; an event only for a connected call', async () => {
      const body = fc.oneof(anyParams, voiceCallback, voiceCallback.chain(mutated));
      let connectedCalls = 0;
      await fc.assert(
        fc.asyncProperty(body, async (params) => {
          const before = await storedEvents();
          const res = await signedPost('/twilio/voice', params);
          expectClearAnswer(res);
          const connected = res.statusCode === 200 && res.body.includes('<Stream');
          if (connected) connectedCalls += 1;
          if (res.statusCode === 200) expect(res.headers['content-type']).toMatch(/^text\/xml/);
          const published = (await storedEvents()) - before;
          // A repeated CallSid derives the same event id: JetStream keeps the first only.
          if (connected) expect(published).toBeLessThanOrEqual(1);
          else expect(published).toBe(0);
        }),
        RUNS,
      );
      // The generators reach the happy path too, not only refusals.
      expect(connectedCalls).toBeGreaterThan(0);
    });

    it('signed arbitrary and mutated status callbacks: 204 or a clear 4xx, nothing stored for unknown calls', async () => {
      const before = await storedEvents();
      await fc.assert(
        fc.asyncProperty(fc.oneof(anyParams, statusCallback.chain(mutated)), async (params) => {
          const res = await signedPost('/twilio/status', params);
          expectClearAnswer(res);
          expect([204, 400]).toContain(res.statusCode);
        }),
        RUNS,
      );
      // No call is known to the directory here: no status is recorded for any of them.
      expect(await storedEvents()).toBe(before);
    });

    it('unsigned or wrongly signed bodies of any content type: 4xx, nothing stored', async () => {
      const before = await storedEvents();
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('/twilio/voice', '/twilio/status'),
          fc.constantFrom(
            'application/x-www-form-urlencoded',
            'application/json',
            'text/plain',
            'multipart/form-data; boundary=x',
            'application/x-www-form-urlencoded; charset=utf-16',
          ),
          fc.oneof(
            fc.string(),
            fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
          ),
          fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
          async (url, contentType, payload, signature) => {
            const res = await app.inject({
              method: 'POST',
              url,
              headers: {
                'content-type': contentType,
                ...(signature !== undefined ? { 'x-twilio-signature': signature } : {}),
              },
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
