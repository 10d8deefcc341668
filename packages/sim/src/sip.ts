/**
 * The seam between the two simulators for calls that arrive over SIP: the Twilio simulator
 * routes a number configured for Elastic SIP Trunking to the OpenAI simulator's SIP endpoint
 * (ARCHITECTURE.md "SIP"), which then sends the signed `realtime.call.incoming` webhook and
 * carries the audio itself.
 */
import type { CallRecording } from './recording.js';
import type { Scenario } from './scenario.js';

/** A call Twilio's trunk hands to OpenAI's SIP endpoint. */
export interface SipOffer {
  /** Twilio's CallSid of the inbound leg (`CA…`). */
  callSid: string;
  /** E.164 caller number. */
  from: string;
  /** E.164 number that was dialled. */
  to: string;
  /** Extra SIP headers (`X-…`) the trunk adds. */
  headers: Record<string, string>;
  /** What the simulated caller does once the call is accepted. */
  scenario?: Scenario;
  /** Where the caller side records what it sends and hears. */
  recording: CallRecording;
}

/** How the offer ended, as the trunk sees it. */
export interface SipOfferOutcome {
  outcome: 'accepted' | 'rejected' | 'timeout' | 'failed';
  /** OpenAI's call id (`rtc_…`). */
  callId: string;
  /** SIP status when rejected (e.g. 486 busy, 603 decline). */
  sipStatus?: number;
  /** Resolves when the accepted call ends (hangup by either side, refer, or failure). */
  ended: Promise<{ reason: string }>;
}

/** Implemented by the OpenAI simulator, used by the Twilio simulator. */
export interface SipTrunkTarget {
  incomingCall(offer: SipOffer): Promise<SipOfferOutcome>;
}
