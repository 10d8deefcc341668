/**
 * SIP calls end to end: the Twilio simulator's trunk sends a call on our SIP number to the
 * OpenAI simulator, which POSTs the signed `realtime.call.incoming` to the gateway; the gateway
 * offers it to the bridges (`call-bridge.sip-offer`), this bridge accepts it with the agent's
 * session config and holds the sideband socket. Real NATS and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { callControlRequest, request } from '@app/contracts';
import { parseScenario, signWebhook, SIM_DEFAULTS } from '@app/sim';

import { CALLER, OUR_NUMBER, SIP_NUMBER, startHarness, waitFor, type Harness } from './harness.js';
import { openingHoursJson } from './scenarios.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ pacing: 'fast', maxCalls: 3 });
});

afterAll(async () => {
  await h?.close();
});

/** A caller who stays on the line until hung up, or for `pauseMs` (scenario time: 'fast' pacing runs 10x). */
const lingering = (name: string, pauseMs = 300_000) =>
  parseScenario({
    name,
    caller: {
      steps: [
        { waitForAgent: { quietMs: 500, timeoutMs: 10_000 } },
        { say: 'I will hold.' },
        { pauseMs },
        { hangup: true },
      ],
    },
    model: { greeting: 'Hello.', turns: [{ say: 'Sure, take your time.' }] },
  });

const spokenLines = (said: ReadonlyArray<{ role: string; text: string }> | undefined) =>
  said?.map((l) => [l.role, l.text]);

/** Rings the SIP number with a caller who holds, and waits until a bridge owns the call. */
async function liveSipCall(name: string) {
  const call = await h.sims.twilio.ringInbound({
    to: SIP_NUMBER,
    from: CALLER,
    scenario: lingering(name),
  });
  const callId = await h.sipCallIdOf(call.callSid);
  const rtc = await h.openaiCallIdOf(call.callSid);
  await waitFor(async () => ((await h.owners.get(callId)) ? true : undefined));
  // The owner entry is written before the call is accepted; the call's control subscription
  // starts after. A raw request (not a command) is answered, with an error, once it listens.
  await waitFor(async () => {
    try {
      await h.ns.nc.request(h.names.subjects.callControl(callId), '{}', { timeout: 1_000 });
      return true;
    } catch {
      return undefined;
    }
  });
  return { call, callId, rtc };
}

async function transcriptsOf(callId: string) {
  const events = await h.endedEventsOf(callId);
  return events.filter((e) => e.type === 'call.transcript').map((e) => [e.data.role, e.data.text]);
}

describe('call-bridge SIP calls', { timeout: 90_000 }, () => {
  it('a full SIP conversation: accepted with the agent config, sideband transcripts stored', async () => {
    const call = await h.sims.twilio.ringInbound({
      to: SIP_NUMBER,
      from: CALLER,
      scenario: parseScenario(openingHoursJson),
    });
    const end = await call.ended;
    expect(end.status).toBe('completed');
    const rtc = await h.openaiCallIdOf(call.callSid);
    const callId = await h.sipCallIdOf(call.callSid);
    const info = h.sims.openai.calls().find((c) => c.callId === rtc);
    expect(info).toMatchObject({ state: 'ended', webhookStatus: 200 });
    const session = h.sims.openai.sessions().find((s) => s.callId === rtc);
    expect(session?.kind).toBe('sip');
    expect(session?.badInputs).toEqual([]);
    expect(spokenLines(session?.said)).toEqual([
      ['agent', 'Hello, thanks for calling. How can I help?'],
      ['caller', 'What time do you open tomorrow?'],
      ['agent', 'We open at nine in the morning.'],
      ['caller', 'Great, thank you.'],
      ['agent', 'You are welcome, goodbye!'],
    ]);
    expect(await transcriptsOf(callId)).toEqual(spokenLines(session?.said));
    const events = await h.endedEventsOf(callId);
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['call.created', 'call.answered', 'call.ended']),
    );
    expect(events.find((e) => e.type === 'call.ended')?.data).toMatchObject({
      reason: 'caller-hangup',
    });
    const row = await waitFor(async () => {
      const c = await h.prisma.call.findUnique({
        where: { id: callId },
        include: { transcriptTurns: { orderBy: { sequence: 'asc' } } },
      });
      return c?.endReason ? c : undefined;
    });
    expect(row).toMatchObject({
      transport: 'sip',
      openaiCallId: rtc,
      direction: 'inbound',
      fromNumber: CALLER,
      toNumber: SIP_NUMBER,
      agentId: h.agentId,
      status: 'completed',
      endReason: 'caller-hangup',
      bridgePod: 'bridge-test-0',
    });
    expect(row.transcriptTurns.map((t) => t.text)).toEqual(
      spokenLines(session?.said)?.map(([, text]) => text),
    );
    // Released everywhere: capacity and ownership.
    await waitFor(() => (h.calls.size === 0 ? true : undefined));
    await waitFor(async () => ((await h.owners.get(callId)) === null ? true : undefined));
  });

  it('one agent, one behaviour: the same scenario over Media Streams and SIP', async () => {
    const scenario = (name: string) => parseScenario({ ...openingHoursJson, name });
    const ms = await h.sims.twilio.ringInbound({
      to: OUR_NUMBER,
      from: CALLER,
      scenario: scenario('same-ms'),
    });
    const sip = await h.sims.twilio.ringInbound({
      to: SIP_NUMBER,
      from: CALLER,
      scenario: scenario('same-sip'),
    });
    await Promise.all([ms.ended, sip.ended]);
    const msSession = h.sims.openai.sessions().find((s) => s.scenario === 'same-ms');
    const sipSession = h.sims.openai.sessions().find((s) => s.scenario === 'same-sip');
    expect(msSession?.kind).toBe('ws');
    expect(sipSession?.kind).toBe('sip');
    // The session config one sent as session.update and the other as the accept body.
    expect(sipSession?.config).toEqual(msSession?.config);
    expect(spokenLines(sipSession?.said)).toEqual(spokenLines(msSession?.said));
    const msCall = await h.callIdOf(ms.callSid);
    const sipCall = await h.sipCallIdOf(sip.callSid);
    expect(await transcriptsOf(sipCall)).toEqual(await transcriptsOf(msCall));
  });

  it('hangup from the control subject ends the SIP call at OpenAI', async () => {
    const { call, callId, rtc } = await liveSipCall('sip-control-hangup');
    const reply = await request(
      h.ns.nc,
      h.names,
      'call-control',
      // As the gateway's POST /v1/calls/:id/hangup asks: the call ends as the operator's doing.
      callControlRequest(callId, { action: 'hangup', reason: 'operator-hangup' }),
    );
    expect(reply.data).toEqual({ ok: true });
    await call.ended;
    expect(h.sims.openai.calls().find((c) => c.callId === rtc)?.endReason).toBe('hangup');
    const events = await h.endedEventsOf(callId);
    expect(events.find((e) => e.type === 'call.ended')?.data).toMatchObject({
      reason: 'operator-hangup',
    });
  });

  it('a transfer from the control subject is a SIP REFER; the call ends transferred', async () => {
    const { call, callId, rtc } = await liveSipCall('sip-control-refer');
    const bad = await request(
      h.ns.nc,
      h.names,
      'call-control',
      callControlRequest(callId, { action: 'transfer', target: 'front desk', mode: 'cold' }),
    );
    expect(bad.data).toMatchObject({ ok: false, error: { code: 'INVALID_TARGET' } });
    const reply = await request(
      h.ns.nc,
      h.names,
      'call-control',
      callControlRequest(callId, { action: 'transfer', target: '+15555550123', mode: 'cold' }),
    );
    expect(reply.data).toEqual({ ok: true });
    await call.ended;
    expect(h.sims.openai.calls().find((c) => c.callId === rtc)).toMatchObject({
      referTarget: 'tel:+15555550123',
      endReason: 'referred',
    });
    const events = await h.endedEventsOf(callId);
    expect(events.find((e) => e.type === 'call.ended')?.data).toMatchObject({
      reason: 'transferred',
    });
  });

  it('a dropped sideband is reopened and the call goes on; the recovery is counted', async () => {
    const call = await h.sims.twilio.ringInbound({
      to: SIP_NUMBER,
      from: CALLER,
      scenario: parseScenario({ ...openingHoursJson, name: 'sip-sideband-drop' }),
    });
    const rtc = await h.openaiCallIdOf(call.callSid);
    const callId = await h.sipCallIdOf(call.callSid);
    // The sideband drops (no close frame) a few deltas into the first answer, once.
    h.sims.openai.faults.setFor(rtc, { dropSocketAfterAudioDeltas: 2 });
    await waitFor(async () =>
      (await h.eventsOf(callId)).some(
        (e) => e.type === 'call.error' && e.data.code === 'realtime_disconnected',
      )
        ? true
        : undefined,
    );
    h.sims.openai.faults.setFor(rtc, { dropSocketAfterAudioDeltas: null });
    const end = await call.ended;
    expect(end.status).toBe('completed');
    const session = h.sims.openai.sessions().find((s) => s.callId === rtc);
    // The caller heard every line: the audio never depended on the sideband.
    expect(spokenLines(session?.said)).toEqual([
      ['agent', 'Hello, thanks for calling. How can I help?'],
      ['caller', 'What time do you open tomorrow?'],
      ['agent', 'We open at nine in the morning.'],
      ['caller', 'Great, thank you.'],
      ['agent', 'You are welcome, goodbye!'],
    ]);
    const events = await h.endedEventsOf(callId);
    const ended = events.find((e) => e.type === 'call.ended');
    expect(ended?.data).toMatchObject({ reason: 'caller-hangup', metrics: { recoveries: 1 } });
    // Transcripts after the reconnect still arrive.
    expect((await transcriptsOf(callId)).at(-1)).toEqual(['agent', 'You are welcome, goodbye!']);
  });

  it('every bridge full: the call is rejected busy (486) and recorded as busy', async () => {
    // maxCalls is 3: three callers on hold fill this (the only) bridge.
    const holders = await Promise.all(
      [1, 2, 3].map((i) =>
        h.sims.twilio.ringInbound({
          to: SIP_NUMBER,
          from: CALLER,
          scenario: lingering(`sip-holder-${i}`, 80_000),
        }),
      ),
    );
    await waitFor(() => (h.calls.size === 3 ? true : undefined), 15_000);
    const busy = await h.sims.twilio.ringInbound({ to: SIP_NUMBER, from: CALLER });
    const rtc = await h.openaiCallIdOf(busy.callSid);
    const end = await busy.ended;
    expect(end.status).toBe('busy');
    expect(h.sims.openai.calls().find((c) => c.callId === rtc)?.state).toBe('ended');
    const callId = await h.sipCallIdOf(busy.callSid);
    const events = await h.endedEventsOf(callId);
    expect(events.find((e) => e.type === 'call.ended')?.data).toMatchObject({ reason: 'busy' });
    expect(events.find((e) => e.type === 'call.error')?.data).toMatchObject({
      source: 'gateway',
    });
    const row = await waitFor(async () => {
      const c = await h.prisma.call.findUnique({ where: { id: callId } });
      return c?.endReason ? c : undefined;
    });
    expect(row).toMatchObject({ endReason: 'busy', transport: 'sip', openaiCallId: rtc });
    await Promise.all(holders.map((c) => c.ended));
  });

  it('a webhook delivered twice, or with a bad signature, is acted on once or not at all', async () => {
    const call = await h.sims.twilio.ringInbound({
      to: SIP_NUMBER,
      from: CALLER,
      scenario: lingering('sip-duplicate', 30_000),
    });
    const rtc = await h.openaiCallIdOf(call.callSid);
    const callId = await h.sipCallIdOf(call.callSid);
    await waitFor(async () => ((await h.owners.get(callId)) ? true : undefined));
    const url = h.sims.webhookUrl;
    const body = JSON.stringify({
      object: 'event',
      id: 'evt_test_duplicate',
      type: 'realtime.call.incoming',
      created_at: Math.floor(Date.now() / 1_000),
      data: {
        call_id: rtc,
        sip_headers: [
          { name: 'From', value: `sip:${CALLER}@sip.twilio.com` },
          { name: 'To', value: `sip:${SIP_NUMBER}@sip.api.openai.com` },
        ],
      },
    });
    const post = (id: string, signature: string) =>
      fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(Date.now() / 1_000)),
          'webhook-signature': signature,
        },
        body,
      });
    const ts = Math.floor(Date.now() / 1_000);
    const secret = SIM_DEFAULTS.openai.webhookSecret;
    // The same call under a new webhook id: handled once already.
    const again = await post('wh_second', signWebhook(secret, 'wh_second', ts, body));
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: 'duplicate' });
    // A forged signature: refused, nothing done.
    const forged = await post(
      'wh_forged',
      signWebhook('whsec_' + 'A'.repeat(44), 'wh_forged', ts, body),
    );
    expect(forged.status).toBe(400);
    await call.ended;
    const events = await h.endedEventsOf(callId);
    expect(events.filter((e) => e.type === 'call.created')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'call.answered')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'call.ended')).toHaveLength(1);
  });
});
