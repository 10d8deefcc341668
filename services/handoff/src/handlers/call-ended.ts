/**
 * Handoffs of calls that ended: the durable consumer `handoff-on-call-ended` on CALLS, filtered
 * to `calls.*.ended`. A handoff that reached its human is `completed` (the human stays `busy`
 * until they set themselves available again: wrap-up time is theirs); one still ringing or
 * queued is `abandoned`, its human given back, and both are told.
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

import type { HandoffEvents } from '../adapters/handoff-events.js';
import type { HandoffStore } from '../adapters/handoff-store.js';
import type { HumanAgentStore } from '../adapters/human-agent-store.js';
import type { Notifier } from '../adapters/notifier.js';

export interface CallEndedDeps {
  nc: NatsConnection;
  names: Names;
  handoffs: HandoffStore;
  humans: HumanAgentStore;
  events: HandoffEvents;
  notify: Notifier;
  log: Logger;
}

export async function startCallEndedConsumer(deps: CallEndedDeps): Promise<RunningConsumer> {
  const { nc, names, handoffs, humans, events, notify, log } = deps;
  await ensureDurableConsumer(nc, {
    stream: names.streams.calls.name,
    durable: names.consumers.handoffOnCallEnded,
    filterSubject: names.subjects.callEventsOfType('ended'),
  });
  return consumeMessages({
    js: jetstream(nc),
    names,
    stream: names.streams.calls.name,
    consumer: names.consumers.handoffOnCallEnded,
    kinds: 'call-event',
    logger: log,
    retryDelayMs: doublingRetryDelay(30_000),
    handler: async (event) => {
      if (event.type !== 'call.ended') return;
      const callId = event.callId;
      for (const h of await handoffs.openFor(callId)) {
        const status = h.status === 'connected' ? 'completed' : 'abandoned';
        if (!(await handoffs.update(h.id, { status }))) continue;
        await events.updated(callId, {
          handoffId: h.id,
          status,
          ...(h.humanAgentId ? { humanAgentId: h.humanAgentId } : {}),
          ...(status === 'abandoned' ? { reason: `call ended: ${event.data.reason}` } : {}),
        });
        if (h.humanAgentId === null) continue;
        if (status === 'abandoned') await humans.release(h.humanAgentId);
        await notify({
          humanAgentId: h.humanAgentId,
          callId,
          handoffId: h.id,
          kind: status === 'completed' ? 'handoff-completed' : 'handoff-canceled',
        });
      }
    },
  });
}
