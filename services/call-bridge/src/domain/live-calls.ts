/**
 * The calls this pod holds right now. It answers the two questions that capacity and shutdown
 * ask: "may I take another call?" and "have my calls finished?". Pure: no I/O, timers only
 * through the injected clock functions, so it is tested with fake timers.
 */

/** What the registry needs to end a call that outlives the drain deadline. */
export interface LiveCall {
  readonly callId: string;
  /** Ends the call cleanly (hang up both legs, publish `ended`); must not throw. */
  end(reason: 'drain_timeout'): Promise<void>;
}

/** Outcome of {@link LiveCalls.drain}. */
export interface DrainResult {
  /** Calls that ended on their own within the deadline. */
  finished: number;
  /** Calls ended by the deadline. */
  forced: number;
}

export class LiveCalls {
  readonly #calls = new Map<string, LiveCall>();
  readonly #limit: number;
  #accepting = true;
  #emptyWaiters: Array<() => void> = [];

  /** @param limit - Most calls held at once (MAX_CALLS). */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`limit must be an integer >= 1, got ${limit}`);
    }
    this.#limit = limit;
  }

  get size(): number {
    return this.#calls.size;
  }

  get limit(): number {
    return this.#limit;
  }

  /** True once draining started: the pod takes no new call, however many it holds. */
  get draining(): boolean {
    return !this.#accepting;
  }

  /** False once draining started or the pod is full. */
  get canAccept(): boolean {
    return this.#accepting && this.#calls.size < this.#limit;
  }

  /** Registers a call; returns false (and keeps nothing) when the pod cannot take it. */
  tryAdd(call: LiveCall): boolean {
    if (!this.canAccept || this.#calls.has(call.callId)) return false;
    this.#calls.set(call.callId, call);
    return true;
  }

  /** Forgets a call that ended; wakes a pending drain when it was the last one. */
  remove(callId: string): void {
    this.#calls.delete(callId);
    if (this.#calls.size === 0) {
      const waiters = this.#emptyWaiters;
      this.#emptyWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /**
   * Stops accepting calls, waits up to `timeoutMs` for live ones to finish, then ends the rest.
   * @param timeoutMs - DRAIN_TIMEOUT_MS.
   */
  async drain(timeoutMs: number): Promise<DrainResult> {
    this.#accepting = false;
    const before = this.#calls.size;
    if (before > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#emptyWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const leftovers = [...this.#calls.values()];
    await Promise.all(leftovers.map((call) => call.end('drain_timeout')));
    for (const call of leftovers) this.remove(call.callId);
    return { finished: before - leftovers.length, forced: leftovers.length };
  }
}
