import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';

import { PrismaDialingDirectory, validateCallRequest } from '../src/index.js';

// Real PostgreSQL, this file's own database (STYLE.md 6.9).
let db: TestDatabase;
let prisma: PrismaClient;
let dir: PrismaDialingDirectory;
let agentId: string;
let sipAgentId: string;
let bareAgentId: string;

const OURS = '+15555550100';
const OURS_SECOND = '+15555550101';
const OURS_SIP = '+15555550199';
const CALLEE = '+14155550123';
const BLOCKED = '+14155550666';

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 2 });
  const agent = (name: string) =>
    prisma.agent.create({ data: { name, instructions: 'Be brief.' }, select: { id: true } });
  agentId = (await agent('dialing-media')).id;
  sipAgentId = (await agent('dialing-sip')).id;
  bareAgentId = (await agent('dialing-bare')).id;
  // Created one by one so `created_at` orders them: the first is the default caller id.
  await prisma.phoneNumber.create({ data: { e164: OURS, agentId } });
  await prisma.phoneNumber.create({ data: { e164: OURS_SECOND, agentId } });
  await prisma.phoneNumber.create({
    data: { e164: OURS_SIP, agentId: sipAgentId, transport: 'sip' },
  });
  await prisma.doNotCallEntry.create({ data: { phone: BLOCKED, source: 'voice' } });
  await prisma.consentRecord.createMany({
    data: [
      { phone: CALLEE, purpose: 'marketing_calls', method: 'web_form' },
      { phone: CALLEE, purpose: 'recording', method: 'verbal', revokedAt: new Date() },
      { phone: BLOCKED, purpose: 'recording', method: 'verbal', revokedAt: new Date() },
      { phone: BLOCKED, purpose: 'recording', method: 'written' },
    ],
  });
  dir = new PrismaDialingDirectory(prisma);
}, 30_000);

afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
});

describe('PrismaDialingDirectory', { timeout: 10_000 }, () => {
  it('dialing - knows which agents exist, and answers false for an id that is not a UUID', async () => {
    expect(await dir.agentExists(agentId)).toBe(true);
    expect(await dir.agentExists('44444444-4444-4444-8444-444444444444')).toBe(false);
    expect(await dir.agentExists('not-a-uuid')).toBe(false);
  });

  it('dialing - lists an agent’s numbers oldest first, with the transport in wire spelling', async () => {
    expect(await dir.numbersOf(agentId)).toEqual([
      { e164: OURS, transport: 'media-streams' },
      { e164: OURS_SECOND, transport: 'media-streams' },
    ]);
    expect(await dir.numbersOf(sipAgentId)).toEqual([{ e164: OURS_SIP, transport: 'sip' }]);
    expect(await dir.numbersOf(bareAgentId)).toEqual([]);
    expect(await dir.numbersOf('not-a-uuid')).toEqual([]);
  });

  it('dialing - finds one of our numbers, and null for any other', async () => {
    expect(await dir.ourNumber(OURS_SIP)).toEqual({ e164: OURS_SIP, transport: 'sip' });
    expect(await dir.ourNumber(CALLEE)).toBeNull();
  });

  it('dialing - reads the do-not-call list', async () => {
    expect(await dir.onDoNotCallList(BLOCKED)).toBe(true);
    expect(await dir.onDoNotCallList(CALLEE)).toBe(false);
  });

  it('dialing - counts only consent records that are not revoked', async () => {
    expect(await dir.hasConsent(CALLEE, 'marketing_calls')).toBe(true);
    expect(await dir.hasConsent(CALLEE, 'recording')).toBe(false);
    expect(await dir.hasConsent(BLOCKED, 'recording')).toBe(true);
    expect(await dir.hasConsent('+14155550999', 'marketing_calls')).toBe(false);
  });

  it('dialing - lists a pool’s numbers oldest first, none for an unknown pool', async () => {
    await prisma.phoneNumber.create({ data: { e164: '+15555550121', agentId, pool: 'east' } });
    await prisma.phoneNumber.create({
      data: { e164: '+15555550122', agentId: sipAgentId, pool: 'east', transport: 'sip' },
    });
    expect(await dir.poolNumbers('east')).toEqual([
      { e164: '+15555550121', transport: 'media-streams' },
      { e164: '+15555550122', transport: 'sip' },
    ]);
    expect(await dir.poolNumbers('west')).toEqual([]);
  });

  it('dialing - reads a campaign’s policies, and its own contact’s maxAttempts only', async () => {
    const campaign = await prisma.campaign.create({
      data: {
        name: 'policies',
        agentId,
        consentPurpose: 'marketing_calls',
        fromPool: 'east',
        retryPolicy: { maxAttempts: 4, retryOn: ['busy'] },
      },
    });
    const other = await prisma.campaign.create({ data: { name: 'other', agentId } });
    const contact = await prisma.campaignContact.create({
      data: { campaignId: campaign.id, phone: CALLEE, maxAttempts: 2 },
    });
    const stranger = await prisma.campaignContact.create({
      data: { campaignId: other.id, phone: CALLEE, maxAttempts: 9 },
    });
    expect(await dir.campaignPolicy(campaign.id, contact.id)).toEqual({
      consentPurpose: 'marketing_calls',
      fromPool: 'east',
      retryPolicy: { maxAttempts: 4, retryOn: ['busy'] },
      contactMaxAttempts: 2,
    });
    expect(await dir.campaignPolicy(campaign.id, stranger.id)).toMatchObject({
      contactMaxAttempts: null,
    });
    expect(await dir.campaignPolicy(other.id)).toEqual({
      consentPurpose: null,
      fromPool: null,
      retryPolicy: {},
      contactMaxAttempts: null,
    });
    expect(await dir.campaignPolicy('44444444-4444-4444-8444-444444444444')).toBeNull();
    expect(await dir.campaignPolicy('nope')).toBeNull();
  });

  it('dialing - validates a request against the database', async () => {
    const now = new Date();
    const valid = await validateCallRequest(
      { to: '+1 415 555 0123', agentId: sipAgentId, idempotencyKey: 'k-1' },
      dir,
      now,
    );
    expect(valid).toMatchObject({
      ok: true,
      request: { to: CALLEE, from: OURS_SIP, transport: 'sip', agentId: sipAgentId },
    });
    const refused = await validateCallRequest(
      {
        to: BLOCKED,
        from: '+14155550999',
        agentId: bareAgentId,
        idempotencyKey: 'k-2',
        requireConsent: 'marketing_calls',
      },
      dir,
      now,
    );
    expect(refused.ok ? [] : refused.issues.map((i) => i.code)).toEqual([
      'do_not_call',
      'consent_missing',
      'from_not_ours',
    ]);
  });
});
