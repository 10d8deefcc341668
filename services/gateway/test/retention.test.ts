/**
 * The retention job against real PostgreSQL, with rows of known ages either side of each
 * policy: exactly what is past its age is deleted or masked, nothing younger, a second run
 * finds nothing, and every run is audited as `system:retention`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';

import {
  RETENTION_ACTOR,
  retentionEnvSchema,
  runRetention,
  type RetentionPolicies,
} from '../src/adapters/retention.js';
import { maskPhoneNumbers } from '../src/domain/phone-mask.js';
import { runRetentionCommand } from '../src/retention-command.js';

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

const NOW = new Date('2026-12-01T00:00:00.000Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000);
const POLICIES: RetentionPolicies = { transcriptDays: 90, callEventDays: 30, phoneNumberDays: 180 };
const OURS = '+14155550100';

/** A call `age` days old with two transcript turns, two events, a tool call and a handoff. */
async function callAged(
  age: number,
  direction: 'inbound' | 'outbound',
  other: string,
): Promise<string> {
  const at = daysAgo(age);
  const call = await prisma.call.create({
    data: {
      direction,
      fromNumber: direction === 'inbound' ? other : OURS,
      toNumber: direction === 'inbound' ? OURS : other,
      status: 'completed',
      createdAt: at,
      variables: { name: 'Ada' },
    },
  });
  const id = call.id;
  for (const [i, type] of ['created', 'ended'].entries()) {
    await prisma.callEvent.create({
      data: { eventId: `${id}-e${i}`, callId: id, type, ts: at, data: { from: other } },
    });
    await prisma.transcriptTurn.create({
      data: {
        callId: id,
        role: 'user',
        text: `turn ${i}`,
        sequence: i,
        sourceEventId: `${id}-t${i}`,
      },
    });
  }
  await prisma.toolInvocation.create({
    data: { invocationId: `${id}-tool`, callId: id, name: 'lookup', args: { phone: other } },
  });
  await prisma.handoff.create({
    data: { callId: id, reason: 'billing', trigger: 'agent_tool', summary: 'wants a refund' },
  });
  return id;
}

async function callState(id: string) {
  const call = await prisma.call.findUniqueOrThrow({
    where: { id },
    include: { _count: { select: { events: true, transcriptTurns: true, toolInvocations: true } } },
  });
  const handoff = await prisma.handoff.findFirstOrThrow({ where: { callId: id } });
  return {
    from: call.fromNumber,
    to: call.toNumber,
    variables: call.variables,
    events: call._count.events,
    turns: call._count.transcriptTurns,
    tools: call._count.toolInvocations,
    summary: handoff.summary,
  };
}

describe('retention job', { timeout: 60_000 }, () => {
  it('removes and masks exactly what is past each policy, in batches, and audits each run', async () => {
    const calls = {
      // Past every policy: content and events gone, the caller's number masked.
      d400: await callAged(400, 'inbound', '+442071838750'),
      // An outbound call as old: the callee is masked, our own number stays.
      d400out: await callAged(400, 'outbound', '+14155550199'),
      // A caller without a number (Twilio's `anonymous`): redacted, not masked.
      d200anon: await callAged(200, 'inbound', 'anonymous'),
      // Past transcripts (90) and events (30), not phone numbers (180).
      d120: await callAged(120, 'inbound', '+14155550111'),
      // Past events only.
      d60: await callAged(60, 'inbound', '+14155550122'),
      // Younger than every policy.
      d10: await callAged(10, 'inbound', '+14155550133'),
    };
    const request = (key: string, to: string, finishedAt: Date | null) =>
      prisma.callRequest.create({
        data: {
          idempotencyKey: key,
          origin: 'api',
          toNumber: to,
          status: finishedAt ? 'completed' : 'pending',
          finishedAt,
          variables: { name: 'Ada' },
          metadata: { crm: 'x' },
        },
      });
    const oldRequest = await request('old', '+14155550144', daysAgo(200));
    const rejected = await request('rejected', '415 555 0144', daysAgo(365));
    const recent = await request('recent', '+14155550155', daysAgo(100));
    const pending = await request('pending', '+14155550166', null);

    const report = await runRetention(prisma, { policies: POLICIES, batchSize: 3, now: NOW });

    const gone = { events: 0, turns: 0, tools: 0, summary: null };
    expect(await callState(calls.d400)).toEqual({
      from: '+44***50',
      to: OURS,
      variables: null,
      ...gone,
    });
    expect(await callState(calls.d400out)).toEqual({
      from: OURS,
      to: '+14***99',
      variables: null,
      ...gone,
    });
    expect(await callState(calls.d200anon)).toMatchObject({ from: 'redacted', to: OURS });
    expect(await callState(calls.d120)).toEqual({
      from: '+14155550111',
      to: OURS,
      variables: { name: 'Ada' },
      ...gone,
    });
    expect(await callState(calls.d60)).toEqual({
      from: '+14155550122',
      to: OURS,
      variables: { name: 'Ada' },
      events: 0,
      turns: 2,
      tools: 1,
      summary: 'wants a refund',
    });
    expect(await callState(calls.d10)).toEqual({
      from: '+14155550133',
      to: OURS,
      variables: { name: 'Ada' },
      events: 2,
      turns: 2,
      tools: 1,
      summary: 'wants a refund',
    });

    const requestOf = (id: string) => prisma.callRequest.findUniqueOrThrow({ where: { id } });
    expect(await requestOf(oldRequest.id)).toMatchObject({
      toNumber: '+14***44',
      variables: {},
      metadata: {},
    });
    expect((await requestOf(rejected.id)).toNumber).toBe('redacted');
    expect(await requestOf(recent.id)).toMatchObject({
      toNumber: '+14155550155',
      variables: { name: 'Ada' },
    });
    expect((await requestOf(pending.id)).toNumber).toBe('+14155550166');

    // 4 calls past 90 days (2 turns each), 5 past 30 days (2 events each), 3 past 180 days.
    expect(report.counts).toEqual({
      transcriptTurnsDeleted: 8,
      toolInvocationsDeleted: 4,
      handoffSummariesCleared: 4,
      callEventsDeleted: 10,
      callNumbersMasked: 3,
      callRequestNumbersMasked: 2,
    });
    expect(report.cutoffs).toEqual({
      transcriptDays: daysAgo(90).toISOString(),
      callEventDays: daysAgo(30).toISOString(),
      phoneNumberDays: daysAgo(180).toISOString(),
    });

    // Nothing is left past its age: the next run changes nothing.
    const again = await runRetention(prisma, { policies: POLICIES, batchSize: 3, now: NOW });
    expect(Object.values(again.counts)).toEqual([0, 0, 0, 0, 0, 0]);

    const audit = await prisma.auditLog.findMany({
      where: { actor: RETENTION_ACTOR },
      orderBy: { at: 'asc' },
    });
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({
      action: 'retention.run',
      resourceType: 'retention',
      resourceId: null,
      before: null,
      after: { policies: POLICIES, counts: report.counts, at: NOW.toISOString() },
    });
  });

  it('masks with the SQL function exactly as the gateway masks in TypeScript', async () => {
    const samples = [
      '+14155550100',
      '+442071838750',
      '+4930123',
      '+123456789012345',
      '+1234567890123456',
      '+14***00',
      'anonymous',
      'call +14155550100 or +33612345678, not +0123456789',
    ];
    for (const sample of samples) {
      const [row] = await prisma.$queryRaw<Array<{ masked: string }>>`
        SELECT mask_phone_numbers(${sample}) AS masked`;
      expect(row?.masked, sample).toBe(maskPhoneNumbers(sample));
    }
    expect(maskPhoneNumbers('+14155550100')).toBe('+14***00');
    expect(maskPhoneNumbers('+1234567890123456')).toBe('+1234567890123456');
  });

  it('keeps data forever under a policy of 0 days', async () => {
    const id = await callAged(3_000, 'inbound', '+14155550177');
    const report = await runRetention(prisma, {
      policies: { transcriptDays: 0, callEventDays: 0, phoneNumberDays: 0 },
      now: NOW,
    });
    expect(report.cutoffs).toEqual({
      transcriptDays: null,
      callEventDays: null,
      phoneNumberDays: null,
    });
    expect(await callState(id)).toMatchObject({ from: '+14155550177', events: 2, turns: 2 });
  });

  it('reads its policies from the environment, with defaults, and refuses a bad one', async () => {
    const env = retentionEnvSchema.parse({ DATABASE_URL: 'postgresql://x/y' });
    expect(env).toMatchObject({
      RETENTION_TRANSCRIPT_DAYS: 90,
      RETENTION_CALL_EVENT_DAYS: 30,
      RETENTION_PHONE_NUMBER_DAYS: 180,
      RETENTION_BATCH_SIZE: 1000,
    });
    const bad = (over: Record<string, string>) =>
      retentionEnvSchema.safeParse({ DATABASE_URL: 'postgresql://x/y', ...over }).success;
    expect(bad({ RETENTION_TRANSCRIPT_DAYS: '-1' })).toBe(false);
    expect(bad({ RETENTION_BATCH_SIZE: 'lots' })).toBe(false);
    // Events hold the numbers: kept longer than the numbers would defeat the numbers' policy.
    expect(bad({ RETENTION_CALL_EVENT_DAYS: '200' })).toBe(false);
    expect(bad({ RETENTION_CALL_EVENT_DAYS: '0' })).toBe(false);
    expect(bad({ RETENTION_CALL_EVENT_DAYS: '0', RETENTION_PHONE_NUMBER_DAYS: '0' })).toBe(true);

    const lines: string[] = [];
    expect(
      await runRetentionCommand({ RETENTION_CALL_EVENT_DAYS: '9' }, (l) => lines.push(l)),
    ).toBe(2);
    expect(lines.join('\n')).toMatch(/DATABASE_URL/);
  });

  it('runs as a command against DATABASE_URL and prints its report', async () => {
    const lines: string[] = [];
    const code = await runRetentionCommand({ DATABASE_URL: db.databaseUrl }, (l) => lines.push(l));
    expect(code).toBe(0);
    const report = JSON.parse(lines.at(-1) ?? '{}') as { policies: RetentionPolicies };
    expect(report.policies).toEqual({
      transcriptDays: 90,
      callEventDays: 30,
      phoneNumberDays: 180,
    });
  });
});
