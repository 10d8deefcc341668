/**
 * The body of `POST /v1/agents` and `PATCH /v1/agents/:id`: what an agent's row may hold, checked
 * before it reaches the call-bridge (which sends `voice`, `model` and `instructions` to the
 * Realtime API as they are) and the handoff service (which reads `transferTargets`).
 *
 * `toolNames` is not part of it: the tools an agent may use are set by
 * `PUT /v1/agents/:id/tools`, which checks each name against the built-in and HTTP tools.
 */
import { z } from 'zod';

import { parsePhone } from '@app/dialing';

/**
 * Output voices of the Realtime API (openai-realtime.md §2, `audio.output.voice`; the openai SDK's
 * `RealtimeAudioConfigOutput.voice`). A voice cannot change once the session has spoken, so a
 * typo would only surface as a failed call: it is refused here.
 */
export const REALTIME_VOICES = [
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

/** `agents.amd_mode`. */
export const AMD_MODES = ['off', 'hangup', 'voicemail'] as const;

/** Longest system prompt accepted; far beyond a useful one, short of the body limit. */
export const MAX_INSTRUCTIONS = 50_000;
export const MAX_TRANSFER_TARGETS = 50;
/** Longest disclosure: a notice the caller sits through before the call starts. */
export const MAX_DISCLOSURE = 500;

/** The skill names human agents have (`human-agents-api.ts`), so a target can match them. */
const skill = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a skill is lowercase letters, digits, - or _ (at most 64)');

/** An E.164 number, normalised the way the dialer reads numbers (`@app/dialing` `parsePhone`). */
const phone = z
  .string()
  .max(64)
  .transform((raw, ctx) => {
    const parsed = parsePhone('phone', raw);
    if (parsed.ok) return parsed.e164;
    ctx.addIssue({ code: 'custom', message: parsed.issue.message });
    return z.NEVER;
  });

const transferTargetSchema = z
  .strictObject({
    name: z.string().trim().min(1, 'a transfer target needs a name').max(100),
    skill: skill.optional(),
    phone: phone.optional(),
    sipUri: z
      .string()
      .max(255)
      .regex(/^sips?:[^\s@]+@[^\s]+$/i, 'sipUri must be a sip: URI (sip:desk@pbx.example.com)')
      .optional(),
  })
  .refine((t) => t.skill !== undefined || t.phone !== undefined || t.sipUri !== undefined, {
    message: 'a transfer target needs at least one of skill, phone, sipUri',
    path: ['skill'],
  });
export type TransferTarget = z.output<typeof transferTargetSchema>;

const transferTargetsSchema = z
  .array(transferTargetSchema)
  .max(MAX_TRANSFER_TARGETS, `at most ${MAX_TRANSFER_TARGETS} transfer targets`)
  // The model names a target when it asks for a transfer: two with one name are ambiguous.
  .superRefine((targets, ctx) => {
    const seen = new Set<string>();
    targets.forEach((t, i) => {
      const key = t.name.toLowerCase();
      if (seen.has(key)) {
        ctx.addIssue({
          code: 'custom',
          message: `transfer target name "${t.name}" is used twice`,
          path: [i, 'name'],
        });
      }
      seen.add(key);
    });
  });

const fields = {
  name: z.string().trim().min(1, 'name is required').max(200),
  instructions: z
    .string()
    .trim()
    .min(1, 'instructions are required: the system prompt of the agent')
    .max(MAX_INSTRUCTIONS),
  greetFirst: z.boolean(),
  greeting: z.string().trim().min(1, 'greeting is null or some text').max(4_000).nullable(),
  /**
   * Said word for word before anything else on every call (`call-session.ts`): the bridge quotes
   * it to the model between double quotes, so one inside would end the quote early.
   */
  disclosure: z
    .string()
    .trim()
    .min(1, 'disclosure is null or the sentence the agent says first')
    .max(MAX_DISCLOSURE, `disclosure is at most ${MAX_DISCLOSURE} characters: one or two sentences`)
    .refine((v) => !v.includes('"'), {
      message: 'disclosure cannot contain a double quote (") : it is quoted to the model',
    })
    .nullable(),
  voice: z.enum(REALTIME_VOICES, {
    error: `voice is one of ${REALTIME_VOICES.join(', ')}`,
  }),
  // The SDK types the model as an open string (new models appear without an SDK release): only
  // its shape is checked, the Realtime API refuses an unknown one.
  model: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9._-]{0,63}$/,
      'model is a Realtime model name such as gpt-realtime (lowercase letters, digits, . _ -)',
    ),
  transferTargets: transferTargetsSchema,
  amdMode: z.enum(AMD_MODES, { error: `amdMode is one of ${AMD_MODES.join(', ')}` }),
  voicemailMessage: z
    .string()
    .trim()
    .min(1, 'voicemailMessage is null or some text')
    .max(1_000)
    .nullable(),
};

export const agentCreateSchema = z.strictObject({
  name: fields.name,
  instructions: fields.instructions,
  greetFirst: fields.greetFirst.optional(),
  greeting: fields.greeting.optional(),
  disclosure: fields.disclosure.optional(),
  voice: fields.voice.optional(),
  model: fields.model.optional(),
  transferTargets: transferTargetsSchema.optional(),
  amdMode: fields.amdMode.optional(),
  voicemailMessage: fields.voicemailMessage.optional(),
});
export const agentUpdateSchema = agentCreateSchema.partial();
export type AgentCreate = z.output<typeof agentCreateSchema>;
export type AgentUpdate = z.output<typeof agentUpdateSchema>;

export type AgentInputIssue = { field: string; code: string; message: string };

/**
 * Pulls `toolNames` out of a body: it is written only through `PUT /v1/agents/:id/tools`, and a
 * client sending it deserves a message saying so rather than "unknown field".
 */
export function withoutToolNames(body: unknown): { rest: unknown; issue: AgentInputIssue | null } {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('toolNames' in body)) {
    return { rest: body, issue: null };
  }
  const { toolNames: _ignored, ...rest } = body as Record<string, unknown>;
  return {
    rest,
    issue: {
      field: 'toolNames',
      code: 'read_only',
      message: "toolNames is set with PUT /v1/agents/:id/tools, which checks each tool's name",
    },
  };
}
