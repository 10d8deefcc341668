/**
 * Property: `decodeMessage` and `decodeReply`, the parsers of everything a service takes off
 * NATS, never throw: any bytes, any JSON and any mutation of a valid message on its subject
 * give either a message that passes its schema again or a typed failure with a reason.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  decodeMessage,
  decodeReply,
  ENDPOINTS,
  type EndpointName,
  type MessageType,
} from '../src/registry.js';
import { createNames } from '../src/subjects.js';
import { CALL_ID, CAMPAIGN_ID, SAMPLES } from './support/samples.js';

const names = createNames('t1');
const s = names.subjects;
const RUNS = { numRuns: 200 };

/** A subject for each sample that travels on one. */
const SUBJECT_OF: Partial<Record<MessageType, string>> = {
  'call.created': s.callEvent(CALL_ID, 'created'),
  'call.ended': s.callEvent(CALL_ID, 'ended'),
  'campaign.progress': s.campaignEvent(CAMPAIGN_ID, 'progress'),
  'call-request': s.callRequest('api'),
  'call-control.request': s.callControl(CALL_ID),
  'sip-offer.request': s.sipOffer,
  'tool-execute.request': s.toolExecute,
  'handoff-transfer.request': s.handoffTransfer,
  'human-agent.notify': s.humanAgentNotify('agent-7'),
};
const SAMPLED = Object.entries(SUBJECT_OF) as Array<[MessageType, string]>;

/** Replaces the value at a random path of `value` with `replacement` (or deletes it). */
function mutateAt(value: unknown, path: number[], replacement: unknown, remove: boolean): unknown {
  if (typeof value !== 'object' || value === null) return replacement;
  const keys = Object.keys(value);
  if (keys.length === 0 || path.length === 0) return replacement;
  const key = keys[(path[0] ?? 0) % keys.length] as string;
  const copy: Record<string, unknown> = Array.isArray(value)
    ? ([...value] as unknown as Record<string, unknown>)
    : { ...(value as Record<string, unknown>) };
  if (remove && path.length === 1) delete copy[key];
  else copy[key] = mutateAt(copy[key], path.slice(1), replacement, remove);
  return copy;
}

const payload = fc.oneof(
  fc.string(),
  fc.uint8Array({ maxLength: 200 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
);

/** Decodes, and checks the outcome is one of the two documented shapes. */
function decodesCleanly(subject: string, bytes: Uint8Array | string): void {
  const decoded = decodeMessage(names, subject, bytes);
  if (decoded.ok) {
    // What decoded decodes again, to the same message.
    expect(decodeMessage(names, subject, JSON.stringify(decoded.message))).toEqual(decoded);
  } else {
    expect(decoded.reason.length).toBeGreaterThan(0);
  }
}

describe('contracts decoders - property: a message or a reason, never a throw', () => {
  it('mutations of every valid message, on its subject', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SAMPLED),
        fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
        fc.jsonValue(),
        fc.boolean(),
        ([type, subject], path, replacement, remove) => {
          const mutated = mutateAt(SAMPLES[type](), path, replacement, remove);
          decodesCleanly(subject, JSON.stringify(mutated) ?? 'undefined');
        },
      ),
      RUNS,
    );
  });

  it('any payload on any subject, known or not', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...SAMPLED.map(([, subj]) => subj)), fc.string({ maxLength: 40 })),
        payload,
        (subject, bytes) => decodesCleanly(subject, bytes),
      ),
      RUNS,
    );
  });

  it('any reply payload for every endpoint', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(ENDPOINTS) as EndpointName[])),
        payload,
        (endpoint, bytes) => {
          const decoded = decodeReply(endpoint, bytes);
          if (!decoded.ok) expect(decoded.reason.length).toBeGreaterThan(0);
        },
      ),
      RUNS,
    );
  });
});
