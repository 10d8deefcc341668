/**
 * The CALLS stream purge against a real nats-server: only the named calls' messages go, a
 * repeat is harmless, ids that are not subject tokens purge nothing, and an unreachable server
 * or a missing stream is a retryable CallEventPurgeError.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { callEvent, createNames, publishEvent } from '@app/contracts';
import { natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';

import { CallEventPurgeError, JetStreamCallEventPurge } from '../src/adapters/call-event-purge.js';

let ns: NatsTestNamespace;
let jsm: JetStreamManager;

beforeAll(async () => {
  ns = await natsTestNamespace();
  jsm = await jetstreamManager(ns.nc);
});

afterAll(async () => {
  await ns?.close();
});

/** A call id with `n` events in the CALLS stream. */
async function callWithEvents(n: number): Promise<string> {
  const id = randomUUID();
  const js = jetstream(ns.nc);
  for (let i = 0; i < n; i++) {
    await publishEvent(
      js,
      ns.names,
      callEvent('transcript', id, { role: 'caller', text: `turn ${i}`, final: true }),
    );
  }
  return id;
}

async function stored(callId: string): Promise<number> {
  const info = await jsm.streams.info(ns.names.streams.calls.name, {
    subjects_filter: ns.names.subjects.callEventsOf(callId),
  });
  return Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
}

describe('JetStreamCallEventPurge', () => {
  it('removes the named calls’ events only; a repeat removes nothing', async () => {
    const purge = new JetStreamCallEventPurge(ns.nc, ns.names);
    expect(purge.maxAgeMs).toBe(ns.names.streams.calls.maxAgeMs);
    const [a, b, kept] = [
      await callWithEvents(2),
      await callWithEvents(3),
      await callWithEvents(1),
    ];
    // A repeated id is purged once.
    expect(await purge.purge([a, b, a])).toBe(5);
    expect([await stored(a), await stored(b), await stored(kept)]).toEqual([0, 0, 1]);
    expect(await purge.purge([a, b])).toBe(0);
    expect(await purge.purge([])).toBe(0);
  });

  it('refuses an id that is not a subject token before purging anything', async () => {
    const purge = new JetStreamCallEventPurge(ns.nc, ns.names);
    const id = await callWithEvents(1);
    for (const bad of ['*', '>', 'a.b', '', 'a b']) {
      await expect(purge.purge([id, bad]), bad).rejects.toThrow(TypeError);
    }
    expect(await stored(id)).toBe(1);
  });

  it('fails with a retryable CallEventPurgeError when NATS or the stream is missing', async () => {
    const dead = await connect({ servers: 'nats://127.0.0.1:4222' });
    await dead.close();
    const closed = new JetStreamCallEventPurge(dead, ns.names);
    // Nothing to purge needs no server.
    expect(await closed.purge([])).toBe(0);
    const err = await closed.purge([randomUUID()]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallEventPurgeError);
    expect(err).toMatchObject({
      code: 'CALL_EVENT_PURGE_FAILED',
      retryable: true,
      purged: 0,
      message: expect.stringContaining(`from ${ns.names.streams.calls.name}`) as string,
    });

    const unprovisioned = createNames(`t${randomBytes(4).toString('hex')}`);
    const missing = new JetStreamCallEventPurge(ns.nc, unprovisioned);
    await expect(missing.purge([randomUUID()])).rejects.toThrow(
      new RegExp(`could not purge call events from ${unprovisioned.streams.calls.name}`),
    );
  });

  it('refuses a timeout that is not a positive whole number of ms', () => {
    for (const timeoutMs of [0, -1, 1.5, Number.NaN]) {
      expect(
        () => new JetStreamCallEventPurge(ns.nc, ns.names, { timeoutMs }),
        String(timeoutMs),
      ).toThrow(RangeError);
    }
  });
});
