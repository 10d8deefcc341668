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
    case 'provider-error':
      return 'failed';
    default:
      // completed, caller-hangup, agent-hangup, operator-hangup, transferred: the call was held and finished.
      return 'completed';
  }
}

/** Largest value of a PostgreSQL `integer` column. */
const MAX_INT4 = 2_147_483_647;

/**
 * A duration in ms for an `Int` column (`durationMs`, `setupMs`, `firstAudioMs`): rounded, or
 * undefined when absent or out of range (about 24.8 days). The contracts only promise a
 * non-negative number, and a value PostgreSQL refuses would stop the projector on that event.
 */
export function msColumn(value: number | undefined): number | undefined {
  if (value === undefined || !Number.isFinite(value)) return undefined;
  const ms = Math.round(value);
  return ms >= 0 && ms <= MAX_INT4 ? ms : undefined;
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
