/**
 * Admission limits (twilio.md §5.5). Outbound calls above the account's CPS are queued and
 * placed at the CPS rate (not rejected). Two limits reject with 429 / 20429 like Twilio's "too
 * many requests", which is never processed and safe to retry (§5.4): a REST request rate and a
 * concurrency cap. Their values are simulator knobs: twilio.md documents neither number.
 */

export interface CallLimits {
  /** Outbound calls placed per second per account (Twilio's default is 1). @defaultValue unlimited */
  cps?: number;
  /** Live (non-terminal) calls per account; more are rejected with 20429. @defaultValue unlimited */
  maxConcurrentCalls?: number;
  /**
   * REST requests (any endpoint) per account in any one-second window, wall-clock whatever the
   * pacing; more are rejected with 429 / 20429 and do not count. @defaultValue unlimited
   */
  requestsPerSecond?: number;
}

export class CpsScheduler {
  readonly #intervalMs: number;
  readonly #nextSlot = new Map<string, number>();

  constructor(cps: number | undefined) {
    if (cps !== undefined && !(cps > 0)) throw new RangeError(`cps must be > 0, got ${cps}`);
    this.#intervalMs = cps === undefined ? 0 : 1000 / cps;
  }

  /** Reserves the account's next slot; returns how long (wall ms) the call waits for it. */
  reserve(accountSid: string, now = Date.now()): number {
    if (this.#intervalMs === 0) return 0;
    const slot = Math.max(now, this.#nextSlot.get(accountSid) ?? 0);
    this.#nextSlot.set(accountSid, slot + this.#intervalMs);
    return Math.round(slot - now);
  }
}

const WINDOW_MS = 1_000;

/** A sliding one-second window per account: at most `perSecond` admitted requests in it. */
export class RequestRateLimiter {
  readonly #limit: number | undefined;
  readonly #admitted = new Map<string, number[]>();

  constructor(perSecond: number | undefined) {
    if (perSecond !== undefined && !(Number.isInteger(perSecond) && perSecond > 0)) {
      throw new RangeError(`requestsPerSecond must be a positive integer, got ${perSecond}`);
    }
    this.#limit = perSecond;
  }

  /** Admits (and counts) one request of the account, or returns false: answer 429. */
  admit(accountSid: string, now = performance.now()): boolean {
    if (this.#limit === undefined) return true;
    const times = this.#admitted.get(accountSid) ?? [];
    while (times.length > 0 && (times[0] ?? 0) <= now - WINDOW_MS) times.shift();
    if (times.length >= this.#limit) return false;
    times.push(now);
    this.#admitted.set(accountSid, times);
    return true;
  }
}
