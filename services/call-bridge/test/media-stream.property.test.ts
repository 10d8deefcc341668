/**
 * Property: whatever a Media Streams socket sends (any text, bytes, JSON, and mutations of
 * Twilio's `connected`/`start`/`media`/`mark`/`dtmf`/`stop` messages, with good and bad stream
 * tokens), the bridge's parser (routes/media-stream.ts) ignores the frame, refuses the stream
 * with a close code and reason, or runs the call; it never crashes, and a call it started is
 * ended and recorded whole (`call.ended` after its other events), none left half-way. The
 * bridge in-process with the simulators, real NATS and PostgreSQL (integration/harness.ts).
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { signStreamToken } from '@app/platform';

import { SECRET, startHarness, waitFor, type Harness } from './integration/harness.js';

let h: Harness;
const escaped: unknown[] = [];
const onEscape = (err: unknown) => escaped.push(err);

beforeAll(async () => {
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
  h = await startHarness({ pacing: 'fast' });
}, 60_000);

afterAll(async () => {
  process.off('uncaughtException', onEscape);
  process.off('unhandledRejection', onEscape);
  await h?.close();
});

const SILENCE = Buffer.alloc(160, 0xff).toString('base64');

/** Twilio's messages for one stream of `callId`, valid. */
function validMessages(callId: string, token: string): Array<Record<string, unknown>> {
  return [
    { event: 'connected', protocol: 'Call', version: '1.0.0' },
    {
      event: 'start',
      sequenceNumber: '1',
      streamSid: 'MZprop',
      start: {
        streamSid: 'MZprop',
        callSid: 'CAprop',
        tracks: ['inbound'],
        customParameters: { callId, agentId: h.agentId, token },
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    },
    { event: 'media', streamSid: 'MZprop', media: { payload: SILENCE } },
    { event: 'mark', streamSid: 'MZprop', mark: { name: 'm1' } },
    { event: 'dtmf', streamSid: 'MZprop', dtmf: { digit: '5' } },
    { event: 'stop', streamSid: 'MZprop' },
  ];
}

/** Replaces the value at a random path of `msg` (`start.customParameters.token`…) with any JSON. */
function mutateAt(msg: unknown, path: number[], value: unknown): unknown {
  if (path.length === 0 || typeof msg !== 'object' || msg === null) return value;
  const keys = Object.keys(msg);
  if (keys.length === 0) return value;
  const key = keys[(path[0] ?? 0) % keys.length] as string;
  return {
    ...(msg as Record<string, unknown>),
    [key]: mutateAt((msg as Record<string, unknown>)[key], path.slice(1), value),
  };
}

interface Plan {
  frames: Array<(valid: Array<Record<string, unknown>>) => string | Buffer>;
  tokenGood: boolean;
}

const frame = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.nat(5).map((i) => (v: Array<Record<string, unknown>>) => JSON.stringify(v[i])),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.nat(5), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.jsonValue())
      .map(
        ([i, path, value]) =>
          (v: Array<Record<string, unknown>>) =>
            JSON.stringify(mutateAt(v[i], path, value)),
      ),
  },
  fc.string({ maxLength: 80 }).map((s) => () => s),
  fc.jsonValue().map((j) => () => JSON.stringify(j)),
  fc.uint8Array({ maxLength: 64 }).map((b) => () => Buffer.from(b)),
);
const plan: fc.Arbitrary<Plan> = fc.record({
  frames: fc.array(frame, { minLength: 1, maxLength: 8 }),
  tokenGood: fc.boolean(),
});

/** Close codes the route uses to refuse or end a stream, and the ones `ws` uses itself. */
const CLOSE_CODES = [1000, 1001, 1005, 1006, 1008, 1009, 1011, 1013];

describe(
  'call-bridge Media Streams - property: any frames, no crash, no call left half-way',
  { timeout: 300_000 },
  () => {
    it('any sequence of frames on a stream', async () => {
      const callIds: string[] = [];
      await fc.assert(
        fc.asyncProperty(plan, async ({ frames, tokenGood }) => {
          const callId = randomUUID();
          callIds.push(callId);
          const token = tokenGood
            ? signStreamToken({ callId, agentId: h.agentId, secret: SECRET, ttlSec: 60 })
            : 'v1.bad.token';
          const valid = validMessages(callId, token);
          const ws = new WebSocket(h.bridgeUrl);
          ws.on('error', () => undefined);
          await once(ws, 'open');
          const closed = once(ws, 'close') as Promise<[number, Buffer]>;
          for (const make of frames) {
            if (ws.readyState !== ws.OPEN) break;
            ws.send(make(valid));
          }
          await new Promise((r) => setTimeout(r, 20));
          if (ws.readyState === ws.OPEN) ws.close(1000);
          const [code, reason] = await closed;
          expect(CLOSE_CODES, `${code} ${String(reason)}`).toContain(code);
          if (code === 1008) expect(String(reason).length).toBeGreaterThan(0);
          expect(escaped).toEqual([]);
        }),
        { numRuns: 100 },
      );
      // Every call that started ends: no live call, and each one's events end with `call.ended`.
      await waitFor(() => (h.calls.size === 0 ? true : undefined), 60_000);
      let started = 0;
      for (const callId of callIds) {
        const events = await h.eventsOf(callId);
        if (events.length === 0) continue;
        started += 1;
        const ended = await h.endedEventsOf(callId);
        expect(ended.at(-1)?.type, callId).toBe('call.ended');
      }
      // The generators reach accepted streams too, not only refusals.
      expect(started).toBeGreaterThan(0);
      expect(escaped).toEqual([]);
      // The bridge still takes calls.
      expect(h.calls.canAccept).toBe(true);
    });
  },
);
