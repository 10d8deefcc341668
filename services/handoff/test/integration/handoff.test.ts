/**
 * `handoff.transfer` end to end against the simulators, real NATS and PostgreSQL: cold and warm
 * transfers of Media Streams calls (Twilio call updates, a conference with a whispered human),
 * a SIP call's transfer through its bridge's REFER, routing to the longest-idle human with the
 * skill, no human available, a human who does not answer, and the notifications (dashboard
 * channel and the signed webhook).
 */
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  callEvent,
  handoffTransferRequest,
  publishEvent,
  request,
  serveEndpoint,
  type CallControlCommand,
  type CallEvent,
} from '@app/contracts';

import { startHarness, until, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 60_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

function transfer(callId: string, data: Parameters<typeof handoffTransferRequest>[1]) {
  return request(h.ns.nc, h.names, 'handoff-transfer', handoffTransferRequest(callId, data), {
    timeoutMs: 10_000,
  });
}

async function handoffRow(handoffId: string, status: string) {
  return until(async () => {
    const row = await h.prisma.handoff.findUnique({ where: { id: handoffId } });
    return row?.status === status ? row : undefined;
  });
}

const kinds = (events: CallEvent[]) =>
  events.map((e) => (e.type === 'call.handoff-updated' ? `updated:${e.data.status}` : e.type));

/** Serves call-control for a call as its bridge would, recording each command. */
function standInBridge(
  callId: string,
  onTransfer?: (target: string) => Promise<boolean>,
): { commands: CallControlCommand[]; stop: () => void } {
  const commands: CallControlCommand[] = [];
  const sub = serveEndpoint({
    nc: h.ns.nc,
    names: h.names,
    endpoint: 'call-control',
    callId,
    queue: null,
    logger: {
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
      debug: () => undefined,
    } as never,
    handler: async (req) => {
      commands.push(req.data);
      if (req.data.action === 'transfer' && onTransfer) {
        return (await onTransfer(req.data.target))
          ? { ok: true }
          : { ok: false, error: { code: 'REFER_FAILED', message: 'refused' } };
      }
      return { ok: true };
    },
  });
  return { commands, stop: () => sub.unsubscribe() };
}

describe('handoff over Media Streams', () => {
  it('cold: the call is updated to dial the human; row, events, dashboard and webhook follow', async () => {
    const humanId = await h.human({
      name: 'Cold Carol',
      phoneNumber: '+15555550171',
      skills: ['cold'],
    });
    const dashboard = h.watchHuman(humanId);
    const { callId, callSid } = await h.mediaStreamsCall();

    const reply = await transfer(callId, {
      reason: 'caller asked for a person',
      summary: 'Wants to change the delivery address.',
      skill: 'cold',
      mode: 'cold',
    });
    expect(reply.data).toMatchObject({ status: 'accepted', target: '+15555550171' });
    if (reply.data.status !== 'accepted') throw new Error('not accepted');
    const { handoffId } = reply.data;

    // Twilio: the running TwiML (the AI's leg) is replaced by a <Dial> to the human.
    const recording = h.sims.twilio.recordingOf(callSid)!;
    const dial = await until(() => recording.ofKind('twiml.dial')[0]);
    expect(recording.ofKind('call.updated')).toHaveLength(1);
    expect(dial.data).toMatchObject({
      targets: [{ type: 'number', target: '+15555550171' }],
      callerId: '+15555550100',
    });

    const row = await handoffRow(handoffId, 'connected');
    expect(row).toMatchObject({
      humanAgentId: humanId,
      target: '+15555550171',
      trigger: 'agent_tool',
      mode: 'cold',
    });
    expect(row.connectedAt).not.toBeNull();
    expect((await h.prisma.humanAgent.findUniqueOrThrow({ where: { id: humanId } })).status).toBe(
      'busy',
    );

    const events = await until(async () => {
      const e = await h.events(callId);
      return e.length >= 3 ? e : undefined;
    });
    expect(kinds(events)).toEqual([
      'call.handoff-requested',
      'updated:queued',
      'updated:connected',
    ]);
    expect(events[0]?.data).toMatchObject({
      trigger: 'tool',
      handoffId,
      mode: 'cold',
      skill: 'cold',
    });

    await until(() => (dashboard.received.length >= 2 ? true : undefined));
    expect(dashboard.received.map((n) => n.data.kind)).toEqual([
      'handoff-offered',
      'handoff-accepted',
    ]);
    expect(dashboard.received[0]?.data.summary).toBe('Wants to change the delivery address.');
    expect(dashboard.received[0]?.callId).toBe(callId);

    const hooks = await until(() => {
      const mine = h.webhooks.filter((w) => w.body.handoffId === handoffId);
      return mine.length >= 2 ? mine : undefined;
    });
    expect(hooks.map((w) => w.body.type)).toEqual([
      'handoff.handoff-offered',
      'handoff.handoff-accepted',
    ]);
    expect(hooks.every((w) => w.signatureValid)).toBe(true);

    // The call ends (the human hung up): the handoff is completed, the human wraps up (busy).
    await publishEvent(
      jetstream(h.ns.nc),
      h.names,
      callEvent('ended', callId, { reason: 'transferred' }) as CallEvent,
    );
    const metrics = await h.registry.metrics();
    expect(metrics).toMatch(
      /handoff_transfers_total\{transport="media-streams",mode="cold",outcome="connected"\} [1-9]/,
    );
    expect(metrics).toMatch(/handoff_requests_total\{trigger="tool",outcome="accepted"\} [1-9]/);
    const done = await handoffRow(handoffId, 'completed');
    expect(done.endedAt).not.toBeNull();
    await until(() => (dashboard.received.length >= 3 ? true : undefined));
    expect(dashboard.received[2]?.data.kind).toBe('handoff-completed');
  }, 60_000);

  it('warm: the human hears the summary, joins a conference, then the caller is moved in', async () => {
    const humanId = await h.human({
      name: 'Warm Walter',
      phoneNumber: '+15555550172',
      skills: ['warm'],
    });
    const { callId, callSid } = await h.mediaStreamsCall();

    const reply = await transfer(callId, {
      reason: 'billing dispute',
      summary: 'Charged twice for order 42.',
      skill: 'warm',
      mode: 'warm',
      trigger: 'tool',
    });
    expect(reply.data.status).toBe('accepted');
    if (reply.data.status !== 'accepted') throw new Error('not accepted');
    const room = `handoff-${reply.data.handoffId}`;

    await handoffRow(reply.data.handoffId, 'connected');
    // The caller's call left the AI (call update) and is in the handoff's conference.
    const callerRec = h.sims.twilio.recordingOf(callSid)!;
    const joined = await until(() => callerRec.ofKind('conference.joined')[0]);
    expect(joined.data).toMatchObject({ friendlyName: room, endConferenceOnExit: true });

    // The human's leg: dialled from our number, the whisper first, then the same room.
    const [conf] = await h.client.conferences.list({ friendlyName: room });
    expect(conf?.status).toBe('in-progress');
    const participants = await h.client.conferences(conf!.sid).participants.list();
    const humanLeg = participants.find((p) => p.callSid !== callSid);
    expect(participants.map((p) => p.callSid)).toContain(callSid);
    expect(humanLeg).toBeDefined();
    const humanCall = h.sims.twilio.getCall(humanLeg!.callSid)!;
    expect(humanCall).toMatchObject({ to: '+15555550172', from: '+15555550100' });
    const humanRec = h.sims.twilio.recordingOf(humanLeg!.callSid)!;
    const said = humanRec.ofKind('twiml.say').map((e) => String(e.data?.text));
    expect(said).toEqual([
      'Incoming transfer. Reason: billing dispute. Summary: Charged twice for order 42.',
    ]);
    const humanJoinedAt = humanRec.ofKind('conference.joined')[0]!.atEpochMs;
    expect(joined.atEpochMs).toBeGreaterThanOrEqual(humanJoinedAt);

    expect(kinds(await h.events(callId))).toEqual([
      'call.handoff-requested',
      'updated:queued',
      'updated:ringing',
      'updated:connected',
    ]);
    expect((await h.prisma.humanAgent.findUniqueOrThrow({ where: { id: humanId } })).status).toBe(
      'busy',
    );

    // The human hangs up: endConferenceOnExit ends the room, and the caller's call with it.
    await h.client.calls(humanLeg!.callSid).update({ status: 'completed' });
    await until(() => (h.sims.twilio.getCall(callSid)?.status === 'completed' ? true : undefined));
  }, 60_000);

  it('warm: a human who does not answer fails the handoff, is given back, and the AI is told', async () => {
    const humanId = await h.human({
      name: 'Busy Bea',
      phoneNumber: '+15555550173',
      skills: ['noanswer'],
    });
    h.sims.twilio.setBehaviour('+15555550173', { answer: 'busy' });
    const dashboard = h.watchHuman(humanId);
    const { callId, callSid } = await h.mediaStreamsCall();
    const bridge = standInBridge(callId);
    try {
      const reply = await transfer(callId, {
        reason: 'needs a person',
        skill: 'noanswer',
        mode: 'warm',
      });
      if (reply.data.status !== 'accepted') throw new Error('not accepted');
      const row = await handoffRow(reply.data.handoffId, 'failed');
      expect(row.failureReason).toBe('human-busy');

      // Given back after the failure is recorded.
      const human = await until(async () => {
        const row = await h.prisma.humanAgent.findUniqueOrThrow({ where: { id: humanId } });
        return row.status === 'available' ? row : undefined;
      });
      expect(human.availableSince).not.toBeNull();
      // The caller never left the AI.
      expect(h.sims.twilio.recordingOf(callSid)!.ofKind('call.updated')).toHaveLength(0);
      expect(h.sims.twilio.getCall(callSid)?.status).toBe('in-progress');

      const note = await until(() => bridge.commands.find((c) => c.action === 'inject'));
      expect(note).toMatchObject({ role: 'system' });
      expect(note.action === 'inject' && note.text).toContain('callback');
      await until(() => (dashboard.received.length >= 2 ? true : undefined));
      expect(dashboard.received.map((n) => n.data.kind)).toEqual([
        'handoff-offered',
        'handoff-canceled',
      ]);
      const events = await h.events(callId);
      expect(events.at(-1)).toMatchObject({
        type: 'call.handoff-updated',
        data: { status: 'failed', reason: 'human-busy' },
      });
    } finally {
      bridge.stop();
      await h.client.calls(callSid).update({ status: 'completed' });
    }
  }, 60_000);
});

describe('handoff when the caller leaves', () => {
  it('warm: the caller hangs up while the human rings: abandoned, human leg hung up, human given back', async () => {
    const humanId = await h.human({
      name: 'Slow Sid',
      phoneNumber: '+15555550174',
      skills: ['slow'],
    });
    h.sims.twilio.setBehaviour('+15555550174', { answer: 'no-answer' });
    const dashboard = h.watchHuman(humanId);
    const { callId, callSid } = await h.mediaStreamsCall();
    const reply = await transfer(callId, { reason: 'r', skill: 'slow', mode: 'warm' });
    if (reply.data.status !== 'accepted') throw new Error('not accepted');
    const { handoffId } = reply.data;
    await handoffRow(handoffId, 'ringing');
    const [humanLeg] = await h.client.calls.list({ to: '+15555550174' });
    if (humanLeg === undefined) throw new Error('the human was not dialled');
    expect(humanLeg.status).toBe('ringing');

    await h.client.calls(callSid).update({ status: 'completed' });
    await publishEvent(
      jetstream(h.ns.nc),
      h.names,
      callEvent('ended', callId, { reason: 'caller-hangup' }) as CallEvent,
    );
    const row = await handoffRow(handoffId, 'abandoned');
    expect(row.endedAt).not.toBeNull();
    await until(async () => {
      const human = await h.prisma.humanAgent.findUniqueOrThrow({ where: { id: humanId } });
      return human.status === 'available' ? true : undefined;
    });
    // The ringing human leg is taken down rather than left to ring out.
    await until(() => {
      const c = h.sims.twilio.getCall(humanLeg.sid);
      return c?.status === 'canceled' ? true : undefined;
    });
    await until(() => (dashboard.received.length >= 2 ? true : undefined));
    expect(dashboard.received.map((n) => n.data.kind)).toEqual([
      'handoff-offered',
      'handoff-canceled',
    ]);
    const events = await h.events(callId);
    expect(events.filter((e) => e.type === 'call.handoff-updated').at(-1)?.data).toMatchObject({
      status: 'abandoned',
      reason: 'call ended: caller-hangup',
    });
  }, 60_000);
});

describe('handoff routing', () => {
  it('gives the call to the longest-idle available human with the skill', async () => {
    const recent = await h.human({
      name: 'Recent',
      phoneNumber: '+15555550181',
      skills: ['route'],
      idleSinceMsAgo: 60_000,
    });
    const longest = await h.human({
      name: 'Longest',
      phoneNumber: '+15555550182',
      skills: ['route', 'x'],
      idleSinceMsAgo: 3_600_000,
    });
    await h.human({
      name: 'Other skill',
      phoneNumber: '+15555550183',
      skills: ['other'],
      idleSinceMsAgo: 7_200_000,
    });
    await h.human({
      name: 'Offline',
      phoneNumber: '+15555550184',
      skills: ['route'],
      status: 'offline',
    });

    const first = await h.mediaStreamsCall();
    const a = await transfer(first.callId, { reason: 'r', skill: 'route', mode: 'cold' });
    expect(a.data).toMatchObject({ status: 'accepted', target: '+15555550182' });
    const second = await h.mediaStreamsCall();
    const b = await transfer(second.callId, { reason: 'r', skill: 'route', mode: 'cold' });
    expect(b.data).toMatchObject({ status: 'accepted', target: '+15555550181' });
    const rows = await h.prisma.humanAgent.findMany({ where: { id: { in: [recent, longest] } } });
    expect(rows.map((r) => r.status)).toEqual(['busy', 'busy']);

    // A repeated ask for the same call joins the handoff under way.
    const again = await transfer(first.callId, { reason: 'r', skill: 'route', mode: 'cold' });
    expect(again.data).toEqual({
      status: 'accepted',
      handoffId: a.data.status === 'accepted' ? a.data.handoffId : '',
    });
    for (const c of [first, second])
      await h.client
        .calls(c.callSid)
        .update({ status: 'completed' })
        .catch(() => undefined);
  }, 60_000);

  it('two asks for one call at once make one handoff and claim one human', async () => {
    const ids = [
      await h.human({ name: 'Twin A', phoneNumber: '+15555550185', skills: ['twice'] }),
      await h.human({ name: 'Twin B', phoneNumber: '+15555550186', skills: ['twice'] }),
    ];
    const { callId, callSid } = await h.mediaStreamsCall();
    const replies = await Promise.all(
      [1, 2, 3].map(() =>
        transfer(callId, { reason: 'pressed 0', skill: 'twice', mode: 'cold', trigger: 'dtmf' }),
      ),
    );
    const handoffIds = new Set(
      replies.map((r) => (r.data.status === 'accepted' ? r.data.handoffId : r.data.reason)),
    );
    expect(handoffIds.size).toBe(1);
    expect(await h.prisma.handoff.count({ where: { callId } })).toBe(1);
    const humans = await h.prisma.humanAgent.findMany({ where: { id: { in: ids } } });
    expect(humans.map((x) => x.status).sort()).toEqual(['available', 'busy']);
    await h.client
      .calls(callSid)
      .update({ status: 'completed' })
      .catch(() => undefined);
  }, 60_000);

  it('no human available: rejected with a reason the model can act on, and recorded', async () => {
    const { callId, callSid } = await h.mediaStreamsCall();
    const reply = await transfer(callId, {
      reason: 'wants Spanish',
      skill: 'spanish',
      mode: 'warm',
      trigger: 'dtmf',
    });
    expect(reply.data.status).toBe('rejected');
    if (reply.data.status !== 'rejected') throw new Error('accepted');
    expect(reply.data.reason).toContain('no-human-available');
    expect(reply.data.reason).toContain('callback');

    const rows = await h.prisma.handoff.findMany({ where: { callId } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: 'failed',
      failureReason: 'no-human-available',
      trigger: 'caller_dtmf',
      skill: 'spanish',
    });
    const events = await until(async () => {
      const e = await h.events(callId);
      return e.length >= 2 ? e : undefined;
    });
    expect(kinds(events)).toEqual(['call.handoff-requested', 'updated:failed']);
    expect(events[0]?.data).toMatchObject({ trigger: 'dtmf' });
    expect(await h.registry.metrics()).toMatch(
      /handoff_requests_total\{trigger="dtmf",outcome="rejected"\} 1/,
    );
    expect(h.sims.twilio.recordingOf(callSid)!.ofKind('call.updated')).toHaveLength(0);
    await h.client.calls(callSid).update({ status: 'completed' });
  }, 60_000);

  it('refuses an unknown call; served as the "handoff" NATS service with its stats', async () => {
    const before = h.handoff.service.runStats('handoff-transfer').completed;
    const reply = await transfer(crypto.randomUUID(), { reason: 'r', mode: 'cold' });
    const info = h.handoff.service.service.info();
    expect(info.name).toBe('handoff');
    expect(info.endpoints.map((e) => [e.subject, e.queue_group])).toEqual([
      [h.names.subjects.handoffTransfer, 'handoff'],
    ]);
    expect(h.handoff.service.runStats('handoff-transfer').completed).toBe(before + 1);
    expect(reply.data).toMatchObject({
      status: 'rejected',
      reason: expect.stringContaining('unknown-call'),
    });
  });
});

describe('handoff over SIP', () => {
  it('cold: the owning bridge is asked to transfer, and OpenAI REFERs the call to the human', async () => {
    const humanId = await h.human({
      name: 'Sip Sam',
      sipUri: 'sip:sam@pbx.example.com',
      phoneNumber: '+15555550191',
      skills: ['sip'],
    });
    const { callSid } = await h.sims.control.placeCall({
      to: '+15555550199',
      scenario: {
        name: 'holds',
        caller: { steps: [{ pauseMs: 120_000 }] },
        model: { turns: [], fallback: 'Hm?' },
      },
    });
    const sipCall = await until(() =>
      h.sims.openai
        .calls()
        .find((c) => (c.callSid === callSid && c.state !== 'incoming' ? c : undefined)),
    );
    const callId = await h.sipCallRow(sipCall.callId);
    // The bridge's part (services/call-bridge sip-offers.ts): call-control transfer → REFER.
    const bridge = standInBridge(callId, async (target) => {
      const res = await fetch(`${h.sims.openaiHttpUrl}/v1/realtime/calls/${sipCall.callId}/refer`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${h.sims.credentials.openai.apiKey}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ target_uri: target }),
      });
      return res.ok;
    });
    try {
      const reply = await transfer(callId, {
        reason: 'caller pressed 0',
        mode: 'cold',
        skill: 'sip',
        trigger: 'dtmf',
      });
      expect(reply.data).toMatchObject({ status: 'accepted', target: 'sip:sam@pbx.example.com' });
      if (reply.data.status !== 'accepted') throw new Error('not accepted');
      await handoffRow(reply.data.handoffId, 'connected');
      await until(() => (bridge.commands.length > 0 ? true : undefined));
      expect(bridge.commands).toEqual([
        { action: 'transfer', target: 'sip:sam@pbx.example.com', mode: 'cold' },
      ]);
      const referred = await until(() =>
        h.sims.openai
          .calls()
          .find((c) => c.callId === sipCall.callId && c.referTarget !== undefined),
      );
      expect(referred.referTarget).toBe('sip:sam@pbx.example.com');
      expect((await h.prisma.humanAgent.findUniqueOrThrow({ where: { id: humanId } })).status).toBe(
        'busy',
      );
    } finally {
      bridge.stop();
    }
  }, 60_000);

  it('a refused REFER fails the handoff and frees the human', async () => {
    const humanId = await h.human({
      name: 'Sip Sue',
      sipUri: 'sip:sue@pbx.example.com',
      skills: ['sipfail'],
    });
    const callId = await h.sipCallRow(`rtc_${crypto.randomUUID().replace(/-/g, '')}`);
    const bridge = standInBridge(callId, async () => false);
    try {
      const reply = await transfer(callId, { reason: 'r', mode: 'warm', skill: 'sipfail' });
      if (reply.data.status !== 'accepted') throw new Error('not accepted');
      const row = await handoffRow(reply.data.handoffId, 'failed');
      expect(row.failureReason).toContain('transfer-refused: REFER_FAILED');
      await until(() => (bridge.commands.length >= 2 ? true : undefined));
      // The note to the model is the last step: by then the human was given back.
      expect((await h.prisma.humanAgent.findUniqueOrThrow({ where: { id: humanId } })).status).toBe(
        'available',
      );
      expect(bridge.commands.map((c) => c.action)).toEqual(['transfer', 'inject']);
    } finally {
      bridge.stop();
    }
  }, 60_000);
});
