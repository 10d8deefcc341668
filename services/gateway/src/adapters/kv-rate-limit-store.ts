/**
 * A @fastify/rate-limit store on a NATS KV bucket, so every gateway replica counts against the
 * same limits (names.kv.gatewayRateLimits).
 *
 * Fixed windows: a client's counter for a window lives at `<client>.<window index>`, so a new
 * window starts at 0 without a reset write, and the bucket's TTL (the window; nats-server 2.9 has
 * no per-message TTL) forgets it a window after its last write. Each increment is a compare-and-
 * set: `create` when the key is absent, `update` at the revision read; a replica that lost the
 * race reads again and retries, so concurrent requests are never counted once for two.
 */
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { JetStreamApiCodes, JetStreamApiError, StorageType } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

import type { Names } from '@app/contracts';

/** Codes of a `create`/`update` refused because another writer got there first. */
const LOST_RACE: readonly number[] = [
  JetStreamApiCodes.StreamWrongLastSequence,
  JetStreamApiCodes.StreamWrongLastSequenceUnknown,
];

/** Retries of one increment: each lost race means another request was counted, so progress. */
const MAX_ATTEMPTS = 50;

export interface RateCount {
  /** Requests counted in this window, this one included. */
  current: number;
  /** Milliseconds until the window ends. */
  ttl: number;
}

/**
 * A client key as a KV key: keys come from the client (an IP, a key prefix), and KV keys allow
 * only `[-/=.\w]`; base64url keeps each distinct and valid.
 */
function kvKey(key: string, window: number): string {
  return `${Buffer.from(key, 'utf8').toString('base64url')}.${window}`;
}

/** The shared counters: one `increment` per request, atomic across replicas. */
export class KvRateCounter {
  /** Increments of one key in this process run one after another: fewer lost races. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly kv: KV,
    /** The bucket's TTL: no window may be longer, or its counter could expire mid-window. */
    readonly maxWindowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Opens the namespace's bucket, creating it when missing (idempotent, like
   * `provisionJetStream`, which normally has created it already).
   */
  static async open(
    nc: NatsConnection,
    names: Names,
    opts: { replicas?: number } = {},
  ): Promise<KvRateCounter> {
    const spec = names.kv.gatewayRateLimits;
    const kv = await new Kvm(nc).create(spec.name, {
      history: spec.history,
      ttl: spec.ttlMs,
      storage: StorageType.File,
      replicas: opts.replicas ?? 1,
    });
    return new KvRateCounter(kv, spec.ttlMs);
  }

  increment(key: string, windowMs: number): Promise<RateCount> {
    if (!Number.isSafeInteger(windowMs) || windowMs <= 0 || windowMs > this.maxWindowMs) {
      return Promise.reject(
        new RangeError(
          `rate-limit window ${windowMs} ms is not within 1..${this.maxWindowMs} ms (the bucket TTL)`,
        ),
      );
    }
    const now = this.now();
    const window = Math.floor(now / windowMs);
    const id = kvKey(key, window);
    const ttl = (window + 1) * windowMs - now;
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous.then(
      () => this.casIncrement(id),
      () => this.casIncrement(id),
    );
    this.queues.set(id, next);
    // Forget the queue once it is idle, so the map holds only keys in flight.
    void next.then(
      () => this.queues.get(id) === next && this.queues.delete(id),
      () => this.queues.get(id) === next && this.queues.delete(id),
    );
    return next.then((current) => ({ current, ttl }));
  }

  private async casIncrement(id: string): Promise<number> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await this.kv.get(id);
      const seen = entry === null || entry.operation !== 'PUT' ? null : entry;
      const count = seen === null ? 1 : Number(seen.string()) + 1;
      if (!Number.isSafeInteger(count) || count < 1) {
        throw new Error(`rate-limit counter ${id} holds no count: ${seen?.string() ?? ''}`);
      }
      try {
        if (seen === null) {
          // A deleted or expired key is re-created from scratch; `create` accepts a tombstone.
          await this.kv.create(id, String(count));
        } else {
          await this.kv.update(id, String(count), seen.revision);
        }
        return count;
      } catch (err) {
        if (err instanceof JetStreamApiError && LOST_RACE.includes(err.code)) continue;
        throw err;
      }
    }
    throw new Error(`rate-limit counter ${id}: ${MAX_ATTEMPTS} writers in a row got there first`);
  }
}

/**
 * The store class @fastify/rate-limit instantiates (`store` option), bound to `counter`. Its
 * keys already name their policy (rate-limit-policy.ts), so a route's child shares the store.
 */
export function kvRateLimitStore(counter: KvRateCounter): FastifyRateLimitStoreCtor {
  class KvRateLimitStore implements FastifyRateLimitStore {
    incr(
      key: string,
      callback: (error: Error | null, result?: RateCount) => void,
      timeWindow: number,
    ): void {
      counter.increment(key, timeWindow).then(
        (result) => callback(null, result),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    }

    child(): FastifyRateLimitStore {
      return this;
    }
  }
  return KvRateLimitStore;
}
