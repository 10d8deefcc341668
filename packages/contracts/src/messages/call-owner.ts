/**
 * The value of the `call-owners` KV bucket: `callId -> { v, pod, since, transport }`, written by
 * the owning bridge, re-put as a heartbeat, deleted at call end. Not an envelope: a plain
 * versioned value, read by the sweeper and by anyone routing `call-control`.
 */
import { z } from 'zod';

import { ENVELOPE_VERSION, isoTimestampSchema, nonEmpty, parseOrThrow } from '../envelope.js';
import { callTransport } from './call-events.js';

export const callOwnerSchema = z.object({
  v: z.literal(ENVELOPE_VERSION, { message: `expected version ${ENVELOPE_VERSION}` }),
  /** The owning bridge pod (its hostname). */
  pod: nonEmpty,
  /** When this pod took the call. Heartbeats keep it; the bucket TTL expires a dead pod's keys. */
  since: isoTimestampSchema,
  transport: callTransport,
});

export type CallOwner = z.output<typeof callOwnerSchema>;

/** Builds a validated call-owner value; `since` defaults to now. */
export function callOwner(value: {
  pod: string;
  transport: CallOwner['transport'];
  since?: string | Date;
}): CallOwner {
  const since = value.since instanceof Date ? value.since.toISOString() : value.since;
  return parseOrThrow(
    callOwnerSchema,
    {
      v: ENVELOPE_VERSION,
      pod: value.pod,
      since: since ?? new Date().toISOString(),
      transport: value.transport,
    },
    'call owner',
  );
}
