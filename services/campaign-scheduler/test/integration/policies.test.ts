/**
 * The dialer's per-campaign policies end to end (real NATS, PostgreSQL, the Twilio simulator):
 * a campaign's retry policy and a contact's maxAttempts, consent required by a campaign on the
 * internal path, number pools (rotation under the per-number rate limit), and the metrics.
 */
import { randomUUID } from 'node:crypto';

import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureLogs } from '@app/platform/testing';

import { twilioDialer } from '../../src/adapters/twilio-dialer.js';
import { attemptCallId } from '../../src/domain/attempts.js';
import { startScheduler, type RunningScheduler } from '../../src/scheduler.js';
import { MORE_NUMBERS, startHarness, waitFor, type Harness, type SimCall } from './harness.js';

/** Per-number CPS of these tests: calls from one number at least 500 ms apart. */
const PER_NUMBER_CPS = 2;
/**
 * Jitter between a rate slot and the simulator's stamp on a loaded 2-core machine (limits.test.ts
 * says why): 30% of the interval. Without the limit, calls of one number are ~0-5 ms apart.
 */
const TOLERANCE = 0.3;

let h: Harness;
let scheduler: RunningScheduler;
const registry = new Registry();

beforeAll(async () => {
  h = await startHarness();
  // The three extra numbers form the pool `east`.
  await h.prisma.phoneNumber.updateMany({
    where: { e164: { in: [...MORE_NUMBERS] } },
    data: { pool: 'east' },
  });
  const { accountSid, authToken } = h.sims.credentials.twilio;
  const settings = h.settings({
    maxAttempts: 3,
    retryBackoffMs: 100,
    maxCpsPerNumber: PER_NUMBER_CPS,
  });
  // Started here rather than through the harness: the test reads its metrics registry.
  scheduler = await startScheduler({
    nc: h.ns.nc,
    names: h.names,
    prisma: h.prisma,
    dialer: twilioDialer({
      accountSid,
      authToken,
      apiBaseUrl: h.twilioUrl,
      timeoutMs: Math.floor(settings.reclaimAfterMs / 2),
    }),
    settings,
    pod: 'policies-test',
    log: captureLogs({ level: 'debug' }).log,
    registry,
  });
}, 60_000);

afterAll(async () => {
  await scheduler?.stop();
  await h?.close();
});

async function campaign(data: {
  retryPolicy?: object;
  consentPurpose?: string;
  fromPool?: string;
}): Promise<string> {
  const row = await h.prisma.campaign.create({
    data: { name: `policies-${Math.random()}`, agentId: h.agentId, ...data },
  });
  return row.id;
}

async function contact(campaignId: string, phone: string, maxAttempts?: number): Promise<string> {
  const row = await h.prisma.campaignContact.create({
    data: { campaignId, phone, ...(maxAttempts === undefined ? {} : { maxAttempts }) },
  });
  return row.id;
}

/** The value of a metric sample, 0 when absent. */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const sample = found?.values.find((v) =>
    Object.entries(labels).every(([k, val]) => v.labels[k] === val),
  );
  return sample?.value ?? 0;
}

function gaps(calls: readonly SimCall[]): number[] {
  return calls.slice(1).map((c, i) => c.createdMs - calls[i]!.createdMs);
}

describe('campaign-scheduler - a campaign’s retry policy', { timeout: 30_000 }, () => {
  it('retries busy as often as the campaign says, with its constant backoff', async () => {
    const id = await campaign({
      retryPolicy: { maxAttempts: 2, backoffMs: 300, backoffMultiplier: 1, retryOn: ['busy'] },
    });
    const to = '+15550003001';
    const contactId = await contact(id, to);
    h.sims.twilio.setBehaviour(to, { answer: 'busy', ringMs: 50 });
    await h.request({ to, idempotencyKey: 'policy-busy', campaignId: id, contactId });
    const row = await h.waitForRequest('policy-busy', (r) => r.status === 'failed', 20_000);
    expect(row).toMatchObject({
      attempts: 2,
      lastOutcome: 'busy',
      error: 'attempt 2 of 2 ended busy; no attempts left',
      retryPolicy: { maxAttempts: 2, backoffMs: 300, backoffMultiplier: 1, retryOn: ['busy'] },
    });
    const calls = await h.simCalls({ to });
    expect(calls.map((c) => c.status)).toEqual(['busy', 'busy']);
    expect(calls[1]!.createdMs - calls[0]!.endMs!).toBeGreaterThanOrEqual(300);
  });

  it('lets the contact’s maxAttempts override the campaign’s', async () => {
    const id = await campaign({ retryPolicy: { maxAttempts: 5, backoffMs: 100 } });
    const to = '+15550003002';
    const contactId = await contact(id, to, 1);
    h.sims.twilio.setBehaviour(to, { answer: 'busy', ringMs: 50 });
    await h.request({ to, idempotencyKey: 'policy-contact', campaignId: id, contactId });
    const row = await h.waitForRequest('policy-contact', (r) => r.status === 'failed', 20_000);
    expect(row).toMatchObject({
      attempts: 1,
      error: 'attempt 1 of 1 ended busy; no attempts left',
    });
    expect(await h.simCalls({ to })).toHaveLength(1);
  });

  it('does not retry an end reason the policy leaves out, and fails the request', async () => {
    const id = await campaign({ retryPolicy: { retryOn: ['busy'] } });
    const to = '+15550003003';
    h.sims.twilio.setBehaviour(to, { answer: 'no-answer' });
    await h.request({ to, idempotencyKey: 'policy-no-answer', campaignId: id });
    const row = await h.waitForRequest('policy-no-answer', (r) => r.status === 'failed', 20_000);
    expect(row).toMatchObject({
      attempts: 1,
      lastOutcome: 'no-answer',
      error: 'attempt 1 ended no-answer; the retry policy does not retry no-answer',
    });
    expect(await h.simCalls({ to })).toHaveLength(1);
  });

  it('keeps the DIAL_* defaults for a request with no campaign', async () => {
    const to = '+15550003004';
    h.sims.twilio.setBehaviour(to, { answer: 'busy', ringMs: 50 });
    await h.request({ to, idempotencyKey: 'policy-default' });
    const row = await h.waitForRequest('policy-default', (r) => r.status === 'failed', 20_000);
    expect(row).toMatchObject({ attempts: 3, retryPolicy: null });
  });
});

describe('campaign-scheduler - consent a campaign requires', { timeout: 30_000 }, () => {
  it('rejects consent_missing on the internal path, naming the purpose, and dials nobody', async () => {
    const id = await campaign({ consentPurpose: 'marketing_calls' });
    const to = '+15550003101';
    await h.prisma.consentRecord.create({
      data: { phone: to, purpose: 'marketing_calls', method: 'verbal', revokedAt: new Date() },
    });
    await h.request({ to, idempotencyKey: 'consent-missing', campaignId: id });
    const row = await h.waitForRequest('consent-missing', (r) => r.status === 'rejected');
    expect(row.issues).toEqual([
      {
        field: 'to',
        code: 'consent_missing',
        message:
          'to has no consent in force for purpose "marketing_calls" (none recorded, or revoked),' +
          ' which the campaign requires',
      },
    ]);
    expect(await h.simCalls({ to })).toEqual([]);
    expect(
      await metric('campaign_scheduler_call_request_rejections_total', {
        code: 'consent_missing',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('dials a callee whose consent is in force', async () => {
    const id = await campaign({ consentPurpose: 'marketing_calls' });
    const to = '+15550003102';
    await h.prisma.consentRecord.create({
      data: { phone: to, purpose: 'marketing_calls', method: 'web_form' },
    });
    h.sims.twilio.setBehaviour(to, { answer: 'human', ringMs: 50 });
    await h.request({ to, idempotencyKey: 'consent-ok', campaignId: id });
    await h.waitForRequest('consent-ok', (r) => r.status === 'completed', 20_000);
    expect(await h.simCalls({ to })).toHaveLength(1);
  });
});

describe('campaign-scheduler - number pools', { timeout: 40_000 }, () => {
  it('rotates a pool’s numbers, each within its own rate limit, and records each pick', async () => {
    const before = await metric('campaign_scheduler_dial_attempts_total', { outcome: 'placed' });
    const tos = Array.from({ length: 6 }, (_, i) => `+155500032${String(i).padStart(2, '0')}`);
    for (const to of tos) h.sims.twilio.setBehaviour(to, { answer: 'busy', ringMs: 50 });
    const id = await campaign({ retryPolicy: { maxAttempts: 1 } });
    await Promise.all(
      tos.map((to, i) =>
        // No from: a request of a campaign with no pool would use the agent's number, so the
        // pool is named on the request (the campaign's own pool is the next test).
        h.request({
          to,
          from: undefined,
          fromPool: 'east',
          idempotencyKey: `pool-${i}`,
          campaignId: id,
        }),
      ),
    );
    const rows = [];
    for (let i = 0; i < tos.length; i++) {
      rows.push(await h.waitForRequest(`pool-${i}`, (r) => r.status === 'failed', 20_000));
    }
    const calls = (await h.simCalls()).filter((c) => tos.includes(c.to));
    expect(calls).toHaveLength(6);
    const pool: readonly string[] = MORE_NUMBERS;
    for (const call of calls) expect(pool).toContain(call.from);
    // Every number of the pool took calls: the pool is not limited to one number's rate.
    expect(new Set(calls.map((c) => c.from)).size).toBe(3);
    for (const from of pool) {
      const own = calls.filter((c) => c.from === from);
      for (const gap of gaps(own)) {
        expect(gap).toBeGreaterThanOrEqual((1_000 / PER_NUMBER_CPS) * (1 - TOLERANCE));
      }
    }
    // Each request records the number its attempt used.
    for (const [i, row] of rows.entries()) {
      const call = calls.find((c) => c.to === tos[i]);
      expect(row).toMatchObject({ fromPool: 'east', fromNumber: call?.from });
    }
    expect(
      await metric('campaign_scheduler_dial_attempts_total', { outcome: 'placed' }),
    ).toBeGreaterThanOrEqual(before + 6);
  });

  it('calls from the campaign’s pool when the request names no from', async () => {
    const id = await campaign({ fromPool: 'east' });
    const to = '+15550003301';
    h.sims.twilio.setBehaviour(to, { answer: 'human', ringMs: 50 });
    await h.request({ to, from: undefined, idempotencyKey: 'campaign-pool', campaignId: id });
    const row = await h.waitForRequest('campaign-pool', (r) => r.status === 'completed', 20_000);
    expect(row.fromPool).toBe('east');
    const [call] = await h.simCalls({ to });
    expect(MORE_NUMBERS as readonly string[]).toContain(call?.from);
  });

  it('a pool request whose replica died before picking a number is dialed once, from the pool', async () => {
    // As a replica leaves it when it dies between its claim and its fence: `dialing`, no caller
    // id yet, stamped long ago. The reconciler takes it over; with no caller id there can be no
    // call at Twilio, so it goes back to pending and is dialed once.
    const to = '+15550003303';
    h.sims.twilio.setBehaviour(to, { answer: 'human', ringMs: 50 });
    await h.prisma.callRequest.create({
      data: {
        idempotencyKey: 'pool-orphan',
        origin: 'test',
        toNumber: to,
        fromNumber: null,
        fromPool: 'east',
        agentId: h.agentId,
        status: 'dialing',
        attempts: 1,
        callId: attemptCallId('pool-orphan', 1),
        claimToken: randomUUID(),
        claimedBy: 'dead-replica',
        checkedAt: new Date(Date.now() - 60_000),
      },
    });
    const row = await h.waitForRequest('pool-orphan', (r) => r.status === 'completed', 20_000);
    const calls = await h.simCalls({ to });
    expect(calls).toHaveLength(1);
    expect(MORE_NUMBERS as readonly string[]).toContain(calls[0]?.from);
    expect(row).toMatchObject({ attempts: 1, fromNumber: calls[0]?.from });
  });

  it('fails a pool request whose pool lost its numbers after it was accepted', async () => {
    // Accepted while the pool had numbers (a row as the intake writes it); emptied since.
    await h.prisma.callRequest.create({
      data: {
        idempotencyKey: 'pool-emptied',
        origin: 'test',
        toNumber: '+15550003304',
        fromNumber: null,
        fromPool: 'emptied',
        agentId: h.agentId,
      },
    });
    const row = await h.waitForRequest('pool-emptied', (r) => r.status === 'failed');
    expect(row).toMatchObject({
      attempts: 0,
      error: 'the number pool "emptied" has no phone numbers left',
    });
    expect(await h.simCalls({ to: '+15550003304' })).toEqual([]);
  });

  it('rejects a request for a pool with no numbers', async () => {
    await h.request({
      to: '+15550003302',
      from: undefined,
      fromPool: 'west',
      idempotencyKey: 'no-pool',
    });
    const row = await h.waitForRequest('no-pool', (r) => r.status === 'rejected');
    expect(row.issues).toEqual([
      {
        field: 'fromPool',
        code: 'unknown_pool',
        message: 'fromPool "west" has no phone numbers (unknown or empty pool)',
      },
    ]);
  });
});

describe('campaign-scheduler - dialer metrics', { timeout: 20_000 }, () => {
  it('exposes attempts, call ends, dial latency, rate-limit waits and live calls', async () => {
    const to = '+15550003401';
    h.sims.twilio.setBehaviour(to, { answer: 'human', ringMs: 50 });
    await h.request({ to, idempotencyKey: 'metrics-1' });
    await h.waitForRequest('metrics-1', (r) => r.status === 'completed', 20_000);
    await waitFor(async () =>
      (await metric('campaign_scheduler_call_ends_total', {
        reason: 'completed',
        decision: 'completed',
      })) >= 1
        ? true
        : undefined,
    );
    const text = await registry.metrics();
    expect(text).toMatch(/campaign_scheduler_dial_latency_seconds_count\{result="ok"\} [1-9]/);
    expect(text).toMatch(/campaign_scheduler_call_requests_total\{result="accepted"\} [1-9]/);
    // The pool test's numbers waited for their per-number slots.
    expect(
      await metric('campaign_scheduler_rate_limit_waits_total', { limit: 'number' }),
    ).toBeGreaterThan(0);
    expect(
      await metric('campaign_scheduler_call_ends_total', { reason: 'busy', decision: 'retry' }),
    ).toBeGreaterThan(0);
    // Read from the database on scrape: nothing is live once every request has finished.
    await waitFor(async () =>
      (await h.prisma.callRequest.count({ where: { status: { in: ['dialing', 'dialed'] } } })) === 0
        ? true
        : undefined,
    );
    expect(await registry.metrics()).toMatch(/^campaign_scheduler_live_calls 0$/m);
  });
});
