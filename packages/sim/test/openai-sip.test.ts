import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { startOpenAISim, type OpenAISim } from '../src/openai/index.js';
import { RealtimeTestClient } from '../src/openai/testing.js';
import { CallRecording } from '../src/recording.js';
import { ScenarioBook } from '../src/scenario-book.js';
import { parseScenario, type Scenario } from '../src/scenario.js';
import type { SipOffer } from '../src/sip.js';

const KEY = 'sk-sip-key';
const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const ACCEPT = {
  type: 'realtime',
  model: 'gpt-realtime',
  instructions: 'You are a phone agent.',
  audio: {
    input: { format: { type: 'audio/pcmu' }, transcription: { model: 'gpt-4o-mini-transcribe' } },
    output: { format: { type: 'audio/pcmu' }, voice: 'marin' },
  },
};

interface Received {
  body: string;
  headers: Record<string, string>;
}

let sim: OpenAISim;
let hook: Server;
let received: Received[];
/** What the fake system under test does with each webhook. */
let onWebhook: (callId: string) => Promise<void>;

async function rest(callId: string, verb: string, body?: unknown, key = KEY): Promise<Response> {
  return fetch(`${sim.httpUrl}/v1/realtime/calls/${callId}/${verb}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

function offer(scenario?: Scenario): SipOffer {
  return {
    callSid: 'CA0123456789abcdef0123456789abcdef',
    from: '+15550001111',
    to: '+15550002222',
    headers: { 'X-Campaign-Id': 'camp_1' },
    ...(scenario ? { scenario } : {}),
    recording: new CallRecording(),
  };
}

beforeEach(async () => {
  received = [];
  onWebhook = async () => undefined;
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ body, headers: req.headers as Record<string, string> });
      res.writeHead(200).end();
      const callId = (JSON.parse(body) as { data: { call_id: string } }).data.call_id;
      void onWebhook(callId);
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  sim = await startOpenAISim({
    apiKeys: [KEY],
    scenarios: new ScenarioBook(),
    pacing: 'fast',
    webhook: { url, secret: SECRET },
    acceptDeadlineMs: 2_000,
  });
});

afterEach(async () => {
  await sim.close();
  await new Promise<void>((r) => hook.close(() => r()));
});

describe('openai-sim SIP calls', () => {
  it('sends a signed realtime.call.incoming webhook with the SIP headers', async () => {
    onWebhook = async (callId) => {
      await rest(callId, 'reject', { status_code: 486 });
    };
    const outcome = await sim.sipTrunk.incomingCall(offer());
    expect(outcome).toMatchObject({ outcome: 'rejected', sipStatus: 486 });
    expect(outcome.callId).toMatch(/^rtc_[0-9a-f]{32}$/);
    const [wh] = received;
    const event = new Webhook(SECRET).verify(wh?.body ?? '', wh?.headers ?? {}) as Record<
      string,
      unknown
    >;
    expect(event).toMatchObject({
      object: 'event',
      type: 'realtime.call.incoming',
      data: { call_id: outcome.callId },
    });
    expect(event.id).toMatch(/^evt_/);
    const headers = (event.data as { sip_headers: Array<{ name: string; value: string }> })
      .sip_headers;
    expect(headers.map((h) => h.name)).toEqual(['From', 'To', 'Call-ID', 'X-Campaign-Id']);
    expect(wh?.headers['webhook-signature']).toMatch(/^v1,/);
    expect(await outcome.ended).toEqual({ reason: 'rejected' });
  });

  it('times out a call nobody accepts', async () => {
    const s2 = await startOpenAISim({
      apiKeys: [KEY],
      scenarios: new ScenarioBook(),
      acceptDeadlineMs: 100,
    });
    try {
      const outcome = await s2.sipTrunk.incomingCall(offer());
      expect(outcome.outcome).toBe('timeout');
    } finally {
      await s2.close();
    }
  });

  it('runs the caller against the accepted session and lets a sideband socket drive it', async () => {
    const scenario = parseScenario({
      name: 'sip hello',
      caller: {
        steps: [
          { waitForAgent: { quietMs: 200 } },
          { say: 'Hello there.' },
          { waitForAgent: { quietMs: 200 } },
          { hangup: true },
        ],
      },
      model: { greeting: 'Thanks for calling.', turns: [{ say: 'Nice to hear from you.' }] },
    });
    let sideband: RealtimeTestClient | undefined;
    onWebhook = async (callId) => {
      expect((await rest(callId, 'accept', ACCEPT)).status).toBe(200);
      sideband = await RealtimeTestClient.connect(`${sim.wsUrl}?call_id=${callId}`, {
        apiKey: KEY,
      });
      sideband.send({ type: 'response.create' });
    };
    const o = offer(scenario);
    const outcome = await sim.sipTrunk.incomingCall(o);
    expect(outcome.outcome).toBe('accepted');
    expect(await outcome.ended).toEqual({ reason: 'caller-hangup' });
    const info = sim.session(outcome.callId);
    expect(info?.said).toEqual([
      expect.objectContaining({ role: 'agent', text: 'Thanks for calling.' }),
      expect.objectContaining({ role: 'caller', text: 'Hello there.' }),
      expect.objectContaining({ role: 'agent', text: 'Nice to hear from you.' }),
    ]);
    expect(o.recording.ofKind('caller.heard-start').length).toBeGreaterThanOrEqual(2);
    const c = sideband as RealtimeTestClient;
    expect(c.ofType('input_audio_buffer.speech_started').length).toBeGreaterThanOrEqual(1);
    expect(c.ofType('output_audio_buffer.started').length).toBeGreaterThanOrEqual(1);
    expect((await c.closed).code).toBe(1000);
  });

  it('ends a call by REST hangup and by refer, and records the refer target', async () => {
    const scenario = parseScenario({ name: 'long', caller: { steps: [{ pauseMs: 60_000 }] } });
    onWebhook = async (callId) => {
      await rest(callId, 'accept', ACCEPT);
    };
    const a = await sim.sipTrunk.incomingCall(offer(scenario));
    expect((await rest(a.callId, 'hangup')).status).toBe(200);
    expect(await a.ended).toEqual({ reason: 'hangup' });

    const o = offer(scenario);
    const b = await sim.sipTrunk.incomingCall(o);
    expect((await rest(b.callId, 'refer', { target_uri: 'tel:+14155550123' })).status).toBe(200);
    expect(await b.ended).toEqual({ reason: 'referred' });
    expect(o.recording.ofKind('openai.refer')[0]?.data).toMatchObject({
      targetUri: 'tel:+14155550123',
    });
    expect(sim.calls().find((c) => c.callId === b.callId)?.referTarget).toBe('tel:+14155550123');
    // An ended call is gone for REST and for the sideband.
    expect((await rest(b.callId, 'hangup')).status).toBe(404);
    await expect(
      RealtimeTestClient.connect(`${sim.wsUrl}?call_id=${b.callId}`, { apiKey: KEY }),
    ).rejects.toMatchObject({ status: 404 });
  });

  it('answers REST errors in the OpenAI shape', async () => {
    const unknown = await rest('rtc_unknown', 'accept', ACCEPT);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: {
        message: expect.any(String),
        type: 'invalid_request_error',
        param: null,
        code: 'call_not_found',
      },
    });
    expect((await rest('rtc_unknown', 'hangup', undefined, 'sk-bad')).status).toBe(401);
    const bad = await rest('rtc_unknown', 'accept', { model: 'gpt-realtime' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { code: 'missing_required_parameter', param: 'type' },
    });
    sim.faults.set({ restRateLimits: 1, restServerErrors: 1 });
    expect((await rest('rtc_unknown', 'hangup')).status).toBe(429);
    expect((await rest('rtc_unknown', 'hangup')).status).toBe(500);
    expect((await rest('rtc_unknown', 'hangup')).status).toBe(404);
  });

  it('records audio appended on a SIP sideband as bad input', async () => {
    onWebhook = async (callId) => {
      await rest(callId, 'accept', ACCEPT);
    };
    const a = await sim.sipTrunk.incomingCall(offer());
    const c = await RealtimeTestClient.connect(`${sim.wsUrl}?call_id=${a.callId}`, { apiKey: KEY });
    await c.waitFor('session.created');
    c.send({
      type: 'input_audio_buffer.append',
      audio: Buffer.alloc(160, 0xff).toString('base64'),
    });
    c.send({ type: 'session.update', session: { type: 'realtime', instructions: 'x' } });
    await c.waitFor('session.updated');
    expect(sim.session(a.callId)?.badInputs.map((b) => b.kind)).toEqual(['audio_for_nothing']);
    await rest(a.callId, 'hangup');
    await c.closed;
  });
});
