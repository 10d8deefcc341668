/**
 * One valid sample of every message type, built through the public constructors. Typed as a
 * record over `MessageType`, so a new message type without a sample fails to compile here.
 */
import { callControlReply, callControlRequest } from '../../src/messages/call-control.js';
import { callEvent } from '../../src/messages/call-events.js';
import { callRequest } from '../../src/messages/call-requests.js';
import { campaignEvent } from '../../src/messages/campaign-events.js';
import {
  handoffTransferReply,
  handoffTransferRequest,
  humanAgentNotify,
} from '../../src/messages/handoff.js';
import { sipOfferReply, sipOfferRequest } from '../../src/messages/sip-offer.js';
import { toolExecuteReply, toolExecuteRequest } from '../../src/messages/tool-execute.js';
import { type AnyMessage, type MessageType } from '../../src/registry.js';

export const CALL_ID = 'CA0123456789abcdef0123456789abcdef';
export const CAMPAIGN_ID = 'cmp-1';
const counts = { total: 10, dialed: 4, completed: 3, failed: 1, remaining: 6 };

export const SAMPLES: Record<MessageType, () => AnyMessage> = {
  'call.created': () =>
    callEvent('created', CALL_ID, {
      direction: 'outbound',
      transport: 'media-streams',
      from: '+14155550100',
      to: '+447700900123',
      agentId: 'agent-1',
      providerCallSid: CALL_ID,
      campaignId: CAMPAIGN_ID,
      contactId: 'contact-9',
    }),
  'call.ringing': () => callEvent('ringing', CALL_ID, {}),
  'call.answered': () => callEvent('answered', CALL_ID, { answeredBy: 'human' }),
  'call.status': () => callEvent('status', CALL_ID, { status: 'in-progress', sequenceNumber: 3 }),
  'call.transcript': () =>
    callEvent('transcript', CALL_ID, {
      role: 'caller',
      text: 'I would like to move my appointment.',
      itemId: 'item_1',
      final: true,
      startedAtMs: 1200,
      endedAtMs: 3400,
    }),
  'call.barge-in': () =>
    callEvent('barge-in', CALL_ID, { itemId: 'item_2', audioEndMs: 840, reactionMs: 95 }),
  'call.tool-called': () =>
    callEvent('tool-called', CALL_ID, {
      invocationId: 'call_abc',
      name: 'lookup_order',
      args: { orderId: 42, tags: ['a', null], nested: { ok: true } },
      result: { status: 'shipped' },
      latencyMs: 123.5,
    }),
  'call.handoff-requested': () =>
    callEvent('handoff-requested', CALL_ID, {
      reason: 'caller asked for a human',
      summary: 'Wants to dispute a charge.',
      queue: 'billing',
      skill: 'disputes',
      trigger: 'tool',
    }),
  'call.handoff-updated': () =>
    callEvent('handoff-updated', CALL_ID, {
      handoffId: 'hof-1',
      status: 'ringing',
      humanAgentId: 'hum-1',
      target: '+15555550177',
    }),
  'call.message-taken': () =>
    callEvent('message-taken', CALL_ID, {
      invocationId: 'call_msg1',
      message: 'Please call me back about my invoice.',
      callerName: 'Ada',
      callbackNumber: '+15555550123',
      urgent: true,
    }),
  'call.error': () =>
    callEvent('error', CALL_ID, {
      code: 'OPENAI_WS_CLOSED',
      message: 'realtime socket closed',
      source: 'openai',
      retryable: true,
    }),
  'call.ended': () =>
    callEvent('ended', CALL_ID, {
      reason: 'bridge_lost',
      durationMs: 61_000,
      metrics: { setupMs: 420, firstAudioMs: 910, bargeIns: 2 },
    }),
  'campaign.started': () => campaignEvent('started', { campaignId: CAMPAIGN_ID, counts }),
  'campaign.paused': () =>
    campaignEvent('paused', { campaignId: CAMPAIGN_ID, reason: 'outside calling window' }),
  'campaign.resumed': () => campaignEvent('resumed', { campaignId: CAMPAIGN_ID }),
  'campaign.progress': () => campaignEvent('progress', { campaignId: CAMPAIGN_ID, counts }),
  'campaign.completed': () =>
    campaignEvent('completed', {
      campaignId: CAMPAIGN_ID,
      counts: { ...counts, dialed: 10, completed: 9, remaining: 0 },
    }),
  'campaign.canceled': () =>
    campaignEvent('canceled', { campaignId: CAMPAIGN_ID, reason: 'operator', counts }),
  'call-request': () =>
    callRequest({
      to: '+14155550123',
      fromPool: 'us-local',
      agentId: 'agent-1',
      variables: { firstName: 'Ada' },
      scheduledAt: '2030-01-02T09:30:00.000+01:00',
      idempotencyKey: 'order-42-reminder',
      metadata: { orderId: 42, vip: true },
      campaignId: CAMPAIGN_ID,
      contactId: 'contact-9',
    }),
  'call-control.request': () =>
    callControlRequest(CALL_ID, { action: 'transfer', target: '+14155550199', mode: 'warm' }),
  'call-control.reply': () =>
    callControlReply({ ok: false, error: { code: 'CALL_NOT_FOUND', message: 'gone' } }),
  'sip-offer.request': () =>
    sipOfferRequest(CALL_ID, {
      openaiCallId: 'rtc_123',
      from: '+14155550100',
      to: '+14155550101',
      sipHeaders: { 'X-Twilio-CallSid': CALL_ID },
      agentId: 'agent-1',
    }),
  'sip-offer.reply': () => sipOfferReply({ status: 'accepted', pod: 'call-bridge-7f9c' }),
  'tool-execute.request': () =>
    toolExecuteRequest(CALL_ID, {
      invocationId: 'call_abc',
      name: 'lookup_order',
      args: { orderId: 42 },
      agentId: 'agent-1',
      deadlineMs: 8000,
    }),
  'tool-execute.reply': () => toolExecuteReply({ ok: true, output: [1, 'two', { three: 3 }] }),
  'handoff-transfer.request': () =>
    handoffTransferRequest(CALL_ID, {
      reason: 'caller asked for a human',
      summary: 'Dispute',
      skill: 'billing',
      mode: 'cold',
    }),
  'handoff-transfer.reply': () =>
    handoffTransferReply({ status: 'accepted', handoffId: 'ho-1', target: 'sip:queue@pbx' }),
  'human-agent.notify': () =>
    humanAgentNotify(CALL_ID, { kind: 'handoff-offered', handoffId: 'ho-1', summary: 'Dispute' }),
};
