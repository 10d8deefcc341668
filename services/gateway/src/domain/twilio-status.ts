/**
 * Twilio call statuses (twilio.md §1.4) as call events: which ones end a call, why, and who
 * publishes that end.
 */
import type { CallEndReason } from '@app/contracts';

const END_REASONS: Record<string, CallEndReason> = {
  completed: 'completed',
  busy: 'busy',
  'no-answer': 'no-answer',
  failed: 'failed',
  canceled: 'canceled',
};

/** The end reason when `status` is final, otherwise null (the call goes on). */
export function endReasonForStatus(status: string): CallEndReason | null {
  return END_REASONS[status] ?? null;
}

/**
 * Whether a call's end belongs to a call-bridge rather than to Twilio's final status callback:
 * a Media Streams call that a bridge answered. Its owning bridge publishes `ended` with the
 * true reason (`caller-hangup`, `agent-hangup`, …), or, if that bridge died, the bridge_lost
 * sweeper does. A call no bridge answered (the media socket never opened; an outbound call
 * the dialer placed that was busy, not answered, failed or canceled; an answering machine the
 * outbound TwiML hung up on, whose `answered` leaves `answeredAt` null) has nobody else to
 * close it, so the status callback does.
 */
export function bridgeOwnsEnd(call: {
  transport: 'media_streams' | 'sip' | null;
  answeredAt: Date | null;
}): boolean {
  return call.transport === 'media_streams' && call.answeredAt !== null;
}
