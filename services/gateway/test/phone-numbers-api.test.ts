/**
 * `/v1/phone-numbers` against real PostgreSQL: CRUD with roles, numbers normalised as the dialer
 * reads them (a number added here is the caller id `@app/dialing` finds), validation naming each
 * field, unknown agents, duplicates, numbers campaigns still call from, filters, cursor
 * pagination, and the audit rows of writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PrismaDialingDirectory } from '@app/dialing';

import { phoneNumbersApiRoutes } from '../src/routes/phone-numbers-api.js';
import { adminApiFixture, fieldsOf, walkPages, type AdminApiFixture } from './admin-api-fixture.js';

let f: AdminApiFixture;
let agentA: string;
let agentB: string;

beforeAll(async () => {
  f = await adminApiFixture([phoneNumbersApiRoutes]);
  agentA = (await f.prisma.agent.create({ data: { name: 'A', instructions: 'x' } })).id;
  agentB = (await f.prisma.agent.create({ data: { name: 'B', instructions: 'x' } })).id;
});

afterAll(async () => {
  await f?.close();
});

type NumberView = {
  id: string;
  e164: string;
  transport: string;
  agentId: string;
  agentName: string;
  pool: string | null;
};
type Page = { items: NumberView[]; nextCursor: string | null };

async function addNumber(e164: string, agentId: string, extra: Record<string, unknown> = {}) {
  const res = await f.call('POST', '/v1/phone-numbers', { e164, agentId, ...extra });
  expect(res.statusCode).toBe(201);
  return res.json<NumberView>();
}

describe('phone numbers API', { timeout: 30_000 }, () => {
  it('adds, reads, re-routes and removes a number, with an audit row per write', async () => {
    const created = await f.call('POST', '/v1/phone-numbers', {
      e164: '+1 (415) 555-0100',
      agentId: agentA,
    });
    expect(created.statusCode).toBe(201);
    const number = created.json<NumberView>();
    expect(number).toMatchObject({
      e164: '+14155550100',
      transport: 'media_streams',
      agentId: agentA,
      agentName: 'A',
      pool: null,
    });
    // The dialer finds it as one of our numbers, by the E.164 it normalises a `from` to.
    const directory = new PrismaDialingDirectory(f.prisma);
    expect(await directory.ourNumber('+14155550100')).toEqual({
      e164: '+14155550100',
      transport: 'media-streams',
    });

    const read = await f.call('GET', `/v1/phone-numbers/${number.id}`, undefined, 'viewer');
    expect(read.json()).toEqual(number);

    const patched = await f.call('PATCH', `/v1/phone-numbers/${number.id}`, {
      agentId: agentB,
      transport: 'sip',
      pool: 'us-west',
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ agentId: agentB, agentName: 'B', transport: 'sip' });
    expect((await directory.poolNumbers('us-west')).map((n) => n.e164)).toEqual(['+14155550100']);

    const unpooled = await f.call('PATCH', `/v1/phone-numbers/${number.id}`, { pool: null });
    expect(unpooled.json<NumberView>().pool).toBeNull();

    expect((await f.call('DELETE', `/v1/phone-numbers/${number.id}`)).statusCode).toBe(204);
    expect((await f.call('GET', `/v1/phone-numbers/${number.id}`)).statusCode).toBe(404);
    expect(await directory.ourNumber('+14155550100')).toBeNull();

    const audit = await f.prisma.auditLog.findMany({
      where: { resourceType: 'phone_number', resourceId: number.id },
      orderBy: { at: 'asc' },
    });
    expect(audit.map((a) => a.action)).toEqual([
      'phone_number.create',
      'phone_number.update',
      'phone_number.update',
      'phone_number.delete',
    ]);
    expect(audit[1]).toMatchObject({
      before: { agentId: agentA, transport: 'media_streams' },
      after: { agentId: agentB, transport: 'sip', pool: 'us-west' },
    });
    // Audit rows hold masked numbers only (a trigger masks them on insert: issue 10 erasure).
    expect(audit[3]).toMatchObject({ before: { e164: '+14***00' }, after: null });
  });

  it('refuses bad fields by name, unknown agents, and a number listed twice', async () => {
    const bad = await f.call('POST', '/v1/phone-numbers', {
      e164: '(415) 555-0100',
      transport: 'carrier-pigeon',
      agentId: 'agent-1',
      pool: 'us east',
      label: 'main',
    });
    expect(bad.statusCode).toBe(400);
    expect(fieldsOf(bad)).toEqual(
      expect.arrayContaining(['e164', 'transport', 'agentId', 'pool', 'label']),
    );
    expect(bad.json<{ issues: Array<{ field: string; message: string }> }>().issues[0]).toEqual(
      expect.objectContaining({ field: 'e164', message: expect.stringContaining('international') }),
    );
    expect(fieldsOf(await f.call('POST', '/v1/phone-numbers', {}))).toEqual(
      expect.arrayContaining(['e164', 'agentId']),
    );

    const unknown = await f.call('POST', '/v1/phone-numbers', {
      e164: '+14155550101',
      agentId: crypto.randomUUID(),
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ issues: [{ field: 'agentId', code: 'unknown_agent' }] });

    const number = await addNumber('+14155550102', agentA);
    const twice = await f.call('POST', '/v1/phone-numbers', {
      e164: '+1 415 555 0102',
      agentId: agentB,
    });
    expect(twice.statusCode).toBe(409);
    const other = await addNumber('+14155550103', agentA);
    const renumber = await f.call('PATCH', `/v1/phone-numbers/${other.id}`, {
      e164: number.e164,
    });
    expect(renumber.statusCode).toBe(409);
    const reroute = await f.call('PATCH', `/v1/phone-numbers/${other.id}`, {
      agentId: crypto.randomUUID(),
    });
    expect(reroute.json()).toMatchObject({ issues: [{ field: 'agentId', code: 'unknown_agent' }] });

    const missing = crypto.randomUUID();
    expect((await f.call('GET', `/v1/phone-numbers/${missing}`)).statusCode).toBe(404);
    expect((await f.call('PATCH', `/v1/phone-numbers/${missing}`, { pool: null })).statusCode).toBe(
      404,
    );
    expect((await f.call('DELETE', `/v1/phone-numbers/${missing}`)).statusCode).toBe(404);
    expect(fieldsOf(await f.call('GET', '/v1/phone-numbers?agentId=x&pool=a%20b'))).toEqual([
      'agentId',
      'pool',
    ]);
  });

  it('keeps a number a live campaign calls from', async () => {
    const number = await addNumber('+14155550104', agentA);
    const campaign = await f.prisma.campaign.create({
      data: { name: 'Autumn', agentId: agentA, fromNumbers: [number.e164], status: 'paused' },
    });
    const refused = await f.call('DELETE', `/v1/phone-numbers/${number.id}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ campaigns: ['Autumn'] });
    const renumber = await f.call('PATCH', `/v1/phone-numbers/${number.id}`, {
      e164: '+14155550105',
    });
    expect(renumber.statusCode).toBe(409);
    // Routing the number to another agent leaves it a caller id: allowed.
    expect(
      (await f.call('PATCH', `/v1/phone-numbers/${number.id}`, { agentId: agentB })).statusCode,
    ).toBe(200);

    await f.prisma.campaign.update({ where: { id: campaign.id }, data: { status: 'completed' } });
    expect((await f.call('DELETE', `/v1/phone-numbers/${number.id}`)).statusCode).toBe(204);
  });

  it('filters by agent and pool, and pages by number with a cursor', async () => {
    const agentC = (await f.prisma.agent.create({ data: { name: 'C', instructions: 'x' } })).id;
    const e164s = ['+442071838754', '+442071838751', '+442071838753', '+442071838752'];
    for (const [i, e164] of e164s.entries()) {
      await addNumber(e164, agentC, { pool: i % 2 === 0 ? 'uk' : null });
    }
    const { items, pages } = await walkPages<NumberView>(
      f,
      `/v1/phone-numbers?agentId=${agentC}&limit=3`,
    );
    expect(pages).toBe(2);
    expect(items.map((n) => n.e164)).toEqual([...e164s].sort());

    const pool = await f.call('GET', `/v1/phone-numbers?pool=uk`);
    expect(pool.json<Page>().items.map((n) => n.e164)).toEqual(['+442071838753', '+442071838754']);
  });

  it('lets any role read, only admin and operator write, nobody without a key', async () => {
    const body = { e164: '+14155550106', agentId: agentA };
    expect((await f.call('GET', '/v1/phone-numbers', undefined, null)).statusCode).toBe(401);
    expect((await f.call('GET', '/v1/phone-numbers', undefined, 'viewer')).statusCode).toBe(200);
    expect((await f.call('POST', '/v1/phone-numbers', body, 'viewer')).statusCode).toBe(403);
    expect((await f.call('POST', '/v1/phone-numbers', body, null)).statusCode).toBe(401);
    const created = await f.call('POST', '/v1/phone-numbers', body, 'admin');
    expect(created.statusCode).toBe(201);
    const id = created.json<NumberView>().id;
    expect(
      (await f.call('PATCH', `/v1/phone-numbers/${id}`, { pool: null }, 'viewer')).statusCode,
    ).toBe(403);
    expect(
      (await f.call('DELETE', `/v1/phone-numbers/${id}`, undefined, 'viewer')).statusCode,
    ).toBe(403);
  });
});
