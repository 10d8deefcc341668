/**
 * A campaign that meets Twilio REST failures (issue 10, "Twilio REST 5xx during a campaign"):
 * creates answered 500/503 without a call made, and creates Twilio carried out whose response
 * was lost. Every contact must still be called exactly once and the campaign complete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { contactRequestKey } from '../../src/adapters/campaign-store.js';
import {
  callsOf,
  contactsByStatus,
  createCampaign,
  num,
  startReplica,
  waitForCampaign,
} from './campaign-harness.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('campaign-scheduler - a campaign meets Twilio REST 5xx', { timeout: 45_000 }, () => {
  it('calls each contact exactly once, retrying 5xx and adopting calls whose create response was lost', async () => {
    const block = 21;
    const contacts = 12;
    // 5xx first (nothing dialed: retried), then lost responses (dialed: must not dial again).
    h.faults.serverErrorStatus = 503;
    h.faults.serverErrors = 6;
    h.faults.resetsAfterCreate = 2;
    const id = await createCampaign(h, { block, contacts, maxConcurrentCalls: 4 });
    const replica = await startReplica(h, 'runner-5xx');
    try {
      await waitForCampaign(h, id, 'completed', 40_000);
    } finally {
      await replica.stop();
    }
    // The faults did fire: every injected failure was consumed by this campaign's creates.
    expect(h.faults).toMatchObject({ serverErrors: 0, resetsAfterCreate: 0 });
    const creates = h.creates.filter((c) =>
      String(c.params.To).startsWith(num(block, 0).slice(0, -3)),
    );
    expect(creates.filter((c) => c.status === 503)).toHaveLength(6);

    // Exactly one call per contact at Twilio, and every contact completed on its one attempt.
    const calls = await callsOf(h, block);
    expect(calls.map((c) => c.to).sort()).toEqual(
      Array.from({ length: contacts }, (_, i) => num(block, i)).sort(),
    );
    expect(calls.every((c) => c.status === 'completed')).toBe(true);
    expect(await contactsByStatus(h, id)).toEqual({ completed: contacts });
    const rows = await h.prisma.campaignContact.findMany({ where: { campaignId: id } });
    expect(rows.map((r) => r.attempts)).toEqual(rows.map(() => 1));

    // One call request per contact, each tied to the one call Twilio made for it.
    const requests = await h.prisma.callRequest.findMany({ where: { campaignId: id } });
    expect(requests.map((r) => r.idempotencyKey).sort()).toEqual(
      rows.map((r) => contactRequestKey(id, r.id)).sort(),
    );
    expect(requests.every((r) => r.status === 'completed' && r.attempts === 1)).toBe(true);
    expect(new Set(requests.map((r) => r.providerCallSid))).toEqual(
      new Set(calls.map((c) => c.sid)),
    );
  });
});
