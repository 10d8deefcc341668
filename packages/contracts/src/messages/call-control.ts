/**
 * `call-control.<callId>`: commands to the bridge that owns a live call (core NATS
 * request/reply, not stored). Only the owning pod subscribes, so no responders means the call
 * has no live owner.
 */
import { z } from 'zod';

import { nonEmpty, type EnvelopeOptions } from '../envelope.js';
import { errorInfo } from './call-events.js';
import { buildReply, buildRequest, defineEndpoint } from './endpoint.js';

/** `data` of a call-control request, discriminated by `action`. */
export const callControlCommandSchema = z.discriminatedUnion('action', [
  /** End the call; `reason` is recorded on the `ended` event. */
  z.object({ action: z.literal('hangup'), reason: nonEmpty.optional() }),
  /** Transfer to a number or SIP URI: `cold` drops the agent at once, `warm` briefs the human first. */
  z.object({ action: z.literal('transfer'), target: nonEmpty, mode: z.enum(['cold', 'warm']) }),
  /** Add a message to the live conversation (an operator whisper, a system note). */
  z.object({
    action: z.literal('inject'),
    text: z.string().min(1),
    role: z.enum(['system', 'user']).optional(),
  }),
]);

/** `data` of a call-control reply. */
export const callControlResultSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), error: errorInfo }),
]);

export const callControlEndpoint = defineEndpoint(
  'call-control',
  callControlCommandSchema,
  callControlResultSchema,
);

export type CallControlCommand = z.output<typeof callControlCommandSchema>;
export type CallControlAction = CallControlCommand['action'];
export type CallControlResult = z.output<typeof callControlResultSchema>;
export type CallControlRequest = z.output<typeof callControlEndpoint.request>;
export type CallControlReply = z.output<typeof callControlEndpoint.reply>;

/** Builds a validated call-control request, e.g. `callControlRequest(callId, { action: 'hangup' })`. */
export function callControlRequest(
  callId: string,
  command: z.input<typeof callControlCommandSchema>,
  options: Omit<EnvelopeOptions, 'callId'> = {},
): CallControlRequest {
  return buildRequest(callControlEndpoint, callId, command, options);
}

/** Builds a validated call-control reply. */
export function callControlReply(
  result: z.input<typeof callControlResultSchema>,
  options: EnvelopeOptions = {},
): CallControlReply {
  return buildReply(callControlEndpoint, result, options);
}
