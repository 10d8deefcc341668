/**
 * `call-bridge.sip-offer`: the gateway offers an incoming OpenAI SIP call to the bridges (one
 * queue group); the first with free capacity accepts it and opens the sideband WebSocket.
 */
import { z } from 'zod';

import { e164Schema, nonEmpty, type EnvelopeOptions } from '../envelope.js';
import { buildReply, buildRequest, defineEndpoint } from './endpoint.js';

/** `data` of a SIP offer; the envelope `callId` is our call id. */
export const sipOfferSchema = z.object({
  /** OpenAI's call id from `realtime.call.incoming` (`rtc_…`), used to accept and for `?call_id=`. */
  openaiCallId: nonEmpty,
  from: e164Schema,
  to: e164Schema,
  /** SIP headers of the INVITE as OpenAI forwarded them, by name. */
  sipHeaders: z.record(z.string(), z.string()),
  agentId: nonEmpty,
  /**
   * `outbound` when our dialer placed the call to OpenAI's SIP endpoint. Optional so that an
   * offer from a gateway of the previous release, mid rolling update, is still taken.
   */
  direction: z.enum(['inbound', 'outbound']).optional(),
});

/** `data` of the reply: the accepting pod, or why no pod took it (the gateway answers busy). */
export const sipOfferResultSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('accepted'), pod: nonEmpty }),
  z.object({ status: z.literal('rejected'), reason: nonEmpty }),
]);

export const sipOfferEndpoint = defineEndpoint('sip-offer', sipOfferSchema, sipOfferResultSchema);

export type SipOffer = z.output<typeof sipOfferSchema>;
export type SipOfferResult = z.output<typeof sipOfferResultSchema>;
export type SipOfferRequest = z.output<typeof sipOfferEndpoint.request>;
export type SipOfferReply = z.output<typeof sipOfferEndpoint.reply>;

/** Builds a validated SIP offer request. */
export function sipOfferRequest(
  callId: string,
  offer: z.input<typeof sipOfferSchema>,
  options: Omit<EnvelopeOptions, 'callId'> = {},
): SipOfferRequest {
  return buildRequest(sipOfferEndpoint, callId, offer, options);
}

/** Builds a validated SIP offer reply. */
export function sipOfferReply(
  result: z.input<typeof sipOfferResultSchema>,
  options: EnvelopeOptions = {},
): SipOfferReply {
  return buildReply(sipOfferEndpoint, result, options);
}
