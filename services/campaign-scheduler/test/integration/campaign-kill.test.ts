/**
 * The scheduler SIGKILLed mid-campaign, as a real OS process: no drain, no cleanup, whatever it
 * held in hand (contacts claimed and not yet published, requests claimed and not yet dialed,
 * calls dialed and not yet recorded, calls live at Twilio) is left as it was. Another process
 * started afterwards finishes the campaign: no contact lost, none dialed twice (the Twilio
 * simulator's call log).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  callsOf,
  contactsByStatus,
  createCampaign,
  num,
  waitForCampaign,
} from './campaign-harness.js';
import { startSchedulerProcess, type SchedulerProcess } from './campaign-process.js';
import { startHarness, waitFor, type Harness } from './harness.js';

const CONTACTS = 150;
const BLOCK = 31;

let h: Harness;
const procs: SchedulerProcess[] = [];

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  for (const p of procs) await p.kill();
  await h?.close();
});

describe('campaign-scheduler - killed mid-campaign (SIGKILL)', { timeout: 150_000 }, () => {
  it('loses no contact and dials none twice when another process takes over', async () => {
    // Calls of ~1 s (simulated time runs 10× fast) at 10 a second: ~10 live at the kill.
    for (let i = 0; i < CONTACTS; i++) {
      h.sims.twilio.setBehaviour(num(BLOCK, i), { answer: 'human', ringMs: 8_000 });
    }
    const id = await createCampaign(h, {
      block: BLOCK,
      contacts: CONTACTS,
      callsPerMinute: 600,
      maxConcurrentCalls: 15,
      status: 'draft',
    });
    // Ringing is capped by the dial's ring timeout: long enough for the 8 s of ringing.
    const timing = { DIAL_RING_TIMEOUT_SEC: '30' };
    const first = await startSchedulerProcess(h, 'scheduler-killed', timing);
    procs.push(first);
    await h.prisma.campaign.update({ where: { id }, data: { status: 'running' } });
    const started = () =>
      h.prisma.campaignContact.count({ where: { campaignId: id, status: { not: 'pending' } } });
    await waitFor(async () => ((await started()) >= CONTACTS / 3 ? true : undefined), 60_000);
    await first.kill();
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });

    // What the dead process left in flight: the test is only worth something if it left some.
    const atKill = await contactsByStatus(h, id);
    const requestsAtKill = await h.prisma.callRequest.groupBy({
      by: ['status'],
      where: { campaignId: id },
      _count: true,
    });
    const inFlight = Object.fromEntries(requestsAtKill.map((r) => [r.status, r._count]));
    expect(atKill.dialing ?? 0).toBeGreaterThan(0);
    expect(atKill.pending ?? 0).toBeGreaterThan(0);
    expect(
      (inFlight.dialed ?? 0) + (inFlight.dialing ?? 0) + (inFlight.pending ?? 0),
    ).toBeGreaterThan(0);

    const second = await startSchedulerProcess(h, 'scheduler-after', timing);
    procs.push(second);
    try {
      await waitForCampaign(h, id, 'completed', 90_000);
    } finally {
      await second.stop();
    }
    expect(await second.exited).toMatchObject({ code: 0 });

    const calls = await callsOf(h, BLOCK);
    const perNumber = new Map<string, number>();
    for (const c of calls) perNumber.set(c.to, (perNumber.get(c.to) ?? 0) + 1);
    const twice = [...perNumber].filter(([, n]) => n > 1);
    expect(twice).toEqual([]);
    expect(perNumber.size).toBe(CONTACTS);
    expect(await contactsByStatus(h, id)).toEqual({ completed: CONTACTS });
    const requests = await h.prisma.callRequest.findMany({ where: { campaignId: id } });
    expect(requests).toHaveLength(CONTACTS);
    expect(requests.every((r) => r.status === 'completed' && r.attempts === 1)).toBe(true);
    if (process.env.CAMPAIGN_TEST_REPORT) {
      const { appendFileSync } = await import('node:fs');
      appendFileSync(
        process.env.CAMPAIGN_TEST_REPORT,
        `${JSON.stringify({ kill: { contactsAtKill: atKill, requestsAtKill: inFlight } })}\n`,
      );
    }
  });
});
