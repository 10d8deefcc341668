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
import { Registry } from 'prom-client';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startHandoff, twilioVoice, type RunningHandoff } from '@app/handoff';
import {
  captureLogs,
  captureSpans,
  type CapturedSpans,
  type ReadableSpan,
} from '@app/platform/testing';
import { parseScenario, type ScenarioInput } from '@app/sim';
import { startToolRunner, type RunningToolRunner } from '@app/tool-runner';
import { toolSpecsForAgent } from '@app/tools';

import { CALLER, OUR_NUMBER, SIP_NUMBER, startHarness, waitFor, type Harness } from './harness.js';

let captured: CapturedSpans;
let h: Harness;
let runner: RunningToolRunner;
let handoff: RunningHandoff;

beforeAll(async () => {
  // Before anything else: every service below finds the global tracer provider.
  captured = await captureSpans('voice-platform-test');
  h = await startHarness({
    pacing: 'fast',
    toolNames: ['transfer_to_human'],
    toolSpecs: (names) => toolSpecsForAgent(h.prisma, names),
  });
  runner = await startToolRunner({
    nc: h.ns.nc,
    names: h.names,
    prisma: h.prisma,
    registry: new Registry(),
    log: captureLogs().log,
    settings: { transferMode: 'warm', handoffTimeoutMs: 5_000 },
  });
  const { accountSid, authToken } = h.sims.credentials.twilio;
  handoff = await startHandoff({
    nc: h.ns.nc,
    names: h.names,
    prisma: h.prisma,
    twilio: twilioVoice({ accountSid, authToken, apiBaseUrl: h.sims.twilioUrl, timeoutMs: 5_000 }),
    webhook: null,
    settings: { transferDelayMs: 0, pollIntervalMs: 100, controlTimeoutMs: 3_000 },
    log: captureLogs().log,
  });
});

afterAll(async () => {
  await handoff?.stop();
  await runner?.stop();
  await h?.close();
  await captured?.stop();
});

/** The caller asks for a person; the model transfers them, then stays quiet. */
function asksForAPerson(name: string, skill: string): ScenarioInput {
  return {
    name,
    caller: {
      steps: [
        { waitForAgent: { quietMs: 15_000, timeoutMs: 60_000 } },
        { say: 'I want to talk to a person about my bill.' },
        { pauseMs: 600_000 },
        { hangup: true },
      ],
    },
    model: {
      greeting: 'Hello, how can I help?',
      turns: [
        {
          toolCall: {
            name: 'transfer_to_human',
            arguments: { reason: 'billing question', summary: 'Caller disputes a bill.', skill },
          },
          sayAfterTool: 'Connecting you to a colleague now.',
        },
      ],
    },
  };
}

const scopeOf = (s: ReadableSpan) => s.instrumentationScope.name;
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

/**
 * The spans of the trace `root` starts, once the ones every hop makes have ended (the `call`
 * span ends with the call, after the transfer).
 */
async function traceOf(root: ReadableSpan, callId: string): Promise<ReadableSpan[]> {
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

/** One root, every other span's parent in the set, and spans from each of the four services. */
function expectOneConnectedTrace(spans: ReadableSpan[], rootName: string): void {
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
}

describe('one call, one connected trace', { timeout: 90_000 }, () => {
  it('Media Streams: /twilio/voice → the bridge (TwiML traceparent) → tool-runner → handoff', async () => {
    await h.prisma.humanAgent.create({
      data: {
        name: 'Trace Tess',
        phoneNumber: '+15555550191',
        skills: ['trace-billing'],
        status: 'available',
        availableSince: new Date(),
      },
    });
    const call = await h.sims.twilio.ringInbound({
      to: OUR_NUMBER,
      from: CALLER,
      scenario: parseScenario(asksForAPerson('trace-media', 'trace-billing')),
    });
    const callId = await h.callIdOf(call.callSid);
    const root = await waitFor(() =>
      captured.spans().find((s) => s.name === 'twilio.voice' && s.attributes['call.id'] === callId),
    );
    const spans = await traceOf(root, callId);
    expectOneConnectedTrace(spans, 'twilio.voice');
    expect(spans.find((s) => s.name === 'call')?.attributes).toMatchObject({
      'call.id': callId,
      'call.direction': 'inbound',
      'call.transport': 'media-streams',
    });

    // The transfer moved the caller to the human's leg; hang it up to end the call.
    const { accountSid, authToken } = h.sims.credentials.twilio;
    const client = twilio(accountSid, authToken);
    client.api.baseUrl = h.sims.twilioUrl;
    await client.calls(call.callSid).update({ status: 'completed' });
    await call.ended;
  });

  it('SIP: /openai/webhook → the bridge (sip-offer headers) → tool-runner → handoff', async () => {
    await h.prisma.humanAgent.create({
      data: {
        name: 'Trace Sal',
        sipUri: 'sip:sal@pbx.example.com',
        skills: ['trace-sip'],
        status: 'available',
        availableSince: new Date(),
      },
    });
    const call = await h.sims.twilio.ringInbound({
      to: SIP_NUMBER,
      from: CALLER,
      scenario: parseScenario(asksForAPerson('trace-sip', 'trace-sip')),
    });
    const callId = await h.sipCallIdOf(call.callSid);
    const root = await waitFor(() =>
      captured
        .spans()
        .find((s) => s.name === 'openai.webhook' && s.attributes['call.id'] === callId),
    );
    const spans = await traceOf(root, callId);
    expectOneConnectedTrace(spans, 'openai.webhook');
    expect(spans.find((s) => s.name === 'call')?.attributes).toMatchObject({
      'call.id': callId,
      'call.direction': 'inbound',
      'call.transport': 'sip',
    });
  });
});
