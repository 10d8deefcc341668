/**
 * The dial loop of one replica: claims due requests from PostgreSQL (at most `parallelism` in
 * hand; none while DIAL_MAX_CONCURRENT calls are live across all replicas) and places each
 * (place-attempt.ts). Idle, it sleeps until the next request is due or the poll interval
 * passes, whichever is first; `wake()` (a new request, a call that ended) cuts the sleep short.
 *
 * Stopping aborts the attempts still waiting for a rate slot (they go back to `pending` at
 * once, for another replica) and waits for the ones talking to Twilio.
 */
import type { Logger } from '@app/platform';

import type { CallRequestStore } from '../adapters/call-request-store.js';
import { LoopSleep } from '../domain/loop-sleep.js';
import { placeAttempt, type AttemptDeps } from './place-attempt.js';

export interface DialLoopDeps extends AttemptDeps {
  store: CallRequestStore;
  /** DIAL_MAX_CONCURRENT. */
  maxConcurrent: number;
  /** Attempts this replica has in hand at once. */
  parallelism: number;
  pollIntervalMs: number;
  pod: string;
  log: Logger;
}

export interface DialLoop {
  /** Look for due requests now. */
  wake(): void;
  /** Stops claiming, gives back attempts still waiting, waits for the rest. */
  stop(): Promise<void>;
}

export function startDialLoop(deps: DialLoopDeps): DialLoop {
  const abort = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const sleeper = new LoopSleep(abort.signal);
  const wake = () => sleeper.wake();

  const loop = (async () => {
    while (!abort.signal.aborted) {
      if (inFlight.size >= deps.parallelism) {
        // Only a finished attempt (it wakes the loop) or the poll interval can change this.
        sleeper.clear();
        await sleeper.sleep(deps.pollIntervalMs);
        continue;
      }
      sleeper.clear();
      let outcome;
      try {
        outcome = await deps.store.claimNext(deps.maxConcurrent, deps.pod);
      } catch (err) {
        deps.log.error({ err }, 'claiming a call request failed; retrying');
        await sleeper.sleep(deps.pollIntervalMs);
        continue;
      }
      if (outcome.kind === 'claimed') {
        const attempt: Promise<void> = placeAttempt(deps, outcome.claim, abort.signal).finally(
          () => {
            inFlight.delete(attempt);
            // A finished attempt may have freed capacity or left work: look again.
            wake();
          },
        );
        inFlight.add(attempt);
        continue;
      }
      const untilDue =
        outcome.kind === 'idle' && outcome.nextDueAt
          ? Math.max(5, outcome.nextDueAt.getTime() - Date.now())
          : Number.POSITIVE_INFINITY;
      await sleeper.sleep(Math.min(deps.pollIntervalMs, untilDue));
    }
  })();

  return {
    wake,
    async stop() {
      abort.abort(new Error('dial loop stopping'));
      sleeper.interrupt();
      await loop;
      await Promise.allSettled([...inFlight]);
    },
  };
}
