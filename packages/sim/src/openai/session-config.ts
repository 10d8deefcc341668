/**
 * The GA session object (openai-realtime.md §2): validation of `session.update` and of the SIP
 * accept body (same schema), merging of partial updates, and the effective config the server
 * reports in `session.created`/`session.updated`.
 *
 * Validation is strict like the real API: unknown keys (including beta names such as
 * `modalities`) are `unknown_parameter`, a missing `type` is `missing_required_parameter`, and a
 * rejected update is refused whole (§2, §9).
 */
import { z } from 'zod';

import { ClientEventError, ERROR_CODE } from './errors.js';
import { parseStrict } from './validation.js';

/** Voices the GA API accepts (openai-realtime.md §2). */
export const VOICES = [
  'alloy',
  'ash',
  'ballad',
  'coral',
  'echo',
  'sage',
  'shimmer',
  'verse',
  'marin',
  'cedar',
] as const;

const audioFormatSchema = z.discriminatedUnion('type', [
  // PCM is 24 kHz only (§2): any other rate is invalid.
  z.object({ type: z.literal('audio/pcm'), rate: z.literal(24_000).optional() }).strict(),
  z.object({ type: z.literal('audio/pcmu') }).strict(),
  z.object({ type: z.literal('audio/pcma') }).strict(),
]);
export type AudioFormat = z.infer<typeof audioFormatSchema>;

const serverVadSchema = z
  .object({
    type: z.literal('server_vad'),
    threshold: z.number().min(0).max(1).optional(),
    prefix_padding_ms: z.number().int().min(0).optional(),
    silence_duration_ms: z.number().int().min(0).optional(),
    idle_timeout_ms: z.number().int().min(0).nullable().optional(),
    create_response: z.boolean().optional(),
    interrupt_response: z.boolean().optional(),
  })
  .strict();
const semanticVadSchema = z
  .object({
    type: z.literal('semantic_vad'),
    eagerness: z.enum(['low', 'medium', 'high', 'auto']).optional(),
    create_response: z.boolean().optional(),
    interrupt_response: z.boolean().optional(),
  })
  .strict();
const turnDetectionSchema = z.discriminatedUnion('type', [serverVadSchema, semanticVadSchema]);

const transcriptionSchema = z
  .object({
    model: z.string().min(1).optional(),
    language: z.string().optional(),
    prompt: z.string().optional(),
  })
  .strict();

const toolSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('function'),
      name: z.string().min(1).max(64),
      description: z.string().optional(),
      parameters: z.record(z.string(), z.unknown()).optional(),
    })
    .strict(),
  // MCP tools are accepted but never called by the simulated model.
  z.object({ type: z.literal('mcp'), server_label: z.string() }).loose(),
]);
export type Tool = z.infer<typeof toolSchema>;

const toolChoiceSchema = z.union([
  z.enum(['auto', 'none', 'required']),
  z.object({ type: z.literal('function'), name: z.string().min(1) }).strict(),
  z
    .object({
      type: z.literal('mcp'),
      server_label: z.string(),
      name: z.string().nullable().optional(),
    })
    .strict(),
]);

const maxOutputTokensSchema = z.union([z.number().int().min(1).max(4096), z.literal('inf')]);

/** What `session.update.session`, the SIP accept body and `session.created` share. */
export const sessionUpdateSchema = z
  .object({
    type: z.literal('realtime'),
    model: z.string().min(1).optional(),
    instructions: z.string().optional(),
    // "Not both at once" (§2).
    output_modalities: z
      .array(z.enum(['audio', 'text']))
      .length(1)
      .optional(),
    audio: z
      .object({
        input: z
          .object({
            format: audioFormatSchema.optional(),
            noise_reduction: z
              .object({ type: z.enum(['near_field', 'far_field']) })
              .strict()
              .nullable()
              .optional(),
            transcription: transcriptionSchema.nullable().optional(),
            turn_detection: turnDetectionSchema.nullable().optional(),
          })
          .strict()
          .optional(),
        output: z
          .object({
            format: audioFormatSchema.optional(),
            voice: z
              .union([z.enum(VOICES), z.object({ id: z.string().min(1) }).strict()])
              .optional(),
            speed: z.number().min(0.25).max(1.5).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    tools: z.array(toolSchema).optional(),
    tool_choice: toolChoiceSchema.optional(),
    max_output_tokens: maxOutputTokensSchema.optional(),
    truncation: z
      .union([
        z.enum(['auto', 'disabled']),
        z
          .object({
            type: z.literal('retention_ratio'),
            retention_ratio: z.number().min(0).max(1),
            token_limits: z
              .object({ post_instructions: z.number().int().min(0) })
              .strict()
              .optional(),
          })
          .strict(),
      ])
      .optional(),
    include: z.array(z.literal('item.input_audio_transcription.logprobs')).nullable().optional(),
    prompt: z
      .object({
        id: z.string(),
        version: z.string().optional(),
        variables: z.record(z.string(), z.unknown()).optional(),
      })
      .strict()
      .nullable()
      .optional(),
    tracing: z.union([z.literal('auto'), z.object({}).loose(), z.null()]).optional(),
    parallel_tool_calls: z.boolean().optional(),
    reasoning: z
      .object({ effort: z.enum(['minimal', 'low', 'medium', 'high', 'xhigh']) })
      .strict()
      .optional(),
  })
  .strict();
export type SessionUpdate = z.infer<typeof sessionUpdateSchema>;

export type TurnDetection =
  | {
      type: 'server_vad';
      threshold: number;
      prefix_padding_ms: number;
      silence_duration_ms: number;
      idle_timeout_ms: number | null;
      create_response: boolean;
      interrupt_response: boolean;
    }
  | {
      type: 'semantic_vad';
      eagerness: 'low' | 'medium' | 'high' | 'auto';
      create_response: boolean;
      interrupt_response: boolean;
    };

/** The full effective session config (the `session` of `session.created`, minus id/object/expires_at). */
export interface SessionConfig {
  type: 'realtime';
  model: string;
  instructions: string;
  output_modalities: Array<'audio' | 'text'>;
  audio: {
    input: {
      format: AudioFormat;
      noise_reduction: { type: 'near_field' | 'far_field' } | null;
      transcription: z.infer<typeof transcriptionSchema> | null;
      turn_detection: TurnDetection | null;
    };
    output: { format: AudioFormat; voice: string | { id: string }; speed: number };
  };
  tools: Tool[];
  tool_choice: z.infer<typeof toolChoiceSchema>;
  max_output_tokens: number | 'inf';
  truncation: SessionUpdate['truncation'];
  include: string[] | null;
  prompt: SessionUpdate['prompt'] | null;
  tracing: SessionUpdate['tracing'] | null;
}

/** The default instructions visible in `session.created` when the client sets none (§2). */
export const DEFAULT_INSTRUCTIONS =
  'You are a helpful, witty, and friendly AI. Keep your answers short. (simulated)';

/**
 * The config a new session starts with. `silence_duration_ms` follows the schema default (500);
 * the SPEC example shows 200 and the reference marks the real default UNCONFIRMED (§2.1).
 */
export function defaultSessionConfig(model: string, codec: 'pcm' | 'pcmu' = 'pcm'): SessionConfig {
  const format: AudioFormat =
    codec === 'pcmu' ? { type: 'audio/pcmu' } : { type: 'audio/pcm', rate: 24_000 };
  return {
    type: 'realtime',
    model,
    instructions: DEFAULT_INSTRUCTIONS,
    output_modalities: ['audio'],
    audio: {
      input: {
        format,
        noise_reduction: null,
        transcription: null,
        turn_detection: fillTurnDetection({ type: 'server_vad' }),
      },
      output: { format, voice: 'marin', speed: 1 },
    },
    tools: [],
    tool_choice: 'auto',
    max_output_tokens: 'inf',
    truncation: 'auto',
    include: null,
    prompt: null,
    tracing: null,
  };
}

function fillTurnDetection(td: z.infer<typeof turnDetectionSchema>): TurnDetection {
  if (td.type === 'semantic_vad') {
    return {
      type: 'semantic_vad',
      eagerness: td.eagerness ?? 'auto',
      create_response: td.create_response ?? true,
      interrupt_response: td.interrupt_response ?? true,
    };
  }
  return {
    type: 'server_vad',
    threshold: td.threshold ?? 0.5,
    prefix_padding_ms: td.prefix_padding_ms ?? 300,
    silence_duration_ms: td.silence_duration_ms ?? 500,
    idle_timeout_ms: td.idle_timeout_ms ?? null,
    create_response: td.create_response ?? true,
    interrupt_response: td.interrupt_response ?? true,
  };
}

/**
 * Parses a session object, throwing a {@link ClientEventError} shaped like the real API's
 * (`unknown_parameter`, `missing_required_parameter`, `invalid_value`), `param` = dotted path
 * under `prefix` (e.g. `session.audio.input.format.type`).
 */
export function parseSessionUpdate(input: unknown, prefix = 'session'): SessionUpdate {
  return parseStrict(sessionUpdateSchema, input, prefix);
}

/**
 * Applies a parsed update: only present fields change (§2 "session.update semantics"). The
 * model cannot change; `turn_detection` objects are replaced whole, missing fields defaulted.
 */
export function mergeSessionConfig(current: SessionConfig, update: SessionUpdate): SessionConfig {
  if (update.model !== undefined && update.model !== current.model) {
    throw new ClientEventError(
      ERROR_CODE.invalidValue,
      "Cannot update a session's model. Start a new session to use a different model.",
      'session.model',
    );
  }
  const input = update.audio?.input;
  const output = update.audio?.output;
  return {
    ...current,
    instructions: update.instructions ?? current.instructions,
    output_modalities: update.output_modalities ?? current.output_modalities,
    audio: {
      input: {
        format: input?.format ? withRate(input.format) : current.audio.input.format,
        noise_reduction:
          input?.noise_reduction !== undefined
            ? input.noise_reduction
            : current.audio.input.noise_reduction,
        transcription:
          input?.transcription !== undefined
            ? input.transcription
            : current.audio.input.transcription,
        turn_detection:
          input?.turn_detection === undefined
            ? current.audio.input.turn_detection
            : input.turn_detection === null
              ? null
              : fillTurnDetection(input.turn_detection),
      },
      output: {
        format: output?.format ? withRate(output.format) : current.audio.output.format,
        voice: output?.voice ?? current.audio.output.voice,
        speed: output?.speed ?? current.audio.output.speed,
      },
    },
    tools: update.tools ?? current.tools,
    tool_choice: update.tool_choice ?? current.tool_choice,
    max_output_tokens: update.max_output_tokens ?? current.max_output_tokens,
    truncation: update.truncation ?? current.truncation,
    include: update.include !== undefined ? update.include : current.include,
    prompt: update.prompt !== undefined ? update.prompt : current.prompt,
    tracing: update.tracing !== undefined ? update.tracing : current.tracing,
  };
}

function withRate(format: AudioFormat): AudioFormat {
  return format.type === 'audio/pcm' ? { type: 'audio/pcm', rate: 24_000 } : format;
}
