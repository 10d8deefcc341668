/**
 * Call events, published on `calls.<callId>.<event>` (JetStream `CALLS`). One schema per
 * {@link CallEventType}; the envelope `type` is `call.<event>` and `callId` is required.
 */
import { z } from 'zod';

import {
  buildEnvelope,
  callEnvelope,
  e164Schema,
  jsonValueSchema,
  nonEmpty,
  nonNegativeMs,
  type EnvelopeOptions,
} from '../envelope.js';
import { CALL_EVENT_TYPES, type CallEventType } from '../subjects.js';

/** How the call reached us: Twilio Media Streams through a bridge, or OpenAI-native SIP. */
export const CallTransport = { MediaStreams: 'media-streams', Sip: 'sip' } as const;
export type CallTransport = (typeof CallTransport)[keyof typeof CallTransport];
export const callTransport = z.enum(['media-streams', 'sip']);

export const CallDirection = { Inbound: 'inbound', Outbound: 'outbound' } as const;
export type CallDirection = (typeof CallDirection)[keyof typeof CallDirection];

/**
 * Why a call ended. `bridge_lost`: its owning bridge stopped heart-beating (ARCHITECTURE.md).
 * `provider-error`: the voice provider (OpenAI Realtime) failed mid-call and could not be
 * recovered; the caller heard an apology before the hangup. `operator-hangup`: a person ended it
 * through `call-control` (`POST /v1/calls/:id/hangup`).
 */
export const CallEndReason = {
  Completed: 'completed',
  CallerHangup: 'caller-hangup',
  AgentHangup: 'agent-hangup',
  /** An operator hung the call up from the dashboard or the admin API. */
  OperatorHangup: 'operator-hangup',
  Transferred: 'transferred',
  Busy: 'busy',
  NoAnswer: 'no-answer',
  Failed: 'failed',
  Canceled: 'canceled',
  BridgeLost: 'bridge_lost',
  ProviderError: 'provider-error',
  Error: 'error',
  Rejected: 'rejected',
} as const;
export type CallEndReason = (typeof CallEndReason)[keyof typeof CallEndReason];

/** Where an error came from: a provider or one of our components. */
export const ErrorSource = {
  Twilio: 'twilio',
  OpenAI: 'openai',
  Bridge: 'bridge',
  Gateway: 'gateway',
  CampaignScheduler: 'campaign-scheduler',
  ToolRunner: 'tool-runner',
  Handoff: 'handoff',
  Nats: 'nats',
  Database: 'database',
} as const;
export type ErrorSource = (typeof ErrorSource)[keyof typeof ErrorSource];

const values = <T extends Record<string, string>>(o: T) =>
  Object.values(o) as [T[keyof T], ...T[keyof T][]];

/** A handoff's status as `handoff-updated` reports it (the Handoff row's `status`). */
export const HandoffStepStatus = {
  Queued: 'queued',
  Ringing: 'ringing',
  Connected: 'connected',
  Completed: 'completed',
  Abandoned: 'abandoned',
  Failed: 'failed',
  Canceled: 'canceled',
} as const;
export type HandoffStepStatus = (typeof HandoffStepStatus)[keyof typeof HandoffStepStatus];

/** An error as carried inside a payload: a stable code and a human message. */
export const errorInfo = z.object({ code: nonEmpty, message: z.string() });

/** `data` of each call event. */
export const callEventDataSchemas = {
  created: z.object({
    direction: z.enum(values(CallDirection)),
    transport: callTransport,
    from: e164Schema,
    to: e164Schema,
    agentId: nonEmpty,
    /** Twilio Call SID (`CA…`); absent for SIP calls until known. */
    providerCallSid: nonEmpty.optional(),
    /** OpenAI's call id (`rtc_…`) of a SIP call, from `realtime.call.incoming`. */
    openaiCallId: nonEmpty.optional(),
    campaignId: nonEmpty.optional(),
    contactId: nonEmpty.optional(),
    /** Values for the agent's instructions on this call (`{{name}}`), e.g. from a call request. */
    variables: z.record(z.string(), z.string()).optional(),
  }),
  ringing: z.object({}),
  answered: z.object({
    answeredBy: z.enum(['human', 'machine', 'unknown']).optional(),
    /** The call-bridge pod that took the call (its owner), when a bridge answered it. */
    pod: nonEmpty.optional(),
  }),
  status: z.object({
    /** The provider's status string as received (e.g. Twilio `CallStatus`). */
    status: nonEmpty,
    /** The provider's callback sequence number, to order out-of-order callbacks. */
    sequenceNumber: z.number().int().nonnegative().optional(),
  }),
  transcript: z.object({
    role: z.enum(['caller', 'agent']),
    text: z.string(),
    /** Realtime conversation item id. */
    itemId: nonEmpty.optional(),
    /** `false` for a partial transcript that a later event replaces. */
    final: z.boolean(),
    /** Offsets from the start of the call, in ms. */
    startedAtMs: nonNegativeMs.optional(),
    endedAtMs: nonNegativeMs.optional(),
  }),
  'barge-in': z.object({
    /** The assistant item that was truncated. */
    itemId: nonEmpty,
    /** Audio of that item actually played to the caller, in ms (the truncation point). */
    audioEndMs: nonNegativeMs,
    /** From `speech_started` to Twilio `clear` sent, in ms. */
    reactionMs: nonNegativeMs.optional(),
  }),
  'tool-called': z.object({
    invocationId: nonEmpty,
    name: nonEmpty,
    args: jsonValueSchema,
    result: jsonValueSchema.optional(),
    error: errorInfo.optional(),
    latencyMs: nonNegativeMs,
  }),
  'handoff-requested': z.object({
    reason: nonEmpty,
    summary: z.string().optional(),
    queue: nonEmpty.optional(),
    skill: nonEmpty.optional(),
    trigger: z.enum(['tool', 'dtmf', 'rule', 'operator']),
    /** The Handoff row; set by the handoff service, which emits this event for every trigger. */
    handoffId: nonEmpty.optional(),
    mode: z.enum(['cold', 'warm']).optional(),
  }),
  /** A step of a handoff (the handoff service): a human chosen, ringing, connected, failed, … */
  'handoff-updated': z.object({
    handoffId: nonEmpty,
    status: z.enum(values(HandoffStepStatus)),
    humanAgentId: nonEmpty.optional(),
    /** Number, SIP URI or `client:` identity the call goes to. */
    target: nonEmpty.optional(),
    /** Why it failed or was canceled (`no-human-available`, `no-answer`, …). */
    reason: z.string().optional(),
  }),
  /** The caller left a message (the tool-runner's `take_message` tool). */
  'message-taken': z.object({
    /** The tool invocation that took it (one event per invocation). */
    invocationId: nonEmpty,
    message: z.string().min(1),
    callerName: z.string().optional(),
    /** E.164 number to call back, when not the call's own. */
    callbackNumber: nonEmpty.optional(),
    urgent: z.boolean().optional(),
  }),
  error: z.object({
    code: nonEmpty,
    message: z.string(),
    source: z.enum(values(ErrorSource)),
    retryable: z.boolean(),
  }),
  ended: z.object({
    reason: z.enum(values(CallEndReason)),
    durationMs: nonNegativeMs.optional(),
    /** Named measurements in ms or counts, e.g. `setupMs`, `firstAudioMs`, `bargeIns`. */
    metrics: z.record(z.string(), z.number()).optional(),
  }),
} as const satisfies Record<CallEventType, z.ZodType>;

type DataSchemas = typeof callEventDataSchemas;

/** The envelope type of a call event: `call.<event>`. */
export type CallEventMessageType<E extends CallEventType = CallEventType> = `call.${E}`;

/** Full envelope schema of each call event, keyed by event. */
export const callEventSchemas = {
  created: callEnvelope('call.created', callEventDataSchemas.created),
  ringing: callEnvelope('call.ringing', callEventDataSchemas.ringing),
  answered: callEnvelope('call.answered', callEventDataSchemas.answered),
  status: callEnvelope('call.status', callEventDataSchemas.status),
  transcript: callEnvelope('call.transcript', callEventDataSchemas.transcript),
  'barge-in': callEnvelope('call.barge-in', callEventDataSchemas['barge-in']),
  'tool-called': callEnvelope('call.tool-called', callEventDataSchemas['tool-called']),
  'handoff-requested': callEnvelope(
    'call.handoff-requested',
    callEventDataSchemas['handoff-requested'],
  ),
  'handoff-updated': callEnvelope('call.handoff-updated', callEventDataSchemas['handoff-updated']),
  'message-taken': callEnvelope('call.message-taken', callEventDataSchemas['message-taken']),
  error: callEnvelope('call.error', callEventDataSchemas.error),
  ended: callEnvelope('call.ended', callEventDataSchemas.ended),
} as const satisfies Record<CallEventType, z.ZodType>;

/** Any call event, discriminated by `type`. */
export const callEventSchema = z.discriminatedUnion('type', [
  callEventSchemas.created,
  callEventSchemas.ringing,
  callEventSchemas.answered,
  callEventSchemas.status,
  callEventSchemas.transcript,
  callEventSchemas['barge-in'],
  callEventSchemas['tool-called'],
  callEventSchemas['handoff-requested'],
  callEventSchemas['handoff-updated'],
  callEventSchemas['message-taken'],
  callEventSchemas.error,
  callEventSchemas.ended,
]);

/** `data` of call event `E` (the parsed shape). */
export type CallEventData<E extends CallEventType = CallEventType> = z.output<DataSchemas[E]>;
/** `data` of call event `E` as a producer passes it. */
export type CallEventDataInput<E extends CallEventType> = z.input<DataSchemas[E]>;
/** The envelope of call event `E`; without `E`, the union of all call events. */
export type CallEvent<E extends CallEventType = CallEventType> = {
  [K in E]: z.output<(typeof callEventSchemas)[K]>;
}[E];

/** The event token (`ended`) of a call event message type (`call.ended`); `null` if not one. */
export function callEventTypeOf(type: string): CallEventType | null {
  if (!type.startsWith('call.')) return null;
  const event = type.slice('call.'.length);
  return Object.hasOwn(callEventSchemas, event) ? (event as CallEventType) : null;
}

/**
 * Builds a validated call event, e.g. `callEvent('ended', callId, { reason: 'completed' })`.
 * Throws a `TypeError` naming the issue when the data, call id or options are invalid.
 */
export function callEvent<E extends CallEventType>(
  event: E,
  callId: string,
  data: CallEventDataInput<E>,
  options: Omit<EnvelopeOptions, 'callId'> = {},
): CallEvent<E> {
  if (!Object.hasOwn(callEventSchemas, event)) {
    throw new TypeError(
      `unknown call event "${String(event)}": use one of ${CALL_EVENT_TYPES.join(', ')}`,
    );
  }
  return buildEnvelope(callEventSchemas[event], data as never, {
    ...options,
    callId,
  }) as CallEvent<E>;
}
