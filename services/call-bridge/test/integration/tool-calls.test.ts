/**
 * The model's function calls and the caller's key presses through the bridge, end to end:
 * simulated Twilio and OpenAI (scripted conversations whose model calls tools), real NATS and
 * PostgreSQL. Tools here are run by a stand-in tool-runner served on `tool-runner.execute`
 * with scripted results (delays, failures), and `handoff.transfer` by a stand-in handoff service
 * that records what it was asked: what is under test is the bridge's side of both contracts.
 * The real tool-runner's tools through the bridge are in tool-runner.test.ts.
 */
import type { Subscription } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  serveEndpoint,
  type HandoffTransferRequest,
  type HandoffTransferResult,
  type ToolExecuteRequest,
  type ToolResult,
} from '@app/contracts';
import { captureLogs } from '@app/platform/testing';
import { parseScenario, type ScenarioInput } from '@app/sim';

import type { FunctionTool } from '../../src/adapters/openai-realtime.js';
import { CALLER, OUR_NUMBER, SIP_NUMBER, startHarness, waitFor, type Harness } from './harness.js';

/** Scripted tools: a result, after an optional delay (ms). */
type Script = (args: unknown) => { result: ToolResult; delayMs?: number };

const TOOL_SPECS: FunctionTool[] = ['lookup_order', 'slow_lookup', 'end_call'].map((name) => ({
  type: 'function',
  name,
  description: `test tool ${name}`,
  parameters: { type: 'object', properties: {}, additionalProperties: true },
}));

let h: Harness;
const scripts = new Map<string, Script>();
const toolRequests: ToolExecuteRequest[] = [];
const handoffRequests: HandoffTransferRequest[] = [];
let handoffReply: HandoffTransferResult = { status: 'rejected', reason: 'no-human-available' };
let toolRunner: Subscription | null = null;
let handoff: Subscription;

function serveTools(): Subscription {
  return serveEndpoint({
    nc: h.ns.nc,
    names: h.names,
    endpoint: 'tool-execute',
    logger: captureLogs().log,
    handler: async (req) => {
      toolRequests.push(req);
      const script = scripts.get(req.data.name);
      if (!script) {
        return {
          ok: false,
          error: { code: 'UNKNOWN_TOOL', message: 'no such tool', retryable: false },
        };
      }
      const { result, delayMs } = script(req.data.args);
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      return result;
    },
  });
}

beforeAll(async () => {
  h = await startHarness({
    pacing: 'fast',
    toolNames: TOOL_SPECS.map((t) => t.name),
    toolSpecs: (names) => Promise.resolve(TOOL_SPECS.filter((t) => names.includes(t.name))),
    toolPolicy: { fillerAfterMs: 300, failuresBeforeHandoff: 0 },
  });
  toolRunner = serveTools();
  handoff = serveEndpoint({
    nc: h.ns.nc,
    names: h.names,
    endpoint: 'handoff-transfer',
    logger: captureLogs().log,
    handler: (req) => {
      handoffRequests.push(req);
      return handoffReply;
    },
  });
});

afterAll(async () => {
  toolRunner?.unsubscribe();
  handoff?.unsubscribe();
  await h?.close();
});

// 'fast' pacing runs the caller's clock 10x: a quiet of 10 000 ms is about 1 s of real time,
// which the tool round trips below fit in even on a loaded machine.
const QUIET = { quietMs: 10_000, timeoutMs: 60_000 };

/** Greeting, one question answered through a tool, a thank-you, hang up. */
function toolScenario(
  name: string,
  tool: string,
  sayAfterTool: string,
  /** Said in the calling response itself, while the tool runs. */
  sayWhileCalling?: string,
): ScenarioInput {
  return {
    name,
    caller: {
      steps: [
        { waitForAgent: QUIET },
        { say: 'Where is my order?' },
        { waitForAgent: QUIET },
        { say: 'Thanks.' },
        { waitForAgent: QUIET },
        { hangup: true },
      ],
    },
    model: {
      greeting: 'Hello, how can I help?',
      turns: [
        {
          toolCall: { name: tool, arguments: { order: 'A-17' } },
          sayAfterTool,
          ...(sayWhileCalling ? { say: sayWhileCalling } : {}),
        },
        { say: 'You are welcome.' },
      ],
    },
  };
}

const agentLines = (name: string) =>
  h.sims.openai
    .sessions()
    .find((s) => s.scenario === name)
    ?.said.filter((l) => l.role === 'agent')
    .map((l) => l.text);

async function ring(scenario: ScenarioInput, to = OUR_NUMBER) {
  const call = await h.sims.twilio.ringInbound({
    to,
    from: CALLER,
    scenario: parseScenario(scenario),
  });
  const end = await call.ended;
  const callId =
    to === OUR_NUMBER ? await h.callIdOf(call.callSid) : await h.sipCallIdOf(call.callSid);
  return { call, end, callId };
}

describe('call-bridge tool calls', { timeout: 90_000 }, () => {
  it('offers the agent tools, runs a call, answers with its output; event and row recorded', async () => {
    scripts.set('lookup_order', (args) => ({
      result: { ok: true, output: { order: (args as { order: string }).order, status: 'shipped' } },
    }));
    // The model speaks while the tool runs: the answer must wait for that response to finish.
    const scenario = toolScenario(
      'tool-ok',
      'lookup_order',
      'Your order: {output}',
      'Let me check.',
    );
    // The caller, having heard "Let me check.", waits (3 s real) for the answer.
    scenario.caller.steps[2] = { waitForAgent: { quietMs: 30_000, timeoutMs: 60_000 } };
    const { callId } = await ring(scenario);
    const session = h.sims.openai.sessions().find((s) => s.scenario === 'tool-ok');
    expect(session?.config.tools.map((t) => (t as { name: string }).name)).toEqual([
      'lookup_order',
      'slow_lookup',
      'end_call',
    ]);
    expect(session?.badInputs).toEqual([]);
    expect(agentLines('tool-ok')).toEqual([
      'Hello, how can I help?',
      'Let me check.',
      'Your order: {"order":"A-17","status":"shipped"}',
      'You are welcome.',
    ]);
    const req = toolRequests.find((r) => r.callId === callId);
    expect(req?.data).toMatchObject({
      name: 'lookup_order',
      args: { order: 'A-17' },
      agentId: h.agentId,
    });
    expect(req?.data.deadlineMs).toBeGreaterThan(0);

    const events = await h.endedEventsOf(callId);
    const called = events.filter((e) => e.type === 'call.tool-called');
    expect(called).toHaveLength(1);
    expect(called[0]?.data).toMatchObject({
      invocationId: req?.data.invocationId,
      name: 'lookup_order',
      args: { order: 'A-17' },
      result: { order: 'A-17', status: 'shipped' },
    });
    const row = await waitFor(() =>
      h.prisma.toolInvocation.findFirst({ where: { callId } }).then((r) => r ?? undefined),
    );
    expect(row).toMatchObject({
      invocationId: req?.data.invocationId,
      name: 'lookup_order',
      args: { order: 'A-17' },
      result: { order: 'A-17', status: 'shipped' },
      error: null,
    });
    expect(row.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('a slow tool gets a filler line, then the answer', async () => {
    scripts.set('slow_lookup', () => ({ result: { ok: true, output: 'shipped' }, delayMs: 1_500 }));
    const scenario = toolScenario('tool-slow', 'slow_lookup', 'It is {output}.');
    // The caller waits through the tool's silence (3 s real) before saying thanks.
    scenario.caller.steps[2] = { waitForAgent: { quietMs: 30_000, timeoutMs: 60_000 } };
    const { callId } = await ring(scenario);
    expect(agentLines('tool-slow')).toEqual([
      'Hello, how can I help?',
      'One moment, please.',
      'It is "shipped".',
      'You are welcome.',
    ]);
    const events = await h.endedEventsOf(callId);
    const called = events.find((e) => e.type === 'call.tool-called');
    expect(called?.data.latencyMs).toBeGreaterThanOrEqual(1_500);
    const fillers = (await h.registry.getMetricsAsJSON()).find(
      (m) => m.name === 'call_bridge_tool_fillers_total',
    );
    expect(fillers?.values[0]?.value).toBeGreaterThanOrEqual(1);
  });

  it('a failed tool reaches the model as a structured error and the call goes on', async () => {
    scripts.set('lookup_order', () => ({
      result: {
        ok: false,
        error: { code: 'HANDLER_ERROR', message: 'orders database down', retryable: true },
      },
    }));
    const { callId, end } = await ring(
      toolScenario('tool-error', 'lookup_order', 'Sorry: {output}'),
    );
    expect(end.status).toBe('completed');
    expect(agentLines('tool-error')).toEqual([
      'Hello, how can I help?',
      'Sorry: {"error":{"code":"HANDLER_ERROR","message":"orders database down"}}',
      'You are welcome.',
    ]);
    const row = await waitFor(() =>
      h.prisma.toolInvocation.findFirst({ where: { callId } }).then((r) => r ?? undefined),
    );
    expect(row).toMatchObject({ result: null, error: 'HANDLER_ERROR: orders database down' });
    const metrics = await h.registry.getMetricsAsJSON();
    const byOutcome = Object.fromEntries(
      (metrics.find((m) => m.name === 'call_bridge_tool_calls_total')?.values ?? []).map((v) => [
        v.labels.outcome,
        v.value,
      ]),
    );
    expect(byOutcome.HANDLER_ERROR).toBeGreaterThanOrEqual(1);
    expect(byOutcome.ok).toBeGreaterThanOrEqual(1);
  });

  it('with the tool-runner down, the model is told the tool is unavailable and the call goes on', async () => {
    toolRunner?.unsubscribe();
    toolRunner = null;
    try {
      const { callId, end } = await ring(
        toolScenario('tool-runner-down', 'lookup_order', 'Sorry: {output}'),
      );
      expect(end.status).toBe('completed');
      const lines = agentLines('tool-runner-down');
      expect(lines?.[1]).toContain('TOOL_RUNNER_UNAVAILABLE');
      expect(lines?.[2]).toBe('You are welcome.');
      const events = await h.endedEventsOf(callId);
      expect(events.find((e) => e.type === 'call.tool-called')?.data).toMatchObject({
        error: { code: 'TOOL_RUNNER_UNAVAILABLE' },
      });
      expect(events.find((e) => e.type === 'call.ended')?.data).toMatchObject({
        reason: 'caller-hangup',
      });
    } finally {
      toolRunner = serveTools();
    }
  });

  it('the tool-runner stopped mid-call: the next call fails, the model is told, the call goes on', async () => {
    scripts.set('lookup_order', () => ({ result: { ok: true, output: 'shipped' } }));
    const scenario: ScenarioInput = {
      name: 'tool-runner-stops',
      caller: {
        steps: [
          { waitForAgent: QUIET },
          { say: 'Where is my order?' },
          { waitForAgent: QUIET },
          { say: 'And my other order?' },
          { waitForAgent: QUIET },
          { say: 'Thanks.' },
          { waitForAgent: QUIET },
          { hangup: true },
        ],
      },
      model: {
        greeting: 'Hello, how can I help?',
        turns: [
          {
            toolCall: { name: 'lookup_order', arguments: { order: 'A-1' } },
            sayAfterTool: 'First: {output}',
          },
          {
            toolCall: { name: 'lookup_order', arguments: { order: 'A-2' } },
            sayAfterTool: 'Second: {output}',
          },
          { say: 'You are welcome.' },
        ],
      },
    };
    const before = toolRequests.length;
    const ringing = ring(scenario);
    try {
      // The first call is answered, then the runner goes away with the call still live.
      await waitFor(() => (toolRequests.length > before ? true : undefined), 30_000);
      await waitFor(() =>
        agentLines('tool-runner-stops')?.some((l) => l.startsWith('First:')) ? true : undefined,
      );
      toolRunner?.unsubscribe();
      toolRunner = null;
      const { callId, end } = await ringing;
      expect(end.status).toBe('completed');
      const lines = agentLines('tool-runner-stops');
      expect(lines?.[1]).toBe('First: "shipped"');
      expect(lines?.[2]).toContain('Second: {"error":{"code":"TOOL_RUNNER_UNAVAILABLE"');
      expect(lines?.[3]).toBe('You are welcome.');
      const events = await h.endedEventsOf(callId);
      expect(
        events.filter((e) => e.type === 'call.tool-called').map((e) => e.data.error ?? 'ok'),
      ).toEqual(['ok', expect.objectContaining({ code: 'TOOL_RUNNER_UNAVAILABLE' })]);
    } finally {
      toolRunner ??= serveTools();
    }
  });

  it('over SIP the same: the sideband runs the call and sends the output', async () => {
    scripts.set('lookup_order', () => ({ result: { ok: true, output: 'shipped' } }));
    const { callId } = await ring(
      toolScenario('tool-sip', 'lookup_order', 'It is {output}.'),
      SIP_NUMBER,
    );
    expect(agentLines('tool-sip')).toEqual([
      'Hello, how can I help?',
      'It is "shipped".',
      'You are welcome.',
    ]);
    const events = await h.endedEventsOf(callId);
    expect(events.filter((e) => e.type === 'call.tool-called')).toHaveLength(1);
  });

  it('end_call: the goodbye is said, then the bridge hangs up (agent-hangup)', async () => {
    scripts.set('end_call', () => ({ result: { ok: true, output: { ending: true } } }));
    const scenario: ScenarioInput = {
      name: 'tool-end-call',
      caller: {
        steps: [
          { waitForAgent: QUIET },
          { say: 'That is all, bye.' },
          // Stays on the line: only the agent can end this call in time.
          { pauseMs: 300_000 },
          { hangup: true },
        ],
      },
      model: {
        greeting: 'Hello, how can I help?',
        turns: [
          {
            toolCall: { name: 'end_call', arguments: {} },
            sayAfterTool: 'Goodbye, have a nice day!',
          },
        ],
      },
    };
    const { callId } = await ring(scenario);
    expect(agentLines('tool-end-call')).toEqual([
      'Hello, how can I help?',
      'Goodbye, have a nice day!',
    ]);
    const events = await h.endedEventsOf(callId);
    expect(events.find((e) => e.type === 'call.ended')?.data).toMatchObject({
      reason: 'agent-hangup',
    });
    // Hung up after the goodbye had been sent and played, not before.
    const transcript = events.filter((e) => e.type === 'call.transcript').map((e) => e.data.text);
    expect(transcript).toContain('Goodbye, have a nice day!');
  });

  it('end_call over SIP, goodbye said with the call: hung up once the provider played it', async () => {
    scripts.set('end_call', () => ({ result: { ok: true, output: { ending: true } } }));
    const scenario: ScenarioInput = {
      name: 'tool-end-call-sip',
      caller: {
        steps: [
          { waitForAgent: QUIET },
          { say: 'That is all, bye.' },
          { pauseMs: 300_000 },
          { hangup: true },
        ],
      },
      model: {
        greeting: 'Hello, how can I help?',
        // The goodbye in the calling response itself, as end_call's description asks.
        turns: [{ toolCall: { name: 'end_call', arguments: {} }, say: 'Goodbye now!' }],
      },
    };
    const { callId } = await ring(scenario, SIP_NUMBER);
    expect(agentLines('tool-end-call-sip')).toEqual(['Hello, how can I help?', 'Goodbye now!']);
    const events = await h.endedEventsOf(callId);
    expect(events.find((e) => e.type === 'call.ended')?.data).toMatchObject({
      reason: 'agent-hangup',
    });
    const rtc = h.sims.openai
      .calls()
      .find(
        (c) =>
          c.sessionId ===
          h.sims.openai.sessions().find((s) => s.scenario === 'tool-end-call-sip')?.id,
      );
    expect(rtc?.endReason).toBe('hangup');
  });
});

describe('call-bridge key presses', { timeout: 90_000 }, () => {
  const dtmfScenario = (name: string): ScenarioInput => ({
    name,
    caller: {
      steps: [
        { waitForAgent: QUIET },
        { dtmf: '0' },
        // Long enough (4 s real) for the handoff answer and the model's reply to the note.
        { pauseMs: 40_000 },
        { hangup: true },
      ],
    },
    model: { greeting: 'Hello, how can I help?', turns: [] },
  });

  it('0 over Media Streams asks the handoff service for a human; the model is told the outcome', async () => {
    handoffReply = { status: 'rejected', reason: 'no-human-available' };
    const { callId } = await ring(dtmfScenario('dtmf-ms'));
    const req = handoffRequests.find((r) => r.callId === callId);
    expect(req?.data).toEqual({ reason: 'caller pressed 0', trigger: 'dtmf', mode: 'cold' });
    // The note made the model speak again (the simulator answers a system note with its fallback).
    await waitFor(() => ((agentLines('dtmf-ms')?.length ?? 0) >= 2 ? true : undefined));
  });

  it('0 over SIP (the sideband dtmf event) does the same', async () => {
    handoffReply = { status: 'accepted', handoffId: 'h-1' };
    const { callId } = await ring(dtmfScenario('dtmf-sip'), SIP_NUMBER);
    const req = handoffRequests.find((r) => r.callId === callId);
    expect(req?.data).toEqual({ reason: 'caller pressed 0', trigger: 'dtmf', mode: 'cold' });
  });
});
