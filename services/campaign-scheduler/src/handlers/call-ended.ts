/**
 * The dialer's view of call ends: the durable consumer `campaign-scheduler-on-call-ended` on
 * CALLS, filtered to `calls.*.ended`. For a call that is an attempt of one of our requests, the
 * end decides the request (attempts.ts): busy, no-answer and failed calls are retried after the
 * backoff until the attempts run out; a completed call completes it. Either way the call is no
 * longer live, which frees a place under DIAL_MAX_CONCURRENT. Ends of other calls (inbound) and
 * redelivered ends change nothing.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

import {
  consumeMessages,
  doublingRetryDelay,
  ensureDurableConsumer,
  type Names,
  type RunningConsumer,
} from '@app/contracts';
import type { Logger } from '@app/platform';

import type { CallRequestStore } from '../adapters/call-request-store.js';
import type { RetryPolicy } from '../domain/attempts.js';
import type { DialerMetrics } from '../metrics.js';

/** Creates the durable consumer if missing (idempotent; safe from several replicas). */
export async function ensureCallEndedConsumer(nc: NatsConnection, names: Names): Promise<void> {
  await ensureDurableConsumer(nc, {
    stream: names.streams.calls.name,
    durable: names.consumers.schedulerOnCallEnded,
    filterSubject: names.subjects.callEventsOfType('ended'),
  });
}

export interface CallEndedDeps {
  nc: NatsConnection;
  names: Names;
  store: CallRequestStore;
  /** The DIAL_* defaults; a request's own policy (its campaign's) overrides them. */
  policy: RetryPolicy;
  log: Logger;
  metrics?: DialerMetrics;
  /** Called after an end was applied to a request (capacity freed, maybe a retry due). */
  onApplied?: () => void;
  /** Redelivery delay after a database failure. @defaultValue 1 s doubling to 30 s */
  retryDelayMs?: (deliveryCount: number) => number;
}

export async function startCallEndedConsumer(deps: CallEndedDeps): Promise<RunningConsumer> {
  await ensureCallEndedConsumer(deps.nc, deps.names);
  return consumeMessages({
    js: jetstream(deps.nc),
    names: deps.names,
    stream: deps.names.streams.calls.name,
    consumer: deps.names.consumers.schedulerOnCallEnded,
    kinds: 'call-event',
    logger: deps.log,
    retryDelayMs: deps.retryDelayMs ?? doublingRetryDelay(30_000),
    handler: async (event) => {
      if (event.type !== 'call.ended') return;
      const applied = await deps.store.applyEnd(event.callId, event.data.reason, deps.policy);
      if (!applied) return;
      const { decision } = applied;
      deps.metrics?.callEnds.inc({
        reason: event.data.reason,
        decision: decision.status === 'pending' ? 'retry' : decision.status,
      });
      deps.log.info(
        {
          callId: event.callId,
          requestId: applied.requestId,
          attempt: applied.attempt,
          reason: event.data.reason,
          status: decision.status,
          ...(decision.status === 'pending' ? { retryInMs: decision.retryInMs } : {}),
        },
        decision.status === 'pending'
          ? 'call attempt ended; retry scheduled'
          : 'call request finished',
      );
      deps.onApplied?.();
    },
  });
}
