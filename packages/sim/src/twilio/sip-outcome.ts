import type { CallRecording } from '../recording.js';
import type { SipOfferOutcome } from '../sip.js';

/**
 * Records how the SIP trunk's offer ended and, when it was not accepted, the call status Twilio
 * reports for it: busy for 486/600/603 (twilio.md §6.1), no-answer when OpenAI never answered,
 * failed otherwise. `null` for an accepted offer.
 */
export function settleSipOffer(
  offer: SipOfferOutcome,
  recording: CallRecording,
): 'busy' | 'no-answer' | 'failed' | null {
  recording.add('sip.offer', {
    outcome: offer.outcome,
    callId: offer.callId,
    sipStatus: offer.sipStatus,
  });
  if (offer.outcome === 'accepted') return null;
  const busy = offer.sipStatus === 486 || offer.sipStatus === 600 || offer.sipStatus === 603;
  return busy ? 'busy' : offer.outcome === 'timeout' ? 'no-answer' : 'failed';
}
