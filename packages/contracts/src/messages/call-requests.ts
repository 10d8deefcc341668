/**
 * Outbound call requests, published on `call-requests.<origin>` (JetStream `CALL_REQUESTS`,
 * work queue) by the REST API and internal services, consumed by the campaign-scheduler.
 *
 * The same idempotency key never dials twice. The first guard is JetStream itself: the event id
 * of a request is derived from its idempotency key (a name-based UUID), so a re-sent request
 * carries the same `Nats-Msg-Id` and is dropped within the stream's duplicate window. The
 * scheduler's unique key in PostgreSQL covers the rest.
 */
import { createHash } from 'node:crypto';

import { z } from 'zod';

import {
  buildEnvelope,
  e164Schema,
  envelope,
  isoTimestampSchema,
  jsonValueSchema,
  nonEmpty,
  type EnvelopeOptions,
} from '../envelope.js';

/** The envelope type of a call request. */
export const CALL_REQUEST_TYPE = 'call-request';

/** `data` of a call request. */
export const callRequestDataSchema = z
  .object({
    /** Number to dial. */
    to: e164Schema,
    /** Caller id to present; exclusive with `fromPool`. */
    from: e164Schema.optional(),
    /** Name of a number pool the scheduler picks the caller id from; exclusive with `from`. */
    fromPool: nonEmpty.optional(),
    agentId: nonEmpty,
    /** Values substituted into the agent's instructions (`{{name}}`). */
    variables: z.record(z.string(), z.string()).optional(),
    /** Earliest time to dial; absent means as soon as pacing and calling windows allow. */
    scheduledAt: isoTimestampSchema.optional(),
    /** The same key never dials twice (ARCHITECTURE.md "Events and records"). */
    idempotencyKey: z
      .string()
      .max(256)
      .regex(/\S/, { message: 'idempotencyKey must not be empty or blank' }),
    /** Opaque caller data, stored with the call record and echoed in its events. */
    metadata: z.record(z.string(), jsonValueSchema).optional(),
    campaignId: nonEmpty.optional(),
    contactId: nonEmpty.optional(),
  })
  .superRefine((value, ctx) => {
    if (value.from !== undefined && value.fromPool !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['fromPool'],
        message: 'give either from or fromPool, not both',
      });
    }
  });

/** Envelope schema of a call request (no `callId`: the scheduler assigns it when dialing). */
export const callRequestSchema = envelope(CALL_REQUEST_TYPE, callRequestDataSchema);

export type CallRequestData = z.output<typeof callRequestDataSchema>;
export type CallRequest = z.output<typeof callRequestSchema>;

/** UUID namespace of call request ids (random, fixed forever: changing it breaks dedupe). */
const CALL_REQUEST_NAMESPACE = '6f1d4a52-7c1e-4b8e-9a53-3f0a2c9d8e17';

/**
 * A name-based (version 5, RFC 9562) UUID of `name` in `namespace`: the same inputs always give
 * the same id.
 */
export function uuidV5(name: string, namespace: string = CALL_REQUEST_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new TypeError(`namespace "${namespace}" is not a UUID`);
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  // Version 5 in the high nibble of byte 6, RFC 4122 variant in the top bits of byte 8.
  hash.writeUInt8((hash.readUInt8(6) & 0x0f) | 0x50, 6);
  hash.writeUInt8((hash.readUInt8(8) & 0x3f) | 0x80, 8);
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The event id of the request with this idempotency key (also its `Nats-Msg-Id`). */
export function callRequestId(idempotencyKey: string): string {
  return uuidV5(idempotencyKey);
}

/**
 * Builds a validated call request. Its id defaults to {@link callRequestId} of the idempotency
 * key, so re-sending the same request is deduplicated by JetStream.
 */
export function callRequest(
  data: z.input<typeof callRequestDataSchema>,
  options: Omit<EnvelopeOptions, 'callId'> = {},
): CallRequest {
  // A blank or missing key is left for the schema to reject with its own message.
  const key: unknown = (data as { idempotencyKey?: unknown } | undefined)?.idempotencyKey;
  const id =
    options.id ?? (typeof key === 'string' && /\S/.test(key) ? callRequestId(key) : undefined);
  return buildEnvelope(callRequestSchema, data, { ...options, ...(id ? { id } : {}) });
}
