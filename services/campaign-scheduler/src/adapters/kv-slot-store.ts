/**
 * The rate limiter's state in the NATS KV bucket `dialer-rate-limits` (`names.kv`), shared by
 * every replica, written with compare-and-set ({@link KvNumberRegister}); the bucket TTL (60 s)
 * drops limits nobody used for a while, which reads as "free".
 */
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

import { KvNumberRegister, type Names } from '@app/contracts';

import type { SlotEntry, SlotStore } from '../domain/rate-limiter.js';

export class KvSlotStore implements SlotStore {
  constructor(private readonly register: KvNumberRegister) {}

  /** Opens the namespace's bucket (provisioned at start by the platform). */
  static async open(nc: NatsConnection, names: Names): Promise<KvSlotStore> {
    const kv = await new Kvm(nc).open(names.kv.dialerRateLimits.name);
    return new KvSlotStore(new KvNumberRegister(kv));
  }

  async read(key: string): Promise<SlotEntry | null> {
    const entry = await this.register.read(key);
    return entry && { nextFreeAt: entry.value, revision: entry.revision };
  }

  write(key: string, nextFreeAt: number, revision: number | null): Promise<number | null> {
    return this.register.write(key, Math.ceil(nextFreeAt), revision);
  }
}
