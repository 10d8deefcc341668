import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CampaignStore } from '../../src/adapters/campaign-store.js';
import {
  callsOf,
  contactsByStatus,
  createCampaign,
  startReplica,
  waitForCampaign,
} from './campaign-harness.js';
import { startHarness, waitFor, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Contacts that left `pending` (claimed at least once). */
async function started(campaignId: string): Promise<number> {
  return h.prisma.campaignContact.count({ where: { campaignId, status: { not: 'pending' } } });
}

describe('campaign-scheduler - campaign control and restarts', { timeout: 45_000 }, () => {
  it('starts nothing while paused, lets calls in flight finish, and goes on when resumed', async () => {
    const id = await createCampaign(h, { block: 4, contacts: 30, callsPerMinute: 600 });
    const replica = await startReplica(h, 'runner-pause');
    try {
      await waitFor(async () => ((await started(id)) >= 8 ? true : undefined));
      await h.prisma.campaign.update({ where: { id }, data: { status: 'paused' } });
      // The calls in flight settle; nothing new starts.
      await waitFor(async () => {
        const by = await contactsByStatus(h, id);
        return by.dialing === undefined ? by : undefined;
      });
      const atPause = await started(id);
      const callsAtPause = (await callsOf(h, 4)).length;
      expect(atPause).toBeLessThan(30);
      await sleep(600);
      expect(await started(id)).toBe(atPause);
      expect((await callsOf(h, 4)).length).toBe(callsAtPause);
      expect(callsAtPause).toBe(atPause);

      await h.prisma.campaign.update({ where: { id }, data: { status: 'running' } });
      await waitForCampaign(h, id, 'completed', 20_000);
    } finally {
      await replica.stop();
    }
    expect(await contactsByStatus(h, id)).toEqual({ completed: 30 });
    const calls = await callsOf(h, 4);
    expect(calls).toHaveLength(30);
    expect(new Set(calls.map((c) => c.to)).size).toBe(30);
  });

  it('starts nothing once canceled; the contacts not called stay as they were', async () => {
    const id = await createCampaign(h, { block: 5, contacts: 30, callsPerMinute: 600 });
    const replica = await startReplica(h, 'runner-cancel');
    try {
      await waitFor(async () => ((await started(id)) >= 5 ? true : undefined));
      await h.prisma.campaign.update({ where: { id }, data: { status: 'canceled' } });
      await waitFor(async () => {
        const by = await contactsByStatus(h, id);
        return by.dialing === undefined ? by : undefined;
      });
      const atCancel = await started(id);
      await sleep(600);
      expect(await started(id)).toBe(atCancel);
      expect((await callsOf(h, 5)).length).toBe(atCancel);
      const by = await contactsByStatus(h, id);
      expect(by.pending).toBe(30 - atCancel);
      expect((await h.prisma.campaign.findUniqueOrThrow({ where: { id } })).status).toBe(
        'canceled',
      );
    } finally {
      await replica.stop();
    }
  });

  it('loses no contact and calls none twice when the scheduler dies mid-campaign', async () => {
    const contacts = 60;
    const id = await createCampaign(h, {
      block: 6,
      contacts,
      callsPerMinute: 1_200,
      maxConcurrentCalls: 8,
    });
    // Two replicas run it together; one is stopped in the middle.
    const first = await startReplica(h, 'runner-a');
    const second = await startReplica(h, 'runner-b');
    await waitFor(async () => ((await started(id)) >= 15 ? true : undefined));
    await first.stop();
    // A runner that died between its claim and its publish leaves `dialing` contacts with no
    // call request: the survivor publishes them again after CAMPAIGN_REPUBLISH_AFTER_MS.
    const dead = new CampaignStore(h.prisma);
    const orphans = [];
    for (let i = 0; i < 2; i++) {
      const claim = await waitFor(async () => {
        const c = await dead.claimDue(id);
        return c.kind === 'claimed' ? c : undefined;
      });
      orphans.push(...claim.contacts.map((c) => c.phone));
    }
    await waitFor(async () => ((await started(id)) >= 40 ? true : undefined), 20_000);
    await second.stop();
    // A fresh scheduler takes over what is left.
    const third = await startReplica(h, 'runner-c');
    try {
      await waitForCampaign(h, id, 'completed', 30_000);
    } finally {
      await third.stop();
    }
    const calls = await callsOf(h, 6);
    const perNumber = new Map<string, number>();
    for (const c of calls) perNumber.set(c.to, (perNumber.get(c.to) ?? 0) + 1);
    expect(perNumber.size).toBe(contacts);
    expect([...perNumber.values()].every((n) => n === 1)).toBe(true);
    for (const phone of orphans) expect(perNumber.get(phone)).toBe(1);
    expect(await contactsByStatus(h, id)).toEqual({ completed: contacts });
  });
});
