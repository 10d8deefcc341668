/**
 * The built-in tools as the model sees them (name, description, argument schema) and how long
 * the tool-runner gives each. Their handlers live in the tool-runner; the call-bridge only needs
 * these specs. Descriptions are instructions to the model: they say when to call the tool and
 * what to do with its result.
 */
import { type ToolSpec } from './tool-spec.js';

export const BuiltinToolName = {
  GetTime: 'get_time',
  ScheduleCallback: 'schedule_callback',
  EndCall: 'end_call',
  TransferToHuman: 'transfer_to_human',
  TakeMessage: 'take_message',
  AddToDoNotCall: 'add_to_do_not_call',
} as const;
export type BuiltinToolName = (typeof BuiltinToolName)[keyof typeof BuiltinToolName];

export interface BuiltinToolDefinition extends ToolSpec {
  readonly name: BuiltinToolName;
  /** Longest run the tool-runner allows, in ms (a request's own deadline may be shorter). */
  readonly timeoutMs: number;
}

const e164 = { type: 'string', pattern: '^\\+[1-9][0-9]{6,14}$' } as const;

const definitions: readonly BuiltinToolDefinition[] = [
  {
    type: 'function',
    name: BuiltinToolName.GetTime,
    description:
      "Current date and time. Without arguments it is the caller's local time (from their phone number); give timeZone (IANA, e.g. Europe/Paris) for another place. Call it before proposing or booking a time.",
    parameters: {
      type: 'object',
      properties: {
        timeZone: {
          type: 'string',
          description: 'IANA time zone, e.g. America/New_York; omit for the caller’s own zone.',
          minLength: 1,
          maxLength: 64,
        },
      },
      additionalProperties: false,
    },
    timeoutMs: 1_000,
  },
  {
    type: 'function',
    name: BuiltinToolName.ScheduleCallback,
    description:
      'Book a call back to the caller at a time they agreed to. Give either `at` (ISO 8601 with offset, e.g. 2026-12-01T15:30:00-05:00; use get_time first) or `inMinutes`. Confirm the time with the caller before calling.',
    parameters: {
      type: 'object',
      properties: {
        at: { type: 'string', format: 'date-time', description: 'When to call, ISO 8601.' },
        inMinutes: {
          type: 'integer',
          minimum: 1,
          maximum: 60 * 24 * 30,
          description: 'Minutes from now, instead of `at`.',
        },
        reason: { type: 'string', maxLength: 500, description: 'What the callback is about.' },
        phoneNumber: {
          ...e164,
          description: 'Number to call in E.164, only if not the number of this call.',
        },
      },
      // "exactly one of at / inMinutes" is checked by the handler: a top-level oneOf is not
      // something every model API accepts in a function schema.
      additionalProperties: false,
    },
    timeoutMs: 3_000,
  },
  {
    type: 'function',
    name: BuiltinToolName.EndCall,
    description:
      'Hang up. Say goodbye first, in the same response; the line is closed after what you are saying has been played.',
    parameters: {
      type: 'object',
      properties: {
        reason: { type: 'string', maxLength: 200, description: 'Why the call ends, for the log.' },
      },
      additionalProperties: false,
    },
    timeoutMs: 3_000,
  },
  {
    type: 'function',
    name: BuiltinToolName.TransferToHuman,
    description:
      'Pass the caller to a human colleague, when they ask for one or you cannot help. Give the reason and a short summary for the human. If the result says nobody is available, tell the caller and offer a callback (schedule_callback) or to take a message (take_message).',
    parameters: {
      type: 'object',
      properties: {
        reason: { type: 'string', minLength: 1, maxLength: 500 },
        summary: {
          type: 'string',
          minLength: 1,
          maxLength: 2_000,
          description:
            'What the human needs to know: who is calling, what they want, what was done.',
        },
        skill: {
          type: 'string',
          minLength: 1,
          maxLength: 64,
          description: 'Team or skill to route to (e.g. billing), when known.',
        },
      },
      required: ['reason', 'summary'],
      additionalProperties: false,
    },
    timeoutMs: 10_000,
  },
  {
    type: 'function',
    name: BuiltinToolName.TakeMessage,
    description:
      'Record a message from the caller for the team, e.g. when nobody is available. Read the message back to the caller first.',
    parameters: {
      type: 'object',
      properties: {
        message: { type: 'string', minLength: 1, maxLength: 4_000 },
        callerName: { type: 'string', maxLength: 200 },
        callbackNumber: { ...e164, description: 'Number to call back, E.164, if not this one.' },
        urgent: { type: 'boolean' },
      },
      required: ['message'],
      additionalProperties: false,
    },
    timeoutMs: 3_000,
  },
  {
    type: 'function',
    name: BuiltinToolName.AddToDoNotCall,
    description:
      "Put the caller's own number on the do-not-call list, when they ask not to be called again (stop calling, remove me from your list). It always applies to the number of this call, never another: it takes no number. Then confirm to the caller that they will not be called again, and offer to end the call.",
    parameters: {
      type: 'object',
      properties: {
        reason: {
          type: 'string',
          maxLength: 200,
          description: 'What the caller said, in a few words, for the record.',
        },
      },
      additionalProperties: false,
    },
    timeoutMs: 3_000,
  },
];

/** The built-in tools by name. */
export const BUILTIN_TOOLS: ReadonlyMap<string, BuiltinToolDefinition> = new Map(
  definitions.map((d) => [d.name, d]),
);

export function isBuiltinToolName(name: string): name is BuiltinToolName {
  return BUILTIN_TOOLS.has(name);
}
