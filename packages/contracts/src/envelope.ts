/**
 * The envelope every bus message travels in, and the primitives message schemas share.
 *
 * ```
 * { v: 1, id: <uuid>, type: 'call.ended', callId?: 'CA…', ts: '2025-01-01T00:00:00.000Z', data: {…} }
 * ```
 *
 * `v` versions the envelope and every payload in it: a breaking change to any payload is a new
 * `v`, and a reader refuses versions it does not know. `id` is the event id; JetStream
 * publishes carry it as `Nats-Msg-Id`, and the call-record projector stores it under a unique
 * key, so a message is applied once however often it is delivered. Unknown keys are stripped
 * on parse (tolerant reader), so adding an optional field is not a breaking change.
 */
import { randomUUID } from 'node:crypto';

import { z } from 'zod';

import { ID_TOKEN_PATTERN } from './subjects.js';

/** The only envelope version this package reads and writes. */
export const ENVELOPE_VERSION = 1;

/** E.164 at this layer: `+`, country code not starting with 0, at most 15 digits. */
export const E164_PATTERN = /^\+[1-9]\d{1,14}$/;

/** A phone number in E.164 form, e.g. `+14155550123`. */
export const e164Schema = z
  .string()
  .regex(E164_PATTERN, { message: 'expected an E.164 phone number like +14155550123' });

/** An ISO-8601 timestamp with `Z` or an explicit offset, e.g. `2025-01-01T00:00:00.000Z`. */
export const isoTimestampSchema = z.iso.datetime({ offset: true });

/** An event id: a UUID (random for events, name-based for call requests). */
export const eventIdSchema = z.uuid();

/** A call id as it appears in subjects: Twilio `CA…` SID or a UUID; one subject token. */
export const callIdSchema = z.string().max(128).regex(ID_TOKEN_PATTERN, {
  message: 'expected a call id usable as one subject token (letters, digits, "-" and "_")',
});

/** A non-empty identifier (agent, campaign, contact, handoff, invocation ids). */
export const nonEmpty = z.string().min(1).max(256);

/** Durations and offsets in ms: finite and not negative. */
export const nonNegativeMs = z.number().nonnegative();

/**
 * Any JSON value (tool arguments and results). Validated as JSON at runtime, typed `unknown` so
 * callers pass what they parsed without casting.
 */
export const jsonValueSchema: z.ZodType<unknown> = z.json();

/** Envelope fields shared by every message, before `type`, `callId` and `data`. */
const base = {
  v: z.literal(ENVELOPE_VERSION, { message: `expected envelope version ${ENVELOPE_VERSION}` }),
  id: eventIdSchema,
  ts: isoTimestampSchema,
};

/** Schema of a message that belongs to one call: `callId` is required. */
export function callEnvelope<T extends string, D extends z.ZodType>(type: T, data: D) {
  return z.object({ ...base, type: z.literal(type), callId: callIdSchema, data });
}

/** Schema of a message that may relate to a call: `callId` is optional. */
export function envelope<T extends string, D extends z.ZodType>(type: T, data: D) {
  return z.object({ ...base, type: z.literal(type), callId: callIdSchema.optional(), data });
}

/** Any envelope schema built by {@link callEnvelope} or {@link envelope}. */
export type EnvelopeSchema = ReturnType<typeof callEnvelope> | ReturnType<typeof envelope>;

/** The fields every parsed envelope has, whatever its type. */
export interface Envelope {
  readonly v: typeof ENVELOPE_VERSION;
  readonly id: string;
  readonly type: string;
  readonly callId?: string | undefined;
  readonly ts: string;
  readonly data: unknown;
}

/** Overrides for {@link buildEnvelope}. */
export interface EnvelopeOptions {
  /** The call the message belongs to; required by call-scoped schemas. */
  readonly callId?: string;
  /** Event id. @defaultValue a random UUID (`crypto.randomUUID()`). */
  readonly id?: string;
  /** Timestamp. @defaultValue now, as `new Date().toISOString()`. */
  readonly ts?: string | Date;
}

/** Formats zod issues as `path: message; path: message`, without echoing input values. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/**
 * Parses `value` with `schema`, throwing a `TypeError` that names what was being parsed and every
 * issue. Use it where invalid input is a programming error (building, publishing).
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string) {
  const result = schema.safeParse(value);
  if (!result.success) throw new TypeError(`invalid ${what}: ${formatIssues(result.error)}`);
  return result.data;
}

/**
 * Builds and validates an envelope for `schema`: fills `v`, `id`, `type` and `ts`, so callers
 * never hand-build one. Throws a `TypeError` naming the issue when `data` or `callId` is invalid.
 */
export function buildEnvelope<S extends EnvelopeSchema>(
  schema: S,
  data: z.input<S>['data'],
  options: EnvelopeOptions = {},
): z.output<S> {
  const type = schema.shape.type.value;
  const ts = options.ts instanceof Date ? options.ts.toISOString() : options.ts;
  const candidate = {
    v: ENVELOPE_VERSION,
    id: options.id ?? randomUUID(),
    type,
    ...(options.callId === undefined ? {} : { callId: options.callId }),
    ts: ts ?? new Date().toISOString(),
    data,
  };
  return parseOrThrow(schema, candidate, `${type} message`) as z.output<S>;
}
