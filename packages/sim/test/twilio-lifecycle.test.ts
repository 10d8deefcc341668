/**
 * Outbound call lifecycle per the behaviour table (twilio.md §5.2), the verbs the simulator
 * runs, and the SIP trunk route (§6.1).
 */
import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';

import { CallRecording } from '../src/recording.js';
import { ScenarioBook } from '../src/scenario-book.js';
import type { SipOffer, SipTrunkTarget } from '../src/sip.js';
import { startTwilioSim, type TwilioSimHandle } from '../src/twilio/index.js';
import {
  startWebhookReceiver,
  type ReceivedWebhook,
  type WebhookReceiver,
} from '../src/twilio/testing.js';

const ACCOUNT = 'AC' + 'b'.repeat(32);
const TOKEN = 'tok';
const OURS = '+15550001111';
const SIP_NUMBER = '+15550003333';
const CALLEE = '+15557654321';

let sim: TwilioSimHandle;
let rx: WebhookReceiver;
const offers: SipOffer[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  offers.length = 0;
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A SIP trunk target that accepts and hangs up after 30 ms (or rejects busy for `busy` headers). */
const fakeTrunk: SipTrunkTarget = {
  async incomingCall(offer) {
    offers.push(offer);
    if (offer.headers['x-reject'] === 'busy') {
      return {
        outcome: 'rejected',
        callId: 'rtc_1',
        sipStatus: 486,
        ended: Promise.resolve({ reason: 'rejected' }),
      };
    }
    offer.recording.add('fake.accepted');
    return {
      outcome: 'accepted',
      callId: 'rtc_2',
      ended: new Promise((r) => setTimeout(() => r({ reason: 'agent-hangup' }), 30)),
    };
  },
};

async function setup() {
  rx = await startWebhookReceiver();
  cleanups.push(() => rx.close());
  sim = await startTwilioSim({
    accounts: [{ sid: ACCOUNT, authToken: TOKEN }],
    numbers: [
      {
        number: OURS,
        accountSid: ACCOUNT,
        voiceUrl: `${rx.url}/voice`,
        statusCallback: `${rx.url}/inbound-status`,
      },
      { number: SIP_NUMBER, accountSid: ACCOUNT, sip: true },
    ],
    timing: { ringMs: 30, bridgeMs: 30, playMs: 30 },
    pacing: 'fast',
    sipTrunk: fakeTrunk,
    scenarios: new ScenarioBook(),
  });
  cleanups.push(() => sim.close());
  const client = twilio(ACCOUNT, TOKEN);
  client.api.baseUrl = sim.url;
  return client;
}

const ALL_EVENTS = ['initiated', 'ringing', 'answered', 'completed'];

async function callbacks(sid: string): Promise<Array<Record<string, string | string[]>>> {
  await rx.waitFor(
    (r) =>
      r.params.CallSid === sid &&
      r.path === '/status' &&
      ['completed', 'busy', 'no-answer', 'failed', 'canceled'].includes(
        String(r.params.CallStatus),
      ),
  );
  return rx.received
    .filter((r: ReceivedWebhook) => r.path === '/status' && r.params.CallSid === sid)
    .map((r) => r.params);
}

describe('twilio-sim outbound lifecycle', () => {
  it('twilio-sim - busy: ringing then busy with SIP 486', async () => {
    const client = await setup();
    sim.setBehaviour(CALLEE, { answer: 'busy' });
    const call = await client.calls.create({
      to: CALLEE,
      from: OURS,
      url: `${rx.url}/answer`,
      statusCallback: `${rx.url}/status`,
      statusCallbackEvent: ALL_EVENTS,
    });
    const cbs = await callbacks(call.sid);
    expect(cbs.map((c) => [c.CallStatus, c.SequenceNumber])).toEqual([
      ['initiated', '0'],
      ['ringing', '1'],
      ['busy', '2'],
    ]);
    expect(cbs[2]).toMatchObject({ SipResponseCode: '486', CallDuration: '0' });
    expect(rx.received.some((r) => r.path === '/answer')).toBe(false);
    expect((await client.calls(call.sid).fetch()).status).toBe('busy');
  });

  it('twilio-sim - no-answer after the Timeout', async () => {
    const client = await setup();
    sim.setBehaviour(CALLEE, { answer: 'no-answer' });
    const started = Date.now();
    const call = await client.calls.create({
      to: CALLEE,
      from: OURS,
      twiml: '<Response/>',
      timeout: 2,
      statusCallback: `${rx.url}/status`,
    });
    const cbs = await callbacks(call.sid);
    expect(cbs.map((c) => c.CallStatus)).toEqual(['no-answer']);
    expect(cbs[0]?.SequenceNumber).toBe('0');
    // 2 s of simulated ringing at fast pacing (×0.1).
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('twilio-sim - failed when the callee is unreachable', async () => {
    const client = await setup();
    sim.setBehaviour(CALLEE, { answer: 'fail' });
    const call = await client.calls.create({
      to: CALLEE,
      from: OURS,
      twiml: '<Response/>',
      statusCallback: `${rx.url}/status`,
    });
    expect((await callbacks(call.sid)).map((c) => c.CallStatus)).toEqual(['failed']);
  });

  it('twilio-sim - DetectMessageEnd reports machine_end_beep; humans are human', async () => {
    const client = await setup();
    sim.setBehaviour(CALLEE, { answer: 'machine' });
    rx.on('/answer', '<Response><Hangup/></Response>');
    const m = await client.calls.create({
      to: CALLEE,
      from: OURS,
      url: `${rx.url}/answer`,
      machineDetection: 'DetectMessageEnd',
      statusCallback: `${rx.url}/status`,
    });
    expect((await callbacks(m.sid))[0]?.AnsweredBy).toBe('machine_end_beep');
    const h = await client.calls.create({
      to: '+15550009999',
      from: OURS,
      url: `${rx.url}/answer`,
      machineDetection: 'Enable',
      statusCallback: `${rx.url}/status`,
    });
    expect((await callbacks(h.sid))[0]?.AnsweredBy).toBe('human');
    const plain = await client.calls.create({
      to: '+15550009999',
      from: OURS,
      url: `${rx.url}/answer`,
      statusCallback: `${rx.url}/status`,
    });
    expect((await callbacks(plain.sid))[0]?.AnsweredBy).toBeUndefined();
  });

  it('twilio-sim - async AMD posts the result to AsyncAmdStatusCallback', async () => {
    const client = await setup();
    sim.setBehaviour(CALLEE, { answer: 'machine' });
    const call = await client.calls.create({
      to: CALLEE,
      from: OURS,
      twiml: '<Response><Pause length="1"/></Response>',
      machineDetection: 'Enable',
      asyncAmd: 'true',
      asyncAmdStatusCallback: `${rx.url}/amd`,
    });
    const amd = await rx.waitFor((r) => r.path === '/amd');
    expect(amd.params).toMatchObject({ CallSid: call.sid, AnsweredBy: 'machine_start' });
    expect(
      twilio.validateRequest(TOKEN, String(amd.headers['x-twilio-signature']), amd.url, amd.params),
    ).toBe(true);
  });

  it('twilio-sim - canceled while ringing', async () => {
    const client = await setup();
    sim.setBehaviour(CALLEE, { answer: 'human', ringMs: 5_000 });
    const call = await client.calls.create({
      to: CALLEE,
      from: OURS,
      twiml: '<Response/>',
      statusCallback: `${rx.url}/status`,
      statusCallbackEvent: ALL_EVENTS,
    });
    await rx.waitFor((r) => r.params.CallStatus === 'ringing');
    await client.calls(call.sid).update({ status: 'canceled' });
    const cbs = await callbacks(call.sid);
    expect(cbs.map((c) => c.CallStatus)).toEqual(['initiated', 'ringing', 'canceled']);
    expect((await client.calls(call.sid).fetch()).status).toBe('canceled');
  });

  it('twilio-sim - completed carries CallDuration and the call has start and end times', async () => {
    const client = await setup();
    const call = await client.calls.create({
      to: CALLEE,
      from: OURS,
      twiml: '<Response><Pause length="12"/></Response>',
      statusCallback: `${rx.url}/status`,
    });
    const [done] = await callbacks(call.sid);
    expect(done).toMatchObject({ CallStatus: 'completed', CallDuration: '1', SequenceNumber: '0' });
    const fetched = await client.calls(call.sid).fetch();
    expect(fetched.startTime).toBeInstanceOf(Date);
    expect(fetched.endTime).toBeInstanceOf(Date);
  });
});

describe('twilio-sim TwiML verbs', () => {
  it('twilio-sim - Dial to a busy number posts DialCallStatus to action and runs its TwiML', async () => {
    await setup();
    sim.setBehaviour(CALLEE, { answer: 'busy' });
    rx.on(
      '/voice',
      `<Response><Play>https://x/a.mp3</Play><Dial action="/dial-done" timeout="10"><Number>${CALLEE}</Number></Dial></Response>`,
    );
    rx.on('/dial-done', '<Response><Redirect>/final</Redirect></Response>');
    rx.on('/final', '<Response><Say>Sorry</Say><Hangup/></Response>');
    const call = await sim.ringInbound({ to: OURS, from: '+15551112222' });
    expect(await call.ended).toEqual({ status: 'completed', reason: 'twiml-hangup' });
    const action = await rx.waitFor((r) => r.path === '/dial-done');
    expect(action.params).toMatchObject({
      DialCallStatus: 'busy',
      CallStatus: 'in-progress',
      Direction: 'inbound',
    });
    expect(call.recording.ofKind('twiml.play')[0]?.data).toMatchObject({ url: 'https://x/a.mp3' });
    expect(call.recording.ofKind('twiml.redirect')[0]?.data).toMatchObject({
      url: `${rx.url}/final`,
    });
    const status = await rx.waitFor((r) => r.path === '/inbound-status');
    expect(status.params).toMatchObject({
      CallStatus: 'completed',
      Direction: 'inbound',
      SequenceNumber: '0',
    });
  });

  it('twilio-sim - Dial Client and Conference and Enqueue are recorded', async () => {
    await setup();
    rx.on(
      '/voice',
      '<Response><Dial><Client>agent_alice</Client></Dial><Dial><Conference>room-1</Conference></Dial><Enqueue waitUrl="/hold">support</Enqueue></Response>',
    );
    const call = await sim.ringInbound({ to: OURS, from: '+15551112222' });
    // The conference holds the call (nobody else joins) until the simulator closes.
    for (let i = 0; i < 250 && call.recording.ofKind('conference.joined').length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const dials = call.recording.ofKind('twiml.dial').map((e) => e.data?.targets);
    expect(dials).toEqual([
      [{ type: 'client', target: 'agent_alice' }],
      [{ type: 'conference', target: 'room-1' }],
    ]);
    expect(call.recording.ofKind('conference.joined')[0]?.data).toMatchObject({
      friendlyName: 'room-1',
    });
    await sim.close();
    // Hung up in the room: the verbs after it never ran.
    expect(call.recording.ofKind('twiml.enqueue')).toEqual([]);
    expect((await call.ended).status).toBe('completed');
  });

  it('twilio-sim - Reject busy leaves the inbound call unanswered', async () => {
    await setup();
    rx.on('/voice', '<Response><Reject reason="busy"/></Response>');
    const call = await sim.ringInbound({ to: OURS, from: '+15551112222' });
    expect(await call.ended).toEqual({ status: 'busy', reason: 'twiml-reject-busy' });
    expect(sim.getCall(call.callSid)?.startTime).toBeNull();
  });

  it('twilio-sim - a broken TwiML document ends the call with error 12100', async () => {
    await setup();
    rx.on('/voice', '<Response><Say>unclosed</Response>');
    const call = await sim.ringInbound({ to: OURS, from: '+15551112222' });
    expect(await call.ended).toEqual({ status: 'completed', reason: 'application-error' });
    expect(call.recording.ofKind('twiml.error')[0]?.data).toMatchObject({ code: 12100 });
  });

  it('twilio-sim - Dial Sip to OpenAI goes to the SIP trunk target with the URI headers', async () => {
    await setup();
    rx.on(
      '/voice',
      '<Response><Dial action="/after"><Sip>sip:proj_abc@sip.api.openai.com;transport=tls?x-tenant=acme</Sip></Dial></Response>',
    );
    const call = await sim.ringInbound({ to: OURS, from: '+15551112222' });
    const after = await rx.waitFor((r) => r.path === '/after');
    expect(after.params).toMatchObject({ DialCallStatus: 'completed', DialBridged: 'true' });
    expect(offers[0]).toMatchObject({
      callSid: call.callSid,
      to: OURS,
      headers: { 'x-tenant': 'acme' },
    });
    expect(offers[0]?.recording).toBeInstanceOf(CallRecording);
  });
});

describe('twilio-sim SIP trunk numbers', () => {
  it('twilio-sim - a SIP number sends the call straight to the trunk target, no webhook', async () => {
    await setup();
    const call = await sim.ringInbound({
      to: SIP_NUMBER,
      from: '+15551112222',
      sipHeaders: { 'X-Campaign': 'c1' },
    });
    expect(await call.ended).toEqual({ status: 'completed', reason: 'agent-hangup' });
    expect(offers[0]).toMatchObject({
      callSid: call.callSid,
      from: '+15551112222',
      to: SIP_NUMBER,
      headers: { 'X-Campaign': 'c1' },
    });
    expect(rx.received).toHaveLength(0);
    expect(call.recording.ofKind('fake.accepted')).toHaveLength(1);
  });

  it('twilio-sim - a trunk rejection with 486 ends the call busy', async () => {
    await setup();
    const call = await sim.ringInbound({
      to: SIP_NUMBER,
      from: '+15551112222',
      sipHeaders: { 'x-reject': 'busy' },
    });
    expect(await call.ended).toEqual({ status: 'busy', reason: 'sip-rejected' });
  });
});
