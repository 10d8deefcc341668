/**
 * A campaign at the top of the range (1 200 calls a minute, one start every 50 ms) through two
 * scheduler replicas and the real dialer into the Twilio simulator: every contact dialed once,
 * the pace held (never faster than configured, not grossly slower), and the live-call cap never
 * exceeded, sampled all along at the simulator and in the database. The full-size run (10 000
 * contacts) is the campaign benchmark: `pnpm bench campaign`.
 */
import { appendFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CATCH_UP_MS } from '../../src/domain/campaign-pacing.js';
import {
  callsOf,
  contactsByStatus,
  createCampaign,
  maxOverlap,
  startReplica,
  waitForCampaign,
} from './campaign-harness.js';
import { startHarness, type Harness, type SimCall } from './harness.js';

const CONTACTS = 400;
const CALLS_PER_MINUTE = 1_200;
/** A call lasts ~0.5 s at the simulator: ~10 live at this pace, so the cap binds now and then. */
const CAP = 12;
const BLOCK = 21;

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

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

/** Calls of the block not in a final status, by the simulator's REST list (Twilio's view). */
async function liveAtTwilio(prefix: string): Promise<number> {
  const { accountSid, authToken } = h.sims.credentials.twilio;
  const auth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  let live = 0;
  for (const status of ['queued', 'initiated', 'ringing', 'in-progress']) {
    const res = await fetch(
      `${h.sims.twilioUrl}/2010-04-01/Accounts/${accountSid}/Calls.json?Status=${status}&PageSize=1000`,
      { headers: { authorization: auth } },
    );
    const body = (await res.json()) as { calls: Array<{ to: string }> };
    live += body.calls.filter((c) => c.to.startsWith(prefix)).length;
  }
  return live;
}

describe('campaign-scheduler - a campaign at 1 200 calls a minute', { timeout: 150_000 }, () => {
  it('dials every contact once at its pace across two replicas, never over its cap', async () => {
    const id = await createCampaign(h, {
      block: BLOCK,
      contacts: CONTACTS,
      callsPerMinute: CALLS_PER_MINUTE,
      maxConcurrentCalls: CAP,
    });
    const dialer = { maxConcurrent: 100, parallelism: 8 };
    const replicas = [
      await startReplica(h, 'scale-a', dialer),
      await startReplica(h, 'scale-b', dialer),
    ];
    const prefix = `+1555${String(BLOCK).padStart(4, '0')}`;
    const dbSamples: number[] = [];
    const twilioSamples: number[] = [];
    let sampling = true;
    // Sequential samplers (one query in flight each), for as long as the campaign runs.
    const samplers = [
      (async () => {
        while (sampling) {
          dbSamples.push(
            await h.prisma.campaignContact.count({ where: { campaignId: id, status: 'dialing' } }),
          );
          await new Promise((r) => setTimeout(r, 20));
        }
      })(),
      (async () => {
        while (sampling) {
          twilioSamples.push(await liveAtTwilio(prefix));
          await new Promise((r) => setTimeout(r, 50));
        }
      })(),
    ];
    try {
      // As long as the slowest pace the test accepts below (5 intervals a call), plus the last
      // calls' ends: a tighter wait would fail a run the pace check passes.
      await waitForCampaign(
        h,
        id,
        'completed',
        (CONTACTS * 5 * 60_000) / CALLS_PER_MINUTE + 15_000,
      );
    } finally {
      sampling = false;
      await Promise.all(samplers);
      for (const r of replicas) await r.stop();
    }

    // Every contact dialed exactly once (the simulator's call log).
    const calls = await callsOf(h, BLOCK);
    expect(calls).toHaveLength(CONTACTS);
    expect(new Set(calls.map((c) => c.to)).size).toBe(CONTACTS);
    expect(await contactsByStatus(h, id)).toEqual({ completed: CONTACTS });

    // The cap: never exceeded, by the simulator's own timestamps and by every sample taken.
    expect(maxOverlap(calls)).toBeLessThanOrEqual(CAP);
    expect(dbSamples.length).toBeGreaterThan(50);
    expect(Math.max(...dbSamples)).toBeLessThanOrEqual(CAP);
    expect(twilioSamples.length).toBeGreaterThan(20);
    expect(Math.max(...twilioSamples)).toBeLessThanOrEqual(CAP);
    // ... and it was reached: the test would see a breach.
    expect(Math.max(...dbSamples)).toBeGreaterThanOrEqual(CAP / 2);

    // The pace: never faster than configured over the run, nor in any second beyond the
    // catch-up of a late pass (CATCH_UP_MS of slots) and the dialer's jitter; and not grossly
    // slower. Alone this machine holds ~51 ms a call. On a loaded one, calls take longer to be
    // placed and their ends to come back, so contacts hold their place under the cap of 12
    // longer and the cap, not the runner, sets the pace (~175 ms seen with both cores busy with
    // other suites and a benchmark). A runner that lost its pace (one call per 500 ms poll)
    // would be slower still.
    const interval = 60_000 / CALLS_PER_MINUTE;
    const meanGap = (calls.at(-1)!.createdMs - calls[0]!.createdMs) / (CONTACTS - 1);
    if (process.env.CAMPAIGN_TEST_REPORT) {
      // Measurements on request (the console is reserved for failures).
      const report = {
        scale: { meanGap, busiestSecond: maxInWindow(calls, 1_000), maxOverlap: maxOverlap(calls) },
        samples: { db: Math.max(...dbSamples), twilio: Math.max(...twilioSamples), cap: CAP },
      };
      appendFileSync(process.env.CAMPAIGN_TEST_REPORT, `${JSON.stringify(report)}\n`);
    }
    expect(meanGap).toBeGreaterThanOrEqual(interval * 0.97);
    expect(meanGap).toBeLessThan(interval * 5);
    expect(maxInWindow(calls, 1_000)).toBeLessThanOrEqual(
      1_000 / interval + CATCH_UP_MS / interval + 5,
    );
  });
});
