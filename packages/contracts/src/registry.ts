/**
 * Which schema applies where: every message schema by envelope `type`, and by subject kind, so a
 * subscriber of `calls.>` knows to parse `calls.<id>.ended` as `call.ended`. Decoding never
 * throws: it returns the message or a reason that is safe to log (no payload values).
 */
import { type z } from 'zod';

import { buildEnvelope, formatIssues, type EnvelopeOptions } from './envelope.js';
import { callControlEndpoint, type CallControlRequest } from './messages/call-control.js';
import { callEventSchemas, type CallEvent } from './messages/call-events.js';
import { callRequestSchema, type CallRequest } from './messages/call-requests.js';
import { campaignEventSchemas, type CampaignEvent } from './messages/campaign-events.js';
import {
  handoffTransferEndpoint,
  humanAgentNotifySchema,
  type HandoffTransferRequest,
  type HumanAgentNotify,
} from './messages/handoff.js';
import { sipOfferEndpoint, type SipOfferRequest } from './messages/sip-offer.js';
import { toolExecuteEndpoint, type ToolExecuteRequest } from './messages/tool-execute.js';
import { type Names, type ParsedSubject, type SubjectKind } from './subjects.js';

/** The request/reply endpoints, keyed by name (= their subject kind). */
export const ENDPOINTS = {
  'call-control': callControlEndpoint,
  'sip-offer': sipOfferEndpoint,
  'tool-execute': toolExecuteEndpoint,
  'handoff-transfer': handoffTransferEndpoint,
} as const;
export type EndpointName = keyof typeof ENDPOINTS;
/** The request envelope of endpoint `E`. */
export type EndpointRequest<E extends EndpointName> = z.output<(typeof ENDPOINTS)[E]['request']>;
/** The reply envelope of endpoint `E`. */
export type EndpointReply<E extends EndpointName> = z.output<(typeof ENDPOINTS)[E]['reply']>;
/** The reply `data` of endpoint `E`, as a handler returns it. */
export type EndpointReplyData<E extends EndpointName> = z.input<
  (typeof ENDPOINTS)[E]['reply']
>['data'];

const bySchemaType = <S extends { shape: { type: { value: string } } }>(list: readonly S[]) =>
  Object.fromEntries(list.map((schema) => [schema.shape.type.value, schema]));

/** Every message schema of the platform, keyed by envelope `type`. */
export const MESSAGE_SCHEMAS = {
  ...(bySchemaType(Object.values(callEventSchemas)) as {
    [K in keyof typeof callEventSchemas as `call.${K}`]: (typeof callEventSchemas)[K];
  }),
  ...(bySchemaType(Object.values(campaignEventSchemas)) as {
    [K in keyof typeof campaignEventSchemas as `campaign.${K}`]: (typeof campaignEventSchemas)[K];
  }),
  'call-request': callRequestSchema,
  'call-control.request': callControlEndpoint.request,
  'call-control.reply': callControlEndpoint.reply,
  'sip-offer.request': sipOfferEndpoint.request,
  'sip-offer.reply': sipOfferEndpoint.reply,
  'tool-execute.request': toolExecuteEndpoint.request,
  'tool-execute.reply': toolExecuteEndpoint.reply,
  'handoff-transfer.request': handoffTransferEndpoint.request,
  'handoff-transfer.reply': handoffTransferEndpoint.reply,
  'human-agent.notify': humanAgentNotifySchema,
} as const;

type Schemas = typeof MESSAGE_SCHEMAS;
/** Every envelope `type` of the platform. */
export type MessageType = keyof Schemas;
/** The parsed message of envelope type `T`. */
export type MessageOf<T extends MessageType> = z.output<Schemas[T]>;
/** Any message of the platform. */
export type AnyMessage = { [T in MessageType]: MessageOf<T> }[MessageType];
type DataInput<T extends MessageType> = z.input<Schemas[T]>['data'];
type OptionsFor<T extends MessageType> =
  MessageOf<T> extends { callId: string }
    ? EnvelopeOptions & { readonly callId: string }
    : EnvelopeOptions;

/**
 * Builds a validated message of any type, e.g.
 * `makeEnvelope('call.ended', { reason: 'completed' }, { callId })`. `callId` is required by the
 * types where the schema requires it. Throws a `TypeError` naming the issue.
 */
export function makeEnvelope<T extends MessageType>(
  type: T,
  data: DataInput<T>,
  ...[options]: MessageOf<T> extends { callId: string } ? [OptionsFor<T>] : [OptionsFor<T>?]
): MessageOf<T> {
  const schema = (MESSAGE_SCHEMAS as Record<string, Schemas[MessageType]>)[type];
  if (!schema || !Object.hasOwn(MESSAGE_SCHEMAS, type)) {
    throw new TypeError(`unknown message type "${String(type)}"`);
  }
  return buildEnvelope(schema, data as never, options ?? {}) as MessageOf<T>;
}

/** The message each subject kind carries (requests, for the endpoint kinds). */
export interface SubjectMessages {
  'call-event': CallEvent;
  'call-request': CallRequest;
  'campaign-event': CampaignEvent;
  'call-control': CallControlRequest;
  'sip-offer': SipOfferRequest;
  'tool-execute': ToolExecuteRequest;
  'handoff-transfer': HandoffTransferRequest;
  'human-agent-notify': HumanAgentNotify;
}
// Compile-time check: one entry per subject kind, no more.
const _kinds: Record<SubjectKind, true> = {
  'call-event': true,
  'call-request': true,
  'campaign-event': true,
  'call-control': true,
  'sip-offer': true,
  'tool-execute': true,
  'handoff-transfer': true,
  'human-agent-notify': true,
} satisfies Record<keyof SubjectMessages, true>;

/** The schema of the message on a parsed subject, or why there is none. */
function schemaFor(parsed: ParsedSubject): z.ZodType | string {
  switch (parsed.kind) {
    case 'call-event':
      return Object.hasOwn(callEventSchemas, parsed.event)
        ? callEventSchemas[parsed.event as keyof typeof callEventSchemas]
        : `unknown call event type "${parsed.event}"`;
    case 'campaign-event':
      return Object.hasOwn(campaignEventSchemas, parsed.event)
        ? campaignEventSchemas[parsed.event as keyof typeof campaignEventSchemas]
        : `unknown campaign event type "${parsed.event}"`;
    case 'call-request':
      return callRequestSchema;
    case 'human-agent-notify':
      return humanAgentNotifySchema;
    default:
      return ENDPOINTS[parsed.kind].request;
  }
}

/**
 * The schema of the message published on `subject`, or `null` when the subject is not one of
 * this namespace's or names an unknown event type.
 */
export function schemaForSubject(
  names: Names,
  subject: string,
): { kind: SubjectKind; schema: z.ZodType } | null {
  const parsed = names.subjects.parse(subject);
  if (!parsed) return null;
  const schema = schemaFor(parsed);
  return typeof schema === 'string' ? null : { kind: parsed.kind, schema };
}

/** The outcome of {@link decodeMessage}: the message, or a reason that is safe to log. */
export type DecodeResult<K extends SubjectKind = SubjectKind> =
  | { readonly ok: true; readonly kind: K; readonly message: SubjectMessages[K] }
  | { readonly ok: false; readonly reason: string };

/** Ids in the subject that must equal the message's own. */
function checkSubjectIds(parsed: ParsedSubject, message: SubjectMessages[SubjectKind]) {
  if ((parsed.kind === 'call-event' || parsed.kind === 'call-control') && 'callId' in message) {
    if (message.callId !== parsed.callId) {
      return `subject call id "${parsed.callId}" differs from message callId "${String(message.callId)}"`;
    }
  }
  if (parsed.kind === 'campaign-event') {
    const { campaignId } = (message as CampaignEvent).data;
    if (campaignId !== parsed.campaignId) {
      return `subject campaign id "${parsed.campaignId}" differs from data.campaignId "${campaignId}"`;
    }
  }
  return null;
}

/**
 * Decodes and validates the payload received on `subject`: JSON, then the schema the subject
 * calls for, then the ids the subject repeats. With `expect`, a subject of another kind fails.
 */
export function decodeMessage<K extends SubjectKind = SubjectKind>(
  names: Names,
  subject: string,
  payload: Uint8Array | string,
  expect?: K | readonly K[],
): DecodeResult<K> {
  const parsed = names.subjects.parse(subject);
  if (!parsed) return { ok: false, reason: 'subject is not a known subject of this namespace' };
  const kinds: readonly SubjectKind[] | undefined =
    expect === undefined ? undefined : typeof expect === 'string' ? [expect] : expect;
  if (kinds && !kinds.includes(parsed.kind)) {
    return { ok: false, reason: `expected a ${kinds.join(' or ')} subject, got ${parsed.kind}` };
  }
  const schema = schemaFor(parsed);
  if (typeof schema === 'string') return { ok: false, reason: schema };
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload));
  } catch {
    // The SyntaxError text quotes the payload; it stays out of logs.
    return { ok: false, reason: 'payload is not valid JSON' };
  }
  const result = schema.safeParse(json);
  if (!result.success) return { ok: false, reason: formatIssues(result.error) };
  const message = result.data as SubjectMessages[K];
  const mismatch = checkSubjectIds(parsed, message);
  if (mismatch) return { ok: false, reason: mismatch };
  return { ok: true, kind: parsed.kind as K, message };
}

/** Decodes and validates the reply of endpoint `endpoint`. */
export function decodeReply<E extends EndpointName>(
  endpoint: E,
  payload: Uint8Array | string,
): { ok: true; message: EndpointReply<E> } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload));
  } catch {
    return { ok: false, reason: 'payload is not valid JSON' };
  }
  const result = ENDPOINTS[endpoint].reply.safeParse(json);
  if (!result.success) return { ok: false, reason: formatIssues(result.error) };
  return { ok: true, message: result.data as EndpointReply<E> };
}
