/**
 * Bad input from both sides of a call: each gets its documented behaviour, nothing crashes, and a
 * call that is running alongside is untouched. Simulators, real NATS and PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { signStreamToken } from '@app/platform';
import { parseScenario, type Scenario } from '@app/sim';

import { CALLER, OUR_NUMBER, SECRET, startHarness, waitFor, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ pacing: 'fast' });
});

afterAll(async () => {
  await h?.close();
});

/** A normal conversation, run next to the bad input; it must come out whole. */
function bystander(name: string): Scenario {
  return parseScenario({
    name,
    caller: {
      steps: [
        { waitForAgent: { quietMs: 700, timeoutMs: 15_000 } },
        { say: 'Do you deliver on weekends?' },
        { waitForAgent: { quietMs: 700, timeoutMs: 15_000 } },
        { hangup: true },
      ],
    },
    model: {
      greeting: 'Hello, you reached the shop.',
      turns: [{ say: 'Yes, on Saturdays until noon.' }],
    },
  });
}

async function bystanderCompletes(name: string, run: () => Promise<void>): Promise<void> {
  const call = await h.sims.twilio.ringInbound({
    to: OUR_NUMBER,
    from: CALLER,
    scenario: bystander(name),
  });
  await run();
  const end = await call.ended;
  expect(end.status).toBe('completed');
  const session = h.sims.openai.sessions().find((s) => s.scenario === name);
  expect(session?.said.map((l) => [l.role, l.text])).toEqual([
    ['agent', 'Hello, you reached the shop.'],
    ['caller', 'Do you deliver on weekends?'],
    ['agent', 'Yes, on Saturdays until noon.'],
  ]);
  const callId = await h.callIdOf(call.callSid);
  const events = await h.endedEventsOf(callId);
  expect(events.filter((e) => e.type === 'call.error')).toEqual([]);
  expect(events.find((e) => e.type === 'call.ended')?.data.reason).toBe('caller-hangup');
}

/** A raw Media Streams client: what Twilio would send, and worse. */
async function rawStream(callId: string) {
  const ws = new WebSocket(h.bridgeUrl);
  await once(ws, 'open');
  const closed = once(ws, 'close') as Promise<[number, Buffer]>;
  const received: Array<Record<string, unknown>> = [];
  ws.on('message', (data) => received.push(JSON.parse(String(data)) as Record<string, unknown>));
  const token = signStreamToken({ callId, agentId: h.agentId, secret: SECRET, ttlSec: 60 });
  const start = {
    event: 'start',
    sequenceNumber: '1',
    streamSid: 'MZbad',
    start: {
      streamSid: 'MZbad',
      callSid: 'CAbad',
      tracks: ['inbound'],
      customParameters: { callId, agentId: h.agentId, token },
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    },
  };
  const silence = Buffer.alloc(160, 0xff).toString('base64');
  const media = (payload = silence) =>
    ws.send(JSON.stringify({ event: 'media', streamSid: 'MZbad', media: { payload } }));
  return { ws, closed, received, start: () => ws.send(JSON.stringify(start)), media };
}

const counter = async (name: string) => {
  const metric = (await h.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return Object.fromEntries(
    (metric?.values ?? []).map((v) => [String(Object.values(v.labels)[0] ?? ''), v.value]),
  );
};

describe('call-bridge - bad input from Twilio', { timeout: 60_000 }, () => {
  it('skips malformed, binary, oversized and early frames and keeps the call; a giant frame closes only its own stream', async () => {
    const callId = randomUUID();
    await bystanderCompletes('bystander-twilio', async () => {
      const raw = await rawStream(callId);
      raw.media(); // before start
      raw.start();
      raw.ws.send('{"event": "media", "media": '); // malformed JSON
      raw.ws.send(Buffer.from([1, 2, 3])); // binary
      raw.ws.send(JSON.stringify({ event: 'media', media: { payload: 42 } })); // wrong shape
      raw.media('A'.repeat(8_000)); // oversized for a 20 ms frame
      raw.ws.send(JSON.stringify({ event: 'mark' })); // mark without a name
      raw.ws.send(JSON.stringify({ event: 'gossip' })); // unknown event
      raw.ws.send(JSON.stringify({ event: 'dtmf', dtmf: { digit: '00' } })); // not one key
      for (let i = 0; i < 25; i++) raw.media();
      // The call is up and its 25 good frames (500 ms) reach the model, none of the bad ones.
      const session = await waitFor(() =>
        h.sims.openai
          .sessions()
          .find((s) => s.scenario === undefined && !s.closed && s.inputAudioMs >= 500),
      );
      await new Promise((r) => setTimeout(r, 100));
      expect(h.sims.openai.session(session.id)?.inputAudioMs).toBe(500);
      await waitFor(async () => {
        const ev = await h.eventsOf(callId);
        return ev.some((e) => e.type === 'call.answered') ? true : undefined;
      });
      expect(h.calls.size).toBeGreaterThanOrEqual(1);
      // Beyond the message size limit `ws` closes this stream (1009) and its call ends.
      raw.ws.send(JSON.stringify({ event: 'media', media: { payload: 'B'.repeat(70_000) } }));
      const [code] = await raw.closed;
      expect(code).toBe(1009);
      const events = await h.endedEventsOf(callId);
      expect(events.find((e) => e.type === 'call.ended')?.data.reason).toBe('caller-hangup');
    });
    expect(await counter('call_bridge_bad_frames_total')).toMatchObject({
      'media-before-start': 1,
      'malformed-json': 1,
      binary: 1,
      'malformed-media': 1,
      'oversized-media': 1,
      'malformed-mark': 1,
      'unknown-event': 1,
      'malformed-dtmf': 1,
    });
    // Each kind is logged once per stream, not per frame.
    const warned = h.bridgeLogs().filter((l) => l.kind === 'oversized-media');
    expect(warned).toHaveLength(1);
    await waitFor(() => (h.calls.size === 0 ? true : undefined));
  });

  it('a stream that closes before start, or sends start twice, leaves nothing behind', async () => {
    const early = await rawStream(randomUUID());
    early.ws.close();
    await early.closed;
    const twice = await rawStream(randomUUID());
    twice.start();
    twice.start();
    await waitFor(() => (h.calls.size === 1 ? true : undefined));
    twice.ws.close();
    await twice.closed;
    await waitFor(() => (h.calls.size === 0 ? true : undefined));
    expect(await counter('call_bridge_bad_frames_total')).toMatchObject({ 'second-start': 1 });
  });
});
