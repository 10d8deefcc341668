/**
 * The dialer's call events on JetStream `calls.<callId>.<event>`: `created` right after Twilio
 * accepted an attempt (so the gateway's status callbacks find the call), and `ended` for a call
 * whose end never arrived but Twilio reports over. Their ids derive from the call id, so
 * publishing one again (after a crash, by another replica) is dropped by JetStream and by the
 * call-record projector.
 */
import type { JetStreamClient } from '@nats-io/jetstream';

import {
  callEvent,
  publishEvent,
  type CallEndReason,
  type CallEvent,
  type Names,
} from '@app/contracts';

import { attemptEventId } from '../domain/attempts.js';
import type { Transport } from '../domain/call-placement.js';

export interface CreatedCall {
  callId: string;
  transport: Transport;
  from: string;
  to: string;
  agentId: string;
  providerCallSid: string;
  campaignId?: string;
  contactId?: string;
  /** Values for the agent's instructions; the bridge fills `{{name}}` with them. */
  variables?: Record<string, string>;
}

export interface DialerEvents {
  created(call: CreatedCall): Promise<void>;
  ended(callId: string, reason: CallEndReason): Promise<void>;
}

export function dialerEvents(js: JetStreamClient, names: Names): DialerEvents {
  return {
    created: async ({ callId, ...data }) => {
      const event = callEvent(
        'created',
        callId,
        { direction: 'outbound', ...data },
        { id: attemptEventId(callId, 'created') },
      );
      await publishEvent(js, names, event as CallEvent);
    },
    ended: async (callId, reason) => {
      const event = callEvent('ended', callId, { reason }, { id: attemptEventId(callId, 'ended') });
      await publishEvent(js, names, event as CallEvent);
    },
  };
}
