/**
 * Places one claimed attempt: checks the do-not-call list again, picks the caller id of a pool
 * request (the pool's number whose rate slot frees up first), builds the Twilio parameters,
 * waits for its rate slots, fences the claim (with the caller id), creates the call, publishes
 * `created` and marks the request `dialed`. What a failed create means depends on whether Twilio may have created
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
  type CreateCallParams,
  type PlacementConfig,
  type Transport,
} from '../domain/call-placement.js';
import {
  classifyDialError,
  describeDialError,
  dialErrorFields,
  type DialError,
} from '../domain/dial-errors.js';
import type { CallRateLimiter } from '../domain/rate-limiter.js';
import type { AttemptOutcome, DialerMetrics } from '../metrics.js';

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
  /** @defaultValue none recorded */
  metrics?: DialerMetrics;
}

/** Counts an attempt's outcome, when metrics are kept. */
export function countAttempt(deps: Pick<AttemptDeps, 'metrics'>, outcome: AttemptOutcome): void {
  deps.metrics?.attempts.inc({ outcome });
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
  // A pool request's first attempt records its caller id at the fence, before the create:
  // no caller id, no call.
  if (claim.from === '') return null;
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
    countAttempt(deps, 'failed');
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
  countAttempt(deps, 'retry_later');
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
  deps.metrics?.providerErrors.inc({ kind: error.kind });
  switch (error.kind) {
    case 'refused':
      countAttempt(deps, 'failed');
      await deps.store.finish(claim, { status: 'failed', error: describeDialError(error) });
      log.warn(dialErrorFields(error), 'twilio refused the call; request failed');
      return;
    case 'rate-limited':
    case 'not-sent':
      await retryLater(deps, claim, error, log);
      return;
    case 'timed-out':
      countAttempt(deps, 'unknown');
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
        countAttempt(deps, 'unknown');
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
        countAttempt(deps, 'adopted');
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
      countAttempt(deps, 'rejected');
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
      countAttempt(deps, 'failed');
      await deps.store.finish(claim, { status: 'failed', error: 'the agent was deleted' });
      log.warn({}, 'call request failed: its agent was deleted');
      return;
    }
    const numbers = claim.fromPool
      ? await deps.directory.poolNumbers(claim.fromPool)
      : [{ e164: claim.from, transport: claim.transport }];
    const amdMode = await deps.directory.amdMode(claim.agentId);
    // The parameters for each number it may call from, before waiting for a rate slot: a number
    // this configuration cannot place (a SIP number without OPENAI_SIP_URI) takes no slot.
    const agentId = claim.agentId;
    const placeable = new Map<string, { params: CreateCallParams; transport: Transport }>();
    let placementError: PlacementError | undefined;
    for (const n of numbers) {
      try {
        const params = createCallParams(
          { ...claim, from: n.e164, transport: n.transport, agentId, amdMode },
          deps.placement,
        );
        placeable.set(n.e164, { params, transport: n.transport });
      } catch (err) {
        if (!(err instanceof PlacementError)) throw err;
        placementError = err;
      }
    }
    if (placeable.size === 0) {
      const error = placementError
        ? placementError.message
        : `the number pool "${claim.fromPool ?? ''}" has no phone numbers left`;
      countAttempt(deps, 'failed');
      await deps.store.finish(claim, { status: 'failed', error });
      log.error({ pool: claim.fromPool ?? undefined, error }, 'call request cannot be placed');
      return;
    }
    let from = claim.from;
    try {
      // A pool's caller id is the number free soonest; a plain request waits for its own.
      if (claim.fromPool) {
        from = await deps.limiter.acquireAny([...placeable.keys()], signal);
      } else {
        await deps.limiter.acquire(claim.from, signal);
      }
    } catch (err) {
      if (!signal.aborted) throw err;
      countAttempt(deps, 'released');
      await deps.store.release(claim, {
        at: new Date(),
        transientFailures: claim.transientFailures,
        error: null,
      });
      return;
    }
    const chosen = placeable.get(from);
    if (!chosen) throw new Error('placeAttempt: the rate limiter picked a number not offered');
    const { params, transport } = chosen;
    const attempt: ClaimedRequest = { ...claim, from, transport };
    // A call Twilio made for this attempt is dated from about now (see findAttemptCall).
    const fencedAt = new Date();
    if (!(await deps.store.fence(claim, attempt))) {
      log.warn({}, 'claim taken over before dialing; not dialing');
      return;
    }
    let sid: string;
    const started = performance.now();
    try {
      sid = (await deps.dialer.create(params)).sid;
    } catch (err) {
      deps.metrics?.dialLatency.observe({ result: 'error' }, (performance.now() - started) / 1e3);
      await handleCreateError(deps, { ...attempt, since: fencedAt }, err, log);
      return;
    }
    deps.metrics?.dialLatency.observe({ result: 'ok' }, (performance.now() - started) / 1e3);
    countAttempt(deps, 'placed');
    log.info(
      { callSid: sid, transport, pool: claim.fromPool ?? undefined },
      'outbound call placed',
    );
    await recordCreated(deps, attempt, sid);
  } catch (err) {
    log.error({ err }, 'call attempt interrupted; the reconciler will settle it');
  }
}
