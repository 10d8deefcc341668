/**
 * How an incoming SIP call is offered to the call-bridges (ARCHITECTURE.md "SIP"): the bridges
 * serve `call-bridge.sip-offer` in one queue group, so each request reaches one pod picked by
 * NATS. A pod that is full or draining says so, and the next request may reach another: the
 * offer is repeated after a short pause until one accepts or the deadline passes. No I/O here:
 * the request, the clock and the pause are passed in.
 */

/** What one offer attempt came back with, the transport's failures included. */
export type OfferAttempt =
  | { status: 'accepted'; pod: string }
  | { status: 'rejected'; reason: string }
  /** No bridge subscribes at all (NATS no-responders): retrying cannot help. */
  | { status: 'no-responders' }
  /** No reply within the attempt's timeout. */
  | { status: 'timeout' };

/** Reply reasons that mean "not this pod, maybe another": the offer is repeated. */
export const RETRYABLE_REJECTIONS: readonly string[] = ['at-capacity', 'draining'];

/**
 * The bridge's `already-owned`: a pod holds this call already (an earlier offer of it was taken).
 * The call is in hand: nothing must be rejected or ended for it.
 */
export const ALREADY_OWNED = 'already-owned';

/**
 * Why no bridge took the call although nothing failed: the caller hears busy.
 * - `no-bridge`: no bridge is running (no responders).
 * - `at-capacity` / `draining`: the last pod that answered was full or draining when the
 *   deadline passed (later attempts may have had no answer in the time left).
 * - `timeout`: no pod answered before the deadline.
 */
export type BusyReason = 'no-bridge' | 'at-capacity' | 'draining' | 'timeout';

export type OfferOutcome =
  | { outcome: 'accepted'; pod: string; attempts: number }
  | { outcome: 'busy'; reason: BusyReason; attempts: number }
  /** A bridge took the offer and failed it (e.g. `accept-failed`): it already tried. */
  | { outcome: 'failed'; reason: string; attempts: number };

export interface OfferPolicy {
  /** Sends one offer, waiting at most `timeoutMs` for the reply. Must not throw. */
  request(timeoutMs: number): Promise<OfferAttempt>;
  /** From the first attempt to the last moment an attempt may end, in ms. */
  deadlineMs: number;
  /** Pause before repeating an offer a pod turned down, in ms. @defaultValue 100 */
  retryPauseMs?: number;
  /** @defaultValue Date.now */
  now?: () => number;
  /** @defaultValue setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Offers the call until a bridge accepts, one fails it, no bridge exists or the deadline
 * passes. Each attempt may wait for the whole remaining time: a bridge that is slow to answer
 * may be accepting the call at OpenAI, and offering it to a second pod meanwhile could make two
 * pods accept it.
 */
export async function offerSipCall(policy: OfferPolicy): Promise<OfferOutcome> {
  if (!Number.isFinite(policy.deadlineMs) || policy.deadlineMs <= 0) {
    throw new RangeError(`deadlineMs must be a positive number of ms, got ${policy.deadlineMs}`);
  }
  const now = policy.now ?? Date.now;
  const sleep = policy.sleep ?? defaultSleep;
  const pauseMs = policy.retryPauseMs ?? 100;
  const deadline = now() + policy.deadlineMs;
  let attempts = 0;
  let last: BusyReason = 'timeout';
  for (;;) {
    const remaining = deadline - now();
    if (remaining <= 0) return { outcome: 'busy', reason: last, attempts };
    attempts += 1;
    const reply = await policy.request(remaining);
    switch (reply.status) {
      case 'accepted':
        return { outcome: 'accepted', pod: reply.pod, attempts };
      case 'no-responders':
        return { outcome: 'busy', reason: 'no-bridge', attempts };
      case 'timeout':
        // Says nothing new once a pod answered full or draining: the last attempt only gets the
        // time left, and a loaded pod may answer it late. That answer stays the reason.
        continue;
      case 'rejected':
        if (reply.reason === ALREADY_OWNED) {
          return { outcome: 'accepted', pod: '(an earlier offer)', attempts };
        }
        if (!RETRYABLE_REJECTIONS.includes(reply.reason)) {
          return { outcome: 'failed', reason: reply.reason, attempts };
        }
        last = reply.reason as BusyReason;
        // A pause (never past the deadline), then NATS may pick another pod.
        if (deadline - now() > 0) await sleep(Math.min(pauseMs, deadline - now()));
    }
  }
}
