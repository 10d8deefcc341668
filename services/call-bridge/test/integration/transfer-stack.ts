/**
 * The human handoff chain with every piece real, for the tests that follow a transfer end to end
 * (`transfer-chain.test.ts`, `connected-trace.test.ts`): the harness (simulators, the gateway's
 * webhook routes, the bridge) with an agent that may call `transfer_to_human`, the REAL
 * tool-runner in the deployment's default warm mode, and the REAL handoff service.
 */
import { Registry } from 'prom-client';
import twilio from 'twilio';

import { startHandoff, twilioVoice, type RunningHandoff } from '@app/handoff';
import { captureLogs } from '@app/platform/testing';
import { parseScenario, type ScenarioInput } from '@app/sim';
import { startToolRunner, type RunningToolRunner } from '@app/tool-runner';
import { toolSpecsForAgent } from '@app/tools';

import { CALLER, OUR_NUMBER, SIP_NUMBER, startHarness, type Harness } from './harness.js';

export interface TransferStack {
  h: Harness;
  runner: RunningToolRunner;
  handoff: RunningHandoff;
  /** Stops the handoff service, the tool-runner and the harness, in that order. */
  stop(): Promise<void>;
}

export async function startTransferStack(): Promise<TransferStack> {
  const h: Harness = await startHarness({
    pacing: 'fast',
    toolNames: ['transfer_to_human'],
    toolSpecs: (names) => toolSpecsForAgent(h.prisma, names),
  });
  let runner: RunningToolRunner | undefined;
  try {
    runner = await startToolRunner({
      nc: h.ns.nc,
      names: h.names,
      prisma: h.prisma,
      registry: new Registry(),
      log: captureLogs().log,
      settings: { transferMode: 'warm', handoffTimeoutMs: 5_000 },
    });
    const { accountSid, authToken } = h.sims.credentials.twilio;
    const handoff = await startHandoff({
      nc: h.ns.nc,
      names: h.names,
      prisma: h.prisma,
      twilio: twilioVoice({
        accountSid,
        authToken,
        apiBaseUrl: h.sims.twilioUrl,
        timeoutMs: 5_000,
      }),
      webhook: null,
      settings: { transferDelayMs: 0, pollIntervalMs: 100, controlTimeoutMs: 3_000 },
      log: captureLogs().log,
    });
    const started = runner;
    return {
      h,
      runner: started,
      handoff,
      stop: async () => {
        await handoff.stop();
        await started.stop();
        await h.close();
      },
    };
  } catch (err) {
    // A half-started stack is stopped here: the test file never gets it to stop.
    await runner?.stop();
    await h.close();
    throw err;
  }
}

/** A Twilio REST client of the simulator (the account the harness set up). */
export function twilioClientOf(h: Harness): twilio.Twilio {
  const { accountSid, authToken } = h.sims.credentials.twilio;
  const client = twilio(accountSid, authToken);
  client.api.baseUrl = h.sims.twilioUrl;
  return client;
}

/**
 * `human` becomes available with `skill`; then a caller rings in over `via` (our Media Streams
 * number, or the SIP one) and asks for a person, and the model transfers them to `skill`.
 */
export async function ringForAHuman(
  h: Harness,
  opts: {
    via: 'media-streams' | 'sip';
    /** The scenario's name. */
    scenario: string;
    skill: string;
    human: { name: string } & ({ phoneNumber: string } | { sipUri: string });
  },
) {
  const human = await h.prisma.humanAgent.create({
    data: {
      ...opts.human,
      skills: [opts.skill],
      status: 'available',
      availableSince: new Date(),
    },
  });
  const call = await h.sims.twilio.ringInbound({
    to: opts.via === 'sip' ? SIP_NUMBER : OUR_NUMBER,
    from: CALLER,
    scenario: parseScenario(asksForAPerson(opts.scenario, opts.skill)),
  });
  const callId =
    opts.via === 'sip' ? await h.sipCallIdOf(call.callSid) : await h.callIdOf(call.callSid);
  return { human, call, callId };
}

/** The caller asks for a person; the model transfers them with a summary, then stays quiet. */
function asksForAPerson(name: string, skill: string): ScenarioInput {
  return {
    name,
    caller: {
      steps: [
        { waitForAgent: { quietMs: 15_000, timeoutMs: 60_000 } },
        { say: 'I want to talk to a person about my bill.' },
        // Only the transfer ends the AI's part of the call.
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
