/**
 * Request/reply endpoints: each has a request schema (call-scoped: `callId` required) and a reply
 * schema, both enveloped, with types `<endpoint>.request` and `<endpoint>.reply`.
 */
import { type z } from 'zod';

import { buildEnvelope, callEnvelope, envelope, type EnvelopeOptions } from '../envelope.js';

/** Builds the pair of envelope schemas of endpoint `name`. */
export function defineEndpoint<N extends string, Q extends z.ZodType, R extends z.ZodType>(
  name: N,
  requestData: Q,
  replyData: R,
) {
  return {
    name,
    request: callEnvelope(`${name}.request` as `${N}.request`, requestData),
    reply: envelope(`${name}.reply` as `${N}.reply`, replyData),
  } as const;
}

type Endpoint = ReturnType<typeof defineEndpoint>;

/** Builds a validated request envelope for `endpoint`; throws a `TypeError` naming the issue. */
export function buildRequest<E extends Endpoint>(
  endpoint: E,
  callId: string,
  data: z.input<E['request']>['data'],
  options: Omit<EnvelopeOptions, 'callId'> = {},
): z.output<E['request']> {
  return buildEnvelope(endpoint.request, data, { ...options, callId }) as z.output<E['request']>;
}

/** Builds a validated reply envelope for `endpoint`; throws a `TypeError` naming the issue. */
export function buildReply<E extends Endpoint>(
  endpoint: E,
  data: z.input<E['reply']>['data'],
  options: EnvelopeOptions = {},
): z.output<E['reply']> {
  return buildEnvelope(endpoint.reply, data, options) as z.output<E['reply']>;
}
