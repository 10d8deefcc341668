/**
 * Rate-limit counters in the NATS KV bucket `tool-rate-limits` (`names.kv.toolRateLimits`,
 * provisioned by the platform), shared by every replica, written with compare-and-set
 * ({@link KvNumberRegister}); the bucket TTL drops old windows.
 */
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

import { KvNumberRegister, type Names } from '@app/contracts';

import type { CounterEntry, CounterStore } from '../domain/rate-limits.js';

export class KvCounterStore implements CounterStore {
  constructor(private readonly register: KvNumberRegister) {}

  static async open(nc: NatsConnection, names: Names): Promise<KvCounterStore> {
    const kv = await new Kvm(nc).open(names.kv.toolRateLimits.name);
    return new KvCounterStore(new KvNumberRegister(kv));
  }

  async read(key: string): Promise<CounterEntry | null> {
    const entry = await this.register.read(key);
    return entry && { count: entry.value, revision: entry.revision };
  }

  write(key: string, count: number, revision: number | null): Promise<number | null> {
    return this.register.write(key, count, revision);
  }
}
