/**
 * Tests that try to get in through the webhooks (issue 10): a Twilio signature bypass (wrong
 * URL, params reordered, added, removed or doubled, wrong token, replay) and an OpenAI webhook
 * with a bad signature, a stale or future timestamp, or replayed. Against the gateway wired as
 * main.ts wires it (./security-fixture.ts), real NATS and PostgreSQL: every refusal is checked
 * to have recorded nothing.
 */
import { createHmac, randomBytes } from 'node:crypto';

import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeForm, signWebhook, twilioSignature } from '@app/sim';

import {
  OPENAI_WEBHOOK_SECRET,
  OUR_NUMBER,
  PUBLIC_BASE_URL,
  securityFixture,
  TWILIO_AUTH_TOKEN,
  type SecurityFixture,
} from './security-fixture.js';

let f: SecurityFixture;

beforeAll(async () => {
  f = await securityFixture();
}, 120_000);

afterAll(async () => {
  await f?.close();
});

const storedEvents = async () =>
  (await (await jetstreamManager(f.ns.nc)).streams.info(f.ns.names.streams.calls.name)).state
    .messages;

let sids = 0;
const newSid = () => `CA${String(++sids).padStart(4, '0')}${'e'.repeat(28)}`;

/** POSTs a raw form body with the given signature header (none when undefined). */
function twilioPost(path: string, body: string, signature: string | undefined) {
  return f.inject({
    method: 'POST',
    url: path,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature !== undefined ? { 'x-twilio-signature': signature } : {}),
    },
    payload: body,
  });
}

const sign = (url: string, params: Record<string, string>, token = TWILIO_AUTH_TOKEN) =>
  twilioSignature(token, url, params);

describe('security - webhook signatures', { timeout: 120_000 }, () => {
  it('refuses every Twilio signature bypass with 403 and records nothing', async () => {
    const params = { CallSid: newSid(), From: '+15555550142', To: OUR_NUMBER };
    const body = encodeForm(params);
    const voice = `${PUBLIC_BASE_URL}/twilio/voice`;
    const good = sign(voice, params);
    const before = await storedEvents();
    const attempts: Array<[string, string, string, string | undefined]> = [
      ['no signature', '/twilio/voice', body, undefined],
      ['empty signature', '/twilio/voice', body, ''],
      ['wrong auth token', '/twilio/voice', body, sign(voice, params, 'another-token-000000')],
      [
        'signed for http, not https',
        '/twilio/voice',
        body,
        sign(voice.replace('https:', 'http:'), params),
      ],
      [
        'signed for another host',
        '/twilio/voice',
        body,
        sign('https://evil.example.com/twilio/voice', params),
      ],
      [
        'signed for another path',
        '/twilio/voice',
        body,
        sign(`${PUBLIC_BASE_URL}/twilio/status`, params),
      ],
      ['query string added', '/twilio/voice?agentId=x', body, good],
      ['param added', '/twilio/voice', `${body}&Extra=1`, good],
      [
        'param removed',
        '/twilio/voice',
        encodeForm({ CallSid: params.CallSid, To: OUR_NUMBER }),
        good,
      ],
      ['param changed', '/twilio/voice', encodeForm({ ...params, From: '+15555550199' }), good],
      ['param doubled', '/twilio/voice', `${body}&CallSid=${newSid()}`, good],
      [
        'value moved to another key',
        '/twilio/voice',
        encodeForm({ CallSid: params.CallSid, From: OUR_NUMBER, To: '+15555550142' }),
        good,
      ],
      // Unsorted concatenation (a naive implementation) is not Twilio's algorithm.
      [
        'signed over unsorted params',
        '/twilio/voice',
        body,
        (() => {
          const data =
            voice +
            Object.entries(params)
              .reverse()
              .map(([k, v]) => k + v)
              .join('');
          return createHmac('sha1', TWILIO_AUTH_TOKEN).update(data).digest('base64');
        })(),
      ],
      ['signature with a space', '/twilio/voice', body, ` ${good}`],
      [
        'signature of another request',
        '/twilio/voice',
        body,
        sign(voice, { ...params, CallSid: newSid() }),
      ],
    ];
    for (const [label, path, payload, signature] of attempts) {
      const res = await twilioPost(path, payload, signature);
      expect(res.statusCode, label).toBe(403);
      expect(res.body, label).not.toContain('<Stream');
    }
    // The outbound TwiML URL: its call and agent ids are in the signed query.
    const callId = '11111111-1111-4111-8111-111111111111';
    const outbound = `/twilio/outbound?callId=${callId}&agentId=${f.agentId}`;
    const outParams = { CallSid: newSid(), From: OUR_NUMBER, To: '+15555550142' };
    const outGood = sign(`${PUBLIC_BASE_URL}${outbound}`, outParams);
    const swapped = `/twilio/outbound?callId=22222222-2222-4222-8222-222222222222&agentId=${f.agentId}`;
    expect((await twilioPost(swapped, encodeForm(outParams), outGood)).statusCode).toBe(403);
    expect(
      (await twilioPost(`${outbound}&callId=${callId}`, encodeForm(outParams), outGood)).statusCode,
    ).toBe(403);
    expect(await storedEvents()).toBe(before);

    // The genuine request passes, with its params in any order (they are signed sorted).
    const reordered = encodeForm({ To: OUR_NUMBER, From: '+15555550142', CallSid: params.CallSid });
    const genuine = await twilioPost('/twilio/voice', reordered, good);
    expect(genuine.statusCode).toBe(200);
    expect(genuine.body).toContain('<Stream');
    expect(await storedEvents()).toBe(before + 1);
  });

  it('a replayed Twilio status callback is acted on once; a replayed voice webhook for a finished call gets no stream', async () => {
    const callSid = newSid();
    const call = await f.prisma.call.create({
      data: {
        twilioCallSid: callSid,
        direction: 'inbound',
        transport: 'media_streams',
        fromNumber: '+15555550142',
        toNumber: OUR_NUMBER,
        status: 'ringing',
      },
    });
    const status = { CallSid: callSid, CallStatus: 'completed', SequenceNumber: '0' };
    const signature = sign(`${PUBLIC_BASE_URL}/twilio/status`, status);
    const before = await storedEvents();
    const answers = [];
    for (let i = 0; i < 3; i++) {
      answers.push((await twilioPost('/twilio/status', encodeForm(status), signature)).statusCode);
    }
    expect(answers).toEqual([204, 204, 204]);
    expect(await storedEvents()).toBe(before + 2); // status + ended, once
    await f.prisma.call.update({ where: { id: call.id }, data: { endedAt: new Date() } });
    const voice = { CallSid: callSid, From: '+15555550142', To: OUR_NUMBER };
    const replay = await twilioPost(
      '/twilio/voice',
      encodeForm(voice),
      sign(`${PUBLIC_BASE_URL}/twilio/voice`, voice),
    );
    expect(replay.statusCode).toBe(200);
    expect(replay.body).not.toContain('<Stream');
    expect(replay.body).toContain('<Hangup/>');
    expect(await storedEvents()).toBe(before + 2);
  });

  it('refuses an OpenAI webhook with a bad signature, a stale or future timestamp, or a tampered id, and answers a replay without acting', async () => {
    const event = JSON.stringify({
      object: 'event',
      id: 'evt_security',
      type: 'batch.completed',
      created_at: Math.floor(Date.now() / 1_000),
      data: { id: 'batch_1' },
    });
    const request = (
      o: { id?: string; ts?: number; secret?: string; body?: string; signedId?: string } = {},
    ) => {
      const id = o.id ?? `wh_${randomBytes(12).toString('hex')}`;
      const ts = o.ts ?? Math.floor(Date.now() / 1_000);
      return {
        method: 'POST' as const,
        url: '/openai/webhook',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': signWebhook(
            o.secret ?? OPENAI_WEBHOOK_SECRET,
            o.signedId ?? id,
            ts,
            event,
          ),
        },
        payload: o.body ?? event,
      };
    };
    const now = Math.floor(Date.now() / 1_000);
    const refused = [
      request({ secret: `whsec_${Buffer.from('not our secret').toString('base64')}` }),
      request({ ts: now - 360 }),
      request({ ts: now + 360 }),
      request({ body: event.replace('batch_1', 'batch_2') }),
      // A signature taken from another delivery (another id) does not carry over.
      request({ id: 'wh_new', signedId: 'wh_old' }),
    ];
    const tsMoved = request();
    tsMoved.headers['webhook-timestamp'] = String(now - 1);
    refused.push(tsMoved);
    for (const req of refused) expect((await f.inject(req)).statusCode).toBe(400);
    const before = await storedEvents();
    const delivery = request();
    expect((await f.inject(delivery)).json()).toEqual({ status: 'ignored' });
    const replay = await f.inject(delivery);
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toEqual({ status: 'duplicate' });
    expect(await storedEvents()).toBe(before);
  });
});
