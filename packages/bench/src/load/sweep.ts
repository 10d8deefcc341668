/**
 * The sweep over N: one load run per N, upwards, each on a fresh bridge, until a run fails the
 * criteria for a reason that is the bridge's, or the generator can no longer offer real-time
 * load (then larger N would measure the generator, not the bridge).
 */
import type { LoadRunResult, SweepResult } from '../results.js';
import type { BenchStack } from '../stack/stack.js';
import { runLoad, type LoadRunOptions } from './load-run.js';

export interface SweepOptions extends Omit<LoadRunOptions, 'calls'> {
  levels: number[];
}

/** Below this share of real-time caller frames the offered load is no longer N calls. */
const MIN_OFFERED_RATE = 0.97;

/** A run whose callers got (nearly) all their real-time frames through: N calls were offered. */
export function offered(run: LoadRunResult): boolean {
  const rate = run.generator.callerFrameRate;
  return rate !== null && rate >= MIN_OFFERED_RATE;
}

/**
 * Why the sweep should not go on after `run` (`previous`: the run before it); null to go on.
 * One failed level does not stop it: a single stall (a major GC, another process on the core)
 * can make one delta late at any N, and the sweep is after the largest N that holds. Two
 * failures in a row with the generator keeping pace do.
 */
export function stopReason(run: LoadRunResult, previous?: LoadRunResult): string | null {
  const n = run.settings.calls;
  const rate = run.generator.callerFrameRate;
  if (!offered(run) && rate !== null) {
    return `at N=${n} the load generator sent only ${(rate * 100).toFixed(0)} % of real-time caller frames: larger N would measure the generator`;
  }
  const failedOnItsOwn = (r: LoadRunResult) => !r.criteria.pass && !r.generator.limited;
  if (failedOnItsOwn(run) && previous && failedOnItsOwn(previous)) {
    return `N=${previous.settings.calls} and N=${n} failed the criteria with the generator keeping pace`;
  }
  if (run.calls.bridged < run.calls.placed) {
    return `at N=${n} only ${run.calls.bridged} of ${run.calls.placed} calls were bridged`;
  }
  return null;
}

/**
 * The largest N that passed with the generator offering real-time load. A pass while the
 * generator was limited still counts (the late frames its own stalls caused are discounted, see
 * call-timing.ts), and the report flags it.
 */
export function maxPassing(runs: readonly LoadRunResult[]): number | null {
  const passed = runs.filter((r) => r.criteria.pass && offered(r)).map((r) => r.settings.calls);
  return passed.length ? Math.max(...passed) : null;
}

export async function runSweep(stack: BenchStack, opts: SweepOptions): Promise<SweepResult> {
  const runs: LoadRunResult[] = [];
  let stoppedBecause: string | null = null;
  const { levels, ...runOpts } = opts;
  for (const [i, calls] of levels.entries()) {
    opts.onProgress?.(`run ${i + 1}/${levels.length}: N=${calls}`);
    let run: LoadRunResult;
    try {
      run = await runLoad(stack, { ...runOpts, calls });
    } catch (err) {
      stoppedBecause = `N=${calls} could not run: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
      break;
    }
    runs.push(run);
    const reason = stopReason(run, runs.at(-2));
    if (reason !== null && i < levels.length - 1) {
      stoppedBecause = reason;
      break;
    }
  }
  return { runs, maxPassingCalls: maxPassing(runs), stoppedBecause };
}
