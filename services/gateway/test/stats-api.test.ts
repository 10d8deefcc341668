/**
 * `GET /v1/stats` against real PostgreSQL: a dozen calls of known times and measures, and every
 * figure checked against the value worked out by hand in the comments below.
 *
 * The range is 2026-03-02 10:00–13:00 UTC, hourly buckets B0 (10h), B1 (11h), B2 (12h); the
 * clock says 12:30, which ends the calls still live. A call is live over
 * [answeredAt ?? createdAt, endedAt ?? now).
 *
 *   call  agent created   answered  ended     setup  duration  handoffs  endReason
 *   c11   A     09:00     09:00     10:30     -      5400000   -         caller_hangup (before range)
 *   c1    A     10:00     10:00:10  10:10     100    590000    0         caller_hangup
 *   c2    A     10:05     10:05:05  10:20     200    895000    1         transferred   (campaign K)
 *   c3    B     10:15     -         10:15:30  -      -         0         no_answer
 *   c4    B     10:30     10:30:20  11:30     300    3580000   2         agent_hangup
 *   c5    A     11:00     11:00:05  11:05     400    295000    0         caller_hangup (tools 50, 150)
 *   c6    A     11:10     11:10     11:20     500    600000    0         caller_hangup
 *   c7    B     11:15     11:15     11:25     600    600000    0         error         (tool 250, one running)
 *   c8    A     11:50     11:50     (live)    700    -         0         -
 *   c9    B     12:00     12:00:10  12:20     800    1190000   1         caller_hangup
 *   c10   A     12:20     -         (live)    -      -         0         -
 *   c12   B     13:00     13:00     13:05     900    300000    0         caller_hangup (at `to`: out)
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type Prisma, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { captureLogs } from '@app/platform/testing';

import { createApiKey, PrismaApiKeyStore } from '../src/adapters/api-keys.js';
import type { CallStats } from '../src/adapters/call-stats.js';
import { statsApiRoutes } from '../src/routes/stats-api.js';

let db: TestDatabase;
let prisma: PrismaClient;
let app: FastifyInstance;
let key = '';
let agentA = '';
let agentB = '';
let campaignK = '';

const NOW = new Date('2026-03-02T12:30:00.000Z');
const t = (hhmmss: string) => new Date(`2026-03-02T${hhmmss}.000Z`);
const RANGE = 'from=2026-03-02T10:00:00Z&to=2026-03-02T13:00:00Z';

interface Fixture {
  agent: 'A' | 'B';
  created: string;
  answered?: string;
  ended?: string;
  setupMs?: number;
  durationMs?: number;
  endReason?: string;
  handoffs?: number;
  tools?: Array<number | null>;
  campaign?: boolean;
}

const CALLS: Record<string, Fixture> = {
  c11: {
    agent: 'A',
    created: '09:00:00',
    answered: '09:00:00',
    ended: '10:30:00',
    durationMs: 5_400_000,
    endReason: 'caller_hangup',
    // Outside the range: its tool latency must not count.
    tools: [9_999],
  },
  c1: {
    agent: 'A',
    created: '10:00:00',
    answered: '10:00:10',
    ended: '10:10:00',
    setupMs: 100,
    durationMs: 590_000,
    endReason: 'caller_hangup',
  },
  c2: {
    agent: 'A',
    created: '10:05:00',
    answered: '10:05:05',
    ended: '10:20:00',
    setupMs: 200,
    durationMs: 895_000,
    endReason: 'transferred',
    handoffs: 1,
    campaign: true,
  },
  c3: { agent: 'B', created: '10:15:00', ended: '10:15:30', endReason: 'no_answer' },
  c4: {
    agent: 'B',
    created: '10:30:00',
    answered: '10:30:20',
    ended: '11:30:00',
    setupMs: 300,
    durationMs: 3_580_000,
    endReason: 'agent_hangup',
    handoffs: 2,
  },
  c5: {
    agent: 'A',
    created: '11:00:00',
    answered: '11:00:05',
    ended: '11:05:00',
    setupMs: 400,
    durationMs: 295_000,
    endReason: 'caller_hangup',
    tools: [50, 150],
  },
  c6: {
    agent: 'A',
    created: '11:10:00',
    answered: '11:10:00',
    ended: '11:20:00',
    setupMs: 500,
    durationMs: 600_000,
    endReason: 'caller_hangup',
  },
  c7: {
    agent: 'B',
    created: '11:15:00',
    answered: '11:15:00',
    ended: '11:25:00',
    setupMs: 600,
    durationMs: 600_000,
    endReason: 'error',
    tools: [250, null],
  },
  c8: { agent: 'A', created: '11:50:00', answered: '11:50:00', setupMs: 700 },
  c9: {
    agent: 'B',
    created: '12:00:00',
    answered: '12:00:10',
    // Ends the instant c10 starts: intervals are half-open, so they never overlap.
    ended: '12:20:00',
    setupMs: 800,
    durationMs: 1_190_000,
    endReason: 'caller_hangup',
    handoffs: 1,
  },
  c10: { agent: 'A', created: '12:20:00' },
  c12: {
    agent: 'B',
    created: '13:00:00',
    answered: '13:00:00',
    ended: '13:05:00',
    setupMs: 900,
    durationMs: 300_000,
    endReason: 'caller_hangup',
  },
};

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 8 });
  key = (await createApiKey(prisma, { name: 'test-viewer', role: 'viewer' })).key;
  agentA = (await prisma.agent.create({ data: { name: 'A', instructions: 'A.' } })).id;
  agentB = (await prisma.agent.create({ data: { name: 'B', instructions: 'B.' } })).id;
  campaignK = (await prisma.campaign.create({ data: { name: 'K', agentId: agentA } })).id;
  let n = 0;
  for (const [name, c] of Object.entries(CALLS)) {
    const data: Prisma.CallUncheckedCreateInput = {
      direction: 'inbound',
      fromNumber: `+1555000${String(++n).padStart(4, '0')}`,
      toNumber: '+15559990000',
      status: c.ended ? 'completed' : 'in_progress',
      createdAt: t(c.created),
      answeredAt: c.answered ? t(c.answered) : null,
      endedAt: c.ended ? t(c.ended) : null,
      endReason: c.endReason ?? null,
      setupMs: c.setupMs ?? null,
      durationMs: c.durationMs ?? null,
      agentId: c.agent === 'A' ? agentA : agentB,
      campaignId: c.campaign ? campaignK : null,
    };
    const { id } = await prisma.call.create({ data, select: { id: true } });
    for (let h = 0; h < (c.handoffs ?? 0); h++) {
      await prisma.handoff.create({
        data: {
          callId: id,
          reason: 'needs a human',
          trigger: 'agent_tool',
          requestedAt: t(c.created),
        },
      });
    }
    for (const [i, latencyMs] of (c.tools ?? []).entries()) {
      await prisma.toolInvocation.create({
        data: { invocationId: `${name}-${i}`, callId: id, name: 'lookup', args: {}, latencyMs },
      });
    }
  }
  app = Fastify({ loggerInstance: captureLogs().log as FastifyBaseLogger });
  await app.register(statsApiRoutes, {
    apiKeys: new PrismaApiKeyStore(prisma),
    prisma,
    now: () => NOW,
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await prisma?.$disconnect();
  await db?.drop();
});

const get = (query: string, auth: string | null = key) =>
  app.inject({
    method: 'GET',
    url: `/v1/stats?${query}`,
    headers: auth === null ? {} : { authorization: `Bearer ${auth}` },
  });

async function stats(query: string): Promise<CallStats> {
  const res = await get(query);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe('GET /v1/stats', { timeout: 30_000 }, () => {
  it('computes each hourly bucket of the fixture', async () => {
    const { series } = await stats(`${RANGE}&bucket=hour`);
    expect(series).toEqual([
      {
        at: '2026-03-02T10:00:00.000Z',
        // c1 c2 c3 c4; c3 unanswered.
        calls: 4,
        answered: 3,
        // c11 + c1 + c2 live at 10:05:05 (c3 joins at 10:15, after c1 left at 10:10).
        concurrentMax: 3,
        // percentile_cont over 100, 200, 300: p95 = 200 + 0.9 × 100.
        setupMsP50: 200,
        setupMsP95: 290,
        // (590000 + 895000 + 3580000) / 3 = 1688333.3…
        avgHandleMs: 1_688_333,
        handoffs: 3,
      },
      {
        at: '2026-03-02T11:00:00.000Z',
        calls: 4,
        answered: 4,
        // c4 + c6 + c7 at 11:15.
        concurrentMax: 3,
        // 400, 500, 600, 700: p50 = 550, p95 = 600 + 0.85 × 100.
        setupMsP50: 550,
        setupMsP95: 685,
        // (295000 + 600000 + 600000) / 3 = 498333.3… (c8 is live: no duration).
        avgHandleMs: 498_333,
        handoffs: 0,
      },
      {
        at: '2026-03-02T12:00:00.000Z',
        calls: 2,
        answered: 1,
        // c8 + c9, then c8 + c10 (c9 ends as c10 starts): never 3.
        concurrentMax: 2,
        setupMsP50: 800,
        setupMsP95: 800,
        avgHandleMs: 1_190_000,
        handoffs: 1,
      },
    ]);
  });

  it('computes the totals, the outcomes and the live calls', async () => {
    const body = await stats(`${RANGE}&bucket=hour`);
    expect(body.totals).toEqual({
      calls: 10,
      // Every call but c3 and c10.
      answered: 8,
      // 7750000 / 7 = 1107142.86.
      avgHandleMs: 1_107_143,
      // 100…800: p50 = 450, p95 = 700 + 0.65 × 100.
      setupMsP50: 450,
      setupMsP95: 765,
      // c2, c4, c9 of 8 answered calls.
      handoffRate: 0.375,
      // 50, 150, 250 (c11's 9999 is out of range, c7's running call has no latency yet):
      // p95 = 150 + 0.9 × 100.
      toolLatencyMsP50: 150,
      toolLatencyMsP95: 240,
    });
    expect(body.outcomes).toEqual([
      { endReason: 'caller_hangup', count: 4 },
      { endReason: 'agent_hangup', count: 1 },
      { endReason: 'error', count: 1 },
      { endReason: 'no_answer', count: 1 },
      { endReason: 'transferred', count: 1 },
    ]);
    // c8 and c10.
    expect(body.live).toBe(2);
  });

  it('narrows to an agent or a campaign', async () => {
    const a = await stats(`${RANGE}&agentId=${agentA}`);
    // c1 c2 c5 c6 c8 c10.
    expect(a.totals).toMatchObject({ calls: 6, answered: 5, handoffRate: 0.2 });
    expect(a.series.map((p) => [p.calls, p.concurrentMax])).toEqual([
      // c11 + c1 + c2 at 10:05:05.
      [2, 3],
      // c5, c6, c8 never overlap.
      [3, 1],
      // c8 + c10 from 12:20.
      [1, 2],
    ]);
    expect(a.live).toBe(2);

    const k = await stats(`${RANGE}&campaignId=${campaignK}`);
    expect(k.totals).toMatchObject({ calls: 1, answered: 1, handoffRate: 1, setupMsP50: 200 });
    expect(k.outcomes).toEqual([{ endReason: 'transferred', count: 1 }]);
    expect(k.live).toBe(0);
  });

  it('aligns other bucket widths to UTC and clips the first bucket to `from`', async () => {
    const day = await stats(`${RANGE}&bucket=day`);
    expect(day.series).toEqual([
      expect.objectContaining({
        at: '2026-03-02T00:00:00.000Z',
        calls: 10,
        answered: 8,
        concurrentMax: 3,
      }),
    ]);

    const minutes = await stats('from=2026-03-02T11:14:30Z&to=2026-03-02T11:17:00Z&bucket=minute');
    expect(minutes.series.map((p) => [p.at.slice(11, 19), p.calls, p.concurrentMax])).toEqual([
      // c4 + c6 live at 11:14:30; c7 starts at 11:15.
      ['11:14:00', 0, 2],
      ['11:15:00', 1, 3],
      ['11:16:00', 0, 3],
    ]);
    // Only c7 started in these minutes.
    expect(minutes.totals).toMatchObject({
      calls: 1,
      answered: 1,
      setupMsP50: 600,
      handoffRate: 0,
      toolLatencyMsP50: 250,
    });

    const empty = await stats('from=2020-01-01&to=2020-01-02&bucket=day');
    expect(empty.series).toEqual([
      {
        at: '2020-01-01T00:00:00.000Z',
        calls: 0,
        answered: 0,
        concurrentMax: 0,
        setupMsP50: null,
        setupMsP95: null,
        avgHandleMs: null,
        handoffs: 0,
      },
    ]);
    expect(empty.totals).toMatchObject({ calls: 0, handoffRate: null, toolLatencyMsP50: null });
    expect(empty.outcomes).toEqual([]);
  });

  it('defaults to the last 24 hours in hourly buckets', async () => {
    const body = await stats('');
    // 2026-03-01 12:30 to 2026-03-02 12:30: 25 aligned hours, the first clipped.
    expect(body.series).toHaveLength(25);
    expect(body.series[0]?.at).toBe('2026-03-01T12:00:00.000Z');
    expect(body.series.at(-1)?.at).toBe('2026-03-02T12:00:00.000Z');
    // c11 … c10 except c12 (after now).
    expect(body.totals.calls).toBe(11);
  });

  it('answers 400 naming the field', async () => {
    const cases: Array<[string, string]> = [
      ['bucket=week', 'bucket'],
      // 2 days of minutes: 2880 buckets.
      ['from=2026-03-01&to=2026-03-03&bucket=minute', 'bucket'],
      ['from=soon', 'from'],
      ['from=2026-03-02&to=2026-03-02', 'to'],
      ['agentId=1', 'agentId'],
      ['campaignId=1', 'campaignId'],
    ];
    for (const [query, field] of cases) {
      const res = await get(query);
      expect(res.statusCode, query).toBe(400);
      expect(
        res.json<{ issues: Array<{ field: string }> }>().issues.map((i) => i.field),
        query,
      ).toEqual([field]);
    }
    expect((await get('', null)).statusCode).toBe(401);
  });
});
