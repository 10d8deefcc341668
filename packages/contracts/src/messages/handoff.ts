/**
 * Handoff to humans: `handoff.transfer` (request/reply, bridge or tool-runner -> handoff) and
 * `human-agents.<agentId>.notify` (core pub/sub, handoff -> that agent's dashboard).
 */
import { z } from 'zod';

import { buildEnvelope, callEnvelope, nonEmpty, type EnvelopeOptions } from '../envelope.js';
import { buildReply, buildRequest, defineEndpoint } from './endpoint.js';

/** `data` of a transfer request; the envelope `callId` is the call to hand over. */
export const handoffTransferSchema = z.object({
  reason: nonEmpty,
  /** What the human should know, written by the agent. */
  summary: z.string().optional(),
  /** Queue skill to route on; absent means the default queue. */
  skill: nonEmpty.optional(),
  mode: z.enum(['cold', 'warm']),
  /**
   * What asked: the model's transfer_to_human tool, the caller's key press, a rule, or an
   * operator from the dashboard (`POST /v1/calls/:id/transfer`).
   */
  trigger: z.enum(['tool', 'dtmf', 'rule', 'operator']).default('tool'),
});

/** `data` of the reply: the handoff was queued (and maybe already has a target), or refused. */
export const handoffTransferResultSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('accepted'),
    handoffId: nonEmpty,
    /** Number or SIP URI the call goes to, when already known. */
    target: nonEmpty.optional(),
  }),
  z.object({ status: z.literal('rejected'), reason: nonEmpty }),
]);

export const handoffTransferEndpoint = defineEndpoint(
  'handoff-transfer',
  handoffTransferSchema,
  handoffTransferResultSchema,
);

export type HandoffTransfer = z.output<typeof handoffTransferSchema>;
export type HandoffTransferResult = z.output<typeof handoffTransferResultSchema>;
export type HandoffTransferRequest = z.output<typeof handoffTransferEndpoint.request>;
export type HandoffTransferReply = z.output<typeof handoffTransferEndpoint.reply>;

/** Builds a validated transfer request. */
export function handoffTransferRequest(
  callId: string,
  transfer: z.input<typeof handoffTransferSchema>,
  options: Omit<EnvelopeOptions, 'callId'> = {},
): HandoffTransferRequest {
  return buildRequest(handoffTransferEndpoint, callId, transfer, options);
}

/** Builds a validated transfer reply. */
export function handoffTransferReply(
  result: z.input<typeof handoffTransferResultSchema>,
  options: EnvelopeOptions = {},
): HandoffTransferReply {
  return buildReply(handoffTransferEndpoint, result, options);
}

/** What happened to a handoff, as a human agent's dashboard needs to know. */
export const HumanAgentNotifyKind = {
  HandoffOffered: 'handoff-offered',
  HandoffCanceled: 'handoff-canceled',
  HandoffAccepted: 'handoff-accepted',
  HandoffCompleted: 'handoff-completed',
} as const;
export type HumanAgentNotifyKind = (typeof HumanAgentNotifyKind)[keyof typeof HumanAgentNotifyKind];

export const HUMAN_AGENT_NOTIFY_TYPE = 'human-agent.notify';

/** `data` of a human agent notification; the envelope `callId` is the call concerned. */
export const humanAgentNotifyDataSchema = z.object({
  kind: z.enum(['handoff-offered', 'handoff-canceled', 'handoff-accepted', 'handoff-completed']),
  handoffId: nonEmpty,
  summary: z.string().optional(),
});

export const humanAgentNotifySchema = callEnvelope(
  HUMAN_AGENT_NOTIFY_TYPE,
  humanAgentNotifyDataSchema,
);

export type HumanAgentNotifyData = z.output<typeof humanAgentNotifyDataSchema>;
export type HumanAgentNotify = z.output<typeof humanAgentNotifySchema>;

/** Builds a validated human agent notification. */
export function humanAgentNotify(
  callId: string,
  data: z.input<typeof humanAgentNotifyDataSchema>,
  options: Omit<EnvelopeOptions, 'callId'> = {},
): HumanAgentNotify {
  return buildEnvelope(humanAgentNotifySchema, data, { ...options, callId });
}
