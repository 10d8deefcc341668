/**
 * `tool-runner.execute` end to end over real NATS and PostgreSQL: each built-in tool, HTTP tools
 * against a local server that checks their signatures, and every structured error (unknown tool,
 * not enabled, invalid arguments, timeout, handler error, oversized response).
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { Svcm } from '@nats-io/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { callEventSchema, callRequestSchema, type CallEvent } from '@app/contracts';

import { CALLBACK_ORIGIN } from '../../src/tools/schedule-callback.js';
import { CALLER, OURS, startHarness, until, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 60_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

const errorOf = (result: Awaited<ReturnType<Harness['invoke']>>) =>
  result.ok
    ? { code: 'none', message: JSON.stringify(result.output), retryable: false }
    : result.error;

/** How many messages `stream` holds on `subject`, and the last one. */
async function stored(stream: string, subject: string): Promise<{ count: number; last: unknown }> {
  const jsm = await jetstreamManager(h.ns.nc);
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  const count = info.state.subjects?.[subject] ?? 0;
  if (count === 0) return { count, last: undefined };
  const msg = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  return { count, last: msg?.json() };
}

describe('built-in tools', { timeout: 30_000 }, () => {
  it("get_time: the caller's zone from their number, or the zone given", async () => {
    const callId = await h.newCall();

    const own = await h.invoke(callId, 'get_time', {});
    const paris = await h.invoke(callId, 'get_time', { timeZone: 'Europe/Paris' });
    const bogus = await h.invoke(callId, 'get_time', { timeZone: 'Mars/Olympus' });

    expect(own).toEqual({
      ok: true,
      output: expect.objectContaining({
        timeZone: 'America/Los_Angeles',
        zoneSource: 'caller-number',
        localTime: '2026-11-30T10:00:00-08:00',
        utcOffset: '-08:00',
        spoken: expect.stringMatching(/^Monday,? 30 November 2026,? (at )?10:00$/),
      }),
    });
    expect(paris).toMatchObject({
      ok: true,
      output: {
        timeZone: 'Europe/Paris',
        zoneSource: 'given',
        localTime: '2026-11-30T19:00:00+01:00',
      },
    });
    expect(errorOf(bogus)).toMatchObject({
      code: 'INVALID_ARGS',
      message: expect.stringContaining('unknown time zone "Mars/Olympus"'),
    });
  });

  it('get_time without a recorded call falls back to UTC and says so', async () => {
    const result = await h.invoke('CAnotrecorded0001', 'get_time', {});
    expect(result).toMatchObject({
      ok: true,
      output: { timeZone: 'UTC', zoneSource: 'default', note: expect.any(String) },
    });
  });

  it('schedule_callback publishes one call request per invocation on call-requests.tool-runner', async () => {
    const callId = await h.newCall();
    const invocationId = 'call_cb_0001';
    const args = { at: '2026-12-01T17:30:00-08:00', reason: 'quote follow-up' };

    const first = await h.invoke(callId, 'schedule_callback', args, { invocationId });
    // The bridge retrying the same invocation must not book a second call.
    const again = await h.invoke(callId, 'schedule_callback', args, { invocationId });

    expect(first).toEqual({
      ok: true,
      output: {
        scheduled: true,
        at: '2026-12-02T01:30:00.000Z',
        to: CALLER,
        callbackRequestId: expect.any(String),
      },
    });
    expect(again).toEqual(first);
    const subject = h.names.subjects.callRequest(CALLBACK_ORIGIN);
    const { count, last } = await stored(h.names.streams.callRequests.name, subject);
    expect(count).toBe(1);
    const req = callRequestSchema.parse(last);
    expect(req.data).toEqual({
      to: CALLER,
      from: OURS,
      agentId: h.agentId,
      scheduledAt: '2026-12-02T01:30:00.000Z',
      idempotencyKey: `tool-runner:schedule_callback:${invocationId}`,
      metadata: { callbackForCallId: callId, reason: 'quote follow-up' },
    });
  });

  it('schedule_callback refuses both or neither time, and a time in the past', async () => {
    const callId = await h.newCall();
    const both = await h.invoke(callId, 'schedule_callback', {
      at: '2026-12-01T10:00:00Z',
      inMinutes: 30,
    });
    const past = await h.invoke(callId, 'schedule_callback', { at: '2026-11-29T10:00:00Z' });
    const badFormat = await h.invoke(callId, 'schedule_callback', { at: 'tomorrow at 3' });

    expect(errorOf(both)).toMatchObject({
      code: 'INVALID_ARGS',
      message: expect.stringContaining('exactly one'),
    });
    expect(errorOf(past)).toMatchObject({
      code: 'INVALID_ARGS',
      message: expect.stringContaining('past'),
    });
    // ajv's date-time format catches it before the handler runs.
    expect(errorOf(badFormat)).toMatchObject({
      code: 'INVALID_ARGS',
      message: expect.stringContaining('arguments.at must match format "date-time"'),
    });
  });

  it('end_call acknowledges; the bridge hangs up after the goodbye', async () => {
    const callId = await h.newCall();
    expect(await h.invoke(callId, 'end_call', { reason: 'done' })).toEqual({
      ok: true,
      output: { ending: true },
    });
  });

  it('take_message records a message-taken call event, once per invocation', async () => {
    const callId = await h.newCall();
    const args = { message: 'Call me about the invoice.', callerName: 'Ada', urgent: true };

    const result = await h.invoke(callId, 'take_message', args, { invocationId: 'call_msg_1' });
    await h.invoke(callId, 'take_message', args, { invocationId: 'call_msg_1' });

    expect(result).toMatchObject({ ok: true, output: { recorded: true } });
    const subject = h.names.subjects.callEvent(callId, 'message-taken');
    const { count, last } = await stored(h.names.streams.calls.name, subject);
    expect(count).toBe(1);
    const event = callEventSchema.parse(last) as CallEvent<'message-taken'>;
    expect(event.data).toEqual({ invocationId: 'call_msg_1', ...args });
  });

  it('transfer_to_human with nobody available: the model is told to offer a callback or a message', async () => {
    const callId = await h.newCall();
    const result = await h.invoke(callId, 'transfer_to_human', {
      reason: 'wants a person',
      summary: 'Ada, invoice 42 disputed.',
      skill: 'billing',
    });

    expect(result).toMatchObject({
      ok: true,
      output: {
        status: 'no-human-available',
        reason: expect.any(String),
        instructions: expect.stringMatching(/schedule_callback.*take_message/),
      },
    });
    // The real handoff service recorded it, with the model's reason and summary.
    const row = await until(() =>
      h.prisma.handoff.findFirst({ where: { callId } }).then((r) => r ?? undefined),
    );
    expect(row).toMatchObject({
      // The handoff service's label for the transfer_to_human trigger.
      trigger: 'agent_tool',
      reason: 'wants a person',
      summary: 'Ada, invoice 42 disputed.',
      skill: 'billing',
      mode: 'warm',
      status: 'failed',
    });
  });

  it('transfer_to_human with a human available: the handoff is accepted', async () => {
    await h.prisma.humanAgent.create({
      data: {
        name: 'Grace',
        skills: ['sales'],
        sipUri: 'sip:grace@example.com',
        status: 'available',
        availableSince: new Date(),
      },
    });
    const callId = await h.newCall();
    const result = await h.invoke(callId, 'transfer_to_human', {
      reason: 'ready to buy',
      summary: 'Wants the pro plan.',
      skill: 'sales',
    });

    expect(result).toMatchObject({
      ok: true,
      output: { status: 'transferring', handoffId: expect.any(String) },
    });
  });
});

describe('HTTP tools', { timeout: 30_000 }, () => {
  it('POSTs the arguments signed with the tool secret; the server verifies the signature', async () => {
    const callId = await h.newCall();
    const result = await h.invoke(
      callId,
      'lookup_order',
      { orderId: '42' },
      { invocationId: 'call_http_1' },
    );

    expect(result).toEqual({ ok: true, output: { order: { orderId: '42' }, status: 'shipped' } });
    const [req] = h.received('/signed/orders');
    expect(req).toMatchObject({ method: 'POST', body: '{"orderId":"42"}', signatureValid: true });
    expect(req?.headers).toMatchObject({
      'x-api-key': 'k-123',
      'idempotency-key': 'call_http_1',
      'x-call-id': callId,
      'content-type': 'application/json',
    });
  });

  it('a request signed with the wrong secret is refused by the server, and the model is told', async () => {
    const callId = await h.newCall();
    const result = await h.invoke(callId, 'wrong_secret', { orderId: '1' });
    expect(errorOf(result)).toMatchObject({
      code: 'TOOL_FAILED',
      message: expect.stringContaining('HTTP 401'),
      retryable: false,
    });
  });

  it('retries an idempotent GET through 5xx, with the arguments as signed query parameters', async () => {
    const callId = await h.newCall();
    const result = await h.invoke(callId, 'list_slots', { day: '2026-12-01', party: 2 });

    expect(result).toEqual({ ok: true, output: { slots: ['09:00', '10:30'], day: '2026-12-01' } });
    const reqs = h.received('/signed/slots');
    expect(reqs).toHaveLength(3);
    expect(reqs.every((r) => r.signatureValid && r.method === 'GET')).toBe(true);
    expect(reqs[2]?.query).toEqual({ day: '2026-12-01', party: '2' });
  });

  it('does not retry a POST (not idempotent) and reports the 5xx', async () => {
    const callId = await h.newCall();
    const result = await h.invoke(callId, 'flaky_post', { a: 1 });

    expect(errorOf(result)).toMatchObject({
      code: 'TOOL_FAILED',
      message: expect.stringContaining('HTTP 500'),
    });
    expect(h.received('/signed/flaky-post')).toHaveLength(1);
  });

  it('reports a 4xx as the tool failing, with the status and body excerpt', async () => {
    const callId = await h.newCall();
    const result = await h.invoke(callId, 'missing_order', {});
    expect(errorOf(result)).toMatchObject({
      code: 'TOOL_FAILED',
      message: 'the tool answered HTTP 404: {"error":"no such order"}',
    });
  });

  it("times out a slow tool with TIMEOUT, on the tool's own timeout", async () => {
    const callId = await h.newCall();
    const result = await h.invoke(callId, 'slow_tool', {});
    // The server answers after 3 s; the tool's own 300 ms timeout answered.
    expect(errorOf(result)).toMatchObject({
      code: 'TIMEOUT',
      message: 'no answer within 300 ms',
      retryable: true,
    });
  });

  it("honours the requester's deadline when it is shorter than the tool's timeout", async () => {
    const callId = await h.newCall();
    // The server answers after 3 s and the tool's own timeout is 300 ms; the requester waits
    // 250 ms, so the runner gives up at 250 - 100 (margin) = 150 ms, well before either.
    const result = await h.invoke(callId, 'slow_tool', {}, { deadlineMs: 250 });
    expect(errorOf(result)).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(errorOf(result)?.message).toContain('150 ms');
  });

  it('refuses a response larger than the tool allows (OUTPUT_TOO_LARGE)', async () => {
    const callId = await h.newCall();
    const result = await h.invoke(callId, 'big_tool', {});
    expect(errorOf(result)).toMatchObject({
      code: 'OUTPUT_TOO_LARGE',
      message: expect.stringContaining('1000 bytes'),
    });
  });

  it('refuses an output larger than the runner hands to the model', async () => {
    const callId = await h.newCall();
    const result = await h.invoke(callId, 'wide_tool', {});
    expect(errorOf(result)).toMatchObject({
      code: 'OUTPUT_TOO_LARGE',
      message: expect.stringContaining(`${16 * 1024} bytes`),
    });
  });
});

describe('structured errors before a tool runs', { timeout: 30_000 }, () => {
  it('invalid arguments name the field and never reach the tool', async () => {
    const callId = await h.newCall();
    const before = h.received('/signed/orders').length;

    const missing = await h.invoke(callId, 'transfer_to_human', { reason: 'x' });
    const pattern = await h.invoke(callId, 'lookup_order', { orderId: 'abc' });
    const extra = await h.invoke(callId, 'lookup_order', { orderId: '1', admin: true });
    const notObject = await h.invoke(callId, 'lookup_order', ['1']);

    expect(errorOf(missing)).toMatchObject({
      code: 'INVALID_ARGS',
      message: "invalid arguments: arguments must have required property 'summary'",
    });
    expect(errorOf(pattern).message).toContain('arguments.orderId must match pattern');
    expect(errorOf(extra).message).toContain('must NOT have additional properties (admin)');
    expect(errorOf(notObject)).toMatchObject({
      code: 'INVALID_ARGS',
      message: 'arguments must be a JSON object',
    });
    expect(h.received('/signed/orders').length).toBe(before);
  });

  it('an unknown tool, a tool not enabled for the agent, a disabled tool', async () => {
    const callId = await h.newCall();

    const unknown = await h.invoke(callId, 'launch_rocket', {});
    const listedButMissing = await h.invoke(callId, 'ghost_tool', {});
    const notEnabled = await h.invoke(callId, 'end_call', {}, { agentId: h.narrowAgentId });
    const disabled = await h.invoke(callId, 'disabled_tool', {});

    expect(errorOf(unknown)).toMatchObject({ code: 'UNKNOWN_TOOL' });
    expect(errorOf(listedButMissing)).toMatchObject({ code: 'UNKNOWN_TOOL' });
    expect(errorOf(notEnabled)).toMatchObject({
      code: 'TOOL_NOT_ENABLED',
      message: expect.stringContaining("not among this agent's tools"),
    });
    expect(errorOf(disabled)).toMatchObject({
      code: 'TOOL_NOT_ENABLED',
      message: expect.stringContaining('disabled'),
    });
  });
});

describe('service and metrics', { timeout: 30_000 }, () => {
  it('is the NATS service tool-runner, discoverable with its endpoint stats', async () => {
    const client = new Svcm(h.ns.nc).client({ strategy: 'timer', maxWait: 1_000 });
    const id = h.runner.service.service.info().id;
    const all = [];
    for await (const s of await client.stats('tool-runner', id)) all.push(s);

    expect(all).toHaveLength(1);
    expect(all[0]?.endpoints?.[0]).toMatchObject({
      name: 'tool-execute',
      subject: h.names.subjects.toolExecute,
      queue_group: 'tool-runner',
    });
    expect(all[0]?.endpoints?.[0]?.num_requests).toBeGreaterThan(0);
  });

  it('exposes tool latency and errors on /metrics', async () => {
    const text = await h.registry.metrics();
    expect(text).toMatch(/tool_runner_invocations_total\{tool="get_time",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/tool_runner_errors_total\{tool="slow_tool",code="TIMEOUT"\} 2/);
    expect(text).toMatch(/tool_runner_errors_total\{tool="unknown",code="UNKNOWN_TOOL"\} [1-9]/);
    expect(text).toMatch(
      /tool_runner_invocation_duration_seconds_count\{tool="lookup_order",outcome="ok"\} [1-9]/,
    );
  });
});
