/**
 * The rate limiter's state in the NATS KV bucket `dialer-rate-limits` (`names.kv`), shared by
 * every replica. Compare-and-set through `kv.create` (key absent) and `kv.update(key, value,
 * revision)`; nats-server 2.9 has no per-key TTL, so the bucket TTL (60 s) drops limits nobody
 * used for a while, which reads as "free".
 */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

import type { Names } from '@app/contracts';

import type { SlotEntry, SlotStore } from '../domain/rate-limiter.js';

function isConflict(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

export class KvSlotStore implements SlotStore {
  constructor(private readonly kv: KV) {}

  /** Opens the namespace's bucket (provisioned at start by the platform). */
  static async open(nc: NatsConnection, names: Names): Promise<KvSlotStore> {
    return new KvSlotStore(await new Kvm(nc).open(names.kv.dialerRateLimits.name));
  }

  async read(key: string): Promise<SlotEntry | null> {
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT') return null;
    const value = Number(new TextDecoder().decode(entry.value));
    // Anything unreadable counts as free: the next write replaces it.
    return { nextFreeAt: Number.isFinite(value) ? value : 0, revision: entry.revision };
  }

  async write(key: string, nextFreeAt: number, revision: number | null): Promise<number | null> {
    const value = new TextEncoder().encode(String(Math.ceil(nextFreeAt)));
    try {
      return revision === null
        ? await this.kv.create(key, value)
        : await this.kv.update(key, value, revision);
    } catch (err) {
      if (isConflict(err)) return null;
      throw err;
    }
  }
}
