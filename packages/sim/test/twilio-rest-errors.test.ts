/**
 * The call-creation refusals of twilio.md §5.4, checked with the official `twilio` SDK (what
 * the application sees: a `RestException`) and on the wire (Twilio's classic error body).
 */
import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';

import { ScenarioBook } from '../src/scenario-book.js';
import { startTwilioSim, type TwilioSimHandle } from '../src/twilio/index.js';

const ACCOUNT = 'AC' + '1'.repeat(32);
const TOKEN = 'secret-token';
const TRIAL = 'AC' + '4'.repeat(32);
const TRIAL_TOKEN = 'trial-token';
const OURS = '+15550001111';
const TRIAL_NUMBER = '+15550004444';
const VERIFIED = '+15550009999';
const CUSTOMER = '+15557654321';
const TWIML = '<Response><Hangup/></Response>';
// Inbound calls are never placed here; the numbers only need a voice URL to be configured.
const UNUSED_VOICE_URL = 'http://127.0.0.1:9/voice';

let sim: TwilioSimHandle;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<void> {
  sim = await startTwilioSim({
    accounts: [
      { sid: ACCOUNT, authToken: TOKEN, blockedPrefixes: ['+44', '+1900'] },
      { sid: TRIAL, authToken: TRIAL_TOKEN, trial: true, verifiedNumbers: [VERIFIED] },
    ],
    numbers: [
      { number: OURS, accountSid: ACCOUNT, voiceUrl: UNUSED_VOICE_URL },
      { number: TRIAL_NUMBER, accountSid: TRIAL, voiceUrl: UNUSED_VOICE_URL },
    ],
    timing: { ringMs: 20 },
    pacing: 'fast',
    scenarios: new ScenarioBook(),
  });
  cleanups.push(() => sim.close());
}

function client(sid = ACCOUNT, token = TOKEN) {
  const c = twilio(sid, token);
  c.api.baseUrl = sim.url; // twilio.md §7 option A
  return c;
}

/** POSTs Calls.json with exactly these form fields (the SDK insists on To and From). */
async function rawCreate(
  form: Record<string, string>,
  sid = ACCOUNT,
  token = TOKEN,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${sim.url}/2010-04-01/Accounts/${sid}/Calls.json`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** What the SDK's RestException carries for a classic error body (twilio.md §5.4). */
function restException(status: number, code: number, message: string | RegExp) {
  return expect.objectContaining({
    status,
    code,
    message: typeof message === 'string' ? message : expect.stringMatching(message),
    moreInfo: `https://www.twilio.com/docs/errors/${code}`,
  });
}

/** The wire body: exactly Twilio's four classic fields. */
function classicBody(status: number, code: number, message: string | RegExp) {
  return {
    status,
    body: {
      code,
      message: typeof message === 'string' ? message : expect.stringMatching(message),
      more_info: `https://www.twilio.com/docs/errors/${code}`,
      status,
    },
  };
}

describe('twilio-sim REST errors on call creation', () => {
  it('twilio-sim - refuses a call without To with 400 / 21201', async () => {
    await setup();
    const message = "A 'To' phone number is required.";
    await expect(client().calls.create({ to: '', from: OURS, twiml: TWIML })).rejects.toEqual(
      restException(400, 21201, message),
    );
    expect(await rawCreate({ From: OURS, Twiml: TWIML })).toEqual(classicBody(400, 21201, message));
  });

  it('twilio-sim - refuses a call without From with 400 / 21213', async () => {
    await setup();
    const message = "A 'From' phone number is required.";
    await expect(client().calls.create({ to: CUSTOMER, from: '', twiml: TWIML })).rejects.toEqual(
      restException(400, 21213, message),
    );
    expect(await rawCreate({ To: CUSTOMER, Twiml: TWIML })).toEqual(
      classicBody(400, 21213, message),
    );
  });

  it('twilio-sim - a trial account may call only verified numbers, else 400 / 21219', async () => {
    await setup();
    const trial = client(TRIAL, TRIAL_TOKEN);
    const message = `The number ${CUSTOMER} is unverified. Trial accounts may only make calls to verified numbers.`;
    await expect(
      trial.calls.create({ to: CUSTOMER, from: TRIAL_NUMBER, twiml: TWIML }),
    ).rejects.toEqual(restException(400, 21219, message));
    expect(
      await rawCreate({ To: CUSTOMER, From: TRIAL_NUMBER, Twiml: TWIML }, TRIAL, TRIAL_TOKEN),
    ).toEqual(classicBody(400, 21219, message));
    const ok = await trial.calls.create({ to: VERIFIED, from: TRIAL_NUMBER, twiml: TWIML });
    expect(ok.status).toBe('queued');
    // The full account has no such restriction.
    const full = await client().calls.create({ to: CUSTOMER, from: OURS, twiml: TWIML });
    expect(full.status).toBe('queued');
  });

  it('twilio-sim - refuses a destination outside the geo permissions with 400 / 21215 and places no call', async () => {
    await setup();
    const uk = '+447700900123';
    const message = new RegExp(
      `^Account not authorized to call \\${uk}\\. Perhaps you need to enable some international permissions: https://www\\.twilio\\.com/`,
    );
    await expect(client().calls.create({ to: uk, from: OURS, twiml: TWIML })).rejects.toEqual(
      restException(400, 21215, message),
    );
    expect(await rawCreate({ To: uk, From: OURS, Twiml: TWIML })).toEqual(
      classicBody(400, 21215, message),
    );
    // A longer prefix blocks only its range; other destinations of the same country code pass.
    await expect(
      client().calls.create({ to: '+19005550100', from: OURS, twiml: TWIML }),
    ).rejects.toMatchObject({ status: 400, code: 21215 });
    const allowed = await client().calls.create({ to: CUSTOMER, from: OURS, twiml: TWIML });
    expect(allowed.to).toBe(CUSTOMER);
    // SIP addresses are not geo-checked.
    const sip = await client().calls.create({
      to: 'sip:agent@example.com',
      from: OURS,
      twiml: TWIML,
    });
    expect(sip.to).toBe('sip:agent@example.com');
    expect((await client().calls.list({ to: uk })).length).toBe(0);
  });

  it('twilio-sim - rejects a malformed blocked prefix at start', async () => {
    await expect(
      startTwilioSim({
        accounts: [{ sid: ACCOUNT, authToken: TOKEN, blockedPrefixes: ['44'] }],
        scenarios: new ScenarioBook(),
      }),
    ).rejects.toThrow(/blockedPrefixes: expected '\+' and 1-14 digits, got 44/);
  });
});
