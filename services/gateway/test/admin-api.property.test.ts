/**
 * Property: the admin API's bodies (agents, campaigns, the do-not-call list), whatever their
 * shape (any JSON, bytes that are not JSON, and mutations of valid bodies), get a valid answer
 * or a clear 4xx, never a 5xx; and a refused write stores nothing: no row, no change, no audit
 * row. Real PostgreSQL (and NATS for campaigns).
 */
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { agentsApiRoutes } from '../src/routes/agents-api.js';
import { doNotCallApiRoutes } from '../src/routes/do-not-call-api.js';
import { adminApiFixture, type AdminApiFixture } from './admin-api-fixture.js';
import { campaignsFixture, OURS, type CampaignsFixture } from './campaigns-fixture.js';

const RUNS = { numRuns: 120 };

/** A 4xx must say why: a JSON body with a non-empty `error`. */
function expectClearAnswer(res: LightMyRequestResponse): void {
  expect(res.statusCode, res.body).toBeLessThan(500);
  if (res.statusCode >= 400) {
    expect((JSON.parse(res.body) as { error?: unknown }).error, res.body).toEqual(
      expect.any(String),
    );
  }
}

/** Any JSON value, plus values a JSON API meets in practice at its edges. */
const anyJson = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(null, [], {}, '', 0, { __proto__: null }, { constructor: {} }),
);

/** A valid body with fields dropped, replaced by any JSON, or added. */
function mutated(valid: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(valid);
  return fc
    .record({
      drop: fc.subarray(keys),
      replace: fc.dictionary(fc.constantFrom(...keys), anyJson, { maxKeys: 3 }),
      extra: fc.dictionary(fc.string({ maxLength: 10 }), anyJson, { maxKeys: 2 }),
    })
    .map(({ drop, replace, extra }) => {
      const out: Record<string, unknown> = { ...valid, ...replace, ...extra };
      for (const k of drop) delete out[k];
      return out;
    });
}

/** Bytes sent as `application/json` that may not be JSON at all. */
const rawBodies = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.jsonValue().map((v) => JSON.stringify(v).slice(0, -1)),
  fc.constantFrom('{"a":', '\u0000', '{"__proto__":{"x":1}}', '[', 'null', '"x"', '1e999'),
);

describe(
  'admin API bodies - property: a valid answer or a clear 4xx, nothing stored half-way',
  { timeout: 300_000 },
  () => {
    let f: AdminApiFixture;
    let agentId: string;
    beforeAll(async () => {
      f = await adminApiFixture([agentsApiRoutes, doNotCallApiRoutes]);
      const res = await f.call('POST', '/v1/agents', { name: 'base', instructions: 'Be brief.' });
      agentId = res.json<{ id: string }>().id;
    }, 60_000);
    afterAll(async () => {
      await f?.close();
    });

    const validAgent = {
      name: 'Reception',
      instructions: 'You are the receptionist.',
      voice: 'marin',
      greeting: 'Greet the caller.',
      greetFirst: true,
      transferTargets: [{ name: 'manager', phone: '+1 (415) 555-0100' }],
    };

    it('POST /v1/agents: any body creates one agent with its audit row, or nothing', async () => {
      let created = 0;
      await fc.assert(
        fc.asyncProperty(fc.oneof(anyJson, mutated(validAgent)), async (body) => {
          const [agents, audits] = [await f.prisma.agent.count(), await f.prisma.auditLog.count()];
          const res = await f.call('POST', '/v1/agents', body, 'admin');
          expectClearAnswer(res);
          const added = (await f.prisma.agent.count()) - agents;
          const audited = (await f.prisma.auditLog.count()) - audits;
          if (res.statusCode === 201) {
            created += 1;
            expect([added, audited]).toEqual([1, 1]);
          } else {
            expect([added, audited]).toEqual([0, 0]);
          }
        }),
        // The valid body itself runs first: the success path is reached whatever the seed.
        { ...RUNS, examples: [[validAgent]] },
      );
      expect(created).toBeGreaterThan(0);
    });

    it('PATCH /v1/agents/:id: any body updates the agent, or leaves it exactly as it was', async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(anyJson, mutated(validAgent)), async (body) => {
          const before = await f.prisma.agent.findUniqueOrThrow({ where: { id: agentId } });
          const audits = await f.prisma.auditLog.count();
          const res = await f.call('PATCH', `/v1/agents/${agentId}`, body, 'admin');
          expectClearAnswer(res);
          if (res.statusCode !== 200) {
            expect(await f.prisma.agent.findUniqueOrThrow({ where: { id: agentId } })).toEqual(
              before,
            );
            expect(await f.prisma.auditLog.count()).toBe(audits);
          }
        }),
        RUNS,
      );
    });

    it('POST /v1/do-not-call: any body lists one number, or nothing', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            anyJson,
            mutated({ phone: '+14155550100', reason: 'asked' }),
            fc.record({ phone: fc.string({ maxLength: 20 }) }),
          ),
          async (body) => {
            const entries = await f.prisma.doNotCallEntry.count();
            const res = await f.call('POST', '/v1/do-not-call', body, 'admin');
            expectClearAnswer(res);
            const added = (await f.prisma.doNotCallEntry.count()) - entries;
            expect(added).toBe(res.statusCode === 201 ? 1 : 0);
          },
        ),
        RUNS,
      );
    });

    it('DELETE /v1/do-not-call/:phone with any path segment: 204, a clear 4xx, never a 5xx', async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ minLength: 1, maxLength: 30 }), async (phone) => {
          const res = await f.call(
            'DELETE',
            `/v1/do-not-call/${encodeURIComponent(phone)}`,
            undefined,
            'admin',
          );
          expectClearAnswer(res);
        }),
        RUNS,
      );
    });

    it('bytes that are not JSON, to every write: 4xx, nothing stored', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(
            ['POST', '/v1/agents'] as const,
            ['PATCH', '/v1/agents/:id'] as const,
            ['POST', '/v1/do-not-call'] as const,
          ),
          rawBodies,
          async ([method, path], payload) => {
            const [agents, entries] = [
              await f.prisma.agent.count(),
              await f.prisma.doNotCallEntry.count(),
            ];
            const res = await f.app.inject({
              method,
              url: path.replace(':id', agentId),
              headers: {
                authorization: `Bearer ${f.keys.admin}`,
                'content-type': 'application/json',
              },
              payload,
            });
            expectClearAnswer(res);
            if (res.statusCode >= 400) {
              expect(await f.prisma.agent.count()).toBe(agents);
              expect(await f.prisma.doNotCallEntry.count()).toBe(entries);
            }
          },
        ),
        RUNS,
      );
    });
  },
);

describe(
  'campaign bodies - property: a valid answer or a clear 4xx, nothing stored half-way',
  { timeout: 300_000 },
  () => {
    let f: CampaignsFixture;
    beforeAll(async () => {
      f = await campaignsFixture();
    }, 60_000);
    afterAll(async () => {
      await f?.close();
    });

    const validCampaign = () => ({
      name: 'Renewals',
      agentId: f.agentId,
      fromNumbers: [OURS],
      startAt: '2026-12-01T09:00:00Z',
      endAt: '2026-12-31T18:00:00Z',
      callingWindows: [{ days: [1, 2, 3, 4, 5], start: '09:00', end: '17:30' }],
      timezone: 'Europe/Paris',
      maxConcurrentCalls: 5,
      callsPerMinute: 30,
      retryPolicy: { maxAttempts: 3, backoffMs: 600_000 },
    });

    it('POST /v1/campaigns: any body creates one draft, or nothing', async () => {
      let created = 0;
      await fc.assert(
        fc.asyncProperty(fc.oneof(anyJson, mutated(validCampaign())), async (body) => {
          const before = await f.prisma.campaign.count();
          const res = await f.call('POST', '/v1/campaigns', body);
          expectClearAnswer(res);
          const added = (await f.prisma.campaign.count()) - before;
          if (res.statusCode === 201) created += 1;
          expect(added).toBe(res.statusCode === 201 ? 1 : 0);
        }),
        { ...RUNS, examples: [[validCampaign()]] },
      );
      expect(created).toBeGreaterThan(0);
    });

    it('PATCH /v1/campaigns/:id: any body updates the draft, or leaves it exactly as it was', async () => {
      const id = await f.createCampaign();
      await fc.assert(
        fc.asyncProperty(fc.oneof(anyJson, mutated(validCampaign())), async (body) => {
          const before = await f.prisma.campaign.findUniqueOrThrow({ where: { id } });
          const res = await f.call('PATCH', `/v1/campaigns/${id}`, body);
          expectClearAnswer(res);
          if (res.statusCode !== 200) {
            expect(await f.prisma.campaign.findUniqueOrThrow({ where: { id } })).toEqual(before);
          }
        }),
        RUNS,
      );
    });
  },
);
