/**
 * The caller pressing 0 on a Media Streams call, end to end with the REAL handoff service
 * (services/handoff, started in process): the bridge asks `handoff.transfer` (trigger dtmf),
 * the handoff service picks the available human and updates the live Twilio call to dial them,
 * Twilio stops the stream, and the bridge ends the call as transferred. Simulators, real NATS and
 * PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startHandoff, twilioVoice, type RunningHandoff } from '@app/handoff';
import { captureLogs } from '@app/platform/testing';
import { parseScenario } from '@app/sim';

import { CALLER, OUR_NUMBER, startHarness, waitFor, type Harness } from './harness.js';

const HUMAN = '+15555550171';

let h: Harness;
let handoff: RunningHandoff;

beforeAll(async () => {
  h = await startHarness({ pacing: 'fast' });
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
  await h?.close();
});

describe('call-bridge key presses with the handoff service', { timeout: 60_000 }, () => {
  it('0 over Media Streams: the call is transferred to the available human and ends transferred', async () => {
    const human = await h.prisma.humanAgent.create({
      data: {
        name: 'Dana',
        phoneNumber: HUMAN,
        status: 'available',
        availableSince: new Date(),
      },
    });
    const call = await h.sims.twilio.ringInbound({
      to: OUR_NUMBER,
      from: CALLER,
      scenario: parseScenario({
        name: 'dtmf-handoff',
        caller: {
          steps: [
            { waitForAgent: { quietMs: 10_000, timeoutMs: 60_000 } },
            { dtmf: '0' },
            // Stays on the line: only the transfer can end the AI's part of this call.
            { pauseMs: 300_000 },
            { hangup: true },
          ],
        },
        model: { greeting: 'Hello, how can I help?', turns: [] },
      }),
    });
    const callId = await h.callIdOf(call.callSid);
    // Twilio: the AI's TwiML is replaced by a <Dial> to the human.
    const recording = h.sims.twilio.recordingOf(call.callSid)!;
    const dial = await waitFor(() => recording.ofKind('twiml.dial')[0], 20_000);
    expect(dial.data).toMatchObject({ targets: [{ type: 'number', target: HUMAN }] });
    const events = await h.endedEventsOf(callId);
    expect(events.find((e) => e.type === 'call.ended')?.data).toMatchObject({
      reason: 'transferred',
    });
    // The handoff service recorded it (the bridge does not emit handoff-requested itself).
    const requested = events.filter((e) => e.type === 'call.handoff-requested');
    expect(requested).toHaveLength(1);
    expect(requested[0]?.data).toMatchObject({ trigger: 'dtmf', reason: 'caller pressed 0' });
    const row = await waitFor(() =>
      h.prisma.handoff.findFirst({ where: { callId } }).then((r) => r ?? undefined),
    );
    expect(row).toMatchObject({ humanAgentId: human.id, reason: 'caller pressed 0' });
    expect(row.trigger).toMatch(/dtmf/);
  });

  it('0 with nobody free: the model is told, the call goes on and ends normally', async () => {
    // The first test's human is busy with that transfer; make sure nobody else is free.
    await h.prisma.humanAgent.updateMany({ data: { status: 'busy', availableSince: null } });
    const call = await h.sims.twilio.ringInbound({
      to: OUR_NUMBER,
      from: CALLER,
      scenario: parseScenario({
        name: 'dtmf-nobody',
        caller: {
          steps: [
            { waitForAgent: { quietMs: 10_000, timeoutMs: 60_000 } },
            { dtmf: '0' },
            // Long enough for the handoff service's answer and the model's reply to it.
            { pauseMs: 40_000 },
            { hangup: true },
          ],
        },
        model: { greeting: 'Hello, how can I help?', turns: [] },
      }),
    });
    await call.ended;
    const callId = await h.callIdOf(call.callSid);
    const events = await h.endedEventsOf(callId);
    expect(events.find((e) => e.type === 'call.ended')?.data).toMatchObject({
      reason: 'caller-hangup',
    });
    // The note made the model speak again after the greeting.
    const said = h.sims.openai
      .sessions()
      .find((s) => s.scenario === 'dtmf-nobody')
      ?.said.filter((l) => l.role === 'agent');
    expect(said?.length).toBeGreaterThanOrEqual(2);
    const row = await waitFor(() =>
      h.prisma.handoff.findFirst({ where: { callId } }).then((r) => r ?? undefined),
    );
    expect(row.humanAgentId).toBeNull();
    expect(row.status).not.toBe('connected');
    expect(events.find((e) => e.type === 'call.handoff-requested')?.data).toMatchObject({
      trigger: 'dtmf',
    });
  });
});
