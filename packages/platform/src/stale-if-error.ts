/**
 * A read that outlives a short database outage: the database is asked every time (so an edit is
 * seen at once), and only when the read *fails* is the last answer it gave for the same key
 * used instead, if it is recent enough. A failover of PostgreSQL takes tens of seconds; with
 * this, a call to a number that was called in the last hour is still answered by its agent
 * meanwhile, instead of every caller hearing an error.
 *
 * Not a cache: nothing is served while the source answers, so there is no staleness to reason
 * about in normal operation. The last answers are kept in a bounded LRU (`lru-cache`), so many
 * distinct keys cannot grow the process.
 */
import { LRUCache } from 'lru-cache';

export interface StaleIfErrorOptions<K> {
  /** Most keys remembered. @defaultValue 10 000 */
  max?: number;
  /** An answer older than this is not used. @defaultValue 3 600 000 (an hour) */
  maxStaleMs?: number;
  /** Told each time a remembered answer stands in for a failed read (log it). */
  onStale?: (key: K, err: unknown, ageMs: number) => void;
  /** ms clock. @defaultValue `performance.now` */
  now?: () => number;
}

interface Remembered<V> {
  value: V;
  atMs: number;
}

/**
 * Wraps `read` so that a failure falls back to its last answer for `key`, at most `maxStaleMs`
 * old; without one the failure is thrown as it was. `null` answers are remembered too (a number
 * that is not ours stays not ours through the outage).
 */
export function staleIfError<K extends string, V>(
  read: (key: K) => Promise<V>,
  opts: StaleIfErrorOptions<K> = {},
): (key: K) => Promise<V> {
  const now = opts.now ?? (() => performance.now());
  const maxStaleMs = opts.maxStaleMs ?? 3_600_000;
  const last = new LRUCache<K, Remembered<V>>({ max: opts.max ?? 10_000 });
  return async (key) => {
    try {
      const value = await read(key);
      last.set(key, { value, atMs: now() });
      return value;
    } catch (err) {
      const kept = last.get(key);
      const ageMs = kept ? now() - kept.atMs : Infinity;
      if (!kept || ageMs > maxStaleMs) throw err;
      opts.onStale?.(key, err, ageMs);
      return kept.value;
    }
  };
}
