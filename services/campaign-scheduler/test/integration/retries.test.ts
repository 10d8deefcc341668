import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { attemptCallId } from '../../src/domain/attempts.js';
import { startHarness, waitFor, type Harness } from './harness.js';

const BACKOFF_MS = 150;

let h: Harness;
let scheduler: Awaited<ReturnType<Harness['startScheduler']>>;

beforeAll(async () => {
  h = await startHarness();
  scheduler = await h.startScheduler({
    maxAttempts: 3,
    retryBackoffMs: BACKOFF_MS,
    transientBackoffMs: 50,
  });
});
afterAll(async () => {
  await h?.close();
});

describe('campaign-scheduler - retries', { timeout: 20_000 }, () => {
  it('retries a busy callee with a doubling backoff, then fails the request after the last attempt', async () => {
    const to = '+15550002001';
    h.sims.twilio.setBehaviour(to, { answer: 'busy', ringMs: 100 });
    await h.request({ to, idempotencyKey: 'busy-1' });
    const row = await h.waitForRequest('busy-1', (r) => r.status === 'failed');
    expect(row).toMatchObject({
      attempts: 3,
      lastOutcome: 'busy',
      error: 'attempt 3 of 3 ended busy; no attempts left',
      callId: attemptCallId('busy-1', 3),
    });
    const calls = await h.simCalls({ to });
    expect(calls.map((c) => c.status)).toEqual(['busy', 'busy', 'busy']);
    // Each retry starts no sooner than its backoff after the previous call ended.
    expect(calls[1]!.createdMs - calls[0]!.endMs!).toBeGreaterThanOrEqual(BACKOFF_MS);
    expect(calls[2]!.createdMs - calls[1]!.endMs!).toBeGreaterThanOrEqual(2 * BACKOFF_MS);
    // One call record per attempt, each with its own derived id.
    const records = await h.prisma.call.findMany({
      where: { toNumber: to },
      orderBy: { createdAt: 'asc' },
    });
    expect(records.map((r) => r.id)).toEqual([1, 2, 3].map((n) => attemptCallId('busy-1', n)));
  });

  it('retries a call nobody answered, and completes when the callee answers', async () => {
    const to = '+15550002002';
    h.sims.twilio.setBehaviour(to, { answer: 'no-answer' });
    await h.request({ to, idempotencyKey: 'no-answer-1' });
    await waitFor(async () => ((await h.simCalls({ to })).length === 1 ? true : undefined));
    h.sims.twilio.setBehaviour(to, { answer: 'human', ringMs: 100 });
    const row = await h.waitForRequest('no-answer-1', (r) => r.status === 'completed');
    expect(row).toMatchObject({ attempts: 2, lastOutcome: 'completed' });
    expect((await h.simCalls({ to })).map((c) => c.status)).toEqual(['no-answer', 'completed']);
  });

  it('retries Twilio 429s without counting them as attempts', async () => {
    const to = '+15550002003';
    h.sims.twilio.setBehaviour(to, { answer: 'human', ringMs: 100 });
    h.sims.twilio.faults.set({ restRateLimits: 2 });
    await h.request({ to, idempotencyKey: 'rate-limited-1' });
    const row = await h.waitForRequest('rate-limited-1', (r) => r.status === 'completed');
    expect(row).toMatchObject({
      attempts: 1,
      transientFailures: 0,
      callId: attemptCallId('rate-limited-1', 1),
    });
    expect(h.creates.filter((c) => c.params.To === to).map((c) => c.status)).toEqual([
      429, 429, 201,
    ]);
    expect(await h.simCalls({ to })).toHaveLength(1);
  });

  it('retries Twilio 5xx without counting them as attempts, after checking no call was made', async () => {
    const to = '+15550002004';
    h.sims.twilio.setBehaviour(to, { answer: 'human', ringMs: 100 });
    h.faults.serverErrorStatus = 503;
    h.faults.serverErrors = 2;
    await h.request({ to, idempotencyKey: 'server-error-1' });
    const row = await h.waitForRequest('server-error-1', (r) => r.status === 'completed');
    expect(row).toMatchObject({ attempts: 1, transientFailures: 0 });
    expect(h.creates.filter((c) => c.params.To === to).map((c) => c.status)).toEqual([
      503, 503, 201,
    ]);
    expect(await h.simCalls({ to })).toHaveLength(1);
  });

  it('keeps the call Twilio made when the response to the create was lost (no second dial)', async () => {
    const to = '+15550002005';
    h.sims.twilio.setBehaviour(to, { answer: 'human', ringMs: 300 });
    h.faults.resetsAfterCreate = 1;
    await h.request({ to, idempotencyKey: 'lost-response-1' });
    const row = await h.waitForRequest('lost-response-1', (r) => r.status === 'completed');
    const calls = await h.simCalls({ to });
    expect(calls).toHaveLength(1);
    expect(row).toMatchObject({ attempts: 1, providerCallSid: calls[0]!.sid });
    expect(h.creates.filter((c) => c.params.To === to)).toHaveLength(1);
    expect(scheduler.logs.messages()).toContain(
      'create failed but twilio has the call; adopting it',
    );
  });
});
