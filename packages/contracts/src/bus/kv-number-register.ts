/**
 * One number per key in a NATS KV bucket, written with compare-and-set: `kv.create` when the key
 * is absent, `kv.update(key, value, revision)` otherwise. Replicas that share a limit (the
 * dialer's calls-per-second slots, the tool-runner's invocation counters) read a value and its
 * revision, compute the next value, and write it back only if nobody wrote in between; a lost
 * race answers null and the caller reads again. nats-server 2.9 has no per-key TTL, so the
 * bucket's TTL drops values nobody touched for a while.
 */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';

function isConflict(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

export class KvNumberRegister {
  constructor(private readonly kv: KV) {}

  /** The key's number and revision; null when absent or deleted. Unreadable reads as 0. */
  async read(key: string): Promise<{ value: number; revision: number } | null> {
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT') return null;
    const value = Number(new TextDecoder().decode(entry.value));
    return { value: Number.isFinite(value) ? value : 0, revision: entry.revision };
  }

  /**
   * Writes `value` if the key is still at `revision` (null: still absent). Answers the new
   * revision, or null when another writer got there first.
   */
  async write(key: string, value: number, revision: number | null): Promise<number | null> {
    const bytes = new TextEncoder().encode(String(value));
    try {
      return revision === null
        ? await this.kv.create(key, bytes)
        : await this.kv.update(key, bytes, revision);
    } catch (err) {
      if (isConflict(err)) return null;
      throw err;
    }
  }
}
