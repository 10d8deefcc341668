import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';

import { KvSlotStore } from '../../src/adapters/kv-slot-store.js';
import { CallRateLimiter, GLOBAL_KEY } from '../../src/domain/rate-limiter.js';

let ns: NatsTestNamespace;

beforeAll(async () => {
  ns = await natsTestNamespace();
});
afterAll(async () => {
  await ns?.close();
});

describe('campaign-scheduler - rate-limit state in NATS KV', () => {
  it('is a compare-and-set: a write from a stale revision loses', async () => {
    const store = await KvSlotStore.open(ns.nc, ns.names);
    expect(await store.read('k1')).toBeNull();
    const first = await store.write('k1', 1_000, null);
    expect(first).toBeTypeOf('number');
    expect(await store.write('k1', 2_000, null)).toBeNull();
    expect(await store.read('k1')).toEqual({ nextFreeAt: 1_000, revision: first });
    const second = await store.write('k1', 1_500, first);
    expect(second).toBeGreaterThan(first!);
    expect(await store.write('k1', 9_999, first)).toBeNull();
    expect((await store.read('k1'))?.nextFreeAt).toBe(1_500);
  });

  it('two replicas racing for the same slots: each slot goes to exactly one', async () => {
    const clock = { now: 50_000 };
    const replicas = await Promise.all(
      [0, 1].map(async () => {
        const store = await KvSlotStore.open(ns.nc, ns.names);
        return new CallRateLimiter({ store, globalCps: 1, perNumberCps: 1, now: () => clock.now });
      }),
    );
    const numbers = ['+15550000001', '+15550000002', '+15550000003'];
    const results = await Promise.all(replicas.flatMap((l) => numbers.map((n) => l.tryAcquire(n))));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const store = await KvSlotStore.open(ns.nc, ns.names);
    expect((await store.read(GLOBAL_KEY))?.nextFreeAt).toBe(51_000);
  });

  it('lives in the bucket the platform provisions, whose TTL drops limits nobody used', async () => {
    const kv = await new Kvm(ns.nc).open(ns.names.kv.dialerRateLimits.name);
    expect((await kv.status()).ttl).toBe(60_000);
  });
});
