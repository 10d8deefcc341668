/**
 * The do-not-call list at dial time (issue 10): a number listed after its request was accepted
 * (a callback booked by the agent's `schedule_callback`, then the caller opts out by voice; a
 * retry after a busy first attempt) is never dialled again. Intake refusals (`POST /v1/calls`,
 * campaigns, internal requests) are tested in calls-api, campaign-runner and dialer tests; this
 * is the check each attempt repeats just before it dials. Real NATS, PostgreSQL and Twilio sim.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startHarness, waitFor, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await h.startScheduler({ maxAttempts: 3, retryBackoffMs: 1_500, transientBackoffMs: 50 });
});
afterAll(async () => {
  await h?.close();
});

describe('campaign-scheduler - do-not-call at dial time', { timeout: 30_000 }, () => {
  it('never places a scheduled callback to a number listed after it was booked', async () => {
    const to = '+15550003001';
    h.sims.twilio.setBehaviour(to, { answer: 'human', ringMs: 100 });
    const at = Date.now() + 2_000;
    // As schedule_callback publishes it: origin `tool-runner`.
    await h.request(
      { to, idempotencyKey: 'callback-dnc-1', scheduledAt: new Date(at).toISOString() },
      'tool-runner',
    );
    await h.waitForRequest('callback-dnc-1', (r) => r.status === 'pending');
    // The caller then asks not to be called again (add_to_do_not_call).
    await h.prisma.doNotCallEntry.create({ data: { phone: to, source: 'voice' } });

    const row = await h.waitForRequest('callback-dnc-1', (r) => r.status === 'rejected', 10_000);
    expect(row.issues).toEqual([expect.objectContaining({ field: 'to', code: 'do_not_call' })]);
    expect(Date.now()).toBeGreaterThanOrEqual(at);
    expect(await h.simCalls({ to })).toHaveLength(0);
  });

  it('does not retry a busy callee whose number was listed after the first attempt', async () => {
    const to = '+15550003002';
    h.sims.twilio.setBehaviour(to, { answer: 'busy', ringMs: 100 });
    await h.request({ to, idempotencyKey: 'retry-dnc-1' });
    await waitFor(async () => {
      const calls = await h.simCalls({ to });
      return calls.length === 1 && calls[0]!.endMs !== undefined ? true : undefined;
    });
    await h.prisma.doNotCallEntry.create({ data: { phone: to, source: 'api' } });

    const row = await h.waitForRequest('retry-dnc-1', (r) => r.status === 'rejected', 10_000);
    expect(row).toMatchObject({ attempts: 1 });
    expect(row.issues).toEqual([expect.objectContaining({ field: 'to', code: 'do_not_call' })]);
    expect(await h.simCalls({ to })).toHaveLength(1);
  });
});
