/**
 * Call-rate limits shared by every dialer replica: a global calls-per-second limit and one per
 * caller id (Twilio's CPS, twilio.md §5.5). Each limit is a key holding the earliest time the
 * next call may start; taking a slot moves it one interval past now, with a compare-and-set so
 * two replicas never take the same slot (GCRA with no burst: calls are spaced at least
 * `1000 / cps` ms apart). The store is behind an interface: NATS KV in the service, a map in
 * tests. Times are epoch ms from the injected clock.
 *
 * Replica clocks are assumed to agree (NTP); a skew between two of them loosens the spacing of
 * their calls by that much.
 */

/** A limit's stored state and the revision it was read at (for the compare-and-set). */
export interface SlotEntry {
  readonly nextFreeAt: number;
  readonly revision: number;
}

/** Where limit state lives. */
export interface SlotStore {
  /** The key's entry; null when absent (never written, expired or deleted). */
  read(key: string): Promise<SlotEntry | null>;
  /**
   * Writes `nextFreeAt` if the key is still at `revision` (`null`: still absent). Returns the
   * new revision, or null when someone else wrote first.
   */
  write(key: string, nextFreeAt: number, revision: number | null): Promise<number | null>;
}

export type SlotDecision = { ok: true; nextFreeAt: number } | { ok: false; waitMs: number };

/** Whether a call may start at `now` under a limit whose next free time is `nextFreeAt`. */
export function takeSlot(
  nextFreeAt: number | undefined,
  now: number,
  intervalMs: number,
): SlotDecision {
  if (nextFreeAt !== undefined && nextFreeAt > now) return { ok: false, waitMs: nextFreeAt - now };
  return { ok: true, nextFreeAt: now + intervalMs };
}

/** The key of the global limit. */
export const GLOBAL_KEY = 'global';

/** The key of a caller id's limit (KV keys allow no `+`). */
export function numberKey(e164: string): string {
  return `from-${e164.replace(/[^0-9]/g, '')}`;
}

export interface CallRateLimiterOptions {
  store: SlotStore;
  /** Calls per second across all replicas. */
  globalCps: number;
  /** Calls per second from one caller id. */
  perNumberCps: number;
  /** @defaultValue `Date.now` */
  now?: () => number;
  /** Compare-and-set retries per key before giving up for now. @defaultValue 5 */
  maxConflicts?: number;
  /** Told each time a call has to wait for a limit (metrics). */
  onWait?: (limit: LimitKind, waitMs: number) => void;
}

/** Which limit made a call wait. */
export type LimitKind = 'global' | 'number';

export type AcquireResult = { ok: true } | { ok: false; waitMs: number };

interface Taken {
  key: string;
  previous: SlotEntry | null;
  revision: number;
}

function intervalOf(cps: number, name: string): number {
  if (!(Number.isFinite(cps) && cps > 0)) {
    throw new RangeError(`${name} must be a positive number of calls per second, got ${cps}`);
  }
  return 1_000 / cps;
}

/** Both limits of one call, taken together or not at all. */
export class CallRateLimiter {
  readonly #store: SlotStore;
  readonly #globalMs: number;
  readonly #numberMs: number;
  readonly #now: () => number;
  readonly #maxConflicts: number;
  readonly #onWait: ((limit: LimitKind, waitMs: number) => void) | undefined;
  /** Turns of the pool rotation (ties between free numbers go round). */
  #turn = 0;

  constructor(opts: CallRateLimiterOptions) {
    this.#store = opts.store;
    this.#globalMs = intervalOf(opts.globalCps, 'globalCps');
    this.#numberMs = intervalOf(opts.perNumberCps, 'perNumberCps');
    this.#now = opts.now ?? Date.now;
    this.#maxConflicts = opts.maxConflicts ?? 5;
    this.#onWait = opts.onWait;
  }

  /**
   * Takes the global slot, then the caller id's, if both are free now. When the second is not,
   * the first is given back (if nobody took a slot after it) so a call that waits holds
   * nothing. `waitMs` says when to try again.
   */
  async tryAcquire(from: string): Promise<AcquireResult> {
    // The caller id's limit last: its slot is then taken right before the call leaves, so
    // the spacing Twilio sees per number (the one carriers watch) is the closest to ours.
    const limits: Array<[string, number, LimitKind]> = [
      [GLOBAL_KEY, this.#globalMs, 'global'],
      [numberKey(from), this.#numberMs, 'number'],
    ];
    const taken: Taken[] = [];
    for (const [key, intervalMs, kind] of limits) {
      const result = await this.#take(key, intervalMs);
      if ('waitMs' in result) {
        await this.#giveBack(taken);
        this.#onWait?.(kind, result.waitMs);
        return { ok: false, waitMs: result.waitMs };
      }
      taken.push(result);
    }
    return { ok: true };
  }

  /** Waits until both slots are taken. Rejects with the signal's reason when aborted. */
  async acquire(from: string, signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const result = await this.tryAcquire(from);
      if (result.ok) return;
      await sleep(Math.max(1, result.waitMs), signal);
    }
  }

  /**
   * Of a pool's caller ids, the one whose own limit frees up first (one never used, or unused for
   * a while, is free now). Ties go round: each call starts looking one number further on, so a
   * pool at a low rate still spreads its calls over every number.
   */
  async soonestFree(numbers: readonly string[]): Promise<string> {
    if (numbers.length === 0) throw new RangeError('soonestFree needs at least one number');
    const start = this.#turn++ % numbers.length;
    const turned = [...numbers.slice(start), ...numbers.slice(0, start)];
    const entries = await Promise.all(turned.map((n) => this.#store.read(numberKey(n))));
    let best = 0;
    const now = this.#now();
    const freeAt = (i: number) => Math.max(now, entries[i]?.nextFreeAt ?? 0);
    for (let i = 1; i < turned.length; i++) if (freeAt(i) < freeAt(best)) best = i;
    return turned[best] as string;
  }

  /**
   * Waits until both slots of one of `numbers` are taken; returns that number. Each try takes
   * the number that frees up first ({@link soonestFree}), so a pool is limited by all its
   * numbers together, not by one. Rejects with the signal's reason when aborted.
   */
  async acquireAny(numbers: readonly string[], signal?: AbortSignal): Promise<string> {
    for (;;) {
      signal?.throwIfAborted();
      const from = await this.soonestFree(numbers);
      const result = await this.tryAcquire(from);
      if (result.ok) return from;
      await sleep(Math.max(1, result.waitMs), signal);
    }
  }

  async #take(key: string, intervalMs: number): Promise<Taken | { waitMs: number }> {
    for (let conflicts = 0; ; conflicts++) {
      const entry = await this.#store.read(key);
      const decision = takeSlot(entry?.nextFreeAt, this.#now(), intervalMs);
      if (!decision.ok) return { waitMs: decision.waitMs };
      const revision = await this.#store.write(key, decision.nextFreeAt, entry?.revision ?? null);
      if (revision !== null) return { key, previous: entry, revision };
      // Another replica wrote first: read again. After a few losses, back off a little.
      if (conflicts >= this.#maxConflicts) return { waitMs: Math.min(intervalMs, 50) };
    }
  }

  async #giveBack(taken: readonly Taken[]): Promise<void> {
    for (const t of [...taken].reverse()) {
      // Only when nobody took a slot since: otherwise their spacing counts from ours.
      await this.#store.write(t.key, t.previous?.nextFreeAt ?? 0, t.revision).catch(() => null);
    }
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
