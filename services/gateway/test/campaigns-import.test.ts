import { Readable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { campaignsFixture, type CampaignsFixture } from './campaigns-fixture.js';

// Real NATS and PostgreSQL: this file's own namespace and database. Small batches and a small
// body limit, so a few thousand rows cross many batches and the limit is cheap to reach.
let f: CampaignsFixture;
const BODY_LIMIT = 512 * 1024;

beforeAll(async () => {
  f = await campaignsFixture({ importBodyLimit: BODY_LIMIT, importOptions: { batchSize: 100 } });
}, 30_000);

afterAll(async () => {
  await f?.close();
});

interface Report {
  accepted: number;
  created: number;
  merged: number;
  rejectedCount: number;
  rejected: Array<{ row: number; field: string; message: string }>;
}

const phone = (i: number) => `+1415${String(5_000_000 + i).padStart(7, '0')}`;

const CSV = { contentType: 'text/csv' };

describe('gateway - POST /v1/campaigns/:id/contacts', { timeout: 30_000 }, () => {
  it('imports a CSV of thousands of rows: bad rows reported, duplicates merged and stored once', async () => {
    const id = await f.createCampaign();
    const N = 3_000;
    const lines = ['phone,name,plan,city,timezone'];
    for (let i = 0; i < N; i++)
      lines.push(`${phone(i)},Person ${i},basic,Paris,${i === 7 ? 'Europe/Paris' : ''}`);
    // Row numbers count data rows: N + 1 is the first row after the generated ones.
    lines.push('(415) 555-0100,Local,basic,Lyon'); // N + 1: not international
    lines.push(',Nobody,basic,Lyon'); // N + 2: empty phone
    lines.push(`${phone(7)},,gold,`); // N + 3: duplicate of row 8, across batches
    lines.push(`"${phone(2_999).replace('+1415', '+1 415 ')}",Last,platinum,Nice`); // N + 4
    lines.push('+1415abc,Letters,basic,Lyon'); // N + 5
    const res = await f.call('POST', `/v1/campaigns/${id}/contacts`, lines.join('\n'), CSV);
    expect(res.statusCode, res.body).toBe(200);
    const report = res.json<Report>();
    expect(report).toMatchObject({ accepted: N + 2, created: N, merged: 2, rejectedCount: 3 });
    expect(report.rejected.map((r) => [r.row, r.field])).toEqual([
      [N + 1, 'phone'],
      [N + 2, 'phone'],
      [N + 5, 'phone'],
    ]);
    expect(report.rejected[0]?.message).toMatch(/international format/);
    expect(report.rejected[1]?.message).toMatch(/empty/);

    expect(await f.prisma.campaignContact.count({ where: { campaignId: id } })).toBe(N);
    const merged = await f.prisma.campaignContact.findUniqueOrThrow({
      where: { campaignId_phone: { campaignId: id, phone: phone(7) } },
    });
    // The later row's variables win; its empty cells and empty name change nothing.
    expect(merged).toMatchObject({
      name: 'Person 7',
      timezone: 'Europe/Paris',
      status: 'pending',
      variables: { plan: 'gold', city: 'Paris' },
    });
    // The timezone column is the contact's zone, not a variable.
    expect(merged.variables).toEqual({ plan: 'gold', city: 'Paris' });
    const last = await f.prisma.campaignContact.findUniqueOrThrow({
      where: { campaignId_phone: { campaignId: id, phone: phone(2_999) } },
    });
    expect(last).toMatchObject({ name: 'Last', variables: { plan: 'platinum', city: 'Nice' } });

    // Importing the same file again adds nobody.
    const again = await f.call('POST', `/v1/campaigns/${id}/contacts`, lines.join('\n'), CSV);
    expect(again.json<Report>()).toMatchObject({ created: 0, merged: N + 2, rejectedCount: 3 });
    expect(await f.prisma.campaignContact.count({ where: { campaignId: id } })).toBe(N);

    // Phone numbers never reach the logs.
    expect(JSON.stringify(f.lines)).not.toContain(phone(7).slice(1));
    expect(f.lines.some((l) => l.msg === 'campaign contacts imported')).toBe(true);

    const audit = await f.prisma.auditLog.findFirst({
      where: { resourceId: id, action: 'campaign.contacts.import' },
      orderBy: { at: 'asc' },
    });
    expect(audit?.after).toEqual({ accepted: N + 2, created: N, merged: 2, rejected: 3 });
  });

  it('imports a JSON array, merging duplicates with the later variables winning', async () => {
    const id = await f.createCampaign();
    const res = await f.call('POST', `/v1/campaigns/${id}/contacts`, [
      { phone: '+14155550126', timezone: 'America/Los_Angeles' },
      { phone: '+14155550127', timezone: 'Pacific/Atlantis' },
      { phone: '+14155550123', name: 'Ada', variables: { plan: 'basic', city: 'Paris' } },
      { phone: '+1 415 555 0123', variables: { plan: 'gold' } },
      { phone: '' },
      { phone: '+14155550124', variables: { plan: 7 } },
      { phone: '+14155550125' },
    ]);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<Report>()).toEqual({
      accepted: 4,
      created: 3,
      merged: 1,
      // Ada and +14155550125 had no zone: +1 415 maps to one.
      timezonesDerived: 2,
      rejectedCount: 3,
      rejected: [
        { row: 2, field: 'timezone', message: expect.stringMatching(/IANA/) },
        { row: 5, field: 'phone', message: expect.stringMatching(/empty/) },
        { row: 6, field: 'variables.plan', message: 'variables.plan must be a string' },
      ],
    });
    const ada = await f.prisma.campaignContact.findUniqueOrThrow({
      where: { campaignId_phone: { campaignId: id, phone: '+14155550123' } },
    });
    expect(ada).toMatchObject({ name: 'Ada', variables: { plan: 'gold', city: 'Paris' } });
    const west = await f.prisma.campaignContact.findUniqueOrThrow({
      where: { campaignId_phone: { campaignId: id, phone: '+14155550126' } },
    });
    expect(west).toMatchObject({ timezone: 'America/Los_Angeles', variables: {} });
  });

  it('stores nothing from a file that fails half-way, and refuses a file without a phone column', async () => {
    const id = await f.createCampaign();
    const rows = ['phone,name'];
    for (let i = 0; i < 500; i++) rows.push(`${phone(i)},P${i}`);
    rows.push('"+14155550199,unterminated');
    const broken = await f.call('POST', `/v1/campaigns/${id}/contacts`, rows.join('\n'), CSV);
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toMatchObject({ issues: [{ field: 'body', code: 'invalid_csv' }] });
    expect(await f.prisma.campaignContact.count({ where: { campaignId: id } })).toBe(0);

    const header = await f.call(
      'POST',
      `/v1/campaigns/${id}/contacts`,
      'tel,name\n+14155550123,A',
      CSV,
    );
    expect(header.statusCode).toBe(400);
    expect(header.json<{ issues: Array<{ message: string }> }>().issues[0]?.message).toMatch(
      /phone column/,
    );
  });

  it('answers 413 above the body limit (storing nothing), 415 to another type, 404 and 409', async () => {
    const id = await f.createCampaign();
    const rows = ['phone,name,note'];
    for (let i = 0; rows.join('\n').length <= BODY_LIMIT; i++)
      rows.push(`${phone(i)},P,${'x'.repeat(200)}`);
    const big = await f.call('POST', `/v1/campaigns/${id}/contacts`, rows.join('\n'), CSV);
    expect(big.statusCode).toBe(413);
    expect(await f.prisma.campaignContact.count({ where: { campaignId: id } })).toBe(0);
    // Streamed without a Content-Length: the limit cuts the stream itself.
    const streamed = await f.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${id}/contacts`,
      headers: { authorization: `Bearer ${f.keys.operator}`, 'content-type': 'text/csv' },
      payload: Readable.from(rows.map((r) => `${r}\n`)),
    });
    expect(streamed.statusCode, streamed.body).toBe(413);
    expect(await f.prisma.campaignContact.count({ where: { campaignId: id } })).toBe(0);

    const text = await f.call('POST', `/v1/campaigns/${id}/contacts`, 'phone', {
      contentType: 'text/plain',
    });
    expect(text.statusCode).toBe(415);
    const unknown = await f.call(
      'POST',
      '/v1/campaigns/44444444-4444-4444-8444-444444444444/contacts',
      [],
    );
    expect(unknown.statusCode).toBe(404);
    await f.call('POST', `/v1/campaigns/${id}/cancel`);
    const over = await f.call('POST', `/v1/campaigns/${id}/contacts`, [{ phone: '+14155550123' }]);
    expect(over.statusCode).toBe(409);
    const viewer = await f.call('POST', `/v1/campaigns/${id}/contacts`, [], { key: f.keys.viewer });
    expect(viewer.statusCode).toBe(403);
  });
});
