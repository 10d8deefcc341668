import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { attemptCallId } from '../../src/domain/attempts.js';
import {
  MORE_NUMBERS,
  OUR_NUMBER,
  SIP_NUMBER,
  startHarness,
  waitFor,
  type Harness,
} from './harness.js';

let h: Harness;
let scheduler: Awaited<ReturnType<Harness['startScheduler']>>;

beforeAll(async () => {
  h = await startHarness();
  scheduler = await h.startScheduler();
});
afterAll(async () => {
  await h?.close();
});

/** Every event stored in CALLS for one call id. */
async function eventsOf(
  callId: string,
): Promise<Array<{ type: string; id: string; data: Record<string, unknown> }>> {
  const jsm = await jetstreamManager(h.ns.nc);
  const stream = h.names.streams.calls.name;
  const info = await jsm.streams.info(stream);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    const event = msg?.json<{
      type: string;
      id: string;
      callId: string;
      data: Record<string, unknown>;
    }>();
    if (event?.callId === callId) out.push(event);
  }
  return out;
}

describe('campaign-scheduler - dialing call requests', { timeout: 20_000 }, () => {
  it('dials a valid request once, from our number to the callee, with the TwiML URL at the gateway', async () => {
    const to = '+15550001001';
    h.sims.twilio.setBehaviour(to, { answer: 'human', ringMs: 200 });
    await h.request({
      to,
      idempotencyKey: 'happy-1',
      variables: { name: 'Ada' },
      metadata: { order: 7 },
    });

    const done = await h.waitForRequest('happy-1', (r) => r.status === 'completed');
    const callId = attemptCallId('happy-1', 1);
    expect(done).toMatchObject({
      origin: 'test',
      toNumber: to,
      fromNumber: OUR_NUMBER,
      transport: 'media_streams',
      attempts: 1,
      callId,
      lastOutcome: 'completed',
      variables: { name: 'Ada' },
      metadata: { order: 7 },
    });
    const calls = await h.simCalls({ to });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      to,
      from: OUR_NUMBER,
      status: 'completed',
      sid: done.providerCallSid,
    });
    // What Twilio was asked to do, and what it fetched when the callee answered.
    const create = h.creates.find((c) => c.params.To === to);
    expect(create?.params).toMatchObject({
      From: OUR_NUMBER,
      Url: `${h.gatewayUrl}/twilio/outbound?callId=${callId}&agentId=${h.agentId}`,
      Method: 'POST',
      StatusCallback: `${h.gatewayUrl}/twilio/status`,
      StatusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
      Timeout: '1',
    });
    expect(create?.params.MachineDetection).toBeUndefined();
    expect(h.outboundFetches).toContainEqual({ callId, agentId: h.agentId });
    const voice = h.sims.twilio.recordingOf(calls[0]!.sid)?.ofKind('webhook.voice')[0];
    expect(voice?.data?.url).toBe(
      `${h.gatewayUrl}/twilio/outbound?callId=${callId}&agentId=${h.agentId}`,
    );
    // The call's events: our `created` (so the gateway knew the CallSid), then its end.
    const events = await eventsOf(callId);
    expect(events[0]).toMatchObject({
      type: 'call.created',
      data: {
        direction: 'outbound',
        transport: 'media-streams',
        from: OUR_NUMBER,
        to,
        agentId: h.agentId,
        providerCallSid: done.providerCallSid,
        variables: { name: 'Ada' },
      },
    });
    expect(events.at(-1)).toMatchObject({ type: 'call.ended', data: { reason: 'completed' } });
    const record = await waitFor(() =>
      h.prisma.call.findUnique({ where: { id: callId } }).then((c) => (c?.endedAt ? c : undefined)),
    );
    expect(record).toMatchObject({
      direction: 'outbound',
      twilioCallSid: done.providerCallSid,
      variables: { name: 'Ada' },
    });
  });

  it('the same idempotency key sent twice dials once', async () => {
    const to = '+15550001002';
    h.sims.twilio.setBehaviour(to, { answer: 'human', ringMs: 200 });
    await h.request({ to, idempotencyKey: 'twice-1' });
    await h.waitForRequest('twice-1', (r) => r.status === 'dialed' || r.status === 'completed');
    // A second message with the same key but its own event id (JetStream cannot drop it).
    const { callRequest, publishCallRequest } = await import('@app/contracts');
    await publishCallRequest(
      jetstream(h.ns.nc),
      h.names,
      'other-service',
      callRequest(
        { to, from: OUR_NUMBER, agentId: h.agentId, idempotencyKey: 'twice-1' },
        { id: crypto.randomUUID() },
      ),
    );
    await waitFor(() =>
      scheduler.logs.lines.some(
        (l) => l.msg === 'call request with a known idempotency key ignored',
      )
        ? true
        : undefined,
    );
    await h.waitForRequest('twice-1', (r) => r.status === 'completed');
    expect(await h.simCalls({ to })).toHaveLength(1);
    expect(await h.prisma.callRequest.count({ where: { idempotencyKey: 'twice-1' } })).toBe(1);
  });

  it('records an invalid internal request as rejected with every reason, and dials nothing', async () => {
    await h.prisma.doNotCallEntry.create({ data: { phone: '+15550001003', source: 'test' } });
    await h.request(
      { to: '+15550001003', from: '+15550009999', idempotencyKey: 'invalid-1' },
      'crm',
    );
    const row = await h.waitForRequest('invalid-1', (r) => r.status === 'rejected');
    expect(row).toMatchObject({
      origin: 'crm',
      toNumber: '+15550001003',
      attempts: 0,
      callId: null,
    });
    expect(row.issues).toEqual([
      expect.objectContaining({ field: 'to', code: 'do_not_call' }),
      expect.objectContaining({ field: 'from', code: 'from_not_ours' }),
    ]);
    expect(row.error).toContain('do-not-call');
    await h.request({
      to: '+15550001004',
      agentId: '6b8e1c9e-0000-4000-8000-000000000000',
      idempotencyKey: 'invalid-2',
    });
    const unknownAgent = await h.waitForRequest('invalid-2', (r) => r.status === 'rejected');
    expect(unknownAgent.agentId).toBeNull();
    expect(unknownAgent.issues).toEqual([
      expect.objectContaining({ field: 'agentId', code: 'unknown_agent' }),
    ]);
    expect(await h.simCalls({ to: '+15550001003' })).toHaveLength(0);
  });

  it('terminates a message that fails the call-request schema, logging its subject', async () => {
    const js = jetstream(h.ns.nc);
    const subject = h.names.subjects.callRequest('broken');
    await js.publish(
      subject,
      new TextEncoder().encode(
        JSON.stringify({ v: 1, type: 'call-request', data: { to: '5550001' } }),
      ),
    );
    const line = await waitFor(() =>
      scheduler.logs.lines.find(
        (l) => l.msg === 'invalid message terminated' && l.subject === subject,
      ),
    );
    expect(line.consumer).toBe(h.names.consumers.callRequests);
    // Terminated means gone from the work queue: nothing redelivers it.
    const jsm = await jetstreamManager(h.ns.nc);
    await waitFor(async () =>
      (await jsm.consumers.info(h.names.streams.callRequests.name, h.names.consumers.callRequests))
        .num_ack_pending === 0
        ? true
        : undefined,
    );
  });

  it('a scheduled request waits until its time', async () => {
    const to = '+15550001005';
    h.sims.twilio.setBehaviour(to, { answer: 'human', ringMs: 200 });
    const at = Date.now() + 1_500;
    await h.request({ to, idempotencyKey: 'later-1', scheduledAt: new Date(at).toISOString() });
    const row = await h.waitForRequest('later-1', (r) => r.status === 'pending');
    expect(row.nextAttemptAt.getTime()).toBe(at);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(await h.simCalls({ to })).toHaveLength(0);
    await h.waitForRequest('later-1', (r) => r.status === 'completed', 5_000);
    const [call] = await h.simCalls({ to });
    expect(call!.createdMs).toBeGreaterThanOrEqual(at);
  });

  it('places a call from a SIP number as <Dial><Sip> to OpenAI with the agent and call in X- headers', async () => {
    const to = '+15550001006';
    h.sims.twilio.setBehaviour(to, { answer: 'human', ringMs: 200 });
    await h.request({ to, from: SIP_NUMBER, idempotencyKey: 'sip-1' });
    const row = await h.waitForRequest('sip-1', (r) => r.status === 'completed');
    const callId = attemptCallId('sip-1', 1);
    expect(row.transport).toBe('sip');
    const create = h.creates.find((c) => c.params.To === to);
    expect(create?.params.Url).toBeUndefined();
    expect(create?.params.Twiml).toContain(
      `<Dial><Sip>sip:proj_test@sip.test.invalid;transport=tls?X-Agent-Id=${h.agentId}&amp;X-Call-Id=${callId}</Sip></Dial>`,
    );
    const dial = h.sims.twilio.recordingOf(row.providerCallSid!)?.ofKind('twiml.dial')[0];
    expect(dial?.data?.targets).toEqual([
      expect.objectContaining({
        type: 'sip',
        target: `sip:proj_test@sip.test.invalid;transport=tls?X-Agent-Id=${h.agentId}&X-Call-Id=${callId}`,
      }),
    ]);
    expect(h.outboundFetches.some((f) => f.callId === callId)).toBe(false);
  });

  it('asks Twilio for answering-machine detection as the agent is set up', async () => {
    const agent = await h.prisma.agent.create({
      data: { name: 'voicemail agent', instructions: 'x', amdMode: 'voicemail' },
    });
    await h.prisma.phoneNumber.update({
      where: { e164: MORE_NUMBERS[2] },
      data: { agentId: agent.id },
    });
    const to = '+15550001007';
    h.sims.twilio.setBehaviour(to, { answer: 'busy', ringMs: 100 });
    await h.request({ to, from: MORE_NUMBERS[2], agentId: agent.id, idempotencyKey: 'amd-1' });
    await waitFor(() => h.creates.find((c) => c.params.To === to));
    expect(h.creates.find((c) => c.params.To === to)?.params.MachineDetection).toBe(
      'DetectMessageEnd',
    );
  });

  it('fails a request Twilio refuses for good (caller id not at Twilio, 21210), with its error', async () => {
    // Twilio's 21210: the caller id is not a number of the account (ours in the database, not at Twilio).
    await h.prisma.phoneNumber.create({ data: { e164: '+15550007777', agentId: h.agentId } });
    await h.request({ to: '+15550001008', from: '+15550007777', idempotencyKey: 'refused-1' });
    const row = await h.waitForRequest('refused-1', (r) => r.status === 'failed');
    expect(row.error).toMatch(/^twilio 400 21210: /);
    expect(row.attempts).toBe(0);
    expect(await h.simCalls({ to: '+15550001008' })).toHaveLength(0);
  });
});
