/**
 * Conferences in the Twilio simulator, driven through the official `twilio` SDK: calls join a
 * room with `<Dial><Conference>`, the Participants API dials people in, kicks them, and the
 * conference ends as Twilio's rules say (endConferenceOnExit, last participant, REST).
 */
import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';

import { ScenarioBook } from '../src/scenario-book.js';
import { startTwilioSim, type TwilioSimHandle } from '../src/twilio/index.js';

const ACCOUNT = 'AC' + '1'.repeat(32);
const TOKEN = 'secret-token';
const OURS = '+15550001111';
const CALLER = '+15557654321';
const HUMAN = '+15557650001';

let sim: TwilioSimHandle;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  sim = await startTwilioSim({
    accounts: [{ sid: ACCOUNT, authToken: TOKEN }],
    numbers: [{ number: OURS, accountSid: ACCOUNT, voiceUrl: 'http://127.0.0.1:9/unused' }],
    timing: { ringMs: 20, bridgeMs: 20 },
    pacing: 'fast',
    scenarios: new ScenarioBook(),
  });
  cleanups.push(() => sim.close());
  const c = twilio(ACCOUNT, TOKEN);
  c.api.baseUrl = sim.url;
  return c;
}

async function until<T>(check: () => Promise<T | undefined> | T | undefined, ms = 8_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const room = (name: string, attrs = '') =>
  `<Response><Dial><Conference${attrs}>${name}</Conference></Dial><Say>after</Say></Response>`;

describe('twilio-sim conferences', () => {
  it('twilio-sim - a call waits in an init conference until a participant starts it', async () => {
    const client = await setup();
    const caller = await client.calls.create({
      to: CALLER,
      from: OURS,
      twiml: room('room-a', ' startConferenceOnEnter="false" endConferenceOnExit="true"'),
    });
    const conf = await until(async () => {
      const list = await client.conferences.list({ friendlyName: 'room-a' });
      return list[0];
    });
    expect(conf.status).toBe('init');
    expect(conf.sid).toMatch(/^CF[0-9a-f]{32}$/);

    // The Participants API accepts the friendly name in the path (as Twilio's examples do).
    const human = await client.conferences('room-a').participants.create({
      from: OURS,
      to: HUMAN,
      label: 'human',
      startConferenceOnEnter: true,
      endConferenceOnExit: true,
    });
    expect(human.status).toBe('queued');
    expect(human.label).toBe('human');
    expect(human.conferenceSid).toBe(conf.sid);

    const started = await until(async () => {
      const c = await client.conferences(conf.sid).fetch();
      return c.status === 'in-progress' ? c : undefined;
    });
    expect(started.friendlyName).toBe('room-a');
    const participants = await client.conferences(conf.sid).participants.list();
    expect(participants.map((p) => [p.callSid, p.status]).sort()).toEqual(
      [
        [caller.sid, 'connected'],
        [human.callSid, 'connected'],
      ].sort(),
    );
    const byLabel = await client.conferences(conf.sid).participants('human').fetch();
    expect(byLabel.callSid).toBe(human.callSid);

    // The human hangs up: endConferenceOnExit ends the room; the caller goes on after <Dial>.
    await client.calls(human.callSid).update({ status: 'completed' });
    const ended = await until(async () => {
      const c = await client.conferences(conf.sid).fetch();
      return c.status === 'completed' ? c : undefined;
    });
    expect(ended.reasonConferenceEnded).toBe('participant-with-end-conference-on-exit-left');
    expect(ended.callSidEndingConference).toBe(human.callSid);
    await until(() => (sim.getCall(caller.sid)?.status === 'completed' ? true : undefined));
    const rec = sim.recordingOf(caller.sid);
    expect(rec?.ofKind('conference.ended')[0]?.data).toMatchObject({
      reason: 'participant-with-end-conference-on-exit-left',
    });
    expect(rec?.ofKind('twiml.say').map((e) => e.data?.text)).toEqual(['after']);
    await expect(client.conferences(conf.sid).participants.list()).resolves.toEqual([]);
  });

  it('twilio-sim - kicking a participant and ending via the API', async () => {
    const client = await setup();
    const a = await client.calls.create({ to: CALLER, from: OURS, twiml: room('room-b') });
    const b = await client.calls.create({ to: HUMAN, from: OURS, twiml: room('room-b') });
    const conf = await until(async () => {
      const [c] = await client.conferences.list({ friendlyName: 'room-b', status: 'in-progress' });
      if (c === undefined) return undefined;
      const ps = await client.conferences(c.sid).participants.list();
      return ps.length === 2 ? c : undefined;
    });
    await client.conferences(conf.sid).participants(a.sid).update({ muted: true });
    expect((await client.conferences(conf.sid).participants(a.sid).fetch()).muted).toBe(true);

    await client.conferences(conf.sid).participants(a.sid).remove();
    // Kicked: the call leaves the room and runs the next verb; the other stays.
    await until(() => (sim.getCall(a.sid)?.status === 'completed' ? true : undefined));
    const left = await client.conferences(conf.sid).participants.list();
    expect(left.map((p) => p.callSid)).toEqual([b.sid]);
    expect((await client.conferences(conf.sid).fetch()).status).toBe('in-progress');

    await client.conferences(conf.sid).update({ status: 'completed' });
    const done = await client.conferences(conf.sid).fetch();
    expect(done.status).toBe('completed');
    expect(done.reasonConferenceEnded).toBe('conference-ended-via-api');
    await until(() => (sim.getCall(b.sid)?.status === 'completed' ? true : undefined));
  });

  it('twilio-sim - a dialled participant that does not answer is never listed as connected', async () => {
    const client = await setup();
    sim.setBehaviour(HUMAN, { answer: 'busy' });
    const p = await client.conferences('room-c').participants.create({ from: OURS, to: HUMAN });
    await until(() => (sim.getCall(p.callSid)?.status === 'busy' ? true : undefined));
    const [conf] = await client.conferences.list({ friendlyName: 'room-c' });
    expect(conf?.status).toBe('completed');
    await expect(
      client.conferences('CF' + '0'.repeat(32)).participants.create({ from: OURS, to: HUMAN }),
    ).rejects.toMatchObject({ status: 404, code: 20404 });
  });
});
