/**
 * `/v1/do-not-call` against real PostgreSQL: a number listed here is refused by the dialer's own
 * validation (`@app/dialing`), whatever its formatting; POST is idempotent; DELETE takes the
 * URL-encoded number; lookups by `?phone=`, cursor pagination, roles and audit rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PrismaDialingDirectory, validateCallRequest } from '@app/dialing';

import { doNotCallApiRoutes } from '../src/routes/do-not-call-api.js';
import { adminApiFixture, fieldsOf, walkPages, type AdminApiFixture } from './admin-api-fixture.js';

let f: AdminApiFixture;

beforeAll(async () => {
  f = await adminApiFixture([doNotCallApiRoutes]);
});

afterAll(async () => {
  await f?.close();
});

type Entry = {
  id: string;
  phone: string;
  reason: string | null;
  source: string;
  callId: string | null;
};
type Page = { items: Entry[]; nextCursor: string | null };

describe('do-not-call API', { timeout: 30_000 }, () => {
  it('lists a number the dialer then refuses, until it is removed', async () => {
    const agent = await f.prisma.agent.create({ data: { name: 'Outbound', instructions: 'x' } });
    await f.prisma.phoneNumber.create({ data: { e164: '+14155550150', agentId: agent.id } });
    const directory = new PrismaDialingDirectory(f.prisma);
    const request = (key: string) =>
      validateCallRequest(
        // Written differently from the listed number: the dialer normalises before its lookup.
        { to: '+1 415-555-0199', agentId: agent.id, idempotencyKey: key },
        directory,
      );
    expect((await request('before')).ok).toBe(true);

    const created = await f.call('POST', '/v1/do-not-call', {
      phone: '+1 (415) 555-0199',
      reason: 'asked on the phone',
    });
    expect(created.statusCode).toBe(201);
    const entry = created.json<Entry>();
    expect(entry).toMatchObject({
      phone: '+14155550199',
      reason: 'asked on the phone',
      source: 'api',
      callId: null,
    });

    const refused = await request('listed');
    expect(refused.ok).toBe(false);
    expect(refused.ok ? [] : refused.issues).toContainEqual(
      expect.objectContaining({ field: 'to', code: 'do_not_call' }),
    );

    // Listing it again changes nothing and writes nothing.
    const again = await f.call('POST', '/v1/do-not-call', { phone: '+14155550199', reason: 'x' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(entry);

    const found = await f.call('GET', '/v1/do-not-call?phone=%2B1%20415%20555%200199', undefined);
    expect(found.json<Page>().items).toEqual([entry]);
    // A `+` not encoded in the query string (decoded as a space) still means `+`.
    const plain = await f.call('GET', '/v1/do-not-call?phone=+14155550199', undefined, 'viewer');
    expect(plain.json<Page>().items).toEqual([entry]);

    const removed = await f.call('DELETE', `/v1/do-not-call/${encodeURIComponent('+14155550199')}`);
    expect(removed.statusCode).toBe(204);
    expect((await request('removed')).ok).toBe(true);
    const gone = await f.call('DELETE', `/v1/do-not-call/${encodeURIComponent('+14155550199')}`);
    expect(gone.statusCode).toBe(404);

    const audit = await f.prisma.auditLog.findMany({
      where: { resourceType: 'do_not_call_entry', resourceId: entry.id },
      orderBy: { at: 'asc' },
    });
    expect(audit.map((a) => a.action)).toEqual(['do_not_call.create', 'do_not_call.delete']);
    // Audit rows hold masked numbers only (a trigger masks them on insert: issue 10 erasure).
    expect(audit[0]).toMatchObject({ before: null, after: { phone: '+14***99' } });
    expect(audit[1]).toMatchObject({ before: { phone: '+14***99' }, after: null });
    expect(audit[0]?.actor).toMatch(/^api-key:vpk_/);
  });

  it('refuses numbers that are not international, and other bad input, by field', async () => {
    const bad = await f.call('POST', '/v1/do-not-call', { phone: '415 555 0199', source: 'x' });
    expect(bad.statusCode).toBe(400);
    expect(fieldsOf(bad)).toEqual(['phone', 'source']);
    expect(
      fieldsOf(await f.call('POST', '/v1/do-not-call', { phone: '+1415555', reason: '' })),
    ).toEqual(['phone', 'reason']);
    expect(fieldsOf(await f.call('POST', '/v1/do-not-call', {}))).toEqual(['phone']);
    expect(fieldsOf(await f.call('GET', '/v1/do-not-call?phone=12345'))).toEqual(['phone']);
    expect(fieldsOf(await f.call('GET', '/v1/do-not-call?cursor=abc&limit=500'))).toEqual([
      'limit',
    ]);
    expect(fieldsOf(await f.call('GET', '/v1/do-not-call?cursor=abc'))).toEqual(['cursor']);
    expect(fieldsOf(await f.call('DELETE', '/v1/do-not-call/4155550199'))).toEqual(['phone']);
    expect((await f.call('DELETE', '/v1/do-not-call/%2B14155550177')).statusCode).toBe(404);
  });

  it('pages newest first with a cursor', async () => {
    const phones = ['+14155550161', '+14155550162', '+14155550163', '+14155550164'];
    for (const phone of phones) {
      expect((await f.call('POST', '/v1/do-not-call', { phone })).statusCode).toBe(201);
    }
    // Entries made by this test only: the others were removed or never listed.
    const { items, pages } = await walkPages<Entry>(f, '/v1/do-not-call?limit=3');
    const seen = items.map((e) => e.phone);
    expect(pages).toBe(2);
    // Every entry once, newest first (two made in the same millisecond: by id, descending).
    expect([...seen].sort()).toEqual(phones);
    const rows = await f.prisma.doNotCallEntry.findMany({
      where: { phone: { in: phones } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    });
    expect(seen).toEqual(rows.map((r) => r.phone));
  });

  it('lets any role read, only admin and operator write, nobody without a key', async () => {
    const body = { phone: '+14155550170' };
    expect((await f.call('GET', '/v1/do-not-call', undefined, null)).statusCode).toBe(401);
    expect((await f.call('GET', '/v1/do-not-call', undefined, 'viewer')).statusCode).toBe(200);
    expect((await f.call('POST', '/v1/do-not-call', body, 'viewer')).statusCode).toBe(403);
    expect((await f.call('POST', '/v1/do-not-call', body, null)).statusCode).toBe(401);
    expect((await f.call('POST', '/v1/do-not-call', body, 'admin')).statusCode).toBe(201);
    const url = `/v1/do-not-call/${encodeURIComponent(body.phone)}`;
    expect((await f.call('DELETE', url, undefined, 'viewer')).statusCode).toBe(403);
    expect((await f.call('DELETE', url, undefined, null)).statusCode).toBe(401);
    expect((await f.call('DELETE', url, undefined, 'admin')).statusCode).toBe(204);
  });
});
