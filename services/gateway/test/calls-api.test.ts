import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  callRequestId,
  callRequestSchema,
  createNames,
  type CallRequest,
  type Names,
} from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { PrismaDialingDirectory, type DialingDirectory } from '@app/dialing';
import { captureLogs, natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';

import { createApiKey, hashApiKey, PrismaApiKeyStore } from '../src/adapters/api-keys.js';
import { callsApiRoutes, type CallsApiOptions } from '../src/routes/calls-api.js';

// Real NATS and PostgreSQL: this file's own namespace and database.
let ns: NatsTestNamespace;
let names: Names;
let jsm: JetStreamManager;
let db: TestDatabase;
let prisma: PrismaClient;
let apiKeys: PrismaApiKeyStore;
let app: FastifyInstance;
let lines: Record<string, unknown>[];
const keys = { admin: '', operator: '', viewer: '', revoked: '' };
let agentId: string;
let sipAgentId: string;

const OURS = '+15555550100';
const OURS_SIP = '+15555550199';
const CALLEE = '+14155550123';
const BLOCKED = '+14155550666';
const DAY_MS = 86_400_000;

async function buildApp(overrides: Partial<CallsApiOptions> = {}) {
  const logs = captureLogs();
  const instance = Fastify({ loggerInstance: logs.log as FastifyBaseLogger });
  await instance.register(callsApiRoutes, {
    apiKeys,
    directory: new PrismaDialingDirectory(prisma),
    js: jetstream(ns.nc),
    names,
    ...overrides,
  });
  await instance.ready();
  return { app: instance, lines: logs.lines };
}

beforeAll(async () => {
  ns = await natsTestNamespace();
  names = ns.names;
  jsm = await jetstreamManager(ns.nc);
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 4 });
  agentId = (await prisma.agent.create({ data: { name: 'calls-api', instructions: 'Be brief.' } }))
    .id;
  sipAgentId = (
    await prisma.agent.create({ data: { name: 'calls-api-sip', instructions: 'Be brief.' } })
  ).id;
  await prisma.phoneNumber.create({ data: { e164: OURS, agentId } });
  await prisma.phoneNumber.create({
    data: { e164: OURS_SIP, agentId: sipAgentId, transport: 'sip' },
  });
  await prisma.doNotCallEntry.create({ data: { phone: BLOCKED, source: 'api' } });
  for (const role of ['admin', 'operator', 'viewer'] as const) {
    keys[role] = (await createApiKey(prisma, { name: `test-${role}`, role })).key;
  }
  const revoked = await createApiKey(prisma, { name: 'test-revoked', role: 'admin' });
  await prisma.apiKey.update({ where: { id: revoked.id }, data: { revokedAt: new Date() } });
  keys.revoked = revoked.key;
  apiKeys = new PrismaApiKeyStore(prisma);
  ({ app, lines } = await buildApp());
}, 30_000);

afterAll(async () => {
  await app?.close();
  await apiKeys?.settled();
  await ns?.close();
  await prisma?.$disconnect();
  await db?.drop();
});

interface PostOptions {
  key?: string | null;
  idempotencyKey?: string;
  authorization?: string;
  contentType?: string;
  instance?: FastifyInstance;
}

function post(body: unknown, opts: PostOptions = {}) {
  const headers: Record<string, string> = {
    'content-type': opts.contentType ?? 'application/json',
  };
  const key = opts.key === undefined ? keys.operator : opts.key;
  if (opts.authorization !== undefined) headers.authorization = opts.authorization;
  else if (key !== null) headers.authorization = `Bearer ${key}`;
  if (opts.idempotencyKey !== undefined) headers['idempotency-key'] = opts.idempotencyKey;
  return (opts.instance ?? app).inject({
    method: 'POST',
    url: '/v1/calls',
    headers,
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

let keyCounter = 0;
/** A fresh idempotency key, so each test's request is its own. */
const freshKey = () => `calls-api-test-${Date.now()}-${++keyCounter}`;

const stream = () => names.streams.callRequests.name;
const apiSubject = () => names.subjects.callRequest('api');

async function storedRequests(): Promise<number> {
  const info = await jsm.streams.info(stream(), { subjects_filter: apiSubject() });
  return info.state.messages;
}

async function lastStored(): Promise<{ request: CallRequest; msgId: string | undefined }> {
  const msg = await jsm.streams.getMessage(stream(), { last_by_subj: apiSubject() });
  if (!msg) throw new Error('no call request stored');
  return { request: callRequestSchema.parse(msg.json()), msgId: msg.header?.get('Nats-Msg-Id') };
}

describe('gateway - POST /v1/calls authentication', { timeout: 15_000 }, () => {
  it('answers 401 with a Bearer challenge when no key is sent', async () => {
    const res = await post({ to: CALLEE, agentId }, { key: null, idempotencyKey: freshKey() });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
    expect(res.json()).toEqual({ error: 'missing API key: send Authorization: Bearer <key>' });
  });

  it('answers 401 for another scheme or an empty bearer token', async () => {
    for (const authorization of [`Basic ${keys.operator}`, 'Bearer ', keys.operator]) {
      const res = await post({ to: CALLEE, agentId }, { authorization });
      expect(res.statusCode, authorization).toBe(401);
    }
  });

  it('answers 401 invalid_token for an unknown key', async () => {
    const res = await post({ to: CALLEE, agentId }, { key: `${keys.operator}x` });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
    expect(res.json()).toEqual({ error: 'invalid or revoked API key' });
  });

  it('answers 401 invalid_token for a revoked key, and logs why without the key', async () => {
    const res = await post({ to: CALLEE, agentId }, { key: keys.revoked });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
    const line = lines.find((l) => l.msg === 'api key refused' && l.reason === 'revoked');
    expect(line?.keyPrefix).toBe(keys.revoked.slice(0, 12));
    expect(JSON.stringify(lines)).not.toContain(keys.revoked);
  });

  it('answers 403 insufficient_scope for a viewer key', async () => {
    const res = await post(
      { to: CALLEE, agentId },
      { key: keys.viewer, idempotencyKey: freshKey() },
    );
    expect(res.statusCode).toBe(403);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="insufficient_scope"');
    expect(res.json()).toEqual({
      error: 'role viewer may not place calls (admin or operator may)',
    });
  });

  it('checks the key before reading the body', async () => {
    const res = await post('{not json', { key: null });
    expect(res.statusCode).toBe(401);
  });

  it('accepts the scheme in any case and an admin key, and records when the key was used', async () => {
    const res = await post(
      { to: CALLEE, agentId },
      { authorization: `bearer ${keys.admin}`, idempotencyKey: freshKey() },
    );
    expect(res.statusCode).toBe(202);
    await apiKeys.settled();
    const row = await prisma.apiKey.findUniqueOrThrow({
      where: { hashedKey: hashApiKey(keys.admin) },
    });
    expect(row.lastUsedAt).toBeInstanceOf(Date);
  });
});

describe('gateway - POST /v1/calls validation', { timeout: 15_000 }, () => {
  /** Posts and expects 400 with exactly these `[field, code]` issues; returns the issues. */
  async function refused(body: unknown, expected: Array<[string, string]>, opts: PostOptions = {}) {
    const before = await storedRequests();
    const res = await post(body, { idempotencyKey: freshKey(), ...opts });
    expect(res.statusCode, res.body).toBe(400);
    const json = res.json<{ error: string; issues: Array<Record<string, string>> }>();
    expect(json.error).toBe('invalid call request');
    expect(json.issues.map((i) => [i.field, i.code])).toEqual(expected);
    for (const issue of json.issues) expect(issue.message).toMatch(/\S/);
    expect(await storedRequests()).toBe(before);
    return json.issues;
  }

  it('refuses a to that is not an international number', async () => {
    const [issue] = await refused({ to: '(415) 555-0123', agentId }, [['to', 'invalid_phone']]);
    expect(issue?.message).toMatch(/international format/);
  });

  it('refuses a from that is too short', async () => {
    const [issue] = await refused({ to: CALLEE, from: '+4420718', agentId }, [
      ['from', 'invalid_phone'],
    ]);
    expect(issue?.message).toMatch(/too short/);
  });

  it('refuses a from that is not one of our numbers', async () => {
    await refused({ to: CALLEE, from: '+1 415 555 0999', agentId }, [['from', 'from_not_ours']]);
  });

  it('refuses an unknown agent', async () => {
    await refused({ to: CALLEE, agentId: '44444444-4444-4444-8444-444444444444' }, [
      ['agentId', 'unknown_agent'],
    ]);
    await refused({ to: CALLEE, agentId: 'sales-bot' }, [['agentId', 'unknown_agent']]);
  });

  it('refuses a number on the do-not-call list', async () => {
    const [issue] = await refused({ to: '+1 415-555-0666', agentId }, [['to', 'do_not_call']]);
    expect(issue?.message).toBe('to is on the do-not-call list');
  });

  it('refuses a scheduledAt that does not parse or is too far ahead', async () => {
    await refused({ to: CALLEE, agentId, scheduledAt: 'tomorrow 9am' }, [
      ['scheduledAt', 'invalid_schedule'],
    ]);
    const late = new Date(Date.now() + 31 * DAY_MS).toISOString();
    const [issue] = await refused({ to: CALLEE, agentId, scheduledAt: late }, [
      ['scheduledAt', 'invalid_schedule'],
    ]);
    expect(issue?.message).toBe('scheduledAt may be at most 30 days ahead');
  });

  it('refuses a request without an idempotency key', async () => {
    const before = await storedRequests();
    const res = await post({ to: CALLEE, agentId });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: 'invalid call request',
      issues: [
        {
          field: 'idempotencyKey',
          code: 'invalid_field',
          message: expect.stringMatching(/Idempotency-Key header/),
        },
      ],
    });
    expect(await storedRequests()).toBe(before);
    await refused({ to: CALLEE, agentId, idempotencyKey: '  ' }, [
      ['idempotencyKey', 'invalid_field'],
    ]);
  });

  it('refuses a header and body idempotency key that differ', async () => {
    const [issue] = await refused(
      { to: CALLEE, agentId, idempotencyKey: 'a' },
      [['idempotencyKey', 'invalid_field']],
      { idempotencyKey: 'b' },
    );
    expect(issue?.message).toMatch(/differ/);
  });

  it('refuses unknown fields, wrong types, a missing to and an empty fromPool', async () => {
    await refused({ agentId, variables: { name: 7 }, colour: 'red', fromPool: 'east' }, [
      ['to', 'invalid_field'],
      ['fromPool', 'unknown_pool'],
      ['variables.name', 'invalid_field'],
      ['colour', 'invalid_field'],
    ]);
    await refused([1, 2], [['body', 'invalid_field']]);
  });

  it('reports every issue of a request at once, in field order', async () => {
    await refused({ to: BLOCKED, from: '+14155550999', agentId: 'nobody', scheduledAt: 'soon' }, [
      ['to', 'do_not_call'],
      ['from', 'from_not_ours'],
      ['agentId', 'unknown_agent'],
      ['scheduledAt', 'invalid_schedule'],
    ]);
  });

  it('answers 415 to a body that is not JSON, 400 to broken JSON and 413 above 32 KiB', async () => {
    const text = await post('to=+14155550123', { contentType: 'text/plain' });
    expect(text.statusCode).toBe(415);
    const broken = await post('{"to":', { idempotencyKey: freshKey() });
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toHaveProperty('error');
    const big = await post(
      { to: CALLEE, agentId, metadata: { blob: 'x'.repeat(33 * 1024) } },
      { idempotencyKey: freshKey() },
    );
    expect(big.statusCode).toBe(413);
  });
});

describe('gateway - POST /v1/calls accepted requests', { timeout: 15_000 }, () => {
  it('publishes the request on call-requests.api with E.164 numbers and answers 202', async () => {
    const idempotencyKey = freshKey();
    const scheduledAt = new Date(Date.now() + DAY_MS).toISOString();
    const before = await storedRequests();
    const res = await post(
      {
        to: '+1 (415) 555-0123',
        from: '+1 555 555 0100',
        agentId,
        variables: { name: 'Ada' },
        scheduledAt,
        metadata: { crm: { id: 7 } },
      },
      { idempotencyKey },
    );
    expect(res.statusCode, res.body).toBe(202);
    const requestId = callRequestId(idempotencyKey);
    expect(res.json()).toEqual({ requestId, idempotencyKey, status: 'accepted' });
    expect(await storedRequests()).toBe(before + 1);
    const { request, msgId } = await lastStored();
    expect(msgId).toBe(requestId);
    expect(request).toMatchObject({
      id: requestId,
      type: 'call-request',
      data: {
        to: CALLEE,
        from: OURS,
        agentId,
        variables: { name: 'Ada' },
        scheduledAt,
        metadata: { crm: { id: 7 } },
        idempotencyKey,
      },
    });
  });

  it('calls from the agent’s own number when no from is given, and takes the key from the body', async () => {
    const idempotencyKey = freshKey();
    const res = await post({
      to: CALLEE,
      agentId: sipAgentId,
      idempotencyKey,
      scheduledAt: '2020-01-01T00:00:00Z',
    });
    expect(res.statusCode, res.body).toBe(202);
    const { request } = await lastStored();
    expect(request.data).toEqual({
      to: CALLEE,
      from: OURS_SIP,
      agentId: sipAgentId,
      idempotencyKey,
    });
  });

  it('answers a repeated key with the same requestId and stores one message', async () => {
    const idempotencyKey = freshKey();
    const before = await storedRequests();
    const first = await post({ to: CALLEE, agentId }, { idempotencyKey });
    // The header in Structured Field form is the same key.
    const second = await post({ to: CALLEE, agentId }, { idempotencyKey: `"${idempotencyKey}"` });
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(202);
    expect(second.json()).toEqual(first.json());
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(await storedRequests()).toBe(before + 1);
  });

  it('answers 503 and stores nothing when the request cannot be published', async () => {
    // A namespace whose CALL_REQUESTS stream does not exist: NATS answers "no responders".
    const unprovisioned = createNames(`${names.prefix}x`);
    const broken = await buildApp({ names: unprovisioned, publishTimeoutMs: 1_000 });
    try {
      const before = await storedRequests();
      const res = await post(
        { to: CALLEE, agentId },
        { idempotencyKey: freshKey(), instance: broken.app },
      );
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json()).toEqual({ error: 'call requests are unavailable, retry later' });
      expect(await storedRequests()).toBe(before);
      expect(broken.lines.some((l) => l.msg === 'call request not published')).toBe(true);
    } finally {
      await broken.app.close();
    }
  });

  it('answers 503 when the directory cannot be read', async () => {
    const down = async () => {
      throw new Error('connection refused');
    };
    const directory: DialingDirectory = {
      agentExists: down,
      numbersOf: down,
      ourNumber: down,
      onDoNotCallList: down,
      hasConsent: down,
      poolNumbers: down,
      campaignPolicy: down,
    };
    const broken = await buildApp({ directory });
    try {
      const res = await post(
        { to: CALLEE, agentId },
        { idempotencyKey: freshKey(), instance: broken.app },
      );
      expect(res.statusCode).toBe(503);
    } finally {
      await broken.app.close();
    }
  });

  it('never logs the phone numbers or the key in its messages', async () => {
    await post({ to: CALLEE, agentId }, { idempotencyKey: freshKey() });
    const text = JSON.stringify(lines);
    expect(text).not.toContain(CALLEE);
    expect(text).not.toContain(keys.operator);
    expect(lines.some((l) => l.msg === 'call request accepted')).toBe(true);
  });
});

describe('gateway - POST /v1/calls pools and campaigns', { timeout: 15_000 }, () => {
  const POOLED = ['+15555550131', '+15555550132'];

  async function refused(body: unknown, expected: Array<[string, string]>) {
    const before = await storedRequests();
    const res = await post(body, { idempotencyKey: freshKey() });
    expect(res.statusCode, res.body).toBe(400);
    const json = res.json<{ issues: Array<Record<string, string>> }>();
    expect(json.issues.map((i) => [i.field, i.code])).toEqual(expected);
    expect(await storedRequests()).toBe(before);
  }
  let campaignId: string;
  let plainCampaignId: string;

  beforeAll(async () => {
    for (const e164 of POOLED) {
      await prisma.phoneNumber.create({ data: { e164, agentId, pool: 'east' } });
    }
    campaignId = (
      await prisma.campaign.create({
        data: { name: 'consent', agentId, consentPurpose: 'marketing_calls', fromPool: 'east' },
      })
    ).id;
    plainCampaignId = (await prisma.campaign.create({ data: { name: 'plain', agentId } })).id;
    await prisma.consentRecord.create({
      data: { phone: CALLEE, purpose: 'marketing_calls', method: 'web_form' },
    });
    await prisma.consentRecord.create({
      data: {
        phone: '+14155550125',
        purpose: 'marketing_calls',
        method: 'web_form',
        revokedAt: new Date(),
      },
    });
  });

  it('publishes a fromPool request with the pool and no from: the dialer picks the number', async () => {
    const idempotencyKey = freshKey();
    const res = await post({ to: CALLEE, agentId, fromPool: 'east' }, { idempotencyKey });
    expect(res.statusCode, res.body).toBe(202);
    const { request } = await lastStored();
    expect(request.data).toMatchObject({ to: CALLEE, fromPool: 'east', idempotencyKey });
    expect(request.data.from).toBeUndefined();
  });

  it('refuses an unknown pool, a bad pool name, and from with fromPool', async () => {
    await refused({ to: CALLEE, agentId, fromPool: 'west' }, [['fromPool', 'unknown_pool']]);
    await refused({ to: CALLEE, agentId, fromPool: 'west coast' }, [['fromPool', 'invalid_field']]);
    await refused({ to: CALLEE, agentId, from: OURS, fromPool: 'east' }, [
      ['fromPool', 'invalid_field'],
    ]);
  });

  it('refuses consent_missing for a campaign’s purpose, revoked or never given', async () => {
    for (const to of ['+14155550125', '+14155550126']) {
      const res = await post({ to, agentId, campaignId }, { idempotencyKey: freshKey() });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({
        error: 'invalid call request',
        issues: [
          {
            field: 'to',
            code: 'consent_missing',
            message:
              'to has no consent in force for purpose "marketing_calls" (none recorded, or' +
              ' revoked), which the campaign requires',
          },
        ],
      });
    }
  });

  it('accepts a campaign call with consent in force, from the campaign’s pool', async () => {
    const idempotencyKey = freshKey();
    const res = await post({ to: CALLEE, agentId, campaignId }, { idempotencyKey });
    expect(res.statusCode, res.body).toBe(202);
    const { request } = await lastStored();
    expect(request.data).toMatchObject({ campaignId, fromPool: 'east', idempotencyKey });
    // A campaign that requires no consent takes any callee (not on the do-not-call list).
    const plain = await post(
      { to: '+14155550126', agentId, campaignId: plainCampaignId },
      { idempotencyKey: freshKey() },
    );
    expect(plain.statusCode, plain.body).toBe(202);
  });

  it('refuses an unknown campaign', async () => {
    await refused({ to: CALLEE, agentId, campaignId: '44444444-4444-4444-8444-444444444444' }, [
      ['campaignId', 'unknown_campaign'],
    ]);
  });
});
