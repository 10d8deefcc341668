/**
 * Takes call requests off the CALL_REQUESTS work queue (durable pull consumer
 * `campaign-scheduler-call-requests`, explicit ack) and records each in `call_requests`:
 *
 * - a message that is not JSON or fails the `call-request` schema: logged with its subject and
 *   terminated (by `consumeMessages`); it would fail the same way on every redelivery;
 * - a request `validateCallRequest` refuses (bad number, unknown agent or campaign, do-not-call,
 *   `consent_missing` for its campaign's purpose, an empty pool): recorded `rejected` with
 *   every issue, so the requester can see why, then acked;
 * - a valid request: recorded `pending` (at its schedule time), with its pool and its
 *   campaign's retry policy, unless its idempotency key is known already, then acked. The dial
 *   loop takes it from there.
 *
 * Only a failing database makes the handler throw: the message is NAKed and comes back later.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

import {
  consumeMessages,
  doublingRetryDelay,
  ensureDurableConsumer,
  type CallRequest,
  type Names,
  type RunningConsumer,
} from '@app/contracts';
import { validateCallRequest, type DialingDirectory } from '@app/dialing';
import type { Logger } from '@app/platform';

import type { CallRequestStore } from '../adapters/call-request-store.js';
import type { DialerMetrics } from '../metrics.js';

/** Creates the durable consumer if missing (idempotent; safe from several replicas). */
export async function ensureCallRequestConsumer(nc: NatsConnection, names: Names): Promise<void> {
  await ensureDurableConsumer(nc, {
    stream: names.streams.callRequests.name,
    durable: names.consumers.callRequests,
    filterSubject: names.subjects.allCallRequests,
  });
}

export interface IntakeDeps {
  nc: NatsConnection;
  names: Names;
  store: CallRequestStore;
  directory: DialingDirectory;
  log: Logger;
  metrics?: DialerMetrics;
  /** Called after a new pending request is recorded (wakes the dial loop). */
  onAccepted?: () => void;
  /** Redelivery delay after a database failure, by delivery count. @defaultValue 1 s doubling to 30 s */
  retryDelayMs?: (deliveryCount: number) => number;
}

/** Validates and records one request. Exported for tests. */
export async function takeCallRequest(
  deps: Pick<IntakeDeps, 'store' | 'directory' | 'log' | 'onAccepted' | 'metrics'>,
  message: CallRequest,
  origin: string,
): Promise<'accepted' | 'rejected' | 'duplicate'> {
  const d = message.data;
  const result = await validateCallRequest(
    {
      to: d.to,
      agentId: d.agentId,
      idempotencyKey: d.idempotencyKey,
      ...(d.from === undefined ? {} : { from: d.from }),
      ...(d.fromPool === undefined ? {} : { fromPool: d.fromPool }),
      ...(d.variables === undefined ? {} : { variables: d.variables }),
      ...(d.scheduledAt === undefined ? {} : { scheduledAt: d.scheduledAt }),
      ...(d.metadata === undefined ? {} : { metadata: d.metadata as Record<string, unknown> }),
      ...(d.campaignId === undefined ? {} : { campaignId: d.campaignId }),
      ...(d.contactId === undefined ? {} : { contactId: d.contactId }),
    },
    deps.directory,
  );
  const where = { requestId: message.id, origin, pii: { to: d.to } };
  if (!result.ok) {
    // An agent id with an issue is unknown: the row's agent column references agents.
    const agentKnown = !result.issues.some((i) => i.field === 'agentId');
    const stored = await deps.store.insertRejected(
      {
        idempotencyKey: d.idempotencyKey,
        to: d.to,
        from: d.from,
        agentId: agentKnown ? d.agentId : null,
        metadata: d.metadata as Record<string, unknown> | undefined,
        campaignId: d.campaignId,
        contactId: d.contactId,
      },
      origin,
      result.issues,
    );
    deps.log.warn(
      { ...where, issues: result.issues.map((i) => `${i.field}:${i.code}`), stored },
      'call request rejected',
    );
    const outcome = stored === 'inserted' ? 'rejected' : 'duplicate';
    deps.metrics?.requests.inc({ result: outcome });
    if (outcome === 'rejected') {
      for (const code of new Set(result.issues.map((i) => i.code))) {
        deps.metrics?.rejections.inc({ code });
      }
    }
    return outcome;
  }
  const stored = await deps.store.insertPending(result.request, origin);
  deps.metrics?.requests.inc({ result: stored === 'duplicate' ? 'duplicate' : 'accepted' });
  if (stored === 'duplicate') {
    deps.log.info(where, 'call request with a known idempotency key ignored');
    return 'duplicate';
  }
  deps.log.info(
    { ...where, scheduledAt: result.request.scheduledAt.toISOString() },
    'call request accepted',
  );
  deps.onAccepted?.();
  return 'accepted';
}

/** Starts consuming CALL_REQUESTS; stop it with the returned handle. */
export async function startCallRequestIntake(deps: IntakeDeps): Promise<RunningConsumer> {
  await ensureCallRequestConsumer(deps.nc, deps.names);
  return consumeMessages({
    js: jetstream(deps.nc),
    names: deps.names,
    stream: deps.names.streams.callRequests.name,
    consumer: deps.names.consumers.callRequests,
    kinds: 'call-request',
    logger: deps.log,
    retryDelayMs: deps.retryDelayMs ?? doublingRetryDelay(30_000),
    handler: async (message, meta) => {
      const parsed = deps.names.subjects.parse(meta.subject);
      const origin = parsed?.kind === 'call-request' ? parsed.origin : 'unknown';
      await takeCallRequest(deps, message, origin);
    },
  });
}
