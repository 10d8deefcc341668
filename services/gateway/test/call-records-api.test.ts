/**
 * `GET /v1/calls`, `/v1/calls/:id` and `/v1/calls/export.csv` against real PostgreSQL, over
 * calls of known values: each filter, keyset pages across equal `createdAt`, the refusals, the
 * detail's ordering, and the export parsed back, with its injection guard and file name.
 */
import { parse } from 'csv-parse/sync';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type Prisma, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { captureLogs } from '@app/platform/testing';

import { createApiKey, PrismaApiKeyStore } from '../src/adapters/api-keys.js';
import {
  PrismaCallReports,
  type CallDetail,
  type CallSummary,
} from '../src/adapters/call-reports.js';
import { CALL_CSV_COLUMNS } from '../src/domain/call-csv.js';
import { callRecordsApiRoutes } from '../src/routes/call-records-api.js';

let db: TestDatabase;
let prisma: PrismaClient;
let app: FastifyInstance;
const keys = { admin: '', viewer: '' };
const ids: Record<string, string> = {};
let agentA = '';
let agentB = '';
let campaignK = '';

/** Calls of 2026-03-01 (UTC); the pagination set shares one instant on 2026-03-05. */
const DAY = '2026-03-01';
const at = (hhmm: string) => new Date(`${DAY}T${hhmm}:00.000Z`);
const SAME_INSTANT = new Date('2026-03-05T12:00:00.000Z');

async function insertCall(name: string, data: Prisma.CallUncheckedCreateInput): Promise<string> {
  const row = await prisma.call.create({ data, select: { id: true } });
  ids[name] = row.id;
  return row.id;
}

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 4 });
  keys.admin = (await createApiKey(prisma, { name: 'test-admin', role: 'admin' })).key;
  keys.viewer = (await createApiKey(prisma, { name: 'test-viewer', role: 'viewer' })).key;
  agentA = (await prisma.agent.create({ data: { name: 'Sales', instructions: 'Sell.' } })).id;
  // A name a spreadsheet would run as a formula: the export must neutralise it.
  agentB = (
    await prisma.agent.create({ data: { name: "=cmd|' /C calc'!A0", instructions: 'Help.' } })
  ).id;
  campaignK = (await prisma.campaign.create({ data: { name: '@SUM(1+1)', agentId: agentA } })).id;

  await insertCall('in1', {
    direction: 'inbound',
    transport: 'media_streams',
    fromNumber: '+15550001111',
    toNumber: '+15559990000',
    status: 'completed',
    createdAt: at('08:00'),
    answeredAt: new Date(`${DAY}T08:00:02.000Z`),
    endedAt: at('08:05'),
    endReason: 'caller_hangup',
    agentId: agentA,
    setupMs: 120,
    durationMs: 298_000,
  });
  await insertCall('out1', {
    direction: 'outbound',
    transport: 'sip',
    fromNumber: '+15559990000',
    toNumber: '+15550002222',
    status: 'completed',
    createdAt: at('09:00'),
    answeredAt: at('09:01'),
    endedAt: at('09:03'),
    endReason: 'agent_hangup',
    agentId: agentA,
    campaignId: campaignK,
    setupMs: 300,
    durationMs: 120_000,
  });
  await insertCall('in2', {
    direction: 'inbound',
    fromNumber: '-2+3',
    toNumber: '+15559990000',
    status: 'no_answer',
    createdAt: at('10:00'),
    endedAt: at('10:01'),
    endReason: 'no_answer',
    agentId: agentB,
  });
  await insertCall('live', {
    direction: 'inbound',
    fromNumber: '+15550003333',
    toNumber: '+15559990000',
    status: 'in_progress',
    createdAt: at('11:00'),
    answeredAt: at('11:00'),
    agentId: agentB,
  });
  // A call on the next day: outside a `to` of 2026-03-02.
  await insertCall('next', {
    direction: 'outbound',
    fromNumber: '+15559990000',
    toNumber: '+15550004444',
    status: 'failed',
    createdAt: new Date('2026-03-02T00:00:00.000Z'),
    endedAt: new Date('2026-03-02T00:00:01.000Z'),
    endReason: 'error',
  });
  // Five calls in one millisecond: only the id orders them.
  for (let i = 0; i < 5; i++) {
    await insertCall(`same${i}`, {
      direction: 'inbound',
      fromNumber: `+1555777000${i}`,
      toNumber: '+15559990000',
      status: 'completed',
      createdAt: SAME_INSTANT,
      endedAt: SAME_INSTANT,
      endReason: 'caller_hangup',
    });
  }

  app = Fastify({ loggerInstance: captureLogs().log as FastifyBaseLogger });
  await app.register(callRecordsApiRoutes, {
    apiKeys: new PrismaApiKeyStore(prisma),
    prisma,
    // Pages of three rows, so every export here reads several pages.
    exportPageSize: 3,
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await prisma?.$disconnect();
  await db?.drop();
});

const get = (url: string, key: string | null = keys.viewer) =>
  app.inject({
    method: 'GET',
    url,
    headers: key === null ? {} : { authorization: `Bearer ${key}` },
  });

async function list(query: string): Promise<{ items: CallSummary[]; nextCursor: string | null }> {
  const res = await get(`/v1/calls?${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const names = (items: CallSummary[]) =>
  items.map((c) => Object.entries(ids).find(([, id]) => id === c.id)?.[0]);

const MARCH_1 = `from=${DAY}&to=2026-03-02`;

describe('GET /v1/calls', { timeout: 30_000 }, () => {
  it('lists newest first, each call as a summary with its agent and campaign names', async () => {
    const page = await list(MARCH_1);
    expect(names(page.items)).toEqual(['live', 'in2', 'out1', 'in1']);
    expect(page.nextCursor).toBeNull();
    expect(page.items.find((c) => c.id === ids.out1)).toEqual({
      id: ids.out1,
      direction: 'outbound',
      transport: 'sip',
      fromNumber: '+15559990000',
      toNumber: '+15550002222',
      status: 'completed',
      endReason: 'agent_hangup',
      agentId: agentA,
      agentName: 'Sales',
      campaignId: campaignK,
      campaignName: '@SUM(1+1)',
      createdAt: '2026-03-01T09:00:00.000Z',
      answeredAt: '2026-03-01T09:01:00.000Z',
      endedAt: '2026-03-01T09:03:00.000Z',
      durationMs: 120_000,
      setupMs: 300,
    });
  });

  it('narrows by every filter', async () => {
    // from inclusive, to exclusive, date-times with offsets.
    expect(names((await list('from=2026-03-01T09:00:00Z&to=2026-03-01T11:00:00Z')).items)).toEqual([
      'in2',
      'out1',
    ]);
    expect(
      names((await list('from=2026-03-01T10:00:00%2B01:00&to=2026-03-02T00:00:00Z')).items),
    ).toEqual(['live', 'in2', 'out1']);
    expect(names((await list(`${MARCH_1}&agentId=${agentA}`)).items)).toEqual(['out1', 'in1']);
    expect(names((await list(`campaignId=${campaignK}`)).items)).toEqual(['out1']);
    expect(names((await list(`${MARCH_1}&direction=outbound`)).items)).toEqual(['out1']);
    expect(names((await list('direction=outbound')).items)).toEqual(['next', 'out1']);
    expect(names((await list('status=in_progress')).items)).toEqual(['live']);
    expect(names((await list('endReason=no_answer')).items)).toEqual(['in2']);
    // q matches either number, written the way people write numbers.
    expect(names((await list('q=0002222')).items)).toEqual(['out1']);
    expect(names((await list('q=%2B1%20555-000-1111')).items)).toEqual(['in1']);
    expect(names((await list(`${MARCH_1}&q=5559990000&status=completed`)).items)).toEqual([
      'out1',
      'in1',
    ]);
    expect((await list('q=123456789012')).items).toEqual([]);
  });

  it('pages with a cursor across calls created in the same millisecond', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `from=2026-03-05&to=2026-03-06&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await list(query);
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    const expected = [0, 1, 2, 3, 4]
      .map((i) => ids[`same${i}`] as string)
      .sort()
      .reverse();
    expect(seen).toEqual(expected);

    // The limit default and the cursor of the whole list continue into the next day's calls.
    const first = await list('limit=6');
    expect(first.items).toHaveLength(6);
    const rest = await list(`cursor=${first.nextCursor}`);
    expect(rest.nextCursor).toBeNull();
    expect(names(rest.items)).toEqual(['live', 'in2', 'out1', 'in1']);
  });

  it('answers 400 naming each bad field', async () => {
    const cases: Array<[string, string]> = [
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=not-a-cursor!', 'cursor'],
      [`cursor=${Buffer.from('2026-03-01|x').toString('base64url')}`, 'cursor'],
      ['from=yesterday', 'from'],
      ['from=2026-03-01T10:00:00', 'from'],
      ['to=2026-02-30', 'to'],
      ['from=2026-03-02&to=2026-03-01', 'to'],
      ['agentId=42', 'agentId'],
      ['campaignId=x', 'campaignId'],
      ['direction=sideways', 'direction'],
      ['status=ringing-ish', 'status'],
      ['q=abc', 'q'],
      ['endReason=', 'endReason'],
    ];
    for (const [query, field] of cases) {
      const res = await get(`/v1/calls?${query}`);
      expect(res.statusCode, query).toBe(400);
      const body = res.json<{ error: string; issues: Array<{ field: string }> }>();
      expect(body.error).toBe('invalid call query');
      expect(
        body.issues.map((i) => i.field),
        query,
      ).toEqual([field]);
    }
  });

  it('refuses an anonymous reader and lets any role read', async () => {
    expect((await get('/v1/calls', null)).statusCode).toBe(401);
    expect((await get('/v1/calls', keys.admin)).statusCode).toBe(200);
  });
});

describe('GET /v1/calls/:id', { timeout: 30_000 }, () => {
  it('returns the call with events by ts, transcript by sequence, tool calls and handoffs', async () => {
    const callId = ids.in1 as string;
    const human = await prisma.humanAgent.create({
      data: { name: 'Alice', phoneNumber: '+15555550177' },
    });
    // Inserted out of order: the answer orders them.
    for (const [n, type, ts] of [
      [2, 'ended', '08:05:00'],
      [0, 'created', '08:00:00'],
      [1, 'answered', '08:00:02'],
    ] as const) {
      await prisma.callEvent.create({
        data: { eventId: `ev-${n}`, callId, type, ts: new Date(`${DAY}T${ts}.000Z`), data: { n } },
      });
    }
    for (const [sequence, role, text] of [
      [1, 'user', 'I need help with my bill.'],
      [0, 'assistant', 'Hello, how can I help?'],
    ] as const) {
      await prisma.transcriptTurn.create({
        data: {
          callId,
          role,
          text,
          sequence,
          sourceEventId: `tr-${sequence}`,
          startedAt: new Date(`${DAY}T08:00:1${sequence}.000Z`),
        },
      });
    }
    await prisma.toolInvocation.create({
      data: {
        invocationId: 'call_1',
        callId,
        name: 'lookup_bill',
        args: { account: '42' },
        result: { due: 10 },
        latencyMs: 87,
        startedAt: new Date(`${DAY}T08:01:00.000Z`),
        finishedAt: new Date(`${DAY}T08:01:00.087Z`),
      },
    });
    await prisma.handoff.create({
      data: {
        callId,
        reason: 'wants a human',
        trigger: 'agent_tool',
        skill: 'billing',
        status: 'connected',
        humanAgentId: human.id,
        target: '+15555550177',
        requestedAt: new Date(`${DAY}T08:02:00.000Z`),
        connectedAt: new Date(`${DAY}T08:02:10.000Z`),
      },
    });

    const res = await get(`/v1/calls/${callId}`);
    expect(res.statusCode).toBe(200);
    const call = res.json<CallDetail>();
    expect(call).toMatchObject({ id: callId, agentName: 'Sales', status: 'completed' });
    expect(call.events.map((e) => [e.type, e.ts, e.data])).toEqual([
      ['created', '2026-03-01T08:00:00.000Z', { n: 0 }],
      ['answered', '2026-03-01T08:00:02.000Z', { n: 1 }],
      ['ended', '2026-03-01T08:05:00.000Z', { n: 2 }],
    ]);
    expect(call.transcript).toEqual([
      {
        role: 'assistant',
        text: 'Hello, how can I help?',
        startedAt: '2026-03-01T08:00:10.000Z',
        sequence: 0,
      },
      {
        role: 'user',
        text: 'I need help with my bill.',
        startedAt: '2026-03-01T08:00:11.000Z',
        sequence: 1,
      },
    ]);
    expect(call.toolInvocations).toEqual([
      expect.objectContaining({
        invocationId: 'call_1',
        name: 'lookup_bill',
        args: { account: '42' },
        result: { due: 10 },
        error: null,
        latencyMs: 87,
        startedAt: '2026-03-01T08:01:00.000Z',
        finishedAt: '2026-03-01T08:01:00.087Z',
      }),
    ]);
    expect(call.handoffs).toEqual([
      expect.objectContaining({
        reason: 'wants a human',
        trigger: 'agent_tool',
        skill: 'billing',
        mode: 'cold',
        status: 'connected',
        humanAgentId: human.id,
        humanAgentName: 'Alice',
        target: '+15555550177',
        requestedAt: '2026-03-01T08:02:00.000Z',
        connectedAt: '2026-03-01T08:02:10.000Z',
        endedAt: null,
      }),
    ]);

    const bare = (await get(`/v1/calls/${ids.in2}`)).json<CallDetail>();
    expect([bare.events, bare.transcript, bare.toolInvocations, bare.handoffs]).toEqual([
      [],
      [],
      [],
      [],
    ]);
  });

  it('answers 404 for an unknown or a malformed id', async () => {
    const unknown = await get('/v1/calls/00000000-0000-4000-8000-000000000000');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: 'call not found' });
    expect((await get('/v1/calls/not-a-uuid')).statusCode).toBe(404);
    expect((await get('/v1/calls/export.json')).statusCode).toBe(404);
  });
});

describe('GET /v1/calls/export.csv', { timeout: 30_000 }, () => {
  it('streams the filtered calls as CSV, equal to the list, with the file named by the dates', async () => {
    const res = await get(`/v1/calls/export.csv?${MARCH_1}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe(
      'attachment; filename="calls-2026-03-01-2026-03-02.csv"',
    );
    // Streamed: no length known up front.
    expect(res.headers['content-length']).toBeUndefined();

    const rows = parse(res.body, { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(rows[0] ?? {})).toEqual([...CALL_CSV_COLUMNS]);
    const listed = (await list(MARCH_1)).items;
    expect(rows.map((r) => r.id)).toEqual(listed.map((c) => c.id));

    const out1 = rows.find((r) => r.id === ids.out1);
    expect(out1).toEqual({
      id: ids.out1,
      direction: 'outbound',
      transport: 'sip',
      // The guard: a leading + (E.164) or @ is what a spreadsheet runs.
      fromNumber: "'+15559990000",
      toNumber: "'+15550002222",
      status: 'completed',
      endReason: 'agent_hangup',
      agentId: agentA,
      agentName: 'Sales',
      campaignId: campaignK,
      campaignName: "'@SUM(1+1)",
      createdAt: '2026-03-01T09:00:00.000Z',
      answeredAt: '2026-03-01T09:01:00.000Z',
      endedAt: '2026-03-01T09:03:00.000Z',
      durationMs: '120000',
      setupMs: '300',
    });
    const in2 = rows.find((r) => r.id === ids.in2);
    expect(in2).toMatchObject({
      fromNumber: "'-2+3",
      agentName: "'=cmd|' /C calc'!A0",
      transport: '',
      answeredAt: '',
      durationMs: '',
    });
  });

  it('exports every call across many pages, newest first, with the same filters as the list', async () => {
    const all = parse((await get('/v1/calls/export.csv')).body, { columns: true }) as Array<
      Record<string, string>
    >;
    const listed = (await list('limit=200')).items;
    expect(all.map((r) => r.id)).toEqual(listed.map((c) => c.id));
    expect(all).toHaveLength(10);

    const filtered = await get(
      `/v1/calls/export.csv?from=2026-03-01T09:30:00Z&agentId=${agentB}&status=no_answer`,
    );
    expect(filtered.headers['content-disposition']).toBe(
      'attachment; filename="calls-2026-03-01T093000Z-now.csv"',
    );
    const rows = parse(filtered.body, { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => r.id)).toEqual([ids.in2]);

    const empty = await get('/v1/calls/export.csv?from=2030-01-01');
    expect(empty.body.trim()).toBe(CALL_CSV_COLUMNS.join(','));
    expect(empty.headers['content-disposition']).toBe(
      'attachment; filename="calls-2030-01-01-now.csv"',
    );
  });

  it('refuses bad filters with 400 before streaming, and anonymous callers', async () => {
    const bad = await get('/v1/calls/export.csv?to=2026-13-01&direction=up');
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ issues: Array<{ field: string }> }>().issues.map((i) => i.field)).toEqual([
      'to',
      'direction',
    ]);
    expect((await get('/v1/calls/export.csv', null)).statusCode).toBe(401);
    // A HEAD would read the whole export to throw it away: not offered.
    const head = await app.inject({
      method: 'HEAD',
      url: '/v1/calls/export.csv',
      headers: { authorization: `Bearer ${keys.viewer}` },
    });
    expect(head.statusCode).toBe(404);
  });
});

describe('PrismaCallReports.each', { timeout: 30_000 }, () => {
  it('reads the next page only when the consumer asks for more', async () => {
    let reads = 0;
    const counted = prisma.$extends({
      query: {
        call: {
          findMany({ args, query }) {
            reads++;
            return query(args);
          },
        },
      },
    }) as unknown as PrismaClient;
    const calls = new PrismaCallReports(counted).each({}, 3);

    expect(reads).toBe(0);
    await calls.next();
    expect(reads).toBe(1);
    await calls.next();
    await calls.next();
    expect(reads).toBe(1);
    await calls.next();
    expect(reads).toBe(2);
    // A consumer that stops (a client gone) stops the reads.
    await calls.return(undefined);
    expect(reads).toBe(2);
    expect((await calls.next()).done).toBe(true);
    expect(reads).toBe(2);
  });
});
