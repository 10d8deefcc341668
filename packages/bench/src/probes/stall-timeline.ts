/**
 * When this process's event loop stalled, as epoch-ms intervals: a frame that reached the
 * simulated caller late because the generator itself was busy is the generator's lateness, not
 * the bridge's. A short interval timer notes every gap longer than it should be.
 */

/** Ticks of the watch timer, ms. */
const TICK_MS = 2;
/** A gap longer than the tick by this much is a stall. */
const STALL_MS = 2;

export class StallTimeline {
  /** Stalls as [start, end] in epoch ms, ascending. */
  readonly stalls: Array<[number, number]> = [];
  #timer: NodeJS.Timeout | undefined;
  #last = 0;

  start(): void {
    this.#last = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      const gap = now - this.#last;
      if (gap > TICK_MS + STALL_MS) {
        const origin = performance.timeOrigin;
        this.stalls.push([origin + this.#last + TICK_MS, origin + now]);
      }
      this.#last = now;
    }, TICK_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Total stall time inside [from, to] (epoch ms). */
  overlap(from: number, to: number): number {
    let total = 0;
    // Binary search for the first stall that ends after `from`.
    let lo = 0;
    let hi = this.stalls.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.stalls[mid] as [number, number])[1] <= from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.stalls.length; i += 1) {
      const [s, e] = this.stalls[i] as [number, number];
      if (s >= to) break;
      total += Math.min(e, to) - Math.max(s, from);
    }
    return total;
  }
}
