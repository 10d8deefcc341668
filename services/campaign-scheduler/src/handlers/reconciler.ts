/**
 * Settles what a dialer that died (or lost track) left behind, on every replica, periodically:
 *
 * - a request `dialing` for longer than DIAL_RECLAIM_AFTER_MS: taken over (a new claim token,
 *   so the old holder can no longer dial), then Twilio's call list decides. A call between the
 *   two numbers from the claim on is this attempt's: adopted (`created` published again, its id
 *   is derived so it is stored once; the request becomes `dialed`). None: no call was made, the
 *   request is `pending` again, the attempt not counted. Twilio unreachable: tried again later.
 * - a request `dialed` for longer than DIAL_LIVE_CHECK_AFTER_MS with no `ended` (the gateway
 *   missed the status callback, e.g. because the call's `created` came late): Twilio's status
 *   tells; a call that is over gets an `ended` with Twilio's final status, which the
 *   call-ended consumer applies like any other. A call still live is checked again later.
 */
import { CallEndReason } from '@app/contracts';
import type { Logger } from '@app/platform';

import { classifyDialError, dialErrorFields } from '../domain/dial-errors.js';
import { countAttempt, findAttemptCall, recordCreated, type AttemptDeps } from './place-attempt.js';

/** Twilio's final call statuses (twilio.md §1.4) as end reasons. */
const FINAL_STATUSES: Record<string, CallEndReason> = {
  completed: CallEndReason.Completed,
  busy: CallEndReason.Busy,
  'no-answer': CallEndReason.NoAnswer,
  failed: CallEndReason.Failed,
  canceled: CallEndReason.Canceled,
};

export interface ReconcilerDeps extends Pick<
  AttemptDeps,
  'store' | 'dialer' | 'events' | 'directory' | 'metrics'
> {
  reclaimAfterMs: number;
  liveCheckAfterMs: number;
  pod: string;
  log: Logger;
  /** Requests looked at per kind and round. @defaultValue 20 */
  batch?: number;
  /** Called when a request went back to `pending` (wakes the dial loop). */
  onReleased?: () => void;
}

/** One round: stale claims, then long-dialed calls. Never throws. */
export async function reconcileOnce(deps: ReconcilerDeps): Promise<void> {
  const batch = deps.batch ?? 20;
  const now = Date.now();
  try {
    const stale = await deps.store.takeOverStale(
      new Date(now - deps.reclaimAfterMs),
      batch,
      deps.pod,
    );
    for (const claim of stale) {
      const log = deps.log.child({
        requestId: claim.id,
        callId: claim.callId,
        attempt: claim.attempt,
      });
      let sid: string | null;
      try {
        sid = await findAttemptCall(deps, claim);
      } catch (err) {
        log.warn(
          dialErrorFields(classifyDialError(err)),
          'cannot list twilio calls for a stale claim; will look again',
        );
        continue;
      }
      if (sid) {
        countAttempt(deps, 'adopted');
        await recordCreated(deps, claim, sid);
        log.warn({ callSid: sid }, 'stale claim: twilio has the call; adopted');
      } else {
        countAttempt(deps, 'released');
        await deps.store.release(claim, {
          at: new Date(),
          transientFailures: claim.transientFailures,
          error: null,
        });
        log.warn({}, 'stale claim: no call at twilio; the request is pending again');
        deps.onReleased?.();
      }
    }
    const dialed = await deps.store.takeLongDialed(new Date(now - deps.liveCheckAfterMs), batch);
    for (const call of dialed) {
      const log = deps.log.child({
        requestId: call.id,
        callId: call.callId,
        callSid: call.providerCallSid,
      });
      let status: string | null;
      try {
        status = call.providerCallSid ? await deps.dialer.status(call.providerCallSid) : null;
      } catch (err) {
        log.warn(
          dialErrorFields(classifyDialError(err)),
          'cannot fetch a long-dialed call from twilio; will look again',
        );
        continue;
      }
      const reason = status === null ? CallEndReason.Failed : FINAL_STATUSES[status];
      if (!reason) continue;
      await deps.events.ended(call.callId, reason);
      log.warn({ status, reason }, 'dialed call ended without an ended event; closing it');
    }
  } catch (err) {
    deps.log.error({ err }, 'reconciling call requests failed; will try again');
  }
}

export interface Reconciler {
  stop(): Promise<void>;
}

/** Runs {@link reconcileOnce} every `intervalMs` until stopped. */
export function startReconciler(deps: ReconcilerDeps, intervalMs: number): Reconciler {
  let stopped = false;
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    // A round that outlasts the interval is not overtaken by the next one.
    if (stopped || running) return;
    running = reconcileOnce(deps).finally(() => {
      running = undefined;
    });
  }, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
