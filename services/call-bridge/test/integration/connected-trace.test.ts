/**
 * One call, one trace: a call that goes gateway webhook → call-bridge → tool-runner → handoff
 * (the model calls `transfer_to_human`) yields spans that all share one trace id, form one tree
 * under the gateway's webhook span, and come from all four services.
 *
 * Everything runs in this process (simulators, the gateway's webhook routes, the bridge, the
 * REAL tool-runner and handoff service, real NATS and PostgreSQL), with telemetry started once
 * and spans kept in memory. Each service creates its spans under its own instrumentation scope
 * (its name), which is how the spans are told apart here. The context crosses between them only
 * the way it does between pods: the TwiML `<Parameter>` (Media Streams) and NATS headers; in
 * between, the simulators' HTTP and WebSocket hops carry none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureSpans, type CapturedSpans, type ReadableSpan } from '@app/platform/testing';

import { waitFor, type Harness } from './harness.js';
import {
  ringForAHuman,
  startTransferStack,
  twilioClientOf,
  type TransferStack,
} from './transfer-stack.js';

let captured: CapturedSpans;
let stack: TransferStack;
let h: Harness;

beforeAll(async () => {
  // Before anything else: every service below finds the global tracer provider.
  captured = await captureSpans('voice-platform-test');
  stack = await startTransferStack();
  h = stack.h;
});

afterAll(async () => {
  await stack?.stop();
  await captured?.stop();
});

const scopeOf = (s: ReadableSpan) => s.instrumentationScope.name;
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

/**
 * The spans of the trace that the call's `rootName` span (the gateway's webhook) starts, once the
 * ones every hop makes have ended (the `call` span ends with the call, after the transfer).
 */
async function traceOf(rootName: string, callId: string): Promise<ReadableSpan[]> {
  const root = await waitFor(() =>
    captured.spans().find((s) => s.name === rootName && s.attributes['call.id'] === callId),
  );
  const { traceId } = root.spanContext();
  return waitFor(() => {
    const spans = captured.spans().filter((s) => s.spanContext().traceId === traceId);
    const names = new Set(spans.map((s) => s.name));
    const complete =
      ['call', 'realtime.connect', 'tool.call transfer_to_human'].every((n) => names.has(n)) &&
      names.has('tool.execute transfer_to_human') &&
      names.has('handoff.transfer');
    // Nothing of this call may be left in another trace either.
    const elsewhere = captured
      .spans()
      .filter((s) => s.attributes['call.id'] === callId && s.spanContext().traceId !== traceId);
    if (elsewhere.length > 0) {
      throw new Error(`spans of the call outside its trace: ${elsewhere.map((s) => s.name)}`);
    }
    return complete ? spans : undefined;
  }, 30_000);
}

/**
 * The call's trace: one root (`rootName`), every other span's parent in the set, spans from each
 * of the four services, and the call's span naming the call and its transport.
 */
async function expectOneConnectedTrace(
  callId: string,
  rootName: string,
  transport: 'media-streams' | 'sip',
): Promise<void> {
  const spans = await traceOf(rootName, callId);
  const ids = new Set(spans.map((s) => s.spanContext().spanId));
  const roots = spans.filter((s) => parentOf(s) === undefined);
  expect(roots.map((s) => [scopeOf(s), s.name])).toEqual([['gateway', rootName]]);
  const orphans = spans.filter((s) => parentOf(s) !== undefined && !ids.has(parentOf(s) ?? ''));
  expect(orphans.map((s) => `${scopeOf(s)}:${s.name}`)).toEqual([]);
  expect(new Set(spans.map(scopeOf))).toEqual(
    new Set(['gateway', 'call-bridge', 'tool-runner', 'handoff']),
  );

  // The chain itself: webhook → call → tool.call → tool.execute → handoff.transfer.
  const byName = (name: string) => {
    const found = spans.filter((s) => s.name === name);
    expect(found, name).toHaveLength(1);
    return found[0] as ReadableSpan;
  };
  const idOf = (s: ReadableSpan) => s.spanContext().spanId;
  const root = byName(rootName);
  const call = byName('call');
  const toolCall = byName('tool.call transfer_to_human');
  const execute = byName('tool.execute transfer_to_human');
  const transfer = byName('handoff.transfer');
  expect(parentOf(call)).toBe(idOf(root));
  expect(parentOf(byName('realtime.connect'))).toBe(idOf(call));
  expect(parentOf(toolCall)).toBe(idOf(call));
  expect(parentOf(execute)).toBe(idOf(toolCall));
  expect(parentOf(transfer)).toBe(idOf(execute));
  expect([scopeOf(call), scopeOf(execute), scopeOf(transfer)]).toEqual([
    'call-bridge',
    'tool-runner',
    'handoff',
  ]);
  expect(call.attributes).toMatchObject({ 'call.end_reason': 'transferred' });
  expect(execute.attributes).toMatchObject({ 'tool.outcome': 'ok' });
  expect(transfer.attributes).toMatchObject({ 'handoff.outcome': 'accepted' });
  expect(call.attributes).toMatchObject({
    'call.id': callId,
    'call.direction': 'inbound',
    'call.transport': transport,
  });
}

describe('one call, one connected trace', { timeout: 90_000 }, () => {
  it('Media Streams: /twilio/voice → the bridge (TwiML traceparent) → tool-runner → handoff', async () => {
    const { call, callId } = await ringForAHuman(h, {
      via: 'media-streams',
      scenario: 'trace-media',
      skill: 'trace-billing',
      human: { name: 'Trace Tess', phoneNumber: '+15555550191' },
    });
    await expectOneConnectedTrace(callId, 'twilio.voice', 'media-streams');

    // The transfer moved the caller to the human's leg; hang it up to end the call.
    await twilioClientOf(h).calls(call.callSid).update({ status: 'completed' });
    await call.ended;
  });

  it('SIP: /openai/webhook → the bridge (sip-offer headers) → tool-runner → handoff', async () => {
    const { callId } = await ringForAHuman(h, {
      via: 'sip',
      scenario: 'trace-sip',
      skill: 'trace-sip',
      human: { name: 'Trace Sal', sipUri: 'sip:sal@pbx.example.com' },
    });
    await expectOneConnectedTrace(callId, 'openai.webhook', 'sip');
  });
});
