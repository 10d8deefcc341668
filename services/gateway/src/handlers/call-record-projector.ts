/**
 * The call-record projector (ARCHITECTURE.md "Events and records"): the durable JetStream
 * consumer `gateway-call-records` on CALLS, writing every call event into PostgreSQL through
 * the CallRecordStore. Events are applied one at a time in stream order (max_ack_pending 1), so
 * a call's `ended` never overtakes its `answered`. When PostgreSQL is down the handler fails,
 * the message is NAKed with backoff and everything behind it waits in JetStream: nothing is
 * lost, and projection resumes where it stopped once the database is back.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

import {
  consumeMessages,
  doublingRetryDelay,
  ensureDurableConsumer,
  type BusLogger,
  type Names,
  type RunningConsumer,
} from '@app/contracts';

import type { CallRecordStore } from '../adapters/call-record-store.js';

/** Creates the durable consumer if missing (idempotent; safe from several gateway replicas). */
export async function ensureCallRecordConsumer(nc: NatsConnection, names: Names): Promise<void> {
  await ensureDurableConsumer(nc, {
    stream: names.streams.calls.name,
    durable: names.consumers.callRecords,
    filterSubject: names.subjects.allCallEvents,
    // One event in flight keeps per-call order across retries.
    maxAckPending: 1,
  });
}

export async function startCallRecordProjector(deps: {
  nc: NatsConnection;
  names: Names;
  store: CallRecordStore;
  log: BusLogger;
  /** Redelivery delay after a failed write, by delivery count. @defaultValue 1 s doubling to 30 s */
  retryDelayMs?: (deliveryCount: number) => number;
}): Promise<RunningConsumer> {
  await ensureCallRecordConsumer(deps.nc, deps.names);
  return consumeMessages({
    js: jetstream(deps.nc),
    names: deps.names,
    stream: deps.names.streams.calls.name,
    consumer: deps.names.consumers.callRecords,
    kinds: 'call-event',
    logger: deps.log,
    retryDelayMs: deps.retryDelayMs ?? doublingRetryDelay(30_000),
    handler: async (event) => {
      await deps.store.apply(event);
    },
  });
}
