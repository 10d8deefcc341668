/**
 * `disclosureRecorder` against real PostgreSQL: the consent-by-notice row goes to the other
 * party (caller inbound, callee outbound), never to our number; a withheld number or a call that
 * never appears records nothing.
 */
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';

import { disclosureRecorder } from '../../src/adapters/disclosure-record.js';

const OURS = '+15555550100';
let db: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 2 });
});

afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
});

const call = (direction: 'inbound' | 'outbound', other: string) =>
  prisma.call.create({
    data: {
      direction,
      fromNumber: direction === 'inbound' ? other : OURS,
      toNumber: direction === 'inbound' ? OURS : other,
    },
  });

describe('disclosure record', { timeout: 30_000 }, () => {
  it.each([
    ['inbound', '+14155550101'],
    ['outbound', '+14155550102'],
  ] as const)('records the other party of an %s call', async (direction, other) => {
    const { id } = await call(direction, other);
    const result = await disclosureRecorder(prisma)(id);
    expect(result.recorded).toBe(true);
    const rows = await prisma.consentRecord.findMany({ where: { callId: id } });
    expect(rows).toEqual([
      expect.objectContaining({
        phone: other,
        purpose: 'ai-call',
        method: 'voice',
        recordedBy: 'system:call-bridge',
        revokedAt: null,
      }),
    ]);
  });

  it('records nothing for a withheld number or a call that never appears', async () => {
    const { id } = await call('inbound', 'anonymous');
    expect(await disclosureRecorder(prisma)(id)).toEqual({ recorded: false, reason: 'no_number' });
    const missing = randomUUID();
    const record = disclosureRecorder(prisma, { attempts: 2, retryDelayMs: 10 });
    expect(await record(missing)).toEqual({ recorded: false, reason: 'no_call' });
    expect(await prisma.consentRecord.count({ where: { callId: { in: [id, missing] } } })).toBe(0);
  });
});
