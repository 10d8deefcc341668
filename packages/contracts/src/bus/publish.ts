/**
 * Publishing with validation: every message is parsed with its schema before it leaves the
 * process (a `TypeError` naming the issue otherwise), carries the sender's trace context, and
 * JetStream publishes carry `Nats-Msg-Id` = the event id, so the stream drops duplicates.
 */
import { type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { type NatsConnection } from '@nats-io/transport-node';

import { parseOrThrow } from '../envelope.js';
import { callEventTypeOf, type CallEvent } from '../messages/call-events.js';
import { type CallRequest } from '../messages/call-requests.js';
import { campaignEventTypeOf, type CampaignEvent } from '../messages/campaign-events.js';
import { type HumanAgentNotify } from '../messages/handoff.js';
import { MESSAGE_SCHEMAS, type AnyMessage, type MessageType } from '../registry.js';
import { type Names } from '../subjects.js';
import { injectTraceContext } from './trace.js';

/** Options of the JetStream publishes. */
export interface PublishOptions {
  /** How long to wait for the stream's ack, in ms. @defaultValue the JetStream client's timeout */
  readonly timeoutMs?: number;
}

/**
 * Parses `message` with the schema of its own `type`. Throws a `TypeError` naming the issue, or
 * the type, when it is unknown.
 */
export function validateMessage<M extends AnyMessage>(message: M): M {
  const type: unknown = (message as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !Object.hasOwn(MESSAGE_SCHEMAS, type)) {
    throw new TypeError(`invalid message: unknown type "${String(type)}"`);
  }
  return parseOrThrow(MESSAGE_SCHEMAS[type as MessageType], message, `${type} message`) as M;
}

/** JSON bytes of a message. */
export function encodeMessage(message: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message));
}

/** The subject an event is published on, derived from the event itself. */
export function eventSubject(names: Names, event: CallEvent | CampaignEvent): string {
  const callEvent = callEventTypeOf(event.type);
  if (callEvent && event.callId !== undefined) {
    return names.subjects.callEvent(event.callId, callEvent);
  }
  const campaignEvent = campaignEventTypeOf(event.type);
  if (campaignEvent) {
    return names.subjects.campaignEvent((event as CampaignEvent).data.campaignId, campaignEvent);
  }
  throw new TypeError(
    `"${event.type}" is not an event: publish call requests with publishCallRequest`,
  );
}

async function publishValidated(
  js: JetStreamClient,
  subject: string,
  message: AnyMessage,
  options: PublishOptions,
): Promise<PubAck> {
  const headers = injectTraceContext();
  return js.publish(subject, encodeMessage(message), {
    msgID: message.id,
    ...(headers ? { headers } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
  });
}

/**
 * Validates and publishes a call or campaign event to JetStream, on the subject derived from it
 * (`calls.<callId>.<event>`, `campaigns.<campaignId>.<event>`). The stream acks a duplicate
 * `Nats-Msg-Id` with `duplicate: true` and stores it once.
 *
 * @throws TypeError when the event fails its schema; nothing is published then.
 */
export async function publishEvent(
  js: JetStreamClient,
  names: Names,
  event: CallEvent | CampaignEvent,
  options: PublishOptions = {},
): Promise<PubAck> {
  const valid = validateMessage(event);
  return publishValidated(js, eventSubject(names, valid), valid, options);
}

/**
 * Validates and publishes an outbound call request on `call-requests.<origin>`. Its id, and so
 * its `Nats-Msg-Id`, is derived from the idempotency key by `callRequest()`, so a re-sent
 * request is dropped by the stream within its duplicate window.
 *
 * @param origin - Who asks: `api`, a service name; one subject token.
 * @throws TypeError when the request fails its schema or `origin` is not a token.
 */
export async function publishCallRequest(
  js: JetStreamClient,
  names: Names,
  origin: string,
  request: CallRequest,
  options: PublishOptions = {},
): Promise<PubAck> {
  const valid = validateMessage(request);
  return publishValidated(js, names.subjects.callRequest(origin), valid, options);
}

/**
 * Validates and publishes a notification to one human agent's dashboard on core NATS
 * (`human-agents.<agentId>.notify`; not stored, a dashboard that is not listening misses it).
 *
 * @throws TypeError when the notification fails its schema or `agentId` is not a token.
 */
export function publishHumanAgentNotify(
  nc: NatsConnection,
  names: Names,
  agentId: string,
  notify: HumanAgentNotify,
): void {
  const valid = validateMessage(notify);
  const headers = injectTraceContext();
  nc.publish(
    names.subjects.humanAgentNotify(agentId),
    encodeMessage(valid),
    headers ? { headers } : undefined,
  );
}
