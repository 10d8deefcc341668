/**
 * The second way to point the official `twilio` SDK at the simulator (twilio.md §7 option B):
 * a custom `httpClient` that rewrites each request's host, leaving every domain's `baseUrl` as
 * shipped. For code under test that builds its own client and only takes client options.
 */
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { afterEach, describe, expect, it } from 'vitest';

import { ScenarioBook } from '../src/scenario-book.js';
import { startTwilioSim, type TwilioSimHandle } from '../src/twilio/index.js';

const ACCOUNT = 'AC' + '1'.repeat(32);
const TOKEN = 'secret-token';
const OURS = '+15550001111';
const CUSTOMER = '+15557654321';
const TWIML = '<Response><Hangup/></Response>';

/** The README's client: the SDK's own RequestClient, with every request sent to `target`. */
class SimRequestClient extends twilio.RequestClient {
  /** The URIs the SDK built, before the rewrite. */
  readonly asked: string[] = [];

  constructor(private readonly target: string) {
    super();
  }

  override request<T>(opts: RequestClient.RequestOptions<T>) {
    this.asked.push(opts.uri);
    const u = new URL(opts.uri); // e.g. https://api.twilio.com/2010-04-01/Accounts/AC…/Calls.json
    return super.request<T>({ ...opts, uri: `${this.target}${u.pathname}${u.search}` });
  }
}

let sim: TwilioSimHandle;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<void> {
  sim = await startTwilioSim({
    accounts: [{ sid: ACCOUNT, authToken: TOKEN }],
    numbers: [{ number: OURS, accountSid: ACCOUNT, voiceUrl: 'http://127.0.0.1:9/voice' }],
    timing: { ringMs: 20 },
    pacing: 'fast',
    scenarios: new ScenarioBook(),
  });
  cleanups.push(() => sim.close());
}

describe('twilio-sim with a custom httpClient', () => {
  it('twilio-sim - a RequestClient subclass that rewrites the host reaches the simulator for create, fetch, list and errors', async () => {
    await setup();
    const http = new SimRequestClient(sim.url);
    const client = twilio(ACCOUNT, TOKEN, { httpClient: http });

    const call = await client.calls.create({ to: CUSTOMER, from: OURS, twiml: TWIML });
    expect(call.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(call.status).toBe('queued');
    expect(sim.getCall(call.sid)?.to).toBe(CUSTOMER);
    expect((await client.calls(call.sid).fetch()).sid).toBe(call.sid);
    expect((await client.calls.list()).map((c) => c.sid)).toEqual([call.sid]);
    await expect(
      client.calls.create({ to: '12345', from: OURS, twiml: TWIML }),
    ).rejects.toMatchObject({ status: 400, code: 21211 });

    // The SDK still believes it talks to Twilio: no baseUrl was touched, the host was rewritten.
    expect(client.api.baseUrl).toBe('https://api.twilio.com');
    expect(http.asked).toHaveLength(4);
    for (const uri of http.asked) expect(new URL(uri).host).toBe('api.twilio.com');
  });

  it('twilio-sim - any object with request() works as the httpClient (twilio.md §7 option B)', async () => {
    await setup();
    const base = new twilio.RequestClient();
    const rewriting = {
      request: <T>(o: RequestClient.RequestOptions<T>) => {
        const u = new URL(o.uri);
        return base.request<T>({ ...o, uri: `${sim.url}${u.pathname}${u.search}` });
      },
    };
    // The option is typed as RequestClient, but the SDK only ever calls request().
    const client = twilio(ACCOUNT, TOKEN, { httpClient: rewriting as RequestClient });
    const call = await client.calls.create({ to: CUSTOMER, from: OURS, twiml: TWIML });
    expect(sim.getCall(call.sid)?.from).toBe(OURS);
  });
});
