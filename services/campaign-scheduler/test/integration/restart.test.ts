import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ValidCallRequest } from '@app/dialing';

import { dialerEvents } from '../../src/adapters/call-events.js';
import { CallRequestStore, type ClaimedRequest } from '../../src/adapters/call-request-store.js';
import { twilioDialer } from '../../src/adapters/twilio-dialer.js';
import { attemptCallId } from '../../src/domain/attempts.js';
import { createCallParams } from '../../src/domain/call-placement.js';
import { OUR_NUMBER, startHarness, waitFor, type Harness } from './harness.js';

const RECLAIM_AFTER_MS = 400;

let h: Harness;
let store: CallRequestStore;

beforeAll(async () => {
  h = await startHarness();
  store = new CallRequestStore(h.prisma);
});
afterAll(async () => {
  await h?.close();
});

function valid(key: string, to: string): ValidCallRequest {
  return {
    to,
    from: OUR_NUMBER,
    agentId: h.agentId,
    transport: 'media-streams',
    variables: {},
    scheduledAt: new Date(),
    idempotencyKey: key,
    metadata: {},
  };
}

/** What a replica that died right after claiming leaves behind: a `dialing` request. */
async function claimedByADeadReplica(key: string, to: string): Promise<ClaimedRequest> {
  await store.insertPending(valid(key, to), 'test');
  const outcome = await store.claimNext(100, 'dead-replica');
  if (outcome.kind !== 'claimed') throw new Error(`expected a claim, got ${outcome.kind}`);
  expect(outcome.claim.idempotencyKey).toBe(key);
  return outcome.claim;
}

/** The dead replica got as far as creating the call at Twilio. */
async function dialedByADeadReplica(claim: ClaimedRequest): Promise<string> {
  const { accountSid, authToken } = h.sims.credentials.twilio;
  const dialer = twilioDialer({ accountSid, authToken, apiBaseUrl: h.twilioUrl, timeoutMs: 1_000 });
  expect(await store.fence(claim)).toBe(true);
  const params = createCallParams(
    { ...claim, agentId: h.agentId, amdMode: 'off' },
    { gatewayUrl: h.gatewayUrl, openaiSipUri: undefined, ringTimeoutSec: 1 },
  );
  return (await dialer.create(params)).sid;
}

const restartSettings = { reclaimAfterMs: RECLAIM_AFTER_MS, liveCheckAfterMs: 500 };

describe('campaign-scheduler - a scheduler that stops mid-dial', { timeout: 20_000 }, () => {
  it('a request claimed by a replica that died before dialing is dialed once by the next', async () => {
    const to = '+15550004001';
    h.sims.twilio.setBehaviour(to, { answer: 'human', ringMs: 200 });
    const claim = await claimedByADeadReplica('died-before-dial', to);
    const scheduler = await h.startScheduler(restartSettings);
    const row = await h.waitForRequest('died-before-dial', (r) => r.status === 'completed');
    await scheduler.stop();
    expect(row).toMatchObject({ attempts: 1, callId: claim.callId, lastOutcome: 'completed' });
    expect(await h.simCalls({ to })).toHaveLength(1);
    expect(scheduler.logs.messages()).toContain(
      'stale claim: no call at twilio; the request is pending again',
    );
  });

  it('a call created by a replica that died before recording it is adopted, not dialed again', async () => {
    const to = '+15550004002';
    h.sims.twilio.setBehaviour(to, { answer: 'human', ringMs: 200 });
    const claim = await claimedByADeadReplica('died-after-dial', to);
    const sid = await dialedByADeadReplica(claim);
    const scheduler = await h.startScheduler(restartSettings);
    const row = await h.waitForRequest('died-after-dial', (r) => r.status === 'completed');
    await scheduler.stop();
    expect(row).toMatchObject({
      attempts: 1,
      providerCallSid: sid,
      callId: attemptCallId('died-after-dial', 1),
    });
    expect(await h.simCalls({ to })).toHaveLength(1);
    expect(scheduler.logs.messages()).toContain('stale claim: twilio has the call; adopted');
    // The call record (projected by the gateway, independently) gets there too.
    const record = await waitFor(() =>
      h.prisma.call
        .findUnique({ where: { id: claim.callId } })
        .then((c) => (c?.status === 'completed' ? c : undefined)),
    );
    expect(record.twilioCallSid).toBe(sid);
  });

  it('a dialed call whose end never arrived is closed with the status Twilio reports', async () => {
    const to = '+15550004004';
    h.sims.twilio.setBehaviour(to, { answer: 'no-answer' });
    const claim = await claimedByADeadReplica('end-missed', to);
    const sid = await dialedByADeadReplica(claim);
    // Recorded as dialed, but the gateway never learnt the call (no `created`), so none of its
    // status callbacks became an `ended`: the call would hold a live place forever.
    expect(await store.markDialed(claim, sid)).toBe(true);
    await waitFor(() => (h.sims.twilio.getCall(sid)?.status === 'no-answer' ? true : undefined));
    const scheduler = await h.startScheduler({ ...restartSettings, maxAttempts: 1 });
    const row = await h.waitForRequest('end-missed', (r) => r.status === 'failed');
    await scheduler.stop();
    expect(row).toMatchObject({ attempts: 1, lastOutcome: 'no-answer' });
    expect(scheduler.logs.messages()).toContain(
      'dialed call ended without an ended event; closing it',
    );
    expect(await h.simCalls({ to })).toHaveLength(1);
  });

  it('a call whose `created` went out before the replica died is adopted as that attempt', async () => {
    const to = '+15550004003';
    h.sims.twilio.setBehaviour(to, { answer: 'busy', ringMs: 100 });
    const claim = await claimedByADeadReplica('died-after-created', to);
    const sid = await dialedByADeadReplica(claim);
    await dialerEvents(jetstream(h.ns.nc), h.names).created({
      callId: claim.callId,
      transport: 'media-streams',
      from: OUR_NUMBER,
      to,
      agentId: h.agentId,
      providerCallSid: sid,
    });
    // The busy end arrives while the request is still `dialing`: it counts for this attempt.
    const scheduler = await h.startScheduler({ ...restartSettings, maxAttempts: 1 });
    const row = await h.waitForRequest('died-after-created', (r) => r.status === 'failed');
    await scheduler.stop();
    expect(row).toMatchObject({ attempts: 1, lastOutcome: 'busy' });
    expect(await h.simCalls({ to })).toHaveLength(1);
  });

  it('stopping a replica mid-run and starting another loses no request and dials none twice', async () => {
    const keys = Array.from({ length: 6 }, (_, i) => `restart-${i}`);
    const settings = { ...restartSettings, maxCpsPerNumber: 5, maxAttempts: 1 };
    const first = await h.startScheduler(settings);
    await Promise.all(
      keys.map((key, i) => {
        const to = `+1555000410${i}`;
        h.sims.twilio.setBehaviour(to, { answer: 'busy', ringMs: 100 });
        return h.request({ to, idempotencyKey: key });
      }),
    );
    // Stop while some are placed and the rest wait for their per-number slot.
    await waitFor(async () =>
      (await h.prisma.callRequest.count({
        where: { idempotencyKey: { in: keys }, providerCallSid: { not: null } },
      })) >= 2
        ? true
        : undefined,
    );
    await first.stop();
    const placedBefore = await h.prisma.callRequest.count({
      where: { idempotencyKey: { in: keys }, providerCallSid: { not: null } },
    });
    expect(placedBefore).toBeLessThan(keys.length);
    expect(
      await h.prisma.callRequest.count({
        where: { idempotencyKey: { in: keys }, status: 'dialing' },
      }),
    ).toBe(0);
    const second = await h.startScheduler(settings);
    for (const key of keys) await h.waitForRequest(key, (r) => r.status === 'failed');
    await second.stop();
    for (let i = 0; i < keys.length; i++)
      expect(await h.simCalls({ to: `+1555000410${i}` })).toHaveLength(1);
  });
});
