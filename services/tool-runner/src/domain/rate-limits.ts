/**
 * Per-call and per-tool invocation limits shared by every tool-runner replica: fixed-window
 * counters (`call.<callId>.<window>`, `tool.<name>.<window>`) in a store with compare-and-set
 * (NATS KV in the service). A model stuck in a loop calling tools, or many calls hammering one
 * HTTP tool's backend, is refused with RATE_LIMITED, which the model can read and stop.
 *
 * Fixed windows allow up to twice the limit across a window boundary; that is fine for a guard
 * against runaway use, and needs one key per limit and window instead of a log of timestamps.
 */

/** A counter's stored value and the revision it was read at. */
export interface CounterEntry {
  readonly count: number;
  readonly revision: number;
}

export interface CounterStore {
  /** The key's counter; null when absent (never written or expired). */
  read(key: string): Promise<CounterEntry | null>;
  /** Writes `count` if the key is still at `revision` (`null`: absent); null when someone else wrote first. */
  write(key: string, count: number, revision: number | null): Promise<number | null>;
}

export interface WindowLimit {
  /** Invocations allowed per window; 0 disables the limit. */
  readonly max: number;
  readonly windowMs: number;
}

export type LimitKind = 'call' | 'tool';

export type RateDecision =
  | { readonly ok: true }
  | { readonly ok: false; readonly limit: LimitKind; readonly retryAfterMs: number };

export interface ToolRateLimiterOptions {
  readonly store: CounterStore;
  /** All tools of one call together. */
  readonly perCall: WindowLimit;
  /** One tool across all calls. */
  readonly perTool: WindowLimit;
  /** @defaultValue `Date.now` */
  readonly now?: () => number;
  /** Compare-and-set retries before letting the invocation through. @defaultValue 8 */
  readonly maxConflicts?: number;
}

export class ToolRateLimiter {
  private readonly now: () => number;
  private readonly maxConflicts: number;

  constructor(private readonly options: ToolRateLimiterOptions) {
    this.now = options.now ?? Date.now;
    this.maxConflicts = options.maxConflicts ?? 8;
  }

  /** Counts one invocation of `tool` in `callId`, or says which limit refuses it. */
  async take(callId: string, tool: string): Promise<RateDecision> {
    const call = await this.count('call', `call.${callId}`, this.options.perCall);
    if (!call.ok) return call;
    return this.count('tool', `tool.${tool}`, this.options.perTool);
  }

  private async count(kind: LimitKind, prefix: string, limit: WindowLimit): Promise<RateDecision> {
    if (limit.max <= 0) return { ok: true };
    const now = this.now();
    const window = Math.floor(now / limit.windowMs);
    const key = `${prefix}.${window}`;
    const retryAfterMs = (window + 1) * limit.windowMs - now;
    for (let attempt = 0; attempt < this.maxConflicts; attempt++) {
      const entry = await this.options.store.read(key);
      const count = entry?.count ?? 0;
      if (count >= limit.max) return { ok: false, limit: kind, retryAfterMs };
      const written = await this.options.store.write(key, count + 1, entry?.revision ?? null);
      if (written !== null) return { ok: true };
    }
    // Constant contention means many replicas are counting at once; letting one through is
    // better than refusing a caller on a race.
    return { ok: true };
  }
}
