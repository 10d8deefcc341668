/**
 * schedule_callback: publishes a call request on `call-requests.tool-runner` for the agreed time,
 * from the number of this call to the caller (or a number they gave). The idempotency key is the
 * model's call id, so the same invocation retried books one callback.
 */
import { type JetStreamClient } from '@nats-io/jetstream';
import { z } from 'zod';

import { callRequest, E164_PATTERN, publishCallRequest, type Names } from '@app/contracts';

import { type ToolHandler } from '../domain/tool-context.js';
import { ToolErrorCode, ToolFailure } from '../domain/tool-errors.js';

/** The origin token of call requests from tools. */
export const CALLBACK_ORIGIN = 'tool-runner';

const argsSchema = z.object({
  at: z.string().optional(),
  inMinutes: z.number().int().optional(),
  reason: z.string().optional(),
  phoneNumber: z.string().optional(),
});

/** Farthest ahead a callback may be booked (matches the tool's `inMinutes` maximum). */
const MAX_AHEAD_MS = 30 * 24 * 3_600_000;
/** A time this far in the past still means "now" (the model read the clock a moment ago). */
const PAST_SLACK_MS = 60_000;

export interface ScheduleCallbackDeps {
  readonly js: JetStreamClient;
  readonly names: Names;
  readonly now: () => Date;
}

export function scheduleCallbackTool(deps: ScheduleCallbackDeps): ToolHandler {
  return async (raw, ctx) => {
    const args = argsSchema.parse(raw);
    if ((args.at === undefined) === (args.inMinutes === undefined)) {
      throw new ToolFailure(ToolErrorCode.InvalidArgs, 'give exactly one of `at` or `inMinutes`');
    }
    const now = deps.now().getTime();
    const when = args.at !== undefined ? Date.parse(args.at) : now + (args.inMinutes ?? 0) * 60_000;
    if (!Number.isFinite(when)) {
      throw new ToolFailure(ToolErrorCode.InvalidArgs, '`at` is not an ISO 8601 time');
    }
    if (when < now - PAST_SLACK_MS) {
      throw new ToolFailure(ToolErrorCode.InvalidArgs, '`at` is in the past; call get_time first');
    }
    if (when > now + MAX_AHEAD_MS) {
      throw new ToolFailure(ToolErrorCode.InvalidArgs, 'a callback can be at most 30 days ahead');
    }
    const to = args.phoneNumber ?? ctx.call?.callerNumber;
    if (!to) {
      throw new ToolFailure(
        ToolErrorCode.InvalidArgs,
        "this call's number is unknown: ask the caller for their number and pass phoneNumber",
      );
    }
    const scheduledAt = new Date(Math.max(when, now)).toISOString();
    const request = callRequest({
      to,
      // Our number on this call, when it is a phone number (a SIP call's may not be): else the
      // scheduler picks the agent's own number.
      ...(ctx.call && E164_PATTERN.test(ctx.call.agentNumber)
        ? { from: ctx.call.agentNumber }
        : {}),
      agentId: ctx.agentId,
      scheduledAt,
      idempotencyKey: `tool-runner:schedule_callback:${ctx.invocationId}`,
      metadata: {
        callbackForCallId: ctx.callId,
        ...(args.reason ? { reason: args.reason } : {}),
      },
    });
    await publishCallRequest(deps.js, deps.names, CALLBACK_ORIGIN, request);
    return { scheduled: true, at: scheduledAt, to, callbackRequestId: request.id };
  };
}
