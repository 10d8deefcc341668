/**
 * The sleep of a polling loop that others can cut short: the loop sleeps up to its poll interval,
 * `wake()` (new work: a request arrived, a call ended) or stopping ends the sleep at once, and a
 * wake that comes while the loop is busy is remembered until the loop clears it.
 */
export class LoopSleep {
  #woken = false;
  #wakeUp: (() => void) | undefined;

  constructor(private readonly signal: AbortSignal) {}

  /** Ends the current sleep, or the next one if the loop is busy now. */
  wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  /** The loop is about to look for work: earlier wakes are answered by that look. */
  clear(): void {
    this.#woken = false;
  }

  /** Ends the current sleep without marking work (stopping). */
  interrupt(): void {
    this.#wakeUp?.();
  }

  /** Sleeps up to `ms`; less when woken since the last clear, or when the signal aborts. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.#woken || this.signal.aborted) {
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        this.#wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakeUp = done;
    });
  }
}
