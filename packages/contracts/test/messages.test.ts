import { describe, expect, it } from 'vitest';

import { callControlEndpoint, callControlRequest } from '../src/messages/call-control.js';
import {
  CallEndReason,
  callEvent,
  callEventSchema,
  callEventSchemas,
} from '../src/messages/call-events.js';
import { callOwner, callOwnerSchema } from '../src/messages/call-owner.js';
import {
  callRequest,
  callRequestId,
  callRequestSchema,
  uuidV5,
} from '../src/messages/call-requests.js';
import { campaignEvent, campaignEventSchema } from '../src/messages/campaign-events.js';
import { handoffTransferRequest, humanAgentNotify } from '../src/messages/handoff.js';
import { sipOfferEndpoint, sipOfferRequest } from '../src/messages/sip-offer.js';
import { toolExecuteEndpoint, toolExecuteRequest } from '../src/messages/tool-execute.js';
import { MESSAGE_SCHEMAS, type MessageType } from '../src/registry.js';
import { CALL_EVENT_TYPES, CAMPAIGN_EVENT_TYPES } from '../src/subjects.js';
import { CALL_ID, SAMPLES } from './support/samples.js';

const roundTrip = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
const types = Object.keys(MESSAGE_SCHEMAS) as MessageType[];

describe('messages - round trip', () => {
  it('has a sample for every message type and one schema per call and campaign event', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual([...types].sort());
    for (const event of CALL_EVENT_TYPES) expect(types).toContain(`call.${event}`);
    for (const event of CAMPAIGN_EVENT_TYPES) expect(types).toContain(`campaign.${event}`);
  });

  it.each(types)('%s: build -> JSON -> parse gives the same message', (type) => {
    const message = SAMPLES[type]();
    expect(message.type).toBe(type);
    expect(message.v).toBe(1);
    expect(MESSAGE_SCHEMAS[type].parse(roundTrip(message))).toEqual(message);
  });

  it('round-trips every call event through the union schema too', () => {
    for (const event of CALL_EVENT_TYPES) {
      const message = SAMPLES[`call.${event}`]();
      expect(callEventSchema.parse(roundTrip(message))).toEqual(message);
    }
    for (const event of CAMPAIGN_EVENT_TYPES) {
      const message = SAMPLES[`campaign.${event}`]();
      expect(campaignEventSchema.parse(roundTrip(message))).toEqual(message);
    }
  });

  it('round-trips an ended event with every end reason, provider-error included', () => {
    const reasons = Object.values(CallEndReason);
    expect(reasons).toContain('provider-error');
    for (const reason of reasons) {
      const message = callEvent('ended', CALL_ID, { reason, durationMs: 42_000 });
      expect(callEventSchema.parse(roundTrip(message))).toEqual(message);
      expect(message.data).toEqual({ reason, durationMs: 42_000 });
    }
  });

  it('round-trips every call-control action and both reply shapes', () => {
    for (const command of [
      { action: 'hangup' },
      { action: 'hangup', reason: 'operator' },
      { action: 'transfer', target: 'sip:desk@pbx', mode: 'cold' },
      { action: 'inject', text: 'The caller is a VIP.', role: 'system' },
    ] as const) {
      const message = callControlRequest(CALL_ID, command);
      expect(callControlEndpoint.request.parse(roundTrip(message))).toEqual(message);
    }
    const ok = {
      v: 1,
      id: crypto.randomUUID(),
      type: 'call-control.reply',
      ts: new Date().toISOString(),
      data: { ok: true },
    };
    expect(callControlEndpoint.reply.parse(roundTrip(ok))).toEqual(ok);
    const rejected = {
      ...ok,
      type: 'sip-offer.reply',
      data: { status: 'rejected', reason: 'busy' },
    };
    expect(sipOfferEndpoint.reply.parse(roundTrip(rejected))).toEqual(rejected);
    const failed = {
      ...ok,
      type: 'tool-execute.reply',
      data: { ok: false, error: { code: 'HTTP_502', message: 'upstream', retryable: true } },
    };
    expect(toolExecuteEndpoint.reply.parse(roundTrip(failed))).toEqual(failed);
  });

  it('round-trips the call-owners KV value', () => {
    const owner = callOwner({ pod: 'call-bridge-0', transport: 'sip', since: new Date(5) });
    expect(owner).toEqual({
      v: 1,
      pod: 'call-bridge-0',
      since: '1970-01-01T00:00:00.005Z',
      transport: 'sip',
    });
    expect(callOwnerSchema.parse(roundTrip(owner))).toEqual(owner);
  });
});

describe('messages - rejection', () => {
  it('rejects call events with bad numbers, unknown enums and missing fields', () => {
    const created = SAMPLES['call.created']();
    const bad: unknown[] = [
      { ...created, data: { ...created.data, from: '4155550100' } },
      { ...created, data: { ...created.data, transport: 'webrtc' } },
      { ...created, v: 2 },
      { ...created, callId: undefined },
      { ...SAMPLES['call.ended'](), data: { reason: 'exploded' } },
      // The reason is `provider-error`; a near miss is not accepted as it.
      { ...SAMPLES['call.ended'](), data: { reason: 'provider_error' } },
      { ...SAMPLES['call.ended'](), data: { reason: 'provider-error', durationMs: -1 } },
      { ...SAMPLES['call.ended'](), data: { reason: 'completed', metrics: { setupMs: 'fast' } } },
      { ...SAMPLES['call.transcript'](), data: { role: 'caller', text: 'hi' } },
      { ...SAMPLES['call.barge-in'](), data: { itemId: 'i', audioEndMs: -1 } },
      { ...SAMPLES['call.handoff-requested'](), data: { reason: 'x', trigger: 'psychic' } },
      {
        ...SAMPLES['call.error'](),
        data: { code: 'X', message: 'm', source: 'mars', retryable: false },
      },
    ];
    for (const message of bad) {
      expect(callEventSchema.safeParse(message).success, JSON.stringify(message)).toBe(false);
    }
  });

  it('rejects tool arguments that are not JSON', () => {
    expect(
      callEventSchemas['tool-called'].safeParse({
        ...SAMPLES['call.tool-called'](),
        data: { invocationId: 'a', name: 'b', args: undefined, latencyMs: 1 },
      }).success,
    ).toBe(false);
    expect(() =>
      toolExecuteRequest(CALL_ID, { invocationId: 'a', name: 'b', args: () => 1, agentId: 'x' }),
    ).toThrow(/args/);
  });

  it('refuses to build an unknown call event or campaign event', () => {
    expect(() => callEvent('exploded' as 'ended', CALL_ID, { reason: 'completed' })).toThrow(
      /unknown call event "exploded"/,
    );
    expect(() => campaignEvent('exploded' as 'started', { campaignId: 'c' })).toThrow(TypeError);
    expect(() => campaignEvent('progress', { campaignId: 'c' } as never)).toThrow(/data.counts/);
    expect(() => campaignEvent('started', { campaignId: 'bad.id' })).toThrow(/campaignId/);
  });

  it('rejects a bad call-control action and incomplete commands', () => {
    expect(() => callControlRequest(CALL_ID, { action: 'explode' } as never)).toThrow(/action/);
    expect(() =>
      callControlRequest(CALL_ID, {
        action: 'transfer',
        target: '+1415',
        mode: 'lukewarm',
      } as never),
    ).toThrow(/mode/);
    expect(() => callControlRequest(CALL_ID, { action: 'inject', text: '' })).toThrow(/text/);
    expect(() => callControlRequest('CA 1', { action: 'hangup' })).toThrow(/callId/);
  });

  it('rejects call requests with bad numbers, no or blank key, both from and fromPool', () => {
    const base = { to: '+14155550123', agentId: 'a', idempotencyKey: 'k1' };
    expect(() => callRequest({ ...base, to: '0044 7700' })).toThrow(/data.to: expected an E.164/);
    expect(() => callRequest({ ...base, idempotencyKey: '' })).toThrow(/idempotencyKey/);
    expect(() => callRequest({ ...base, idempotencyKey: '   ' })).toThrow(/idempotencyKey/);
    const { idempotencyKey: _k, ...noKey } = base;
    expect(() => callRequest(noKey as typeof base)).toThrow(/idempotencyKey/);
    expect(() => callRequest({ ...base, from: '+14155550100', fromPool: 'us' })).toThrow(
      /fromPool: give either from or fromPool/,
    );
    expect(() => callRequest({ ...base, scheduledAt: 'tomorrow 9am' })).toThrow(/scheduledAt/);
    expect(() => callRequest({ ...base, variables: { n: 1 as unknown as string } })).toThrow(
      /variables/,
    );
  });

  it('rejects SIP offers, transfers and notifications with bad fields', () => {
    const offer = {
      openaiCallId: 'rtc_1',
      from: '+14155550100',
      to: '+14155550101',
      sipHeaders: {},
      agentId: 'a',
    };
    expect(() => sipOfferRequest(CALL_ID, { ...offer, to: 'sip:bob@example.com' })).toThrow(/to/);
    expect(() => handoffTransferRequest(CALL_ID, { reason: 'r', mode: 'hot' as 'cold' })).toThrow(
      /mode/,
    );
    expect(() =>
      humanAgentNotify(CALL_ID, { kind: 'party' as 'handoff-offered', handoffId: 'h' }),
    ).toThrow(/kind/);
  });

  it('rejects a call-owners value of another version or transport', () => {
    const owner = callOwner({ pod: 'p', transport: 'media-streams' });
    expect(callOwnerSchema.safeParse({ ...owner, v: 2 }).success).toBe(false);
    expect(callOwnerSchema.safeParse({ ...owner, transport: 'pstn' }).success).toBe(false);
    expect(() => callOwner({ pod: '', transport: 'sip' })).toThrow(/pod/);
  });
});

/**
 * How each registered schema is malformed on purpose: whether its envelope must carry `callId`
 * (the contract, written out rather than read back from the schema) and one `data` field of the
 * sample set to a value of the wrong type (`null`: the payload has no fields to mistype). Typed
 * over `MessageType`, so a new schema without a row here fails to compile, as it does without a
 * sample in support/samples.ts.
 */
const MALFORMED: Record<
  MessageType,
  { callId: 'required' | 'optional'; wrongField: readonly [field: string, value: unknown] | null }
> = {
  'call.created': { callId: 'required', wrongField: ['from', 14155550100] },
  'call.ringing': { callId: 'required', wrongField: null },
  'call.answered': { callId: 'required', wrongField: ['answeredBy', true] },
  'call.status': { callId: 'required', wrongField: ['sequenceNumber', '3'] },
  'call.transcript': { callId: 'required', wrongField: ['final', 'yes'] },
  'call.barge-in': { callId: 'required', wrongField: ['audioEndMs', '840'] },
  'call.tool-called': { callId: 'required', wrongField: ['latencyMs', 'slow'] },
  'call.handoff-requested': { callId: 'required', wrongField: ['reason', 42] },
  'call.handoff-updated': { callId: 'required', wrongField: ['handoffId', 7] },
  'call.message-taken': { callId: 'required', wrongField: ['urgent', 'very'] },
  'call.error': { callId: 'required', wrongField: ['retryable', 'true'] },
  'call.ended': { callId: 'required', wrongField: ['durationMs', '61000'] },
  'campaign.started': { callId: 'optional', wrongField: ['counts', 'ten'] },
  'campaign.paused': { callId: 'optional', wrongField: ['reason', 7] },
  'campaign.resumed': { callId: 'optional', wrongField: ['campaignId', 42] },
  'campaign.progress': { callId: 'optional', wrongField: ['counts', [10, 4]] },
  'campaign.completed': { callId: 'optional', wrongField: ['counts', null] },
  'campaign.canceled': { callId: 'optional', wrongField: ['reason', false] },
  'call-request': { callId: 'optional', wrongField: ['to', 14155550123] },
  'call-control.request': { callId: 'required', wrongField: ['mode', 1] },
  'call-control.reply': { callId: 'optional', wrongField: ['ok', 'false'] },
  'sip-offer.request': { callId: 'required', wrongField: ['sipHeaders', 'X-Twilio-CallSid: CA1'] },
  'sip-offer.reply': { callId: 'optional', wrongField: ['pod', 7] },
  'tool-execute.request': { callId: 'required', wrongField: ['deadlineMs', '8000'] },
  'tool-execute.reply': { callId: 'optional', wrongField: ['ok', 1] },
  'handoff-transfer.request': { callId: 'required', wrongField: ['summary', 3] },
  'handoff-transfer.reply': { callId: 'optional', wrongField: ['handoffId', 1] },
  'human-agent.notify': { callId: 'required', wrongField: ['handoffId', {}] },
};

const kindOf = (value: unknown) =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;

/** The dotted paths of the issues `type`'s schema reports for `value`; `[]` when it parses. */
function issuePaths(type: MessageType, value: unknown): string[] {
  const result = MESSAGE_SCHEMAS[type].safeParse(value);
  return result.success ? [] : [...new Set(result.error.issues.map((i) => i.path.join('.')))];
}

describe('messages - every registered schema rejects malformed envelopes', () => {
  it('has a malformed case and a sample for every registered type', () => {
    expect(Object.keys(MALFORMED).sort()).toEqual([...types].sort());
    expect(Object.keys(SAMPLES).sort()).toEqual([...types].sort());
  });

  // Each mutation changes one thing of a valid sample, and the only issue reported must be at
  // that path: a rejection for some other reason would not prove the check exists.
  it.each(types)('%s: rejects a wrong version, id, type, callId and data field type', (type) => {
    const sample = SAMPLES[type]() as Record<string, unknown> & { data: Record<string, unknown> };
    const { callId, wrongField } = MALFORMED[type];
    expect(issuePaths(type, sample)).toEqual([]);

    expect(issuePaths(type, { ...sample, v: 2 })).toEqual(['v']);
    expect(issuePaths(type, { ...sample, v: '1' })).toEqual(['v']);
    const { id: _id, ...withoutId } = sample;
    expect(issuePaths(type, withoutId)).toEqual(['id']);
    expect(issuePaths(type, { ...sample, id: 'not-a-uuid' })).toEqual(['id']);
    // Another registered type: one message never passes for another, even with the same shape.
    const other = types[(types.indexOf(type) + 1) % types.length];
    expect(issuePaths(type, { ...sample, type: other })).toEqual(['type']);
    expect(issuePaths(type, { ...sample, type: `${type}.v2` })).toEqual(['type']);

    const { callId: _callId, ...withoutCallId } = sample;
    if (callId === 'required') {
      expect(sample.callId).toBe(CALL_ID);
      expect(issuePaths(type, withoutCallId)).toEqual(['callId']);
    } else {
      expect(issuePaths(type, withoutCallId)).toEqual([]);
    }
    // Present or not, a callId must be usable as one subject token.
    expect(issuePaths(type, { ...sample, callId: 'CA.1' })).toEqual(['callId']);

    expect(issuePaths(type, { ...sample, data: 'payload' })).toEqual(['data']);
    if (wrongField) {
      const [field, value] = wrongField;
      // The field exists in the sample with another type, so this is a type error, not an
      // unknown key (which the tolerant reader would strip and accept).
      expect(Object.keys(sample.data)).toContain(field);
      expect(kindOf(sample.data[field])).not.toBe(kindOf(value));
      expect(issuePaths(type, { ...sample, data: { ...sample.data, [field]: value } })).toEqual([
        `data.${field}`,
      ]);
    }
  });
});

describe('messages - call request ids', () => {
  it('computes RFC 9562 version 5 UUIDs', () => {
    // The RFC's own example: the DNS namespace and "www.example.com".
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  it('derives the id from the idempotency key, so the same key gives the same Nats-Msg-Id', () => {
    const a = callRequest({ to: '+14155550123', agentId: 'a', idempotencyKey: 'k-1' });
    const b = callRequest({ to: '+14155550199', agentId: 'b', idempotencyKey: 'k-1' });
    const c = callRequest({ to: '+14155550123', agentId: 'a', idempotencyKey: 'k-2' });
    expect(a.id).toBe(callRequestId('k-1'));
    expect(b.id).toBe(a.id);
    expect(c.id).not.toBe(a.id);
    expect(callRequestSchema.parse(roundTrip(a))).toEqual(a);
  });
});
