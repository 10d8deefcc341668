/**
 * The simulator checked against code nobody here wrote: the official `twilio` SDK is the REST
 * client, and its `validateRequest` checks every webhook the simulator signs.
 */
import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';

import { ScenarioBook } from '../src/scenario-book.js';
import { startTwilioSim, twilioSignature, type TwilioSimHandle } from '../src/twilio/index.js';
import {
  startWebhookReceiver,
  type ReceivedWebhook,
  type WebhookReceiver,
} from '../src/twilio/testing.js';

const ACCOUNT = 'AC' + '1'.repeat(32);
const TOKEN = 'secret-token';
const OTHER = 'AC' + '2'.repeat(32);
const KEY = { sid: 'SK' + '3'.repeat(32), secret: 'key-secret' };
const OURS = '+15550001111';
const CUSTOMER = '+15557654321';

let sim: TwilioSimHandle;
let rx: WebhookReceiver;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(limits?: { cps?: number; maxConcurrentCalls?: number }) {
  rx = await startWebhookReceiver();
  cleanups.push(() => rx.close());
  sim = await startTwilioSim({
    accounts: [
      { sid: ACCOUNT, authToken: TOKEN, apiKeys: [KEY] },
      { sid: OTHER, authToken: 'other' },
    ],
    numbers: [{ number: OURS, accountSid: ACCOUNT, voiceUrl: `${rx.url}/voice` }],
    timing: { ringMs: 20, bridgeMs: 20 },
    pacing: 'fast',
    scenarios: new ScenarioBook(),
    ...(limits ? { limits } : {}),
  });
  cleanups.push(() => sim.close());
}

function client(user = ACCOUNT, pass = TOKEN, accountSid?: string) {
  // The supported way to point the SDK elsewhere: each domain's `baseUrl` is read at request
  // time (twilio.md §7 option A). edge/region stay unset.
  const c = twilio(user, pass, accountSid ? { accountSid } : {});
  c.api.baseUrl = sim.url;
  return c;
}

function validates(r: ReceivedWebhook): boolean {
  const sig = r.headers['x-twilio-signature'];
  return twilio.validateRequest(TOKEN, String(sig), r.url, r.params);
}

async function ended(sid: string) {
  const deadline = Date.now() + 4_000;
  for (;;) {
    const call = sim.getCall(sid);
    if (call && ['completed', 'busy', 'failed', 'no-answer', 'canceled'].includes(call.status)) {
      return call;
    }
    if (Date.now() > deadline) throw new Error(`call ${sid} did not end`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('twilio-sim signature', () => {
  it('twilio-sim - matches the twilio.md §2.1 test vector', () => {
    const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
    const params = {
      CallSid: 'CA1234567890ABCDE',
      Caller: '+12349013030',
      Digits: '1234',
      From: '+12349013030',
      To: '+18005551212',
    };
    expect(twilioSignature('12345', url, params)).toBe('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
    expect(
      twilio.validateRequest('12345', twilioSignature('12345', url, params), url, params),
    ).toBe(true);
  });

  it('twilio-sim - signs repeated keys the way the SDK validates them', () => {
    const url = 'https://example.com/cb';
    const params = { StatusCallbackEvent: ['ringing', 'answered', 'ringing'], A: 'x' };
    expect(twilio.validateRequest('tok', twilioSignature('tok', url, params), url, params)).toBe(
      true,
    );
  });
});

describe('twilio-sim REST with the official SDK', () => {
  it('twilio-sim - creates a call with Url, sends signed callbacks and fetches TwiML', async () => {
    await setup();
    rx.on('/answer', '<Response><Say>Hello there</Say><Hangup/></Response>');
    const call = await client().calls.create({
      to: CUSTOMER,
      from: OURS,
      url: `${rx.url}/answer`,
      statusCallback: `${rx.url}/status`,
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    });
    expect(call.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(call.status).toBe('queued');
    expect(call.direction).toBe('outbound-api');
    expect(call.accountSid).toBe(ACCOUNT);
    expect(call.uri).toBe(`/2010-04-01/Accounts/${ACCOUNT}/Calls/${call.sid}.json`);
    expect(call.dateCreated).toBeInstanceOf(Date);

    const completed = await rx.waitFor(
      (r) => r.path === '/status' && r.params.CallStatus === 'completed',
    );
    const statuses = rx.received.filter((r) => r.path === '/status');
    expect(statuses.map((r) => r.params.CallStatus)).toEqual([
      'initiated',
      'ringing',
      'in-progress',
      'completed',
    ]);
    expect(statuses.map((r) => r.params.SequenceNumber)).toEqual(['0', '1', '2', '3']);
    for (const r of statuses) {
      expect(r.params).toMatchObject({
        CallSid: call.sid,
        AccountSid: ACCOUNT,
        From: OURS,
        To: CUSTOMER,
        Direction: 'outbound-api',
        ApiVersion: '2010-04-01',
        CallbackSource: 'call-progress-events',
      });
      expect(String(r.params.Timestamp)).toMatch(/^\w{3}, \d{2} \w{3} \d{4} [\d:]{8} \+0000$/);
      expect(validates(r)).toBe(true);
    }
    expect(completed.params.CallDuration).toMatch(/^\d+$/);
    const answer = rx.received.find((r) => r.path === '/answer');
    expect(answer?.params.CallStatus).toBe('in-progress');
    expect(answer && validates(answer)).toBe(true);
    expect(answer?.headers['content-type']).toBe(
      'application/x-www-form-urlencoded; charset=UTF-8',
    );
    expect(sim.recordingOf(call.sid)?.ofKind('twiml.say')[0]?.data).toMatchObject({
      text: 'Hello there',
    });

    const fetched = await client().calls(call.sid).fetch();
    expect(fetched.status).toBe('completed');
    expect(fetched.endTime).toBeInstanceOf(Date);
    expect(fetched.duration).toMatch(/^\d+$/);
  });

  it('twilio-sim - rejects a tampered callback', async () => {
    await setup();
    await client().calls.create({
      to: CUSTOMER,
      from: OURS,
      twiml: '<Response><Hangup/></Response>',
      statusCallback: `${rx.url}/status`,
    });
    const r = await rx.waitFor((x) => x.path === '/status');
    expect(validates(r)).toBe(true);
    expect(validates({ ...r, params: { ...r.params, CallStatus: 'busy' } })).toBe(false);
    expect(validates({ ...r, url: r.url + '?x=1' })).toBe(false);
  });

  it('twilio-sim - GET status callbacks are signed over the URL with the query', async () => {
    await setup();
    await client().calls.create({
      to: CUSTOMER,
      from: OURS,
      twiml: '<Response><Hangup/></Response>',
      statusCallback: `${rx.url}/status?tenant=acme`,
      statusCallbackMethod: 'GET',
    });
    const r = await rx.waitFor((x) => x.path === '/status');
    expect(r.method).toBe('GET');
    expect(r.query).toMatchObject({ tenant: 'acme', CallStatus: 'completed', SequenceNumber: '0' });
    expect(validates(r)).toBe(true);
  });

  it('twilio-sim - runs inline Twiml and reports AnsweredBy with machine detection', async () => {
    await setup();
    sim.setBehaviour(CUSTOMER, { answer: 'machine', ringMs: 10 });
    rx.on('/answer', '<Response><Hangup/></Response>');
    const call = await client().calls.create({
      to: CUSTOMER,
      from: OURS,
      url: `${rx.url}/answer`,
      machineDetection: 'Enable',
      statusCallback: `${rx.url}/status`,
      statusCallbackEvent: ['answered', 'completed'],
    });
    const answer = await rx.waitFor((r) => r.path === '/answer');
    expect(answer.params.AnsweredBy).toBe('machine_start');
    const done = await rx.waitFor(
      (r) => r.path === '/status' && r.params.CallStatus === 'completed',
    );
    expect(done.params.AnsweredBy).toBe('machine_start');
    expect((await client().calls(call.sid).fetch()).answeredBy).toBe('machine_start');
  });

  it('twilio-sim - hangs up with update({ status: completed }) and redirects with update({ twiml })', async () => {
    await setup();
    rx.on('/answer', '<Response><Pause length="30"/></Response>');
    const a = await client().calls.create({ to: CUSTOMER, from: OURS, url: `${rx.url}/answer` });
    const b = await client().calls.create({ to: CUSTOMER, from: OURS, url: `${rx.url}/answer` });
    await rx.waitFor((r) => r.path === '/answer' && r.params.CallSid === b.sid);
    await rx.waitFor((r) => r.path === '/answer' && r.params.CallSid === a.sid);

    const hung = await client().calls(a.sid).update({ status: 'completed' });
    expect(hung.sid).toBe(a.sid);
    expect((await ended(a.sid)).status).toBe('completed');

    const vr = new twilio.twiml.VoiceResponse();
    vr.say('Transferring');
    vr.dial().number('+15559990000');
    await client().calls(b.sid).update({ twiml: vr });
    expect((await ended(b.sid)).status).toBe('completed');
    const rec = sim.recordingOf(b.sid);
    expect(rec?.ofKind('call.updated')).toHaveLength(1);
    expect(rec?.ofKind('twiml.say')[0]?.data).toMatchObject({ text: 'Transferring' });
    expect(rec?.ofKind('twiml.dial')[0]?.data).toMatchObject({
      targets: [{ type: 'number', target: '+15559990000' }],
    });
    await expect(client().calls(a.sid).update({ status: 'completed' })).rejects.toMatchObject({
      status: 400,
      code: 21220,
    });
  });

  it('twilio-sim - lists calls newest first', async () => {
    await setup();
    const twiml = '<Response><Hangup/></Response>';
    const a = await client().calls.create({ to: CUSTOMER, from: OURS, twiml });
    await new Promise((r) => setTimeout(r, 5));
    const b = await client().calls.create({ to: '+15550002222', from: OURS, twiml });
    const all = await client().calls.list();
    expect(all.map((c) => c.sid)).toEqual([b.sid, a.sid]);
    const filtered = await client().calls.list({ to: CUSTOMER });
    expect(filtered.map((c) => c.sid)).toEqual([a.sid]);
    const paged = await client().calls.list({ pageSize: 1 });
    expect(paged).toHaveLength(2);
  });

  it('twilio-sim - accepts an API key with the account SID', async () => {
    await setup();
    const c = client(KEY.sid, KEY.secret, ACCOUNT);
    const call = await c.calls.create({ to: CUSTOMER, from: OURS, twiml: '<Response/>' });
    expect(call.accountSid).toBe(ACCOUNT);
  });

  it('twilio-sim - surfaces Twilio errors as RestException', async () => {
    await setup();
    await expect(
      client().calls.create({ to: '12345', from: OURS, twiml: '<Response/>' }),
    ).rejects.toMatchObject({
      status: 400,
      code: 21211,
      moreInfo: 'https://www.twilio.com/docs/errors/21211',
    });
    await expect(
      client().calls.create({ to: CUSTOMER, from: '+15553334444', twiml: '<Response/>' }),
    ).rejects.toMatchObject({ status: 400, code: 21210 });
    await expect(client().calls.create({ to: CUSTOMER, from: OURS })).rejects.toMatchObject({
      status: 400,
      code: 21205,
    });
    await expect(client(ACCOUNT, 'wrong').calls.list()).rejects.toMatchObject({
      status: 401,
      code: 20003,
    });
    await expect(
      client()
        .calls('CA' + 'f'.repeat(32))
        .fetch(),
    ).rejects.toMatchObject({
      status: 404,
      code: 20404,
    });
    // Valid credentials of another account cannot read this account's calls.
    const theirs = twilio(OTHER, 'other');
    theirs.api.baseUrl = sim.url;
    const mine = await client().calls.create({ to: CUSTOMER, from: OURS, twiml: '<Response/>' });
    await expect(theirs.api.v2010.accounts(ACCOUNT).calls(mine.sid).fetch()).rejects.toMatchObject({
      status: 404,
      code: 20404,
    });
  });

  it('twilio-sim - rejects calls above maxConcurrentCalls with 429 / 20429', async () => {
    await setup({ maxConcurrentCalls: 1 });
    rx.on('/answer', '<Response><Pause length="30"/></Response>');
    const first = await client().calls.create({
      to: CUSTOMER,
      from: OURS,
      url: `${rx.url}/answer`,
    });
    await expect(
      client().calls.create({ to: CUSTOMER, from: OURS, url: `${rx.url}/answer` }),
    ).rejects.toMatchObject({ status: 429, code: 20429 });
    await client().calls(first.sid).update({ status: 'completed' });
  });

  it('twilio-sim - queues calls above the CPS instead of rejecting them', async () => {
    // 2 per second: slots 0, 500 and 1000 ms after the first request. Each queue time is its
    // slot less how late its request arrived, which a loaded machine can make a few hundred ms.
    await setup({ cps: 2 });
    const twiml = '<Response><Hangup/></Response>';
    const calls = await Promise.all(
      [0, 1, 2].map(() => client().calls.create({ to: CUSTOMER, from: OURS, twiml })),
    );
    // The three requests race: whichever arrived first went at once.
    const queued = calls.map((c) => Number(c.queueTime)).sort((a, b) => a - b);
    expect(queued[0]).toBe(0);
    expect(queued[1]).toBeGreaterThan(200);
    expect(queued[2]).toBeGreaterThan(700);
    expect(queued[2]).toBeGreaterThan(queued[1] ?? Infinity);
  });

  it('twilio-sim - signs the inbound voice webhook', async () => {
    await setup();
    rx.on('/voice', '<Response><Say>Hi</Say></Response>');
    const inbound = await sim.ringInbound({ to: OURS, from: CUSTOMER });
    const r = await rx.waitFor((x) => x.path === '/voice');
    expect(r.params).toMatchObject({
      CallSid: inbound.callSid,
      AccountSid: ACCOUNT,
      From: CUSTOMER,
      To: OURS,
      Caller: CUSTOMER,
      Called: OURS,
      CallStatus: 'ringing',
      Direction: 'inbound',
      ApiVersion: '2010-04-01',
    });
    expect(validates(r)).toBe(true);
    expect(r.headers['user-agent']).toBe('TwilioProxy/1.1');
    expect(r.headers['i-twilio-idempotency-token']).toBeTruthy();
    expect(await inbound.ended).toEqual({ status: 'completed', reason: 'twiml-end' });
  });
});
