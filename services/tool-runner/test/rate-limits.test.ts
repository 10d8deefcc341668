import { describe, expect, it } from 'vitest';

import {
  ToolRateLimiter,
  type CounterEntry,
  type CounterStore,
} from '../src/domain/rate-limits.js';

/** An in-memory store with the KV bucket's compare-and-set; `raceOnce` simulates another replica. */
class MemoryStore implements CounterStore {
  readonly data = new Map<string, CounterEntry>();
  private rev = 0;
  raceOnce: string | null = null;

  read(key: string): Promise<CounterEntry | null> {
    return Promise.resolve(this.data.get(key) ?? null);
  }

  write(key: string, count: number, revision: number | null): Promise<number | null> {
    if (this.raceOnce === key) {
      // Another replica counts one first: this write loses the race.
      this.raceOnce = null;
      const cur = this.data.get(key);
      this.data.set(key, { count: (cur?.count ?? 0) + 1, revision: ++this.rev });
      return Promise.resolve(null);
    }
    const cur = this.data.get(key);
    if ((cur?.revision ?? null) !== revision) return Promise.resolve(null);
    this.data.set(key, { count, revision: ++this.rev });
    return Promise.resolve(this.rev);
  }
}

describe('ToolRateLimiter', () => {
  it('counts per call per window, and a new window starts afresh', async () => {
    let now = 60_000;
    const store = new MemoryStore();
    const limiter = new ToolRateLimiter({
      store,
      perCall: { max: 2, windowMs: 60_000 },
      perTool: { max: 0, windowMs: 1_000 },
      now: () => now,
    });
    expect(await limiter.take('c1', 't')).toEqual({ ok: true });
    now += 10_000;
    expect(await limiter.take('c1', 't')).toEqual({ ok: true });
    expect(await limiter.take('c1', 't')).toEqual({
      ok: false,
      limit: 'call',
      retryAfterMs: 50_000,
    });
    expect(await limiter.take('c2', 't')).toEqual({ ok: true });
    now = 120_000;
    expect(await limiter.take('c1', 't')).toEqual({ ok: true });
  });

  it('re-reads after losing a compare-and-set, so a racing replica is counted', async () => {
    const store = new MemoryStore();
    const limiter = new ToolRateLimiter({
      store,
      perCall: { max: 0, windowMs: 60_000 },
      perTool: { max: 2, windowMs: 1_000 },
      now: () => 5_500,
    });
    expect(await limiter.take('c1', 'lookup')).toEqual({ ok: true });
    store.raceOnce = 'tool.lookup.5';
    // The racing replica took the second slot: this one is over the limit.
    expect(await limiter.take('c2', 'lookup')).toEqual({
      ok: false,
      limit: 'tool',
      retryAfterMs: 500,
    });
    expect(store.data.get('tool.lookup.5')?.count).toBe(2);
  });
});
