/**
 * `/v1/consents` against real PostgreSQL: a consent recorded here lets the dialer's own
 * validation (`@app/dialing`) place a campaign call that needs it, and withdrawing it stops that
 * again; who recorded and withdrew it, the audit rows, roles, and refused input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PrismaDialingDirectory, validateCallRequest } from '@app/dialing';

import { consentsApiRoutes } from '../src/routes/consents-api.js';
import { adminApiFixture, type AdminApiFixture } from './admin-api-fixture.js';

let f: AdminApiFixture;

beforeAll(async () => {
  f = await adminApiFixture([consentsApiRoutes]);
});

afterAll(async () => {
  await f?.close();
});

type Consent = {
  id: string;
  phone: string;
  purpose: string;
  method: string;
  grantedAt: string;
  revokedAt: string | null;
  callId: string | null;
  recordedBy: string;
  revokedBy: string | null;
};
type Page = { items: Consent[]; nextCursor: string | null };

describe('consents API', { timeout: 30_000 }, () => {
  it('records a consent the dialer then honours, until it is withdrawn', async () => {
    const agent = await f.prisma.agent.create({ data: { name: 'Sales', instructions: 'x' } });
    await f.prisma.phoneNumber.create({ data: { e164: '+14155550160', agentId: agent.id } });
    const campaign = await f.prisma.campaign.create({
      data: { name: 'Spring', agentId: agent.id, consentPurpose: 'marketing' },
    });
    const directory = new PrismaDialingDirectory(f.prisma);
    const request = (key: string) =>
      validateCallRequest(
        { to: '+14155550161', agentId: agent.id, campaignId: campaign.id, idempotencyKey: key },
        directory,
      );
    const before = await request('before');
    expect(before.ok ? [] : before.issues).toContainEqual(
      expect.objectContaining({ code: 'consent_missing' }),
    );

    const created = await f.call('POST', '/v1/consents', {
      phone: '+1 (415) 555-0161',
      purpose: 'marketing',
      method: 'web',
    });
    expect(created.statusCode).toBe(201);
    const consent = created.json<Consent>();
    expect(consent).toMatchObject({
      phone: '+14155550161',
      purpose: 'marketing',
      method: 'web',
      revokedAt: null,
      callId: null,
      revokedBy: null,
    });
    // The actor is the API key that recorded it, never something the body says.
    expect(consent.recordedBy).toMatch(/^api-key:/);
    expect((await request('given')).ok).toBe(true);

    const listed = await f.call('GET', '/v1/consents?phone=+14155550161', undefined, 'viewer');
    expect(listed.statusCode).toBe(200);
    expect(listed.json<Page>().items).toEqual([consent]);

    const withdrawn = await f.call('POST', '/v1/consents/withdraw', {
      phone: '+14155550161',
      purpose: 'marketing',
    });
    expect(withdrawn.statusCode).toBe(200);
    const [revoked] = withdrawn.json<{ withdrawn: Consent[] }>().withdrawn;
    expect(revoked).toMatchObject({ id: consent.id, revokedBy: consent.recordedBy });
    expect(revoked?.revokedAt).not.toBeNull();
    const after = await request('withdrawn');
    expect(after.ok ? [] : after.issues).toContainEqual(
      expect.objectContaining({ code: 'consent_missing' }),
    );

    // Withdrawing again: nothing in force, nothing written.
    const again = await f.call('POST', '/v1/consents/withdraw', {
      phone: '+14155550161',
      purpose: 'marketing',
    });
    expect(again.json()).toEqual({ withdrawn: [] });

    // The row stays, as history.
    const history = await f.call('GET', '/v1/consents?phone=%2B14155550161&inForce=false');
    expect(history.json<Page>().items.map((c) => c.id)).toEqual([consent.id]);
    const inForce = await f.call('GET', '/v1/consents?phone=%2B14155550161&inForce=true');
    expect(inForce.json<Page>().items).toEqual([]);

    const audit = await f.prisma.auditLog.findMany({
      where: { resourceType: 'consent_record', resourceId: consent.id },
      orderBy: { at: 'asc' },
    });
    expect(audit.map((a) => a.action)).toEqual(['consent.create', 'consent.withdraw']);
    expect(audit[1]).toMatchObject({ before: { revokedAt: null }, actor: consent.recordedBy });
  });

  it('withdraws every record of the number and purpose in force, not other purposes', async () => {
    const phone = '+14155550170';
    for (const purpose of ['recording', 'recording', 'ai-call']) {
      const r = await f.call('POST', '/v1/consents', { phone, purpose, method: 'import' });
      expect(r.statusCode).toBe(201);
    }
    const withdrawn = await f.call('POST', '/v1/consents/withdraw', {
      phone,
      purpose: 'recording',
    });
    expect(withdrawn.json<{ withdrawn: Consent[] }>().withdrawn).toHaveLength(2);
    const left = await f.call(
      'GET',
      `/v1/consents?phone=${encodeURIComponent(phone)}&inForce=true`,
    );
    expect(left.json<Page>().items.map((c) => c.purpose)).toEqual(['ai-call']);
  });

  it('links a consent to its call, and refuses a call that does not exist', async () => {
    const call = await f.prisma.call.create({
      data: { direction: 'inbound', fromNumber: '+14155550180', toNumber: '+14155550181' },
    });
    const linked = await f.call('POST', '/v1/consents', {
      phone: '+14155550180',
      purpose: 'recording',
      method: 'voice',
      callId: call.id,
      grantedAt: '2026-11-01T10:00:00Z',
    });
    expect(linked.statusCode).toBe(201);
    expect(linked.json()).toMatchObject({
      callId: call.id,
      grantedAt: '2026-11-01T10:00:00.000Z',
    });
    const unknown = await f.call('POST', '/v1/consents', {
      phone: '+14155550180',
      purpose: 'recording',
      method: 'voice',
      callId: crypto.randomUUID(),
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ issues: [{ field: 'callId', code: 'unknown_call' }] });
  });

  it('refuses bad input with every issue named, and stores nothing', async () => {
    const count = await f.prisma.consentRecord.count();
    const bad = await f.call('POST', '/v1/consents', {
      phone: '415 555 0100',
      purpose: 'Marketing Calls',
      method: 'telepathy',
      grantedAt: '2999-01-01T00:00:00Z',
      recordedBy: 'someone-else',
    });
    expect(bad.statusCode).toBe(400);
    const fields = bad.json<{ issues: Array<{ field: string }> }>().issues.map((i) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['phone', 'purpose', 'method', 'grantedAt']));
    expect(await f.prisma.consentRecord.count()).toBe(count);
    const query = await f.call('GET', '/v1/consents?phone=abc');
    expect(query.statusCode).toBe(400);
    const cursor = await f.call('GET', '/v1/consents?cursor=nonsense');
    expect(cursor.statusCode).toBe(400);
  });

  it('lets viewers read but not write, and strangers do neither', async () => {
    const body = { phone: '+14155550190', purpose: 'recording', method: 'api' };
    expect((await f.call('POST', '/v1/consents', body, 'viewer')).statusCode).toBe(403);
    expect((await f.call('POST', '/v1/consents/withdraw', body, 'viewer')).statusCode).toBe(403);
    expect((await f.call('GET', '/v1/consents', undefined, null)).statusCode).toBe(401);
    expect((await f.call('POST', '/v1/consents', body, 'admin')).statusCode).toBe(201);
  });

  it('pages newest first', async () => {
    const phone = '+14155550195';
    for (let i = 0; i < 3; i += 1) {
      await f.call('POST', '/v1/consents', {
        phone,
        purpose: 'recording',
        method: 'import',
        grantedAt: `2026-10-0${i + 1}T00:00:00Z`,
      });
    }
    const q = `/v1/consents?phone=${encodeURIComponent(phone)}&limit=2`;
    const first = (await f.call('GET', q)).json<Page>();
    expect(first.items.map((c) => c.grantedAt.slice(0, 10))).toEqual(['2026-10-03', '2026-10-02']);
    const second = (await f.call('GET', `${q}&cursor=${first.nextCursor ?? ''}`)).json<Page>();
    expect(second.items.map((c) => c.grantedAt.slice(0, 10))).toEqual(['2026-10-01']);
    expect(second.nextCursor).toBeNull();
  });
});
