/**
 * The attempts of a call request: the call id of each (derived, so a retried create after a
 * crash is recognisable), and what happens after one ends or is refused. Pure: no I/O.
 */
import { uuidV5 } from '@app/contracts';
import type { RetryPolicyInput } from '@app/dialing';

/** UUID namespace of attempt call ids (random, fixed forever: changing it breaks dedupe). */
const ATTEMPT_NAMESPACE = 'b72f7ee6-cd90-4609-b32e-038b69ec76d2';

/**
 * Our call id of attempt `attempt` (1 = first) of the request with this idempotency key: the
 * same inputs always give the same id, so re-publishing its `created` is deduplicated and a call
 * found at Twilio after a crash is known to be this attempt.
 */
export function attemptCallId(idempotencyKey: string, attempt: number): string {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be an integer >= 1, got ${attempt}`);
  }
  return uuidV5(`call-request:${idempotencyKey}:${attempt}`, ATTEMPT_NAMESPACE);
}

/** The event id of the dialer's `created` (or reconciled `ended`) event of a call. */
export function attemptEventId(callId: string, event: 'created' | 'ended'): string {
  return uuidV5(`call:${callId}:${event}`, ATTEMPT_NAMESPACE);
}

/** How many times a request is tried, and when. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** Wait before the second attempt, in ms. */
  readonly backoffMs: number;
  /** Each later wait is the previous one times this. @defaultValue 2 */
  readonly backoffMultiplier?: number;
  /** End reasons that earn another attempt. */
  readonly retryOn: ReadonlySet<string>;
}

/** Busy, no answer and failed calls are retried (issue #7); anything else reached someone. */
export const DEFAULT_RETRY_ON: ReadonlySet<string> = new Set(['busy', 'no-answer', 'failed']);

/** What becomes of a request once the call of one of its attempts has ended. */
export type EndDecision =
  | { readonly status: 'pending'; readonly nextAttemptAt: Date; readonly retryInMs: number }
  | { readonly status: 'failed'; readonly error: string }
  | { readonly status: 'completed' }
  | { readonly status: 'canceled' };

/** Longest wait between two attempts, whatever the policy's growth: a week. */
export const MAX_RETRY_DELAY_MS = 7 * 24 * 3_600_000;

/** Wait before the attempt after attempt number `attempts` (1 = after the first), in ms. */
export function retryDelayMs(policy: RetryPolicy, attempts: number): number {
  const growth = (policy.backoffMultiplier ?? 2) ** Math.max(0, attempts - 1);
  return Math.min(Math.round(policy.backoffMs * growth), MAX_RETRY_DELAY_MS);
}

/**
 * A request's own policy (its campaign's, `call_requests.retry_policy`) over the dialer's
 * defaults (DIAL_*): each field it sets wins, the rest are the defaults.
 */
export function policyFor(defaults: RetryPolicy, own: RetryPolicyInput | null): RetryPolicy {
  if (own === null) return defaults;
  const backoffMultiplier = own.backoffMultiplier ?? defaults.backoffMultiplier;
  return {
    maxAttempts: own.maxAttempts ?? defaults.maxAttempts,
    backoffMs: own.backoffMs ?? defaults.backoffMs,
    ...(backoffMultiplier === undefined ? {} : { backoffMultiplier }),
    retryOn: own.retryOn ? new Set<string>(own.retryOn) : defaults.retryOn,
  };
}

/**
 * End reasons that never reached the callee: when the policy does not retry them (a campaign's
 * `retryOn` may leave some out), the request fails rather than completes.
 */
const NOT_REACHED: ReadonlySet<string> = new Set(['busy', 'no-answer', 'failed', 'rejected']);

/**
 * Decides after attempt number `attempts` ended with `reason`: another attempt after the backoff
 * while the policy allows it, `failed` once the attempts are used up or when the callee was not
 * reached and the policy does not retry that, `canceled` when someone canceled the call,
 * `completed` for any other end (the callee was reached).
 */
export function decideAfterEnd(
  reason: string,
  attempts: number,
  policy: RetryPolicy,
  now: Date,
): EndDecision {
  if (policy.retryOn.has(reason)) {
    if (attempts < policy.maxAttempts) {
      const retryInMs = retryDelayMs(policy, attempts);
      return { status: 'pending', nextAttemptAt: new Date(now.getTime() + retryInMs), retryInMs };
    }
    return {
      status: 'failed',
      error: `attempt ${attempts} of ${policy.maxAttempts} ended ${reason}; no attempts left`,
    };
  }
  if (reason === 'canceled') return { status: 'canceled' };
  if (NOT_REACHED.has(reason)) {
    return {
      status: 'failed',
      error: `attempt ${attempts} ended ${reason}; the retry policy does not retry ${reason}`,
    };
  }
  return { status: 'completed' };
}

/** Longest wait after errors that are not attempts (Twilio 429, 5xx, network), in ms. */
export const MAX_TRANSIENT_BACKOFF_MS = 5 * 60_000;

/** Wait after the `failures`-th provider error in a row (1 = first), in ms. */
export function transientDelayMs(baseMs: number, failures: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, failures - 1), MAX_TRANSIENT_BACKOFF_MS);
}
