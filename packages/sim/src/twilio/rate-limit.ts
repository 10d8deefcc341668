/**
 * Outbound call admission (twilio.md §5.5): calls above the account's CPS are queued and placed
 * at the CPS rate (not rejected); a concurrency cap (a simulator knob, not a documented Twilio
 * limit) rejects with 429 / 20429 like Twilio's "too many concurrent requests".
 */

export interface CallLimits {
  /** Outbound calls placed per second per account (Twilio's default is 1). @defaultValue unlimited */
  cps?: number;
  /** Live (non-terminal) calls per account; more are rejected with 20429. @defaultValue unlimited */
  maxConcurrentCalls?: number;
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
