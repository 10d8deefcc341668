import { appendFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { contactRequestKey } from '../../src/adapters/campaign-store.js';
import {
  callsOf,
  collectEvents,
  contactsByStatus,
  createCampaign,
  FROM_POOL,
  maxOverlap,
  num,
  startReplica,
  waitForCampaign,
} from './campaign-harness.js';
import { startHarness, type Harness, type SimCall } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** Starts a second may exceed the pace by: the dialer's path adds a few ms of jitter to each. */
const BURST_SLACK = 4;

/** The most calls created within any `windowMs`. */
function maxInWindow(calls: readonly SimCall[], windowMs: number): number {
  let max = 0;
  let from = 0;
  for (let to = 0; to < calls.length; to++) {
    while (calls[to]!.createdMs - calls[from]!.createdMs >= windowMs) from++;
    max = Math.max(max, to - from + 1);
  }
  return max;
}

describe('campaign-scheduler - campaign runner', { timeout: 45_000 }, () => {
  it('calls every contact once, at the campaign pace and never over its live-call cap', async () => {
    // Two campaigns at once, 600 calls a minute each (one start every 100 ms): the first has
    // room (cap 30), so its pace shows; the second's cap of 3 binds (a call lasts ~0.5 s).
    const callsPerMinute = 600;
    const paced = { block: 1, contacts: 120, cap: 30 };
    const capped = { block: 11, contacts: 24, cap: 3 };
    const ids: string[] = [];
    for (const c of [paced, capped]) {
      ids.push(
        await createCampaign(h, {
          block: c.block,
          contacts: c.contacts,
          callsPerMinute,
          maxConcurrentCalls: c.cap,
          contact: (i) => (i === 0 ? { name: 'Ada' } : {}),
        }),
      );
    }
    const [pacedId, cappedId] = ids as [string, string];
    const liveSamples = new Map<string, number[]>(ids.map((id) => [id, []]));
    const replica = await startReplica(h, 'runner-pace');
    const sampler = setInterval(() => {
      for (const id of ids) {
        void h.prisma.campaignContact
          .count({ where: { campaignId: id, status: 'dialing' } })
          .then((n) => liveSamples.get(id)!.push(n));
      }
    }, 20);
    try {
      for (const id of ids) await waitForCampaign(h, id, 'completed', 40_000);
    } finally {
      clearInterval(sampler);
      await replica.stop();
    }
    const interval = 60_000 / callsPerMinute;
    const report: Record<string, unknown> = {};
    for (const [c, id] of [
      [paced, pacedId],
      [capped, cappedId],
    ] as const) {
      const calls = await callsOf(h, c.block);
      expect(calls).toHaveLength(c.contacts);
      expect(new Set(calls.map((x) => x.to)).size).toBe(c.contacts);
      expect(maxOverlap(calls)).toBeLessThanOrEqual(c.cap);
      expect(Math.max(...liveSamples.get(id)!)).toBeLessThanOrEqual(c.cap);
      // No burst: any second holds the pace's 10 starts, plus the dialer's jitter (the request
      // crosses NATS, the intake and the dial loop before Twilio sees it).
      const busiestSecond = maxInWindow(calls, 1_000);
      expect(busiestSecond).toBeLessThanOrEqual(1_000 / interval + BURST_SLACK);
      const meanGap = (calls.at(-1)!.createdMs - calls[0]!.createdMs) / (c.contacts - 1);
      const requests = await h.prisma.callRequest.findMany({
        where: { campaignId: id },
        orderBy: { createdAt: 'asc' },
      });
      report[`block${c.block}`] = {
        meanGap,
        meanRequestGap:
          (requests.at(-1)!.createdAt.getTime() - requests[0]!.createdAt.getTime()) /
          (c.contacts - 1),
        busiestSecond,
        maxOverlap: maxOverlap(calls),
        cap: c.cap,
      };
      expect(meanGap).toBeGreaterThanOrEqual(interval * 0.95);
      // The from-number pool is used in rotation.
      for (const from of FROM_POOL) {
        expect(calls.filter((x) => x.from === from).length).toBe(c.contacts / FROM_POOL.length);
      }
      expect(await contactsByStatus(h, id)).toEqual({ completed: c.contacts });
    }
    if (process.env.CAMPAIGN_TEST_REPORT) {
      // Measurements on request (the console is reserved for failures).
      appendFileSync(process.env.CAMPAIGN_TEST_REPORT, `${JSON.stringify(report)}\n`);
    }
    // The free campaign kept going: never faster than its pace (above), and not stalled. Alone
    // it measures ~100 ms for 100; beside lint, typecheck and other suites ~160 ms, and a CI
    // machine running fault and soak suites beside it has shown 200 ms. Speed itself is the
    // campaign benchmark's to measure (packages/bench); this bound only catches a stall.
    const pacedCalls = await callsOf(h, paced.block);
    const pacedMean =
      (pacedCalls.at(-1)!.createdMs - pacedCalls[0]!.createdMs) / (paced.contacts - 1);
    expect(pacedMean).toBeLessThan(interval * 4);

    // The request carries the contact's variables, its name, the campaign and the contact.
    const first = await h.prisma.campaignContact.findFirstOrThrow({
      where: { campaignId: pacedId, phone: num(1, 0) },
    });
    expect(first.attempts).toBe(1);
    const request = await h.prisma.callRequest.findUniqueOrThrow({
      where: { idempotencyKey: contactRequestKey(pacedId, first.id) },
    });
    expect(request).toMatchObject({
      origin: 'campaign-scheduler',
      campaignId: pacedId,
      contactId: first.id,
      variables: { ref: 'c0', name: 'Ada' },
      status: 'completed',
    });
  });

  it('makes a contact outside its calling window wait while others are called', async () => {
    const hour = new Date().getUTCHours();
    const hh = (h: number) => `${String((h + 24) % 24).padStart(2, '0')}:00`;
    // Now is inside in UTC; 12 hours ahead (Etc/GMT-12 is UTC+12) is outside.
    const windows = [{ days: [1, 2, 3, 4, 5, 6, 7], start: hh(hour - 1), end: hh(hour + 2) }];
    const id = await createCampaign(h, {
      block: 2,
      contacts: 3,
      callingWindows: windows,
      timezone: 'UTC',
      contact: (i) => (i === 1 ? { timezone: 'Etc/GMT-12' } : {}),
    });
    const replica = await startReplica(h, 'runner-windows');
    try {
      await expect
        .poll(() => contactsByStatus(h, id), { timeout: 10_000 })
        .toEqual({ completed: 2, pending: 1 });
      // Still waiting a while later, pushed back to be looked at again.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const waiting = await h.prisma.campaignContact.findFirstOrThrow({
        where: { campaignId: id, phone: num(2, 1) },
      });
      expect(waiting).toMatchObject({ status: 'pending', attempts: 0 });
      expect(waiting.nextAttemptAt!.getTime()).toBeGreaterThan(Date.now());
      expect((await h.prisma.campaign.findUniqueOrThrow({ where: { id } })).status).toBe('running');
    } finally {
      await replica.stop();
    }
    const called = (await callsOf(h, 2)).map((c) => c.to).sort();
    expect(called).toEqual([num(2, 0), num(2, 2)]);
  });

  it('skips the contacts of a campaign past its end and completes it without a call', async () => {
    const id = await createCampaign(h, {
      block: 7,
      contacts: 3,
      endAt: new Date(Date.now() - 1_000),
    });
    const replica = await startReplica(h, 'runner-ended');
    try {
      await waitForCampaign(h, id, 'completed', 10_000);
    } finally {
      await replica.stop();
    }
    expect(await contactsByStatus(h, id)).toEqual({ skipped: 3 });
    expect(await callsOf(h, 7)).toHaveLength(0);
  });

  it('completes the campaign with counts by outcome and reports progress on the way', async () => {
    // 0-5 answer, 6-7 are busy (one attempt: failed), 8 is on the do-not-call list (skipped).
    for (const i of [6, 7]) h.sims.twilio.setBehaviour(num(3, i), { answer: 'busy', ringMs: 50 });
    await h.prisma.doNotCallEntry.create({ data: { phone: num(3, 8), source: 'api' } });
    const id = await createCampaign(h, {
      block: 3,
      contacts: 9,
      callsPerMinute: 300, // one every 200 ms: the run spans a few progress intervals
      status: 'draft',
    });
    const { events, sub } = collectEvents(h, id);
    const replica = await startReplica(h, 'runner-events');
    try {
      await h.prisma.campaign.update({ where: { id }, data: { status: 'running' } });
      await waitForCampaign(h, id, 'completed', 20_000);
      await expect.poll(() => events.some((e) => e.type === 'campaign.completed')).toBe(true);
    } finally {
      await replica.stop();
      sub.unsubscribe();
    }
    const completed = events.find((e) => e.type === 'campaign.completed');
    expect(completed?.data).toEqual({
      campaignId: id,
      counts: { total: 9, dialed: 8, completed: 6, failed: 2, remaining: 0, live: 0, skipped: 1 },
    });
    expect(await contactsByStatus(h, id)).toEqual({ completed: 6, failed: 2, skipped: 1 });
    const progress = events.filter((e) => e.type === 'campaign.progress');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < progress.length; i++) {
      // At most one per interval (300 ms here), less a little delivery jitter.
      expect(progress[i]!.atMs - progress[i - 1]!.atMs).toBeGreaterThanOrEqual(250);
    }
    // Counts only move forward.
    const remaining = progress.map((e) => e.data.counts.remaining);
    expect([...remaining].sort((a, b) => b - a)).toEqual(remaining);
  });
});
