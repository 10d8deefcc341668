/**
 * How call events map onto the call record: pure rules, no I/O, so they are tested alone.
 */
import type { CallEndReason } from '@app/contracts';

/** The `calls.status` enum of the database (Twilio's statuses with `_`). */
export type RecordStatus =
  | 'queued'
  | 'initiated'
  | 'ringing'
  | 'in_progress'
  | 'completed'
  | 'busy'
  | 'no_answer'
  | 'canceled'
  | 'failed';

/** Statuses a call never leaves: a late or replayed event must not reopen an ended call. */
export const TERMINAL_STATUSES: readonly RecordStatus[] = [
  'completed',
  'busy',
  'no_answer',
  'canceled',
  'failed',
];

/** The final status of a call from why it ended. */
export function statusForEndReason(reason: CallEndReason): RecordStatus {
  switch (reason) {
    case 'busy':
    case 'rejected':
      return 'busy';
    case 'no-answer':
      return 'no_answer';
    case 'canceled':
      return 'canceled';
    case 'failed':
    case 'error':
    case 'bridge_lost':
      return 'failed';
    default:
      // completed, caller-hangup, agent-hangup, transferred: the call was held and finished.
      return 'completed';
  }
}

/** Database role of a transcript turn. */
export function transcriptRole(role: 'caller' | 'agent'): 'user' | 'assistant' {
  return role === 'caller' ? 'user' : 'assistant';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Call, agent and campaign ids are UUIDs in the database. */
export function isUuid(value: string | undefined): value is string {
  return value !== undefined && UUID.test(value);
}
