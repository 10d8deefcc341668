/**
 * The campaign store's batched claim against real PostgreSQL, at chosen instants (no runner, no
 * clock races): one contact per due pacing slot in one transaction, no more than the cap leaves
 * room for, the catch-up bound after a wait, and concurrent claimers never over the cap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';

import { CampaignStore } from '../../src/adapters/campaign-store.js';
import { CATCH_UP_MS } from '../../src/domain/campaign-pacing.js';

let db: TestDatabase;
let prisma: PrismaClient;
let store: CampaignStore;
let agentId: string;
let block = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl });
  store = new CampaignStore(prisma);
  agentId = (await prisma.agent.create({ data: { name: 'claims', instructions: 'Hi.' } })).id;
});
afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
});

/** A running campaign at 1 200 calls a minute (a slot every 50 ms) whose slot was `slotAt`. */
async function campaign(o: {
  contacts: number;
  cap: number;
  slotAt: Date;
  dialing?: number;
}): Promise<string> {
  block += 1;
  const c = await prisma.campaign.create({
    data: {
      name: `claims ${block}`,
      agentId,
      fromNumbers: ['+15555550100', '+15555550101'],
      callsPerMinute: 1_200,
      maxConcurrentCalls: o.cap,
      status: 'running',
      nextCallAt: o.slotAt,
    },
  });
  await prisma.campaignContact.createMany({
    data: Array.from({ length: o.contacts }, (_, i) => ({
      campaignId: c.id,
      phone: `+1555${String(block).padStart(4, '0')}${String(i).padStart(3, '0')}`,
      status: i < (o.dialing ?? 0) ? ('dialing' as const) : ('pending' as const),
    })),
  });
  return c.id;
}

const dialing = (campaignId: string) =>
  prisma.campaignContact.count({ where: { campaignId, status: 'dialing' } });

describe('campaign-scheduler - batched campaign claims', { timeout: 30_000 }, () => {
  it('claims one contact per due slot in one batch and moves the slot by as many', async () => {
    const now = new Date();
    const id = await campaign({ contacts: 20, cap: 10, slotAt: new Date(now.getTime() - 180) });
    const claim = await store.claimDue(id, now);
    // Slots at -180, -130, -80, -30 ms: four due.
    expect(claim.kind).toBe('claimed');
    if (claim.kind !== 'claimed') return;
    expect(claim.contacts).toHaveLength(4);
    expect(new Set(claim.contacts.map((c) => c.contactId)).size).toBe(4);
    expect(claim.nextCallAt.getTime()).toBe(now.getTime() - 180 + 4 * 50);
    // The pool in rotation from the campaign's count of started calls.
    expect(claim.contacts.map((c) => c.from)).toEqual([
      '+15555550100',
      '+15555550101',
      '+15555550100',
      '+15555550101',
    ]);
    expect(await dialing(id)).toBe(4);
    const row = await prisma.campaign.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({ callsStarted: 4, nextCallAt: claim.nextCallAt });
    // The next slot is 20 ms ahead: nothing more now.
    expect(await store.claimDue(id, now)).toMatchObject({ kind: 'paced' });
  });

  it('claims no more than the cap leaves room for, and nothing once it is full', async () => {
    const now = new Date();
    const id = await campaign({
      contacts: 20,
      cap: 5,
      dialing: 3,
      slotAt: new Date(now.getTime() - 400),
    });
    const claim = await store.claimDue(id, now);
    expect(claim).toMatchObject({ kind: 'claimed' });
    if (claim.kind !== 'claimed') return;
    expect(claim.contacts).toHaveLength(2);
    // The slot moved by the two claimed only: the rest are due when a place frees.
    expect(claim.nextCallAt.getTime()).toBe(now.getTime() - 400 + 2 * 50);
    expect(await store.claimDue(id, now)).toEqual({ kind: 'at-capacity' });
    expect(await dialing(id)).toBe(5);
  });

  it('catches up at most CATCH_UP_MS of slots after a long wait', async () => {
    const now = new Date();
    const id = await campaign({
      contacts: 100,
      cap: 100,
      slotAt: new Date(now.getTime() - 60_000),
    });
    const claim = await store.claimDue(id, now);
    if (claim.kind !== 'claimed') throw new Error(`expected a claim, got ${claim.kind}`);
    expect(claim.contacts).toHaveLength(CATCH_UP_MS / 50 + 1);
  });

  it('never fills more places than the cap, with claimers racing as places free', async () => {
    const now = new Date();
    const id = await campaign({ contacts: 400, cap: 6, slotAt: new Date(now.getTime() - 60_000) });
    // Eight claimers (as replicas), started a few ms apart so that some reach the lock right
    // after another committed; between rounds, two calls end (their places free).
    const claimers = Array.from({ length: 8 }, () => new CampaignStore(prisma));
    let most = 0;
    for (let round = 0; round < 40; round++) {
      const results = await Promise.all(
        claimers.map(async (s, k) => {
          await new Promise((r) => setTimeout(r, k % 4));
          return s.claimDue(id, new Date(Date.now() + round * 1_000));
        }),
      );
      const claimed = results.flatMap((r) => (r.kind === 'claimed' ? r.contacts : []));
      expect(new Set(claimed.map((c) => c.contactId)).size).toBe(claimed.length);
      const live = await dialing(id);
      most = Math.max(most, live);
      expect(live).toBeLessThanOrEqual(6);
      const ending = await prisma.campaignContact.findMany({
        where: { campaignId: id, status: 'dialing' },
        take: 2,
      });
      await prisma.campaignContact.updateMany({
        where: { id: { in: ending.map((c) => c.id) } },
        data: { status: 'completed' },
      });
    }
    expect(most).toBe(6);
  });
});
