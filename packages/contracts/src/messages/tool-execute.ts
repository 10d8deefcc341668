/**
 * `tool-runner.execute`: the bridge asks the tool-runner to run one function call of the agent.
 */
import { z } from 'zod';

import { jsonValueSchema, nonEmpty, type EnvelopeOptions } from '../envelope.js';
import { buildReply, buildRequest, defineEndpoint } from './endpoint.js';

/** `data` of a tool execution request; the envelope `callId` is the call it runs for. */
export const toolInvocationSchema = z.object({
  /** The model's function call id; the output is sent back under it. */
  invocationId: nonEmpty,
  name: nonEmpty,
  /** Parsed JSON arguments as the model produced them. */
  args: jsonValueSchema,
  agentId: nonEmpty,
  /** Time the caller will wait for the result, in ms; the runner gives up after it. */
  deadlineMs: z.number().int().positive().optional(),
});

/** `data` of the reply: the tool's JSON output, or a typed failure. */
export const toolResultSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), output: jsonValueSchema }),
  z.object({
    ok: z.literal(false),
    error: z.object({ code: nonEmpty, message: z.string(), retryable: z.boolean() }),
  }),
]);

export const toolExecuteEndpoint = defineEndpoint(
  'tool-execute',
  toolInvocationSchema,
  toolResultSchema,
);

export type ToolInvocation = z.output<typeof toolInvocationSchema>;
export type ToolResult = z.output<typeof toolResultSchema>;
export type ToolExecuteRequest = z.output<typeof toolExecuteEndpoint.request>;
export type ToolExecuteReply = z.output<typeof toolExecuteEndpoint.reply>;

/** Builds a validated tool execution request. */
export function toolExecuteRequest(
  callId: string,
  invocation: z.input<typeof toolInvocationSchema>,
  options: Omit<EnvelopeOptions, 'callId'> = {},
): ToolExecuteRequest {
  return buildRequest(toolExecuteEndpoint, callId, invocation, options);
}

/** Builds a validated tool execution reply. */
export function toolExecuteReply(
  result: z.input<typeof toolResultSchema>,
  options: EnvelopeOptions = {},
): ToolExecuteReply {
  return buildReply(toolExecuteEndpoint, result, options);
}
