/**
 * The model's function calls through the bridge to the REAL tool-runner (services/tool-runner,
 * started in process as its main.ts does): scripted conversations over the simulators call each
 * built-in tool and HTTP tools (against a local server), with real NATS and PostgreSQL. The
 * handoff service is a stand-in that records what it was asked (services/handoff has its own
 * tests); everything between the model and the tool's effect is the real thing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Subscription } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  serveEndpoint,
  type HandoffTransferRequest,
  type HandoffTransferResult,
} from '@app/contracts';
import { captureLogs } from '@app/platform/testing';
import { parseScenario, type ScenarioInput } from '@app/sim';
import { startToolRunner, type RunningToolRunner } from '@app/tool-runner';
import { toolSpecsForAgent } from '@app/tools';

import { CALLER, OUR_NUMBER, SIP_NUMBER, startHarness, waitFor, type Harness } from './harness.js';

const BUILTINS = ['get_time', 'schedule_callback', 'end_call', 'transfer_to_human', 'take_message'];
const HTTP_TOOLS = ['slow_inventory', 'huge_catalogue', 'patient_inventory'];

let h: Harness;
let runner: RunningToolRunner | null = null;
let handoff: Subscription;
let http: Server;
const handoffRequests: HandoffTransferRequest[] = [];
let handoffReply: HandoffTransferResult = { status: 'rejected', reason: 'no-human-available' };

const startRunner = async () => {
  runner = await startToolRunner({
    nc: h.ns.nc,
    names: h.names,
    prisma: h.prisma,
    registry: new Registry(),
    log: captureLogs().log,
    settings: {
      handoffTimeoutMs: 2_000,
      // The HTTP tools' server below is on loopback, which the SSRF guard refuses by default.
      httpDestinations: { allowPrivateNetworks: true, allowedHosts: [] },
    },
  });
};

beforeAll(async () => {
  h = await startHarness({
    pacing: 'fast',
    toolNames: [...BUILTINS, ...HTTP_TOOLS],
    toolSpecs: (names) => toolSpecsForAgent(h.prisma, names),
    toolPolicy: { fillerAfterMs: 1_000, failuresBeforeHandoff: 2 },
  });
  // A slow endpoint (beyond its tool's timeout) and one answering more than its tool accepts.
  http = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url?.startsWith('/slow')) {
      setTimeout(() => res.end('{"stock":3}'), 3_000).unref();
      return;
    }
    res.end(JSON.stringify({ items: 'x'.repeat(20_000) }));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const parameters = { type: 'object', properties: { sku: { type: 'string' } } };
  await h.prisma.httpTool.create({
    data: {
      name: 'slow_inventory',
      description: 'Stock of a product.',
      parameters,
      url: `${base}/slow`,
      method: 'GET',
      timeoutMs: 500,
    },
  });
  await h.prisma.httpTool.create({
    data: {
      name: 'huge_catalogue',
      description: 'The whole catalogue.',
      parameters,
      url: `${base}/big`,
      method: 'POST',
      maxResponseBytes: 1_000,
    },
  });
  await h.prisma.httpTool.create({
    data: {
      name: 'patient_inventory',
      description: 'Stock of a product, slowly.',
      parameters,
      url: `${base}/slow`,
      method: 'GET',
      timeoutMs: 10_000,
    },
  });
  await startRunner();
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
  handoff?.unsubscribe();
  await runner?.stop();
  await new Promise((resolve) => http?.close(resolve));
  await h?.close();
});

// 'fast' pacing runs the caller's clock 10x: this quiet is about 1.5 s of real time, which the
// tool round trips fit in; the HTTP timeout test waits longer.
const QUIET = { quietMs: 15_000, timeoutMs: 60_000 };

/** Greeting, one question answered through `tool`, a thank-you, hang up. */
function oneTool(
  name: string,
  tool: string,
  args: Record<string, unknown>,
  quiet: { quietMs: number; timeoutMs: number } = QUIET,
): ScenarioInput {
  return {
    name,
    caller: {
      steps: [
        { waitForAgent: QUIET },
        { say: 'Can you help me with this?' },
        { waitForAgent: quiet },
        { say: 'Thanks.' },
        { waitForAgent: QUIET },
        { hangup: true },
      ],
    },
    model: {
      greeting: 'Hello, how can I help?',
      turns: [
        { toolCall: { name: tool, arguments: args }, sayAfterTool: 'Result: {output}' },
        { say: 'You are welcome.' },
      ],
    },
  };
}

async function ring(scenario: ScenarioInput, to = OUR_NUMBER) {
  const call = await h.sims.twilio.ringInbound({
    to,
    from: CALLER,
    scenario: parseScenario(scenario),
  });
  const end = await call.ended;
  const callId =
    to === OUR_NUMBER ? await h.callIdOf(call.callSid) : await h.sipCallIdOf(call.callSid);
  const events = await h.endedEventsOf(callId);
  return { call, end, callId, events };
}

const agentLines = (name: string) =>
  h.sims.openai
    .sessions()
    .find((s) => s.scenario === name)
    ?.said.filter((l) => l.role === 'agent')
    .map((l) => l.text) ?? [];

/** What the model was given for its (only) tool call: the JSON after "Result: ". */
const toolOutputSaid = (name: string): unknown => {
  const line = agentLines(name).find((l) => l.startsWith('Result: '));
  return line === undefined ? undefined : JSON.parse(line.slice('Result: '.length));
};

const rowsOf = (callId: string) =>
  waitFor(async () => {
    const rows = await h.prisma.toolInvocation.findMany({
      where: { callId },
      orderBy: { startedAt: 'asc' },
    });
    return rows.length > 0 ? rows : undefined;
  });

describe('call-bridge with the tool-runner: built-in tools', { timeout: 120_000 }, () => {
  it('offers every tool of the agent in the session config', async () => {
    await ring(oneTool('rt-config', 'get_time', { timeZone: 'Europe/Paris' }));
    const session = h.sims.openai.sessions().find((s) => s.scenario === 'rt-config');
    expect(session?.config.tools.map((t) => (t as { name: string }).name).sort()).toEqual(
      [...BUILTINS, ...HTTP_TOOLS].sort(),
    );
    expect(session?.badInputs).toEqual([]);
  });

  it('get_time: the time in the given zone reaches the model; a ToolInvocation row', async () => {
    const { callId } = await ring(oneTool('rt-time', 'get_time', { timeZone: 'Asia/Tokyo' }));
    expect(toolOutputSaid('rt-time')).toMatchObject({
      timeZone: 'Asia/Tokyo',
      zoneSource: 'given',
      utcOffset: '+09:00',
    });
    expect(agentLines('rt-time').at(-1)).toBe('You are welcome.');
    const [row] = await rowsOf(callId);
    expect(row).toMatchObject({
      name: 'get_time',
      args: { timeZone: 'Asia/Tokyo' },
      result: { timeZone: 'Asia/Tokyo' },
      error: null,
    });
  });

  it('schedule_callback: a call request is published for the caller, idempotent on the invocation', async () => {
    const { callId, events } = await ring(
      oneTool('rt-callback', 'schedule_callback', { inMinutes: 30, reason: 'quote' }),
    );
    expect(toolOutputSaid('rt-callback')).toMatchObject({ scheduled: true, to: CALLER });
    const invocationId = events.find((e) => e.type === 'call.tool-called')?.data.invocationId;
    const stream = h.names.streams.callRequests.name;
    const msg = await h.jsm.streams.getMessage(stream, {
      last_by_subj: h.names.subjects.callRequest('tool-runner'),
    });
    const request = msg?.json<{ data: Record<string, unknown> }>();
    expect(request?.data).toMatchObject({
      to: CALLER,
      agentId: h.agentId,
      idempotencyKey: `tool-runner:schedule_callback:${String(invocationId)}`,
      metadata: { callbackForCallId: callId, reason: 'quote' },
    });
  });

  it('take_message: the message is a message-taken call event', async () => {
    const { events } = await ring(
      oneTool('rt-message', 'take_message', { message: 'Please call Ada back', urgent: true }),
    );
    expect(toolOutputSaid('rt-message')).toMatchObject({ recorded: true });
    expect(events.find((e) => e.type === 'call.message-taken')?.data).toMatchObject({
      message: 'Please call Ada back',
      urgent: true,
    });
  });

  it('transfer_to_human: the handoff service is asked (trigger tool), its answer goes to the model', async () => {
    handoffReply = { status: 'rejected', reason: 'no-human-available' };
    const { callId } = await ring(
      oneTool('rt-transfer', 'transfer_to_human', {
        reason: 'wants a person',
        summary: 'Caller about an invoice',
      }),
    );
    const req = handoffRequests.find((r) => r.callId === callId);
    expect(req?.data).toMatchObject({
      reason: 'wants a person',
      summary: 'Caller about an invoice',
      trigger: 'tool',
    });
    expect(toolOutputSaid('rt-transfer')).toMatchObject({
      status: 'no-human-available',
      reason: 'no-human-available',
    });
  });

  it('end_call: the goodbye is said, then the bridge hangs up', async () => {
    const scenario: ScenarioInput = {
      name: 'rt-end-call',
      caller: {
        steps: [
          { waitForAgent: QUIET },
          { say: 'That is all.' },
          { pauseMs: 300_000 },
          { hangup: true },
        ],
      },
      model: {
        greeting: 'Hello, how can I help?',
        turns: [{ toolCall: { name: 'end_call', arguments: { reason: 'done' } }, say: 'Bye now!' }],
      },
    };
    const { events } = await ring(scenario);
    expect(agentLines('rt-end-call')).toEqual(['Hello, how can I help?', 'Bye now!']);
    expect(events.find((e) => e.type === 'call.tool-called')?.data).toMatchObject({
      name: 'end_call',
      result: { ending: true },
    });
    expect(events.find((e) => e.type === 'call.ended')?.data).toMatchObject({
      reason: 'agent-hangup',
    });
  });

  it('over SIP a tool call runs the same way', async () => {
    const { callId } = await ring(
      oneTool('rt-sip', 'get_time', { timeZone: 'Europe/Paris' }),
      SIP_NUMBER,
    );
    expect(toolOutputSaid('rt-sip')).toMatchObject({ timeZone: 'Europe/Paris' });
    const [row] = await rowsOf(callId);
    expect(row?.name).toBe('get_time');
  });
});

describe('call-bridge with the tool-runner: failures', { timeout: 120_000 }, () => {
  it('invalid arguments: the model reads INVALID_ARGS and the call goes on', async () => {
    const { callId, end } = await ring(oneTool('rt-invalid', 'get_time', { zone: 42 }));
    expect(end.status).toBe('completed');
    expect(toolOutputSaid('rt-invalid')).toMatchObject({ error: { code: 'INVALID_ARGS' } });
    expect(agentLines('rt-invalid').at(-1)).toBe('You are welcome.');
    const [row] = await rowsOf(callId);
    expect(row?.error).toMatch(/^INVALID_ARGS: /);
  });

  it('an HTTP tool slower than its timeout: the model reads TIMEOUT and the call goes on', async () => {
    // The caller waits through the tool's time (its 500 ms timeout is well under this quiet).
    const { callId } = await ring(
      oneTool(
        'rt-timeout',
        'slow_inventory',
        { sku: 'A1' },
        { quietMs: 30_000, timeoutMs: 90_000 },
      ),
    );
    expect(toolOutputSaid('rt-timeout')).toMatchObject({ error: { code: 'TIMEOUT' } });
    expect(agentLines('rt-timeout').at(-1)).toBe('You are welcome.');
    const [row] = await rowsOf(callId);
    expect(row?.error).toMatch(/^TIMEOUT: /);
  });

  it('a slow HTTP tool: the caller hears a filler line, then the answer', async () => {
    const { callId } = await ring(
      oneTool(
        'rt-filler',
        'patient_inventory',
        { sku: 'A1' },
        {
          quietMs: 50_000,
          timeoutMs: 120_000,
        },
      ),
    );
    const lines = agentLines('rt-filler');
    expect(lines.slice(0, 2)).toEqual(['Hello, how can I help?', 'One moment, please.']);
    expect(toolOutputSaid('rt-filler')).toEqual({ stock: 3 });
    const [row] = await rowsOf(callId);
    expect(row?.latencyMs).toBeGreaterThanOrEqual(3_000);
  });

  it('an HTTP tool answering more than its limit: OUTPUT_TOO_LARGE', async () => {
    await ring(oneTool('rt-oversized', 'huge_catalogue', { sku: 'A1' }));
    expect(toolOutputSaid('rt-oversized')).toMatchObject({ error: { code: 'OUTPUT_TOO_LARGE' } });
  });

  it('the tool-runner restarted mid-call: the call in between fails, the model is told, the call goes on', async () => {
    const scenario: ScenarioInput = {
      name: 'rt-restart',
      caller: {
        steps: [
          { waitForAgent: QUIET },
          { say: 'What time is it in Paris?' },
          { waitForAgent: QUIET },
          { say: 'And in Tokyo?' },
          { waitForAgent: QUIET },
          { say: 'And in Lima?' },
          { waitForAgent: QUIET },
          { hangup: true },
        ],
      },
      model: {
        greeting: 'Hello.',
        turns: [
          {
            toolCall: { name: 'get_time', arguments: { timeZone: 'Europe/Paris' } },
            sayAfterTool: 'Paris: {output}',
          },
          {
            toolCall: { name: 'get_time', arguments: { timeZone: 'Asia/Tokyo' } },
            sayAfterTool: 'Tokyo: {output}',
          },
          {
            toolCall: { name: 'get_time', arguments: { timeZone: 'America/Lima' } },
            sayAfterTool: 'Lima: {output}',
          },
        ],
      },
    };
    const ringing = ring(scenario);
    // Once Paris is answered the runner goes away; it is back once Tokyo has failed.
    await waitFor(
      () => (agentLines('rt-restart').some((l) => l.startsWith('Paris:')) ? true : undefined),
      30_000,
    );
    await runner?.stop();
    runner = null;
    await waitFor(
      () => (agentLines('rt-restart').some((l) => l.startsWith('Tokyo:')) ? true : undefined),
      30_000,
    );
    await startRunner();
    const { end, events } = await ringing;
    expect(end.status).toBe('completed');
    const lines = agentLines('rt-restart');
    expect(lines.find((l) => l.startsWith('Paris:'))).toContain('Europe/Paris');
    expect(lines.find((l) => l.startsWith('Tokyo:'))).toContain('TOOL_RUNNER_UNAVAILABLE');
    expect(lines.find((l) => l.startsWith('Lima:'))).toContain('America/Lima');
    expect(
      events
        .filter((e) => e.type === 'call.tool-called')
        .map((e) => (e.data.error as { code?: string } | undefined)?.code ?? 'ok'),
    ).toEqual(['ok', 'TOOL_RUNNER_UNAVAILABLE', 'ok']);
  });

  it('repeated tool failures in one call hand the caller to a human (rule)', async () => {
    handoffReply = { status: 'rejected', reason: 'no-human-available' };
    const scenario: ScenarioInput = {
      name: 'rt-rule',
      caller: {
        steps: [
          { waitForAgent: QUIET },
          { say: 'Book me in.' },
          { waitForAgent: QUIET },
          { say: 'Try again.' },
          { waitForAgent: QUIET },
          { hangup: true },
        ],
      },
      model: {
        greeting: 'Hello.',
        turns: [
          {
            toolCall: { name: 'schedule_callback', arguments: {} },
            sayAfterTool: 'That failed.',
          },
          {
            toolCall: { name: 'schedule_callback', arguments: { at: 'soon' } },
            sayAfterTool: 'That failed again.',
          },
        ],
      },
    };
    const { callId } = await ring(scenario);
    const asks = handoffRequests.filter((r) => r.callId === callId);
    expect(asks.map((r) => r.data)).toEqual([
      { reason: '2 tool calls failed', trigger: 'rule', mode: 'cold' },
    ]);
  });
});
