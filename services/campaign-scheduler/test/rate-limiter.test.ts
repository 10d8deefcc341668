import { describe, expect, it } from 'vitest';

import {
  CallRateLimiter,
  GLOBAL_KEY,
  numberKey,
  takeSlot,
  type SlotEntry,
  type SlotStore,
} from '../src/domain/rate-limiter.js';

/** The KV semantics in memory: revisions, compare-and-set; optional forced conflicts. */
class MemorySlotStore implements SlotStore {
  readonly entries = new Map<string, SlotEntry>();
  #revision = 0;
  /** Before each write: lets a test act as another replica writing first. */
  beforeWrite?: (key: string) => void;

  async read(key: string): Promise<SlotEntry | null> {
    return this.entries.get(key) ?? null;
  }

  async write(key: string, nextFreeAt: number, revision: number | null): Promise<number | null> {
    this.beforeWrite?.(key);
    const current = this.entries.get(key);
    if ((current?.revision ?? null) !== revision) return null;
    this.#revision += 1;
    this.entries.set(key, { nextFreeAt, revision: this.#revision });
    return this.#revision;
  }

  put(key: string, nextFreeAt: number): void {
    this.#revision += 1;
    this.entries.set(key, { nextFreeAt, revision: this.#revision });
  }
}

const A = '+15555550100';
const B = '+15555550101';

function limiter(store: SlotStore, clock: { now: number }, globalCps = 10, perNumberCps = 1) {
  return new CallRateLimiter({ store, globalCps, perNumberCps, now: () => clock.now });
}

describe('campaign-scheduler - rate limiter', () => {
  it('takeSlot spaces calls one interval apart', () => {
    expect(takeSlot(undefined, 1_000, 250)).toEqual({ ok: true, nextFreeAt: 1_250 });
    expect(takeSlot(1_250, 1_100, 250)).toEqual({ ok: false, waitMs: 150 });
    expect(takeSlot(1_250, 1_250, 250)).toEqual({ ok: true, nextFreeAt: 1_500 });
  });

  it('holds one call per second per caller id, while other numbers go', async () => {
    const store = new MemorySlotStore();
    const clock = { now: 10_000 };
    const l = limiter(store, clock);
    expect(await l.tryAcquire(A)).toEqual({ ok: true });
    clock.now += 100;
    expect(await l.tryAcquire(A)).toEqual({ ok: false, waitMs: 900 });
    expect(await l.tryAcquire(B)).toEqual({ ok: true });
    clock.now += 900;
    expect(await l.tryAcquire(A)).toEqual({ ok: true });
    expect(store.entries.get(numberKey(A))?.nextFreeAt).toBe(12_000);
  });

  it('holds the global rate across numbers', async () => {
    const store = new MemorySlotStore();
    const clock = { now: 0 };
    const l = limiter(store, clock, 2, 10); // global 500 ms, per number 100 ms
    expect(await l.tryAcquire(A)).toEqual({ ok: true });
    clock.now = 200;
    expect(await l.tryAcquire(B)).toEqual({ ok: false, waitMs: 300 });
    expect(store.entries.has(numberKey(B))).toBe(false);
    clock.now = 500;
    expect(await l.tryAcquire(B)).toEqual({ ok: true });
    expect(store.entries.get(GLOBAL_KEY)?.nextFreeAt).toBe(1_000);
  });

  it('gives back the global slot when the caller id is not free, so other numbers go', async () => {
    const store = new MemorySlotStore();
    const clock = { now: 0 };
    const l = limiter(store, clock, 10, 1); // global 100 ms, per number 1 s
    expect(await l.tryAcquire(A)).toEqual({ ok: true });
    clock.now = 200;
    expect(await l.tryAcquire(A)).toEqual({ ok: false, waitMs: 800 });
    expect(store.entries.get(GLOBAL_KEY)?.nextFreeAt).toBe(100);
    expect(await l.tryAcquire(B)).toEqual({ ok: true });
  });

  it('two replicas sharing the store never take the same slot', async () => {
    const store = new MemorySlotStore();
    const clock = { now: 5_000 };
    const one = limiter(store, clock, 1, 1);
    const two = limiter(store, clock, 1, 1);
    const results = await Promise.all([one.tryAcquire(A), two.tryAcquire(B), one.tryAcquire(B)]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });

  it('reads again when another replica wrote between its read and write', async () => {
    const store = new MemorySlotStore();
    const clock = { now: 1_000 };
    const l = limiter(store, clock, 10, 1);
    let raced = false;
    store.beforeWrite = (key) => {
      if (raced || key !== numberKey(A)) return;
      raced = true;
      store.put(numberKey(A), 1_500); // another replica called from A first
    };
    expect(await l.tryAcquire(A)).toEqual({ ok: false, waitMs: 500 });
    // The global slot taken on the way is given back.
    expect(store.entries.get(GLOBAL_KEY)?.nextFreeAt).toBe(0);
    clock.now = 1_500;
    expect(await l.tryAcquire(A)).toEqual({ ok: true });
  });

  it('validates its rates', () => {
    const store = new MemorySlotStore();
    expect(() => new CallRateLimiter({ store, globalCps: 0, perNumberCps: 1 })).toThrow(RangeError);
  });
});

describe('campaign-scheduler - rate limiter over a number pool', () => {
  const C = '+15555550102';

  it('picks the pool number whose own limit frees up first', async () => {
    const store = new MemorySlotStore();
    const clock = { now: 10_000 };
    const l = limiter(store, clock);
    store.put(numberKey(A), 10_900);
    store.put(numberKey(B), 10_300);
    store.put(numberKey(C), 10_600);
    expect(await l.soonestFree([A, B, C])).toBe(B);
  });

  it('goes round the free numbers, so a slow pool still uses every number', async () => {
    const l = limiter(new MemorySlotStore(), { now: 10_000 });
    const picks = [];
    for (let i = 0; i < 6; i++) picks.push(await l.soonestFree([A, B, C]));
    expect(picks).toEqual([A, B, C, A, B, C]);
  });

  it('acquireAny takes the free numbers of a pool one after another at one CPS each', async () => {
    const store = new MemorySlotStore();
    const clock = { now: 10_000 };
    const l = limiter(store, clock, 100, 1);
    const got = [];
    for (let i = 0; i < 3; i++) {
      got.push(await l.acquireAny([A, B, C]));
      clock.now += 10; // the global limit's interval
    }
    expect(new Set(got)).toEqual(new Set([A, B, C]));
    // All three are now taken for a second: the next waits (an aborted wait rejects).
    const abort = new AbortController();
    const waiting = l.acquireAny([A, B, C], abort.signal);
    abort.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    clock.now = 11_000; // A's second is over, not B's or C's
    expect(await l.acquireAny([A, B, C])).toBe(got[0]);
  });

  it('tells onWait which limit made a call wait, and for how long', async () => {
    const waits: Array<[string, number]> = [];
    const clock = { now: 10_000 };
    const l = new CallRateLimiter({
      store: new MemorySlotStore(),
      globalCps: 2,
      perNumberCps: 1,
      now: () => clock.now,
      onWait: (limit, ms) => waits.push([limit, ms]),
    });
    await l.tryAcquire(A);
    clock.now += 100;
    await l.tryAcquire(B); // global: 500 ms apart
    clock.now += 500;
    await l.tryAcquire(A); // A's own: 1 s apart
    expect(waits).toEqual([
      ['global', 400],
      ['number', 400],
    ]);
  });
});
