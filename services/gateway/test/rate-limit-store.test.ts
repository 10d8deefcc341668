/**
 * The shared rate-limit counters on NATS KV (names.kv.gatewayRateLimits): exact counts under
 * concurrency from two connections (two replicas), fixed windows, and a refused window longer
 * than the bucket's TTL.
 */
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';

import { KvRateCounter, kvRateLimitStore } from '../src/adapters/kv-rate-limit-store.js';

let ns: NatsTestNamespace;
let nc2: NatsConnection;

beforeAll(async () => {
  ns = await natsTestNamespace();
  nc2 = await connect({ servers: 'nats://127.0.0.1:4222' });
});

afterAll(async () => {
  await nc2?.close();
  await ns?.close();
});

/** A counter on the namespace's bucket whose clock the test sets. */
async function counterAt(nc: NatsConnection, clock: { now: number }): Promise<KvRateCounter> {
  const spec = ns.names.kv.gatewayRateLimits;
  const kv = await new Kvm(nc).open(spec.name);
  return new KvRateCounter(kv, spec.ttlMs, () => clock.now);
}

describe('gateway - KV rate-limit counters', () => {
  it('is provisioned with the window as its TTL', async () => {
    const counter = await KvRateCounter.open(ns.nc, ns.names);
    expect(counter.maxWindowMs).toBe(60_000);
    const status = await (await new Kvm(ns.nc).open(ns.names.kv.gatewayRateLimits.name)).status();
    expect(status.ttl).toBe(60_000);
    expect(status.history).toBe(1);
  });

  it('counts every concurrent request exactly once across two replicas', async () => {
    const clock = { now: 1_000_000 * 60_000 + 5_000 };
    const a = await counterAt(ns.nc, clock);
    const b = await counterAt(nc2, clock);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).increment('ip:10.0.0.1', 60_000)),
    );
    expect(results.map((r) => r.current).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    // 5 s into the window: 55 s left.
    expect(new Set(results.map((r) => r.ttl))).toEqual(new Set([55_000]));
    // Another client counts on its own.
    expect((await b.increment('ip:10.0.0.2', 60_000)).current).toBe(1);
  });

  it('starts a new window at 1, and keeps keys that are no valid KV key apart', async () => {
    const clock = { now: 2_000_000 * 60_000 + 59_000 };
    const counter = await counterAt(ns.nc, clock);
    const key = 'key:a.b*> é';
    expect((await counter.increment(key, 60_000)).current).toBe(1);
    expect((await counter.increment(key, 60_000)).current).toBe(2);
    clock.now += 1_000;
    expect(await counter.increment(key, 60_000)).toEqual({ current: 1, ttl: 60_000 });
    expect((await counter.increment('key:a.b*> è', 60_000)).current).toBe(1);
  });

  it('refuses a window longer than the bucket keeps a counter', async () => {
    const counter = await counterAt(ns.nc, { now: Date.now() });
    await expect(counter.increment('ip:x', 120_000)).rejects.toThrow(/not within 1\.\.60000/);
  });

  it('serves @fastify/rate-limit through its store interface', async () => {
    const clock = { now: 3_000_000 * 60_000 };
    const Store = kvRateLimitStore(await counterAt(ns.nc, clock));
    const store = new Store({});
    const incr = (key: string, windowMs: number) =>
      new Promise<{ current: number; ttl: number }>((resolve, reject) =>
        store.incr(
          key,
          (err, res) => (err ? reject(err) : res ? resolve(res) : reject(new Error('no result'))),
          windowMs,
          10,
        ),
      );
    expect(await incr('read|ip:1', 60_000)).toEqual({ current: 1, ttl: 60_000 });
    expect(await incr('read|ip:1', 60_000)).toEqual({ current: 2, ttl: 60_000 });
    await expect(incr('read|ip:1', 61_000)).rejects.toThrow(RangeError);
  });
});
