import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNames } from '@app/contracts';

import { campaignsFixture, OURS, type CampaignsFixture } from './campaigns-fixture.js';

// Real NATS and PostgreSQL: this file's own namespace and database.
let f: CampaignsFixture;

beforeAll(async () => {
  f = await campaignsFixture();
}, 30_000);

afterAll(async () => {
  await f?.close();
});

type Issue = { field: string; code: string; message: string };

describe('gateway - /v1/campaigns authentication', { timeout: 15_000 }, () => {
  it('answers 401 without a key and 403 to a viewer that writes, and lets a viewer read', async () => {
    const missing = await f.call('GET', '/v1/campaigns', undefined, { key: null });
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"');
    const unknown = await f.call('GET', '/v1/campaigns', undefined, { key: 'vpk_nope' });
    expect(unknown.statusCode).toBe(401);
    const write = await f.call(
      'POST',
      '/v1/campaigns',
      { name: 'x', agentId: f.agentId },
      {
        key: f.keys.viewer,
      },
    );
    expect(write.statusCode).toBe(403);
    expect(write.json()).toEqual({
      error: 'role viewer may not change campaigns (admin or operator may)',
    });
    const read = await f.call('GET', '/v1/campaigns', undefined, { key: f.keys.viewer });
    expect(read.statusCode).toBe(200);
  });
});

describe('gateway - /v1/campaigns CRUD', { timeout: 15_000 }, () => {
  const valid = () => ({
    name: 'Renewals',
    agentId: f.agentId,
    fromNumbers: ['+1 555 555 0100'],
    startAt: '2026-12-01T09:00:00Z',
    endAt: '2026-12-31T18:00:00Z',
    callingWindows: [{ days: [1, 2, 3, 4, 5], start: '09:00', end: '17:30' }],
    timezone: 'Europe/Paris',
    maxConcurrentCalls: 5,
    callsPerMinute: 30,
    retryPolicy: { maxAttempts: 3, backoffMs: 600_000 },
  });

  it('creates a campaign as a draft with E.164 numbers, and audits it', async () => {
    const res = await f.call('POST', '/v1/campaigns', valid());
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      ...valid(),
      fromNumbers: [OURS],
      startAt: '2026-12-01T09:00:00.000Z',
      endAt: '2026-12-31T18:00:00.000Z',
      status: 'draft',
    });
    const logs = await f.prisma.auditLog.findMany({ where: { resourceId: body.id as string } });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      action: 'campaign.create',
      resourceType: 'campaign',
      actor: `api-key:${f.keys.operator.slice(0, 12)}`,
      before: null,
    });
    expect(logs[0]?.after).toMatchObject({ name: 'Renewals', status: 'draft' });
  });

  it('refuses each invalid field, naming it', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ name: '  ' }, 'name', 'invalid_field'],
      [{ agentId: '44444444-4444-4444-8444-444444444444' }, 'agentId', 'unknown_agent'],
      [{ fromNumbers: ['555 0100'] }, 'fromNumbers.0', 'invalid_phone'],
      [{ fromNumbers: ['+14155550999'] }, 'fromNumbers.0', 'from_not_ours'],
      [{ startAt: 'soon' }, 'startAt', 'invalid_field'],
      [
        { startAt: '2026-12-31T00:00:00Z', endAt: '2026-12-01T00:00:00Z' },
        'endAt',
        'invalid_field',
      ],
      [
        { callingWindows: [{ days: [0], start: '09:00', end: '17:00' }] },
        'callingWindows.0.days.0',
        'invalid_field',
      ],
      [
        { callingWindows: [{ days: [8], start: '09:00', end: '17:00' }] },
        'callingWindows.0.days.0',
        'invalid_field',
      ],
      [
        { callingWindows: [{ days: [1], start: '9:00', end: '17:00' }] },
        'callingWindows.0.start',
        'invalid_field',
      ],
      [
        { callingWindows: [{ days: [1], start: '09:00', end: '24:00' }] },
        'callingWindows.0.end',
        'invalid_field',
      ],
      [
        { callingWindows: [{ days: [1], start: '17:00', end: '09:00' }] },
        'callingWindows.0',
        'invalid_field',
      ],
      [{ timezone: 'Mars/Olympus' }, 'timezone', 'invalid_field'],
      [{ maxConcurrentCalls: 0 }, 'maxConcurrentCalls', 'invalid_field'],
      [{ callsPerMinute: 1.5 }, 'callsPerMinute', 'invalid_field'],
      [{ retryPolicy: { maxAttempts: 0 } }, 'retryPolicy.maxAttempts', 'invalid_field'],
      [{ retryPolicy: { backoffMs: -1 } }, 'retryPolicy.backoffMs', 'invalid_field'],
      [{ colour: 'red' }, 'colour', 'invalid_field'],
    ];
    const before = await f.prisma.campaign.count();
    for (const [patch, field, code] of cases) {
      const res = await f.call('POST', '/v1/campaigns', { ...valid(), ...patch });
      expect(res.statusCode, JSON.stringify(patch)).toBe(400);
      const json = res.json<{ error: string; issues: Issue[] }>();
      expect(json.error).toBe('invalid campaign');
      expect(
        json.issues.map((i) => [i.field, i.code]),
        JSON.stringify(patch),
      ).toEqual([[field, code]]);
    }
    const missing = await f.call('POST', '/v1/campaigns', { name: 'x' });
    expect(missing.json<{ issues: Issue[] }>().issues).toEqual([
      { field: 'agentId', code: 'invalid_field', message: 'agentId is required' },
    ]);
    expect(await f.prisma.campaign.count()).toBe(before);
  });

  it('lists campaigns newest first with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await f.createCampaign({ name: `page-${i}` }));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/campaigns?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await f.call('GET', url);
      expect(res.statusCode).toBe(200);
      const page = res.json<{ items: Array<{ id: string }>; nextCursor: string | null }>();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.slice(0, 3)).toEqual([...ids].reverse());
    expect((await f.call('GET', '/v1/campaigns?limit=0')).statusCode).toBe(400);
    expect((await f.call('GET', '/v1/campaigns?cursor=abc')).statusCode).toBe(400);
  });

  it('updates a draft (audited with before and after), refuses bad fields, 404s an unknown id', async () => {
    const id = await f.createCampaign();
    const res = await f.call('PATCH', `/v1/campaigns/${id}`, { callsPerMinute: 60, name: 'Later' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      id,
      callsPerMinute: 60,
      name: 'Later',
      maxConcurrentCalls: 1,
    });
    const log = await f.prisma.auditLog.findFirst({
      where: { resourceId: id, action: 'campaign.update' },
    });
    expect(log?.before).toMatchObject({ name: 'Spring', callsPerMinute: 10 });
    expect(log?.after).toMatchObject({ name: 'Later', callsPerMinute: 60 });

    const bad = await f.call('PATCH', `/v1/campaigns/${id}`, { timezone: 'Nowhere' });
    expect(bad.statusCode).toBe(400);
    await f.call('PATCH', `/v1/campaigns/${id}`, { startAt: '2026-12-10T00:00:00Z' });
    const order = await f.call('PATCH', `/v1/campaigns/${id}`, { endAt: '2026-12-01T00:00:00Z' });
    expect(order.json<{ issues: Issue[] }>().issues.map((i) => i.field)).toEqual(['endAt']);
    expect((await f.call('PATCH', '/v1/campaigns/nope', { name: 'x' })).statusCode).toBe(404);
    expect(
      (await f.call('GET', '/v1/campaigns/44444444-4444-4444-8444-444444444444')).statusCode,
    ).toBe(404);
  });

  it('deletes only a draft', async () => {
    const id = await f.createCampaign();
    await f.call('POST', `/v1/campaigns/${id}/contacts`, [{ phone: '+14155550123' }]);
    expect((await f.call('DELETE', `/v1/campaigns/${id}`)).statusCode).toBe(204);
    expect(await f.prisma.campaign.findUnique({ where: { id } })).toBeNull();
    expect(await f.prisma.campaignContact.count({ where: { campaignId: id } })).toBe(0);
    const log = await f.prisma.auditLog.findFirst({
      where: { resourceId: id, action: 'campaign.delete' },
    });
    expect(log?.after).toBeNull();
    expect(log?.before).toMatchObject({ id });

    const running = await f.createCampaign();
    await f.call('POST', `/v1/campaigns/${running}/start`);
    const refused = await f.call('DELETE', `/v1/campaigns/${running}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ status: 'running' });
  });
});

describe('gateway - /v1/campaigns actions and progress', { timeout: 15_000 }, () => {
  it('starts, pauses, resumes and cancels, publishing each event with counts', async () => {
    const id = await f.createCampaign({ callsPerMinute: 2 });
    const imported = await f.call('POST', `/v1/campaigns/${id}/contacts`, [
      { phone: '+14155550101' },
      { phone: '+14155550102' },
      { phone: '+14155550103' },
    ]);
    expect(imported.statusCode, imported.body).toBe(200);

    const started = await f.call('POST', `/v1/campaigns/${id}/start`);
    expect(started.statusCode, started.body).toBe(200);
    expect(started.json()).toMatchObject({ status: 'running', event: 'published' });
    // Edits wait for a pause.
    expect((await f.call('PATCH', `/v1/campaigns/${id}`, { name: 'x' })).statusCode).toBe(409);
    expect(
      (await f.call('POST', `/v1/campaigns/${id}/contacts`, [{ phone: '+14155550104' }]))
        .statusCode,
    ).toBe(409);
    expect((await f.call('POST', `/v1/campaigns/${id}/start`)).statusCode).toBe(409);
    expect((await f.call('POST', `/v1/campaigns/${id}/resume`)).statusCode).toBe(409);

    expect((await f.call('POST', `/v1/campaigns/${id}/pause`)).json()).toMatchObject({
      status: 'paused',
    });
    expect((await f.call('POST', `/v1/campaigns/${id}/pause`)).statusCode).toBe(409);
    expect((await f.call('PATCH', `/v1/campaigns/${id}`, { name: 'Paused edit' })).statusCode).toBe(
      200,
    );
    expect((await f.call('POST', `/v1/campaigns/${id}/resume`)).json()).toMatchObject({
      status: 'running',
    });

    // The runner's work, as the dialer would leave it.
    const [a, b] = await f.prisma.campaignContact.findMany({
      where: { campaignId: id },
      orderBy: { phone: 'asc' },
    });
    await f.prisma.campaignContact.update({
      where: { id: a!.id },
      data: { status: 'dialing', attempts: 1 },
    });
    await f.prisma.campaignContact.update({
      where: { id: b!.id },
      data: { status: 'completed', attempts: 2 },
    });

    const canceled = await f.call('POST', `/v1/campaigns/${id}/cancel`);
    expect(canceled.json()).toMatchObject({ status: 'canceled' });
    expect((await f.call('POST', `/v1/campaigns/${id}/cancel`)).statusCode).toBe(409);
    const statuses = await f.prisma.campaignContact.findMany({
      where: { campaignId: id },
      orderBy: { phone: 'asc' },
    });
    expect(statuses.map((c) => c.status)).toEqual(['dialing', 'completed', 'canceled']);

    const events = await f.events(id);
    expect(events.map((e) => e.type)).toEqual([
      'campaign.started',
      'campaign.paused',
      'campaign.resumed',
      'campaign.canceled',
    ]);
    expect(events[0]?.data).toMatchObject({ counts: { total: 3, remaining: 3, dialed: 0 } });
    expect(events[3]?.data).toMatchObject({
      counts: { total: 3, dialed: 2, completed: 1, failed: 0, remaining: 1, live: 1 },
    });

    const actions = await f.prisma.auditLog.findMany({
      where: { resourceId: id },
      orderBy: { at: 'asc' },
    });
    expect(actions.map((l) => l.action)).toEqual([
      'campaign.create',
      'campaign.contacts.import',
      'campaign.start',
      'campaign.pause',
      'campaign.update',
      'campaign.resume',
      'campaign.cancel',
    ]);
    const start = actions[2];
    expect(start?.before).toMatchObject({ status: 'draft' });
    expect(start?.after).toMatchObject({ status: 'running' });
  });

  it('lets exactly one of concurrent starts win: the others get 409, one event is published', async () => {
    const id = await f.createCampaign();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => f.call('POST', `/v1/campaigns/${id}/start`)),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409, 409, 409, 409]);
    expect(results.find((r) => r.statusCode === 409)?.json()).toEqual({
      error: 'the campaign is running: start needs a campaign that is draft',
      status: 'running',
    });
    expect((await f.events(id)).map((e) => e.type)).toEqual(['campaign.started']);
    expect(
      await f.prisma.auditLog.count({ where: { resourceId: id, action: 'campaign.start' } }),
    ).toBe(1);
  });

  it('keeps the change when its event cannot be published, and says so', async () => {
    // A namespace whose CAMPAIGNS stream does not exist: NATS answers "no responders".
    const broken = await campaignsFixture({ names: createNames(`${f.ns.names.prefix}x`) });
    try {
      const id = await broken.createCampaign();
      const res = await broken.call('POST', `/v1/campaigns/${id}/start`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: 'running', event: 'not_published' });
      expect(broken.lines.some((l) => l.msg === 'campaign event not published')).toBe(true);
    } finally {
      await broken.close();
    }
  }, 30_000);

  it('shows progress: counts by status, attempts, live calls and an estimated completion', async () => {
    const at = new Date('2026-12-01T10:00:00Z');
    const local = await (
      await import('./campaigns-fixture.js')
    ).campaignsFixture({ now: () => at });
    try {
      const id = await local.createCampaign({ callsPerMinute: 2 });
      const contacts = Array.from({ length: 6 }, (_, i) => ({ phone: `+1415555020${i}` }));
      await local.call('POST', `/v1/campaigns/${id}/contacts`, contacts);
      const draft = await local.call('GET', `/v1/campaigns/${id}`, undefined, {
        key: local.keys.viewer,
      });
      expect(draft.json()).toMatchObject({
        status: 'draft',
        progress: { total: 6, remaining: 6, live: 0, attempts: 0, estimatedCompletionAt: null },
      });
      await local.call('POST', `/v1/campaigns/${id}/start`);
      const rows = await local.prisma.campaignContact.findMany({
        where: { campaignId: id },
        orderBy: { phone: 'asc' },
      });
      const set = (i: number, status: 'dialing' | 'completed' | 'failed', attempts: number) =>
        local.prisma.campaignContact.update({
          where: { id: rows[i]!.id },
          data: { status, attempts },
        });
      await set(0, 'dialing', 1);
      await set(1, 'completed', 1);
      await set(2, 'failed', 3);
      const res = await local.call('GET', `/v1/campaigns/${id}`);
      expect(res.json()).toMatchObject({
        status: 'running',
        progress: {
          total: 6,
          byStatus: { pending: 3, dialing: 1, completed: 1, failed: 1, skipped: 0, canceled: 0 },
          attempts: 5,
          live: 1,
          remaining: 4,
          // 3 pending at 2 a minute: 2 minutes.
          estimatedCompletionAt: '2026-12-01T10:02:00.000Z',
        },
      });
    } finally {
      await local.close();
    }
  }, 30_000);
});
