/**
 * Opt-out by voice end to end (issue 10): a simulated caller asks not to be called again, the
 * simulated model calls `add_to_do_not_call` through the bridge and the REAL tool-runner, and
 * confirms. The caller's number (from the call record) is on the do-not-call list with source
 * `voice` and the call's id. Real NATS and PostgreSQL.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureLogs } from '@app/platform/testing';
import { parseScenario } from '@app/sim';
import { startToolRunner, type RunningToolRunner } from '@app/tool-runner';
import { toolSpecsForAgent } from '@app/tools';

import { CALLER, OUR_NUMBER, startHarness, waitFor, type Harness } from './harness.js';

let h: Harness;
let runner: RunningToolRunner | null = null;

beforeAll(async () => {
  h = await startHarness({
    pacing: 'fast',
    toolNames: ['add_to_do_not_call', 'end_call'],
    toolSpecs: (names) => toolSpecsForAgent(h.prisma, names),
  });
  runner = await startToolRunner({
    nc: h.ns.nc,
    names: h.names,
    prisma: h.prisma,
    registry: new Registry(),
    log: captureLogs().log,
  });
});

afterAll(async () => {
  await runner?.stop();
  await h?.close();
});

// 'fast' pacing runs the caller's clock 10x: about 1.5 s of real time for the tool round trip.
const QUIET = { quietMs: 15_000, timeoutMs: 60_000 };

describe('opt-out by voice', { timeout: 120_000 }, () => {
  it("lists the caller's number when they ask not to be called again, and the agent confirms", async () => {
    const call = await h.sims.twilio.ringInbound({
      to: OUR_NUMBER,
      from: CALLER,
      scenario: parseScenario({
        name: 'dnc-voice',
        caller: {
          steps: [
            { waitForAgent: QUIET },
            { say: 'Please do not call me again.' },
            { waitForAgent: QUIET },
            { hangup: true },
          ],
        },
        model: {
          greeting: 'Hello, this is Acme.',
          turns: [
            {
              // A model talked into passing a number could not: the tool takes none.
              toolCall: { name: 'add_to_do_not_call', arguments: { reason: 'asked on the call' } },
              sayAfterTool: 'Done: {output}',
            },
          ],
        },
      }),
    });
    await call.ended;
    const callId = await h.callIdOf(call.callSid);

    const entry = await waitFor(() =>
      h.prisma.doNotCallEntry.findUnique({ where: { phone: CALLER } }).then((e) => e ?? undefined),
    );
    expect(entry).toMatchObject({ source: 'voice', callId, reason: 'asked on the call' });

    const said = h.sims.openai
      .sessions()
      .find((s) => s.scenario === 'dnc-voice')
      ?.said.filter((l) => l.role === 'agent')
      .map((l) => l.text);
    const confirmation = said?.find((l) => l.startsWith('Done: '));
    expect(JSON.parse(confirmation?.slice('Done: '.length) ?? 'null')).toMatchObject({
      listed: true,
      alreadyListed: false,
    });
    const invocations = await waitFor(async () => {
      const rows = await h.prisma.toolInvocation.findMany({ where: { callId } });
      return rows.length > 0 ? rows : undefined;
    });
    expect(invocations.map((r) => r.name)).toEqual(['add_to_do_not_call']);
  });
});
