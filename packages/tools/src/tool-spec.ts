/**
 * What the model is told about a tool: the Realtime session `tools` entry
 * (`{ type: 'function', name, description, parameters }`, openai-realtime.md).
 */
import { z } from 'zod';

/** A function name the Realtime API accepts (and a tool name we store). */
export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

export const toolNameSchema = z
  .string()
  .regex(TOOL_NAME_PATTERN, 'a tool name is 1-64 letters, digits, "_" or "-"');

/**
 * A JSON Schema for a tool's arguments: the model always sends an object, so the top level must
 * be `type: "object"`. The rest is checked by ajv where the schema is compiled (tool-runner).
 */
export const parametersSchema = z
  .object({
    type: z.literal('object'),
    properties: z.record(z.string(), z.unknown()).optional(),
    required: z.array(z.string()).optional(),
  })
  .passthrough();

export type ToolParameters = z.output<typeof parametersSchema>;

/** One entry of the session's `tools`. */
export interface ToolSpec {
  readonly type: 'function';
  readonly name: string;
  readonly description: string;
  readonly parameters: ToolParameters;
}
