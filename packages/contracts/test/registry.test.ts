import { describe, expect, it } from 'vitest';

import { callEvent } from '../src/messages/call-events.js';
import { campaignEvent } from '../src/messages/campaign-events.js';
import {
  decodeMessage,
  decodeReply,
  makeEnvelope,
  MESSAGE_SCHEMAS,
  schemaForSubject,
  type MessageType,
} from '../src/registry.js';
import { createNames, NAMES } from '../src/subjects.js';
import { CALL_ID, CAMPAIGN_ID, SAMPLES } from './support/samples.js';

const names = createNames('t1');
const json = (value: unknown) => JSON.stringify(value);

describe('registry', () => {
  it('keys every schema by its own envelope type', () => {
    for (const [type, schema] of Object.entries(MESSAGE_SCHEMAS)) {
      expect(schema.shape.type.value).toBe(type);
    }
  });

  it('parses every subject of a namespace into its kind and ids', () => {
    const s = names.subjects;
    expect(s.parse(s.callEvent('CA1', 'barge-in'))).toEqual({
      kind: 'call-event',
      callId: 'CA1',
      event: 'barge-in',
    });
    expect(s.parse(s.callRequest('api'))).toEqual({ kind: 'call-request', origin: 'api' });
    expect(s.parse(s.campaignEvent('c1', 'progress'))).toEqual({
      kind: 'campaign-event',
      campaignId: 'c1',
      event: 'progress',
    });
    expect(s.parse(s.callControl('CA1'))).toEqual({ kind: 'call-control', callId: 'CA1' });
    expect(s.parse(s.sipOffer)).toEqual({ kind: 'sip-offer' });
    expect(s.parse(s.toolExecute)).toEqual({ kind: 'tool-execute' });
    expect(s.parse(s.handoffTransfer)).toEqual({ kind: 'handoff-transfer' });
    expect(s.parse(s.humanAgentNotify('h7'))).toEqual({
      kind: 'human-agent-notify',
      agentId: 'h7',
    });
    for (const foreign of [
      'calls.CA1.ended',
      't2.calls.CA1.ended',
      't1.calls.CA1',
      't1.calls..x',
    ]) {
      expect(s.parse(foreign), foreign).toBeNull();
    }
    expect(NAMES.subjects.parse('calls.CA1.ended')).toMatchObject({ kind: 'call-event' });
  });

  it('finds the schema of the event named in a calls.<id>.<event> subject', () => {
    const found = schemaForSubject(names, names.subjects.callEvent('CA1', 'ended'));
    expect(found?.kind).toBe('call-event');
    expect(found?.schema).toBe(MESSAGE_SCHEMAS['call.ended']);
    expect(schemaForSubject(names, 't1.calls.CA1.exploded')).toBeNull();
    expect(schemaForSubject(names, names.subjects.sipOffer)?.schema).toBe(
      MESSAGE_SCHEMAS['sip-offer.request'],
    );
  });

  it('decodes every sample published on its subject', () => {
    const s = names.subjects;
    const subjectOf: Partial<Record<MessageType, string>> = {
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
    for (const [type, subject] of Object.entries(subjectOf)) {
      const message = SAMPLES[type as MessageType]();
      const decoded = decodeMessage(names, subject, new TextEncoder().encode(json(message)));
      expect(decoded, type).toEqual({
        ok: true,
        kind: names.subjects.parse(subject)?.kind,
        message,
      });
    }
  });

  it('explains why a payload does not decode, without echoing it', () => {
    const subject = names.subjects.callEvent(CALL_ID, 'ended');
    const ended = callEvent('ended', CALL_ID, { reason: 'completed' });
    const reason = (payload: string, on = subject, expect?: 'call-event' | 'call-request') => {
      const decoded = decodeMessage(names, on, payload, expect);
      return decoded.ok ? 'ok' : decoded.reason;
    };
    expect(reason('{"secret": ')).toBe('payload is not valid JSON');
    expect(reason(json({ ...ended, v: 2 }))).toMatch(/^v: expected envelope version 1/);
    expect(reason(json({ ...ended, type: 'call.created' }))).toMatch(/^type: /);
    expect(reason(json(callEvent('ringing', CALL_ID, {})))).toMatch(/^type: /);
    expect(reason(json(ended), 't1.calls.CA1.exploded')).toBe('unknown call event type "exploded"');
    expect(reason(json(ended), names.subjects.callEvent('CAother', 'ended'))).toMatch(
      /subject call id "CAother" differs from message callId/,
    );
    expect(reason(json(ended), 'elsewhere.calls')).toMatch(/not a known subject/);
    expect(reason(json(ended), subject, 'call-request')).toBe(
      'expected a call-request subject, got call-event',
    );
    const progress = campaignEvent('progress', {
      campaignId: 'c-a',
      counts: { total: 1, dialed: 0, completed: 0, failed: 0, remaining: 1 },
    });
    expect(reason(json(progress), names.subjects.campaignEvent('c-b', 'progress'))).toMatch(
      /subject campaign id "c-b" differs/,
    );
    const { id: _id, ...noId } = ended;
    expect(reason(json(noId))).toMatch(/^id: /);
  });

  it('decodes replies with the endpoint reply schema', () => {
    expect(decodeReply('sip-offer', json(SAMPLES['sip-offer.reply']()))).toMatchObject({
      ok: true,
    });
    expect(decodeReply('tool-execute', json(SAMPLES['sip-offer.reply']()))).toMatchObject({
      ok: false,
    });
    expect(decodeReply('call-control', 'nope')).toEqual({
      ok: false,
      reason: 'payload is not valid JSON',
    });
  });

  it('builds any message by type with makeEnvelope', () => {
    const ended = makeEnvelope('call.ended', { reason: 'busy' }, { callId: CALL_ID });
    expect(ended).toMatchObject({
      v: 1,
      type: 'call.ended',
      callId: CALL_ID,
      data: { reason: 'busy' },
    });
    const notify = makeEnvelope('campaign.resumed', { campaignId: 'c1' });
    expect(notify.data.campaignId).toBe('c1');
    expect(() =>
      makeEnvelope('call.nope' as 'call.ended', { reason: 'busy' }, { callId: 'x' }),
    ).toThrow(/unknown message type "call.nope"/);
    expect(() => makeEnvelope('call.ended', { reason: 'busy' }, {} as { callId: string })).toThrow(
      /callId/,
    );
  });
});
