import { describe, expect, it } from 'vitest';

import { staleIfError } from '../src/stale-if-error.js';

/** A source that answers from `rows` until `down` is set, then fails like a lost database. */
function source(rows: Record<string, string | null>) {
  const state = { down: false, reads: 0 };
  const read = (key: string): Promise<string | null> => {
    state.reads += 1;
    if (state.down) return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    return Promise.resolve(rows[key] ?? null);
  };
  return { state, read };
}

describe('staleIfError', () => {
  it('asks the source every time while it answers, so an edit is seen at once', async () => {
    const rows: Record<string, string | null> = { a: 'agent-1' };
    const { state, read } = source(rows);
    const get = staleIfError(read);
    expect(await get('a')).toBe('agent-1');
    rows.a = 'agent-2';
    expect(await get('a')).toBe('agent-2');
    expect(state.reads).toBe(2);
  });

  it('answers a failed read with the last answer for the key, and says so', async () => {
    const { state, read } = source({ a: 'agent-1' });
    let clock = 0;
    const stale: Array<[string, number]> = [];
    const get = staleIfError(read, {
      now: () => clock,
      onStale: (key, _err, ageMs) => stale.push([key, ageMs]),
    });
    expect(await get('a')).toBe('agent-1');
    expect(await get('unknown')).toBeNull();
    state.down = true;
    clock = 30_000;
    expect(await get('a')).toBe('agent-1');
    // A number that was not ours stays not ours through the outage.
    expect(await get('unknown')).toBeNull();
    expect(stale).toEqual([
      ['a', 30_000],
      ['unknown', 30_000],
    ]);
  });

  it('throws the failure for a key it never read, or whose answer is too old', async () => {
    const { state, read } = source({ a: 'agent-1' });
    let clock = 0;
    const get = staleIfError(read, { now: () => clock, maxStaleMs: 60_000 });
    await get('a');
    state.down = true;
    await expect(get('b')).rejects.toThrow('ECONNREFUSED');
    clock = 60_001;
    await expect(get('a')).rejects.toThrow('ECONNREFUSED');
  });

  it('remembers at most `max` keys, the least recently read going first', async () => {
    const { state, read } = source({ a: '1', b: '2', c: '3' });
    const get = staleIfError(read, { max: 2 });
    await get('a');
    await get('b');
    await get('c');
    state.down = true;
    await expect(get('a')).rejects.toThrow('ECONNREFUSED');
    expect(await get('b')).toBe('2');
    expect(await get('c')).toBe('3');
  });
});
