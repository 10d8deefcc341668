/**
 * Parsing of client events (openai-realtime.md §3): JSON, `type`, required fields. Anything the
 * real API would refuse becomes a {@link ClientEventError}; the session turns it into an `error`
 * event and carries on (§9: errors are recoverable).
 */
import { z } from 'zod';

import { ClientEventError, ERROR_CODE } from './errors.js';
import { parseStrict } from './validation.js';

/** The client event types of the GA API the simulator understands (§3). */
export const CLIENT_EVENT_TYPES = [
  'session.update',
  'input_audio_buffer.append',
  'input_audio_buffer.commit',
  'input_audio_buffer.clear',
  'conversation.item.create',
  'conversation.item.truncate',
  'conversation.item.delete',
  'conversation.item.retrieve',
  'response.create',
  'response.cancel',
  'output_audio_buffer.clear',
] as const;
export type ClientEventType = (typeof CLIENT_EVENT_TYPES)[number];

export interface ClientEvent {
  type: ClientEventType;
  eventId: string | null;
  body: Record<string, unknown>;
}

/** Splits a text frame into a typed event, or throws `invalid_json`/`invalid_event`/`invalid_value`. */
export function parseClientEvent(text: string): ClientEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ClientEventError(
      ERROR_CODE.invalidJson,
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ClientEventError(ERROR_CODE.invalidEvent, 'Expected an object for the client event.');
  }
  const body = value as Record<string, unknown>;
  const eventId = typeof body.event_id === 'string' ? body.event_id : null;
  if (body.type === undefined) {
    // The SPEC's own example of this error (§4): param null, message below.
    throw new ClientEventError(ERROR_CODE.invalidEvent, "The 'type' field is missing.");
  }
  if (
    typeof body.type !== 'string' ||
    !(CLIENT_EVENT_TYPES as readonly string[]).includes(body.type)
  ) {
    throw new ClientEventError(
      ERROR_CODE.invalidValue,
      `Invalid value: '${String(body.type)}'. Supported values are: ${CLIENT_EVENT_TYPES.map((t) => `'${t}'`).join(', ')}.`,
      'type',
    );
  }
  if (body.event_id !== undefined && typeof body.event_id !== 'string') {
    throw new ClientEventError(
      ERROR_CODE.invalidValue,
      "Invalid type for 'event_id': expected a string.",
      'event_id',
    );
  }
  return { type: body.type as ClientEventType, eventId, body };
}

const contentSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('input_text'), text: z.string() }).strict(),
  z
    .object({
      type: z.literal('input_audio'),
      audio: z.string().optional(),
      transcript: z.string().nullable().optional(),
    })
    .strict(),
  z.object({ type: z.literal('output_text'), text: z.string() }).strict(),
  z
    .object({
      type: z.literal('input_image'),
      image_url: z.string(),
      detail: z.string().optional(),
    })
    .strict(),
]);

/** `conversation.item.create.item` (§3 "Items"); MCP items are not simulated. */
export const itemSchema = z.discriminatedUnion('type', [
  z
    .object({
      id: z.string().optional(),
      object: z.literal('realtime.item').optional(),
      type: z.literal('message'),
      status: z.enum(['completed', 'incomplete', 'in_progress']).optional(),
      role: z.enum(['user', 'assistant', 'system']),
      content: z.array(contentSchema).min(1),
    })
    .strict(),
  z
    .object({
      id: z.string().optional(),
      object: z.literal('realtime.item').optional(),
      type: z.literal('function_call'),
      status: z.enum(['completed', 'incomplete', 'in_progress']).optional(),
      call_id: z.string().min(1),
      name: z.string().min(1),
      arguments: z.string(),
    })
    .strict(),
  z
    .object({
      id: z.string().optional(),
      object: z.literal('realtime.item').optional(),
      type: z.literal('function_call_output'),
      status: z.enum(['completed', 'incomplete', 'in_progress']).optional(),
      call_id: z.string().min(1),
      output: z.string(),
    })
    .strict(),
]);
export type ItemInput = z.infer<typeof itemSchema>;

export function parseItem(item: unknown): ItemInput {
  const parsed = parseStrict(itemSchema, item, 'item');
  if (parsed.type === 'message') {
    // Roles constrain content (§3): system = input_text only; assistant cannot carry audio.
    const allowed: Record<string, string[]> = {
      system: ['input_text'],
      user: ['input_text', 'input_audio', 'input_image'],
      assistant: ['output_text'],
    };
    parsed.content.forEach((c, i) => {
      if (!allowed[parsed.role]?.includes(c.type)) {
        throw new ClientEventError(
          ERROR_CODE.invalidValue,
          `Invalid value: '${c.type}'. Content of a '${parsed.role}' message must be one of: ${allowed[parsed.role]?.join(', ')}.`,
          `item.content[${i}].type`,
        );
      }
    });
  }
  return parsed;
}

/** `response.create.response` (§3.1). */
export const responseParamsSchema = z
  .object({
    instructions: z.string().optional(),
    output_modalities: z
      .array(z.enum(['audio', 'text']))
      .length(1)
      .optional(),
    audio: z
      .object({
        output: z
          .object({
            format: z
              .object({
                type: z.enum(['audio/pcm', 'audio/pcmu', 'audio/pcma']),
                rate: z.literal(24_000).optional(),
              })
              .strict()
              .optional(),
            voice: z.union([z.string(), z.object({ id: z.string() }).strict()]).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    tools: z.array(z.object({ type: z.string() }).loose()).optional(),
    tool_choice: z.unknown().optional(),
    max_output_tokens: z.union([z.number().int().min(1).max(4096), z.literal('inf')]).optional(),
    metadata: z.record(z.string(), z.string()).nullable().optional(),
    conversation: z.enum(['auto', 'none']).optional(),
    input: z.array(z.unknown()).optional(),
    prompt: z.unknown().optional(),
    reasoning: z.unknown().optional(),
    parallel_tool_calls: z.boolean().optional(),
  })
  .strict();
export type ResponseParams = z.infer<typeof responseParamsSchema>;

export const truncateSchema = z
  .object({
    type: z.literal('conversation.item.truncate'),
    event_id: z.string().optional(),
    item_id: z.string().min(1),
    content_index: z.number().int().min(0),
    audio_end_ms: z.number().int().min(0),
  })
  .strict();

/** Required string field of an event (e.g. `item_id`), as `missing_required_parameter`. */
export function requireString(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (v === undefined) {
    throw new ClientEventError(
      ERROR_CODE.missingRequiredParameter,
      `Missing required parameter: '${key}'.`,
      key,
    );
  }
  if (typeof v !== 'string') {
    throw new ClientEventError(
      ERROR_CODE.invalidValue,
      `Invalid type for '${key}': expected a string.`,
      key,
    );
  }
  return v;
}
