/**
 * 429 / 20429 "Too Many Requests" from the REST API (twilio.md §5.4, §5.5): the per-account
 * request rate and injected faults, seen through the official `twilio` SDK, whose own 429
 * retries are off unless `autoRetry` is set (SDK-RC `getExponentialBackoffResponseHandler`).
 */
import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';

import { ScenarioBook } from '../src/scenario-book.js';
import {
  startTwilioSim,
  type TwilioSimHandle,
  type TwilioSimOptions,
} from '../src/twilio/index.js';
import { RequestRateLimiter } from '../src/twilio/rate-limit.js';

const ACCOUNT = 'AC' + '1'.repeat(32);
const TOKEN = 'secret-token';
const OTHER = 'AC' + '2'.repeat(32);
const OTHER_TOKEN = 'other-token';

const TOO_MANY = expect.objectContaining({
  status: 429,
  code: 20429,
  message: 'Too Many Requests',
  moreInfo: 'https://www.twilio.com/docs/errors/20429',
});

let sim: TwilioSimHandle;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: Pick<TwilioSimOptions, 'limits' | 'faults'> = {}): Promise<void> {
  sim = await startTwilioSim({
    accounts: [
      { sid: ACCOUNT, authToken: TOKEN },
      { sid: OTHER, authToken: OTHER_TOKEN },
    ],
    scenarios: new ScenarioBook(),
    ...opts,
  });
  cleanups.push(() => sim.close());
}

function client(sid = ACCOUNT, token = TOKEN, opts: Parameters<typeof twilio>[2] = {}) {
  const c = twilio(sid, token, opts);
  c.api.baseUrl = sim.url;
  return c;
}

describe('twilio-sim REST request rate', () => {
  it('twilio-sim - answers 429 / 20429 once an account exceeds requestsPerSecond; other accounts are unaffected', async () => {
    await setup({ limits: { requestsPerSecond: 2 } });
    const c = client();
    // Well inside one second: two admitted, the third turned away.
    expect(await c.calls.list()).toEqual([]);
    expect(await c.calls.list()).toEqual([]);
    await expect(c.calls.list()).rejects.toEqual(TOO_MANY);
    expect(await client(OTHER, OTHER_TOKEN).calls.list()).toEqual([]);
  });

  it('twilio-sim - the limiter admits again once the oldest request leaves the one-second window', () => {
    const limiter = new RequestRateLimiter(2);
    expect(limiter.admit(ACCOUNT, 0)).toBe(true);
    expect(limiter.admit(ACCOUNT, 400)).toBe(true);
    expect(limiter.admit(ACCOUNT, 999)).toBe(false);
    // The refusal at 999 did not count: at 1000 the request from 0 has left the window.
    expect(limiter.admit(ACCOUNT, 1_000)).toBe(true);
    expect(limiter.admit(ACCOUNT, 1_399)).toBe(false);
    expect(limiter.admit(ACCOUNT, 1_400)).toBe(true);
    expect(() => new RequestRateLimiter(0)).toThrow(RangeError);
  });
});

describe('twilio-sim REST 429 fault', () => {
  it('twilio-sim - restRateLimits answers the next N requests 429 / 20429, then serves normally', async () => {
    await setup();
    const c = client();
    // The SDK's default client does not retry 429s (autoRetry defaults to false).
    expect(c.autoRetry).toBe(false);
    sim.faults.set({ restRateLimits: 2 });
    await expect(c.calls.list()).rejects.toEqual(TOO_MANY);
    await expect(c.calls.create({ to: '+15557654321', from: '+15550001111' })).rejects.toEqual(
      TOO_MANY,
    );
    expect(sim.faults.get().restRateLimits).toBe(0);
    expect(await c.calls.list()).toEqual([]);
  });

  it('twilio-sim - the SDK with autoRetry retries injected 429s, up to maxRetries', async () => {
    await setup({ faults: { restRateLimits: 2 } });
    // maxRetryDelay caps the SDK's full-jitter backoff, keeping the test fast.
    const retrying = client(ACCOUNT, TOKEN, { autoRetry: true, maxRetries: 3, maxRetryDelay: 20 });
    expect(await retrying.calls.list()).toEqual([]);
    expect(sim.faults.get().restRateLimits).toBe(0);
    // One more 429 than it retries: the original request plus 3 retries all fail.
    sim.faults.set({ restRateLimits: 4 });
    await expect(retrying.calls.list()).rejects.toEqual(TOO_MANY);
    expect(sim.faults.get().restRateLimits).toBe(0);
  });

  it('twilio-sim - a fault is only charged to authenticated requests', async () => {
    await setup({ faults: { restRateLimits: 1 } });
    await expect(client(ACCOUNT, 'wrong').calls.list()).rejects.toMatchObject({
      status: 401,
      code: 20003,
    });
    expect(sim.faults.get().restRateLimits).toBe(1);
    expect(() => sim.faults.set({ restRateLimits: -1 })).toThrow(RangeError);
  });
});
