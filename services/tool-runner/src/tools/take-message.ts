/**
 * take_message: records the caller's message as a `message-taken` call event (JetStream CALLS,
 * so the call record and any consumer get it). The event id derives from the model's call id,
 * so a retried invocation is one message.
 */
import { type JetStreamClient } from '@nats-io/jetstream';
import { z } from 'zod';

import { callEvent, publishEvent, uuidV5, type Names } from '@app/contracts';

import { type ToolHandler } from '../domain/tool-context.js';

const argsSchema = z.object({
  message: z.string().min(1),
  callerName: z.string().optional(),
  callbackNumber: z.string().optional(),
  urgent: z.boolean().optional(),
});

export function takeMessageTool(deps: { js: JetStreamClient; names: Names }): ToolHandler {
  return async (raw, ctx) => {
    const args = argsSchema.parse(raw);
    const event = callEvent(
      'message-taken',
      ctx.callId,
      { invocationId: ctx.invocationId, ...args },
      { id: uuidV5(`message-taken:${ctx.invocationId}`) },
    );
    await publishEvent(deps.js, deps.names, event);
    return { recorded: true, messageId: event.id };
  };
}
