/**
 * Event-loop delay of this process (the load generator), with `perf_hooks`. Node reports the
 * whole interval between two checks, so the sampling interval itself is subtracted: what is left
 * is how late the loop was, the figure that makes a generator-limited run visible.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Delay beyond the sampling interval, in ms. */
export interface LoopDelay {
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * The sampling interval, ms. Also prom-client's default (`eventLoopMonitoringPrecision`), so the
 * generator's figures and the bridge's `nodejs_eventloop_lag_*` read alike.
 */
export const LOOP_SAMPLE_MS = 10;

export class LoopDelayProbe {
  readonly #h: IntervalHistogram;

  constructor() {
    this.#h = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
    this.#h.enable();
  }

  /** Starts a new measurement window. */
  reset(): void {
    this.#h.reset();
  }

  /** The window so far. */
  read(): LoopDelay {
    const ms = (ns: number) => Math.max(0, ns / 1e6 - LOOP_SAMPLE_MS);
    return {
      mean: ms(this.#h.mean),
      p50: ms(this.#h.percentile(50)),
      p99: ms(this.#h.percentile(99)),
      max: ms(this.#h.max),
    };
  }

  stop(): void {
    this.#h.disable();
  }
}

/** The bridge's loop delay from its prom-client gauges (seconds, sampling interval included). */
export function loopDelayFromGauges(g: {
  mean: number;
  p50: number;
  p99: number;
  max: number;
}): LoopDelay {
  const ms = (sec: number) => Math.max(0, sec * 1_000 - LOOP_SAMPLE_MS);
  return { mean: ms(g.mean), p50: ms(g.p50), p99: ms(g.p99), max: ms(g.max) };
}
