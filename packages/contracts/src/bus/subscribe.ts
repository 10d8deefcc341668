/**
 * Core NATS subscriptions with validation (pub/sub such as `human-agents.<agentId>.notify`):
 * nothing is stored, so an invalid message is logged with its subject and reason and dropped,
 * and a failing handler is logged; neither ends the subscription.
 */
import { type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { context } from '@opentelemetry/api';

import { decodeMessage, type SubjectMessages } from '../registry.js';
import { type Names, type SubjectKind } from '../subjects.js';
import { type BusLogger } from './logger.js';
import { extractTraceContext } from './trace.js';

export interface SubscribeOptions<K extends SubjectKind> {
  readonly nc: NatsConnection;
  readonly names: Names;
  /** Subject or wildcard to subscribe to, from `names.subjects`. */
  readonly subject: string;
  /** Subject kinds accepted; a message of another kind is dropped. */
  readonly kinds: K | readonly K[];
  /** Queue group: each message goes to one member. @defaultValue none (every subscriber gets it) */
  readonly queue?: string;
  readonly logger: BusLogger;
  readonly handler: (
    message: SubjectMessages[K],
    meta: { readonly subject: string },
  ) => void | Promise<void>;
}

/** Subscribes with validation; close it with `subscription.unsubscribe()` or `nc.drain()`. */
export function subscribeMessages<K extends SubjectKind>(
  options: SubscribeOptions<K>,
): Subscription {
  const { nc, names, logger, handler } = options;
  return nc.subscribe(options.subject, {
    ...(options.queue === undefined ? {} : { queue: options.queue }),
    callback: (err, msg) => {
      if (err) {
        logger.error({ subject: options.subject, err }, 'subscription failed');
        return;
      }
      const decoded = decodeMessage(names, msg.subject, msg.data, options.kinds);
      if (!decoded.ok) {
        logger.warn({ subject: msg.subject, reason: decoded.reason }, 'invalid message dropped');
        return;
      }
      const fail = (cause: unknown) =>
        logger.error(
          { subject: msg.subject, callId: decoded.message.callId, err: cause },
          'message handler failed',
        );
      try {
        const ctx = extractTraceContext(msg.headers);
        void Promise.resolve(
          context.with(ctx, () => handler(decoded.message, { subject: msg.subject })),
        ).catch(fail);
      } catch (cause) {
        fail(cause);
      }
    },
  });
}
