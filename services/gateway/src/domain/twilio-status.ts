/**
 * Twilio call statuses (twilio.md §1.4) as call events: which ones end a call, and why.
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
