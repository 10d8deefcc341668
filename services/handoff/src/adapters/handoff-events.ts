/**
 * The handoff's call events on JetStream: `handoff-requested` once per handoff (whatever
 * asked: the tool, a key press, a rule) and `handoff-updated` for each step. Ids derive from
 * the handoff and its status, so a step published twice is stored once.
 */
import type { JetStreamClient } from '@nats-io/jetstream';

import {
  callEvent,
  publishEvent,
  uuidV5,
  type CallEvent,
  type CallEventDataInput,
  type Names,
} from '@app/contracts';

/** UUID namespace of handoff event ids (uuidV5 of `handoff:<id>:<step>`). */
const HANDOFF_EVENT_NAMESPACE = '6f1c1f5e-3a52-4c1e-9d55-0b6f2f0e8a41';
const eventId = (handoffId: string, step: string) =>
  uuidV5(`handoff:${handoffId}:${step}`, HANDOFF_EVENT_NAMESPACE);

export interface HandoffEvents {
  requested(callId: string, data: CallEventDataInput<'handoff-requested'>): Promise<void>;
  updated(callId: string, data: CallEventDataInput<'handoff-updated'>): Promise<void>;
}

export function handoffEvents(js: JetStreamClient, names: Names): HandoffEvents {
  return {
    requested: async (callId, data) => {
      const id = data.handoffId ? eventId(data.handoffId, 'requested') : undefined;
      const event = callEvent('handoff-requested', callId, data, id ? { id } : {});
      await publishEvent(js, names, event as CallEvent);
    },
    updated: async (callId, data) => {
      const event = callEvent('handoff-updated', callId, data, {
        id: eventId(data.handoffId, data.status),
      });
      await publishEvent(js, names, event as CallEvent);
    },
  };
}
