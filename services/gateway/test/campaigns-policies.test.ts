import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { campaignsFixture, OURS, type CampaignsFixture } from './campaigns-fixture.js';

// Real NATS and PostgreSQL: this file's own namespace and database.
let f: CampaignsFixture;

beforeAll(async () => {
  f = await campaignsFixture();
  await f.prisma.phoneNumber.create({
    data: { e164: '+15555550141', agentId: f.agentId, pool: 'east' },
  });
}, 30_000);

afterAll(async () => {
  await f?.close();
});

type Issues = { issues: Array<{ field: string; code: string; message: string }> };

async function refusedCreate(body: Record<string, unknown>): Promise<Array<[string, string]>> {
  const res = await f.call('POST', '/v1/campaigns', { name: 'x', agentId: f.agentId, ...body });
  expect(res.statusCode, res.body).toBe(400);
  return res.json<Issues>().issues.map((i) => [i.field, i.code]);
}

describe(
  'gateway - campaign retry policy, consent purpose and number pool',
  { timeout: 20_000 },
  () => {
    it('stores a full retry policy, a consent purpose and a pool, and shows them', async () => {
      const retryPolicy = {
        maxAttempts: 4,
        backoffMs: 30_000,
        backoffMultiplier: 1.5,
        retryOn: ['busy', 'no-answer', 'provider-error'],
      };
      const res = await f.call('POST', '/v1/campaigns', {
        name: 'policies',
        agentId: f.agentId,
        retryPolicy,
        consentPurpose: 'marketing_calls',
        fromPool: 'east',
      });
      expect(res.statusCode, res.body).toBe(201);
      const view = res.json<Record<string, unknown>>();
      expect(view).toMatchObject({
        retryPolicy,
        consentPurpose: 'marketing_calls',
        fromPool: 'east',
      });
      const row = await f.prisma.campaign.findUniqueOrThrow({ where: { id: view.id as string } });
      expect(row).toMatchObject({
        retryPolicy,
        consentPurpose: 'marketing_calls',
        fromPool: 'east',
      });
      // Cleared with null on an update.
      const cleared = await f.call('PATCH', `/v1/campaigns/${row.id}`, {
        consentPurpose: null,
        fromPool: null,
      });
      expect(cleared.json()).toMatchObject({ consentPurpose: null, fromPool: null });
    });

    it('refuses each invalid retry policy field, naming it', async () => {
      expect(await refusedCreate({ retryPolicy: { maxAttempts: 0 } })).toEqual([
        ['retryPolicy.maxAttempts', 'invalid_field'],
      ]);
      expect(await refusedCreate({ retryPolicy: { backoffMs: -1 } })).toEqual([
        ['retryPolicy.backoffMs', 'invalid_field'],
      ]);
      expect(await refusedCreate({ retryPolicy: { backoffMultiplier: 0.5 } })).toEqual([
        ['retryPolicy.backoffMultiplier', 'invalid_field'],
      ]);
      expect(await refusedCreate({ retryPolicy: { retryOn: ['busy', 'completed'] } })).toEqual([
        ['retryPolicy.retryOn.1', 'invalid_field'],
      ]);
      expect(await refusedCreate({ retryPolicy: { retryOn: [] } })).toEqual([
        ['retryPolicy.retryOn', 'invalid_field'],
      ]);
      expect(await refusedCreate({ retryPolicy: { jitter: true } })).toEqual([
        ['jitter', 'invalid_field'],
      ]);
    });

    it('refuses a bad consent purpose, an unknown pool, and both fromNumbers and fromPool', async () => {
      expect(await refusedCreate({ consentPurpose: '' })).toEqual([
        ['consentPurpose', 'invalid_field'],
      ]);
      expect(await refusedCreate({ fromPool: 'west' })).toEqual([['fromPool', 'unknown_pool']]);
      expect(await refusedCreate({ fromPool: 'east side' })).toEqual([
        ['fromPool', 'invalid_field'],
      ]);
      expect(await refusedCreate({ fromPool: 'east', fromNumbers: [OURS] })).toEqual([
        ['fromPool', 'invalid_field'],
      ]);
      // The same rule on an update, against the campaign as it would be stored.
      const id = await f.createCampaign({ fromNumbers: [OURS] });
      const res = await f.call('PATCH', `/v1/campaigns/${id}`, { fromPool: 'east' });
      expect(res.statusCode).toBe(400);
      expect(res.json<Issues>().issues.map((i) => i.field)).toEqual(['fromPool']);
      const swap = await f.call('PATCH', `/v1/campaigns/${id}`, {
        fromPool: 'east',
        fromNumbers: [],
      });
      expect(swap.statusCode, swap.body).toBe(200);
    });
  },
);

describe(
  'gateway - contacts import: zones from the number, maxAttempts',
  { timeout: 20_000 },
  () => {
    it('gives a contact without a zone its number’s zone when the number has exactly one', async () => {
      const id = await f.createCampaign();
      const res = await f.call('POST', `/v1/campaigns/${id}/contacts`, [
        { phone: '+44 20 7183 8750' }, // London
        { phone: '+33 1 42 68 53 00' }, // Paris
        { phone: '+1 212 555 0100' }, // New York
        { phone: '+1 555 555 0177' }, // +1 555: not geographic, many zones
        { phone: '+1 800 555 0100' }, // toll free: many zones
        { phone: '+1 415 555 0100', timezone: 'America/Chicago' }, // given: kept
      ]);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ accepted: 6, created: 6, timezonesDerived: 3 });
      const zones = Object.fromEntries(
        (await f.prisma.campaignContact.findMany({ where: { campaignId: id } })).map((c) => [
          c.phone,
          c.timezone,
        ]),
      );
      expect(zones).toEqual({
        '+442071838750': 'Europe/London',
        '+33142685300': 'Europe/Paris',
        '+12125550100': 'America/New_York',
        '+15555550177': null,
        '+18005550100': null,
        '+14155550100': 'America/Chicago',
      });
    });

    it('never lets a derived zone replace a given one; a given one replaces a derived one', async () => {
      const id = await f.createCampaign();
      const csv = { contentType: 'text/csv' };
      await f.call(
        'POST',
        `/v1/campaigns/${id}/contacts`,
        'phone,timezone\n+14155550101,America/Denver\n+14155550102,\n',
        csv,
      );
      const again = await f.call(
        'POST',
        `/v1/campaigns/${id}/contacts`,
        'phone,timezone\n+14155550101,\n+14155550102,Pacific/Honolulu\n',
        csv,
      );
      expect(again.json()).toMatchObject({ merged: 2, timezonesDerived: 0 });
      const zoneOf = async (phone: string) =>
        (
          await f.prisma.campaignContact.findUniqueOrThrow({
            where: { campaignId_phone: { campaignId: id, phone } },
          })
        ).timezone;
      expect(await zoneOf('+14155550101')).toBe('America/Denver');
      expect(await zoneOf('+14155550102')).toBe('Pacific/Honolulu');
    });

    it('imports a contact’s maxAttempts (JSON), and refuses one out of range', async () => {
      const id = await f.createCampaign();
      const res = await f.call('POST', `/v1/campaigns/${id}/contacts`, [
        { phone: '+14155550103', maxAttempts: 5 },
        { phone: '+14155550104' },
        { phone: '+14155550105', maxAttempts: 0 },
        { phone: '+14155550106', maxAttempts: 2.5 },
        { phone: '+14155550107', maxAttempts: '3' },
      ]);
      expect(res.json()).toMatchObject({
        accepted: 3,
        rejectedCount: 2,
        rejected: [
          {
            row: 3,
            field: 'maxAttempts',
            message: 'maxAttempts must be a whole number from 1 to 20',
          },
          { row: 4, field: 'maxAttempts' },
        ],
      });
      const byPhone = Object.fromEntries(
        (await f.prisma.campaignContact.findMany({ where: { campaignId: id } })).map((c) => [
          c.phone,
          c.maxAttempts,
        ]),
      );
      expect(byPhone).toEqual({ '+14155550103': 5, '+14155550104': null, '+14155550107': 3 });
    });
  },
);
