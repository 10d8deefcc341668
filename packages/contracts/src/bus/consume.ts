/**
 * Consuming a durable JetStream consumer with validation. Per message:
 *
 * - not JSON, failing its subject's schema, or of an unexpected kind: logged (`warn`, with subject
 *   and reason, never the payload) and terminated, since it will never validate on redelivery;
 * - valid: the handler runs inside the sender's trace context; on success the message is acked;
 * - the handler throws: logged and NAKed with a delay, so the server redelivers it later; an
 *   error with `retryable === false` (platform `AppError`) is terminated instead.
 *
 * The loop never throws: a bad message or a failing handler never stops the subscriber.
 */
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  jetstreamManager,
  type JetStreamClient,
  type JsMsg,
} from '@nats-io/jetstream';
import { type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { context } from '@opentelemetry/api';

import { decodeMessage, type SubjectMessages } from '../registry.js';
import { type Names, type SubjectKind } from '../subjects.js';
import { type BusLogger } from './logger.js';
import { extractTraceContext } from './trace.js';

/** What a handler learns about the message besides its payload. */
export interface MessageMeta {
  readonly subject: string;
  /** Stream sequence. */
  readonly seq: number;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  readonly headers: MsgHdrs | undefined;
}

/** Handles one valid message; throwing asks for a redelivery. */
export type MessageHandler<K extends SubjectKind> = (
  message: SubjectMessages[K],
  meta: MessageMeta,
) => void | Promise<void>;

export interface ConsumeOptions<K extends SubjectKind> {
  readonly js: JetStreamClient;
  readonly names: Names;
  /** Stream name, e.g. `names.streams.calls.name`. */
  readonly stream: string;
  /** Durable consumer name, e.g. `names.consumers.callRecords`. It must exist. */
  readonly consumer: string;
  /** Subject kinds this consumer accepts; a message of another kind is terminated. */
  readonly kinds: K | readonly K[];
  readonly logger: BusLogger;
  readonly handler: MessageHandler<K>;
  /**
   * Delay before a failed message is redelivered, in ms, by delivery count (1 = first).
   * @defaultValue 1 s doubling per delivery, at most 60 s
   */
  readonly retryDelayMs?: number | ((deliveryCount: number) => number);
  /** Messages pulled per batch. @defaultValue 100 (the client's default) */
  readonly maxMessages?: number;
}

/** A running consumer. */
export interface RunningConsumer {
  /** Stops pulling, lets the message in hand finish, and resolves when the loop has ended. */
  stop(): Promise<void>;
  /** Resolves when the loop has ended (after {@link stop}, or if the server closed it). */
  readonly done: Promise<void>;
}

/** Redelivery delays of 1 s doubling per delivery (1 = first), at most `maxMs`. */
export function doublingRetryDelay(maxMs: number): (deliveryCount: number) => number {
  return (deliveryCount) => Math.min(1_000 * 2 ** Math.max(0, deliveryCount - 1), maxMs);
}

const defaultRetryDelayMs = doublingRetryDelay(60_000);

function isNotRetryable(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === false
  );
}

/** Decodes, validates, runs the handler and settles one message. Never throws. */
export async function handleJsMsg<K extends SubjectKind>(
  msg: JsMsg,
  options: Omit<ConsumeOptions<K>, 'js' | 'maxMessages'>,
): Promise<void> {
  const { names, logger, handler, stream, consumer } = options;
  const where = {
    subject: msg.subject,
    stream,
    consumer,
    seq: msg.seq,
    deliveryCount: msg.info.deliveryCount,
  };
  const decoded = decodeMessage(names, msg.subject, msg.data, options.kinds);
  if (!decoded.ok) {
    logger.warn({ ...where, reason: decoded.reason }, 'invalid message terminated');
    msg.term();
    return;
  }
  const callId = decoded.message.callId;
  const meta: MessageMeta = {
    subject: msg.subject,
    seq: msg.seq,
    deliveryCount: msg.info.deliveryCount,
    redelivered: msg.redelivered,
    headers: msg.headers,
  };
  try {
    await context.with(extractTraceContext(msg.headers), () => handler(decoded.message, meta));
    msg.ack();
  } catch (err) {
    if (isNotRetryable(err)) {
      logger.error({ ...where, callId, err }, 'message handler failed permanently; terminated');
      msg.term();
      return;
    }
    const delay = options.retryDelayMs ?? defaultRetryDelayMs;
    const retryInMs = typeof delay === 'number' ? delay : delay(meta.deliveryCount);
    logger.error({ ...where, callId, err, retryInMs }, 'message handler failed; will retry');
    msg.nak(retryInMs);
  }
}

/**
 * Consumes the durable consumer `options.consumer` of `options.stream` one message at a time
 * (so per-call ordering holds), until {@link RunningConsumer.stop}.
 */
export async function consumeMessages<K extends SubjectKind>(
  options: ConsumeOptions<K>,
): Promise<RunningConsumer> {
  const { js, logger } = options;
  const consumer = await js.consumers.get(options.stream, options.consumer);
  const messages = await consumer.consume(
    options.maxMessages === undefined ? {} : { max_messages: options.maxMessages },
  );
  const done = (async () => {
    try {
      for await (const msg of messages) await handleJsMsg(msg, options);
    } catch (err) {
      logger.error(
        { stream: options.stream, consumer: options.consumer, err },
        'consumer stopped on error',
      );
    }
  })();
  return {
    done,
    async stop() {
      await messages.close();
      await done;
    },
  };
}

/** What a durable consumer is created with (explicit acks, from the stream's start). */
export interface DurableConsumerSpec {
  readonly stream: string;
  readonly durable: string;
  readonly filterSubject: string;
  /** Messages in flight at once; 1 keeps stream order across retries. @defaultValue server's */
  readonly maxAckPending?: number;
  /** How long a message may be held before redelivery, in ms. @defaultValue 30 000 */
  readonly ackWaitMs?: number;
}

/**
 * Creates durable consumer `spec.durable` if it is missing. Idempotent, and safe from several
 * replicas at once: an existing consumer is left as it is (its position is the point of it).
 */
export async function ensureDurableConsumer(
  nc: NatsConnection,
  spec: DurableConsumerSpec,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.consumers.info(spec.stream, spec.durable);
  } catch (err) {
    if (!(err instanceof JetStreamApiError)) throw err;
    await jsm.consumers.add(spec.stream, {
      durable_name: spec.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: spec.filterSubject,
      ...(spec.maxAckPending === undefined ? {} : { max_ack_pending: spec.maxAckPending }),
      ack_wait: (spec.ackWaitMs ?? 30_000) * 1_000_000,
    });
  }
}
