/**
 * transfer_to_human: asks the handoff service (`handoff.transfer`, trigger `tool`) to pass the
 * caller to a person. Its answer goes back to the model as the tool's output, with what to say:
 * accepted → tell the caller they are being connected; refused (nobody available) → say so and
 * offer a callback or to take a message. Only an unreachable handoff service is a tool error.
 */
import { type NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';

import { handoffTransferRequest, request, type Names } from '@app/contracts';

import { type ToolHandler } from '../domain/tool-context.js';
import { ToolErrorCode, ToolFailure } from '../domain/tool-errors.js';

const argsSchema = z.object({
  reason: z.string().min(1),
  summary: z.string().min(1),
  skill: z.string().min(1).optional(),
});

export interface TransferToHumanDeps {
  readonly nc: NatsConnection;
  readonly names: Names;
  readonly mode: 'cold' | 'warm';
  /** Longest wait for the handoff service's answer, ms. */
  readonly timeoutMs: number;
}

export function transferToHumanTool(deps: TransferToHumanDeps): ToolHandler {
  return async (raw, ctx) => {
    const args = argsSchema.parse(raw);
    let reply;
    try {
      reply = await request(
        deps.nc,
        deps.names,
        'handoff-transfer',
        handoffTransferRequest(ctx.callId, { ...args, mode: deps.mode, trigger: 'tool' }),
        { timeoutMs: deps.timeoutMs },
      );
    } catch {
      throw new ToolFailure(
        ToolErrorCode.HandlerError,
        'the transfer service did not answer: apologise, then offer a callback (schedule_callback) or to take a message (take_message)',
        true,
      );
    }
    const result = reply.data;
    if (result.status === 'accepted') {
      return {
        status: 'transferring',
        handoffId: result.handoffId,
        instructions:
          'Tell the caller you are connecting them to a colleague now, in one short sentence. Do not end the call.',
      };
    }
    return {
      status: 'no-human-available',
      reason: result.reason,
      instructions:
        'No human can take the call now: tell the caller, and offer a callback (schedule_callback) or to take a message (take_message).',
    };
  };
}
