/**
 * The whole human handoff chain with every piece real: the model calls `transfer_to_human`, the
 * bridge asks the REAL tool-runner, which asks the REAL handoff service, which routes to a human
 * and moves the live call (Twilio conference for Media Streams, `call-control` transfer → the
 * bridge → OpenAI REFER for SIP). Simulators, real NATS and PostgreSQL. The pieces have their own
 * tests (services/tool-runner, services/handoff, tool-runner.test.ts, handoff.test.ts); this one
 * proves they fit together, in the deployment's default warm mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { waitFor, type Harness } from './harness.js';
import {
  ringForAHuman,
  startTransferStack,
  twilioClientOf,
  type TransferStack,
} from './transfer-stack.js';

let stack: TransferStack;
let h: Harness;

beforeAll(async () => {
  stack = await startTransferStack();
  h = stack.h;
});

afterAll(async () => {
  await stack?.stop();
});

/** The call's handoff once it reached the human (connected, or already completed after it). */
const connectedHandoffOf = (callId: string) =>
  waitFor(
    () =>
      h.prisma.handoff
        .findFirst({ where: { callId, status: { in: ['connected', 'completed'] } } })
        .then((r) => r ?? undefined),
    30_000,
  );

describe(
  'transfer_to_human through the tool-runner and the handoff service',
  { timeout: 90_000 },
  () => {
    it('Media Streams, warm: the human hears the summary in a conference, the caller joins, the AI leaves', async () => {
      const { human, call, callId } = await ringForAHuman(h, {
        via: 'media-streams',
        scenario: 'chain-warm',
        skill: 'billing',
        human: { name: 'Billing Bea', phoneNumber: '+15555550181' },
      });
      const row = await connectedHandoffOf(callId);
      expect(row).toMatchObject({
        humanAgentId: human.id,
        mode: 'warm',
        reason: 'billing question',
      });

      // The caller's call left the AI for the handoff's conference, where the human already is.
      const callerRec = h.sims.twilio.recordingOf(call.callSid)!;
      const joined = await waitFor(() => callerRec.ofKind('conference.joined')[0], 20_000);
      expect(joined.data).toMatchObject({ friendlyName: `handoff-${row.id}` });
      const client = twilioClientOf(h);
      const [conference] = await client.conferences.list({ friendlyName: `handoff-${row.id}` });
      const participants = await client.conferences(conference!.sid).participants.list();
      const humanLeg = participants.find((p) => p.callSid !== call.callSid);
      expect(participants.map((p) => p.callSid)).toContain(call.callSid);
      expect(h.sims.twilio.getCall(humanLeg!.callSid)).toMatchObject({ to: '+15555550181' });
      const whisper = h.sims.twilio
        .recordingOf(humanLeg!.callSid)!
        .ofKind('twiml.say')
        .map((e) => String(e.data?.text));
      expect(whisper.join(' ')).toContain('Caller disputes a bill.');

      // The bridge's part ended as a transfer; the model had said the line the tool asked for.
      const events = await h.endedEventsOf(callId);
      expect(events.find((e) => e.type === 'call.ended')?.data).toMatchObject({
        reason: 'transferred',
      });
      expect(events.find((e) => e.type === 'call.handoff-requested')?.data).toMatchObject({
        trigger: 'tool',
        summary: 'Caller disputes a bill.',
      });
      const invocation = events.find((e) => e.type === 'call.tool-called');
      expect(invocation?.data).toMatchObject({
        name: 'transfer_to_human',
        result: { status: 'transferring', handoffId: row.id },
      });

      // The human hangs up: the conference ends, and the caller's call with it.
      await client.calls(humanLeg!.callSid).update({ status: 'completed' });
      await call.ended;
    });

    it('SIP: the handoff service asks the owning bridge, which REFERs the call to the human', async () => {
      const { human, call, callId } = await ringForAHuman(h, {
        via: 'sip',
        scenario: 'chain-sip',
        skill: 'sip-billing',
        human: { name: 'Sip Sol', sipUri: 'sip:sol@pbx.example.com' },
      });
      const rtc = await h.openaiCallIdOf(call.callSid);
      const row = await connectedHandoffOf(callId);
      expect(row).toMatchObject({ humanAgentId: human.id, target: 'sip:sol@pbx.example.com' });
      const referred = await waitFor(
        () => h.sims.openai.calls().find((c) => c.callId === rtc && c.referTarget !== undefined),
        20_000,
      );
      expect(referred.referTarget).toBe('sip:sol@pbx.example.com');
      const events = await h.endedEventsOf(callId);
      expect(events.find((e) => e.type === 'call.ended')?.data).toMatchObject({
        reason: 'transferred',
      });
      // A REFER carries no whisper: a warm handoff over SIP briefs the human on the dashboard.
      // The handoff completes when the handoff service sees the call's end, after the bridge.
      const steps = await waitFor(async () => {
        const list = (await h.eventsOf(callId))
          .filter((e) => e.type === 'call.handoff-updated')
          .map((e) => (e.data as { status: string }).status);
        return list.includes('completed') ? list : undefined;
      }, 20_000);
      expect(steps).toEqual(['queued', 'connected', 'completed']);
    });
  },
);
