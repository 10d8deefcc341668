/**
 * Places one claimed attempt: checks the do-not-call list again, builds the Twilio parameters,
 * waits for its rate slots, fences the claim, creates the call, publishes `created` and marks
 * the request `dialed`. What a failed create means depends on whether Twilio may have created
 * the call anyway (dial-errors.ts):
 *
 * - 429, or never sent: back to `pending` after the transient backoff, not an attempt;
 * - 5xx or a broken connection: Twilio's call list decides: a call from then is adopted,
 *   otherwise as above;
 * - timed out: left `dialing`; the reconciler looks once Twilio must have decided;
 * - any other 4xx: the request fails with Twilio's error.
 */
import type { Logger } from '@app/platform';

import type { DialerEvents } from '../adapters/call-events.js';
import type { CallRequestStore, ClaimedRequest } from '../adapters/call-request-store.js';
import type { DialDirectory } from '../adapters/dial-directory.js';
import type { TwilioDialer } from '../adapters/twilio-dialer.js';
import { transientDelayMs } from '../domain/attempts.js';
import {
  createCallParams,
  PlacementError,
  type PlacementConfig,
} from '../domain/call-placement.js';
import {
  classifyDialError,
  describeDialError,
  dialErrorFields,
  type DialError,
} from '../domain/dial-errors.js';
import type { CallRateLimiter } from '../domain/rate-limiter.js';

/** How far before a claim's stamp a Twilio call may be dated and still be its (clock skew, and
 * Twilio's dates have whole seconds). */
const FIND_MARGIN_MS = 2_000;

export interface AttemptDeps {
  store: CallRequestStore;
  dialer: TwilioDialer;
  limiter: CallRateLimiter;
  events: DialerEvents;
  directory: DialDirectory;
  placement: PlacementConfig;
  /** Backoff after a 429/5xx/network error (doubled per error in a row) and how many fail it. */
  transient: { backoffMs: number; maxFailures: number };
  log: Logger;
}

/**
 * The call Twilio created for this attempt, if any: a call between the two numbers dated from
 * the claim on that is this attempt's (its record carries our call id) or nobody's. Throws when
 * Twilio cannot be asked.
 */
export async function findAttemptCall(
  deps: Pick<AttemptDeps, 'store' | 'dialer'>,
  claim: ClaimedRequest,
): Promise<string | null> {
  const since = new Date(claim.since.getTime() - FIND_MARGIN_MS);
  const sids = await deps.dialer.findCreated(claim.to, claim.from, since);
  const owners = await deps.store.ownersOf(sids);
  const ours = sids.find((sid) => owners.get(sid) === claim.callId);
  return ours ?? sids.find((sid) => !owners.has(sid)) ?? null;
}

/** Records a call Twilio created for the attempt: `created` first (the gateway needs it), then `dialed`. */
export async function recordCreated(
  deps: Pick<AttemptDeps, 'store' | 'events' | 'directory'>,
  claim: ClaimedRequest,
  providerCallSid: string,
): Promise<void> {
  const refs = await deps.directory.campaignRefs(claim.campaignId, claim.contactId);
  await deps.events.created({
    callId: claim.callId,
    transport: claim.transport,
    from: claim.from,
    to: claim.to,
    agentId: claim.agentId ?? 'unknown',
    providerCallSid,
    ...refs,
    ...(Object.keys(claim.variables).length > 0 ? { variables: claim.variables } : {}),
  });
  await deps.store.markDialed(claim, providerCallSid);
}

/** Back to `pending` after a provider error that was not an attempt, or failed after too many. */
async function retryLater(deps: AttemptDeps, claim: ClaimedRequest, error: DialError, log: Logger) {
  const failures = claim.transientFailures + 1;
  const description = describeDialError(error);
  if (failures >= deps.transient.maxFailures) {
    await deps.store.finish(claim, {
      status: 'failed',
      error: `${failures} provider errors in a row; last: ${description}`,
    });
    log.error(
      { ...dialErrorFields(error), failures },
      'call request failed: provider keeps failing',
    );
    return;
  }
  const retryInMs = transientDelayMs(deps.transient.backoffMs, failures);
  await deps.store.release(claim, {
    at: new Date(Date.now() + retryInMs),
    transientFailures: failures,
    error: description,
  });
  log.warn(
    { ...dialErrorFields(error), failures, retryInMs },
    'twilio refused the call for now; retrying later',
  );
}

async function handleCreateError(
  deps: AttemptDeps,
  claim: ClaimedRequest,
  err: unknown,
  log: Logger,
) {
  const error = classifyDialError(err);
  switch (error.kind) {
    case 'refused':
      await deps.store.finish(claim, { status: 'failed', error: describeDialError(error) });
      log.warn(dialErrorFields(error), 'twilio refused the call; request failed');
      return;
    case 'rate-limited':
    case 'not-sent':
      await retryLater(deps, claim, error, log);
      return;
    case 'timed-out':
      log.warn(
        dialErrorFields(error),
        'twilio did not answer in time; the reconciler will look for the call',
      );
      return;
    case 'unknown-outcome': {
      let sid: string | null;
      try {
        sid = await findAttemptCall(deps, claim);
      } catch (findErr) {
        log.warn(
          dialErrorFields(classifyDialError(findErr)),
          'could not list calls after a failed create; the reconciler will look',
        );
        return;
      }
      if (sid) {
        log.warn(
          { callSid: sid, ...dialErrorFields(error) },
          'create failed but twilio has the call; adopting it',
        );
        await recordCreated(deps, claim, sid);
        return;
      }
      await retryLater(deps, claim, error, log);
      return;
    }
  }
}

/**
 * Places one claimed attempt. Never throws: a failure it cannot classify (database or NATS down)
 * is logged and the request stays `dialing`, for the reconciler.
 *
 * @param signal - Aborted on shutdown: an attempt still waiting for its rate slot is given back.
 */
export async function placeAttempt(
  deps: AttemptDeps,
  claim: ClaimedRequest,
  signal: AbortSignal,
): Promise<void> {
  const log = deps.log.child({ requestId: claim.id, callId: claim.callId, attempt: claim.attempt });
  try {
    if (await deps.directory.onDoNotCallList(claim.to)) {
      const issue = { field: 'to', code: 'do_not_call', message: 'to is on the do-not-call list' };
      await deps.store.finish(claim, {
        status: 'rejected',
        error: `to: ${issue.message}`,
        issues: [issue],
      });
      log.warn({}, 'call request rejected at dial time: do-not-call');
      return;
    }
    if (!claim.agentId) {
      await deps.store.finish(claim, { status: 'failed', error: 'the agent was deleted' });
      log.warn({}, 'call request failed: its agent was deleted');
      return;
    }
    let params;
    try {
      const amdMode = await deps.directory.amdMode(claim.agentId);
      params = createCallParams({ ...claim, agentId: claim.agentId, amdMode }, deps.placement);
    } catch (err) {
      if (!(err instanceof PlacementError)) throw err;
      await deps.store.finish(claim, { status: 'failed', error: err.message });
      log.error({ err }, 'call request cannot be placed');
      return;
    }
    try {
      await deps.limiter.acquire(claim.from, signal);
    } catch (err) {
      if (!signal.aborted) throw err;
      await deps.store.release(claim, {
        at: new Date(),
        transientFailures: claim.transientFailures,
        error: null,
      });
      return;
    }
    // A call Twilio made for this attempt is dated from about now (see findAttemptCall).
    const fencedAt = new Date();
    if (!(await deps.store.fence(claim))) {
      log.warn({}, 'claim taken over before dialing; not dialing');
      return;
    }
    let sid: string;
    try {
      sid = (await deps.dialer.create(params)).sid;
    } catch (err) {
      await handleCreateError(deps, { ...claim, since: fencedAt }, err, log);
      return;
    }
    log.info({ callSid: sid, transport: claim.transport }, 'outbound call placed');
    await recordCreated(deps, claim, sid);
  } catch (err) {
    log.error({ err }, 'call attempt interrupted; the reconciler will settle it');
  }
}
