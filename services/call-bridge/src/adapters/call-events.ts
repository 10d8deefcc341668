/** Publishes a session's call events to JetStream `calls.<callId>.<event>`. */
import type { JetStreamClient } from '@nats-io/jetstream';

import { callEvent, publishEvent, type Names } from '@app/contracts';

import type { SessionEvent } from '../domain/call-session.js';

export function callEventPublisher(
  js: JetStreamClient,
  names: Names,
): (callId: string, event: SessionEvent) => Promise<void> {
  return async (callId, e) => {
    await publishEvent(js, names, callEvent(e.event, callId, e.data as never));
  };
}
