/**
 * The simulator's call records and their JSON rendering as Twilio's Call resource
 * (twilio.md §5.1).
 */
import { randomBytes } from 'node:crypto';

import type { CallRecording } from '../recording.js';

/** Call statuses of the REST resource (twilio.md §1.4; `initiated` is a callback event only). */
export const CALL_STATUSES = [
  'queued',
  'ringing',
  'in-progress',
  'completed',
  'busy',
  'failed',
  'no-answer',
  'canceled',
] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

const TERMINAL: ReadonlySet<CallStatus> = new Set([
  'completed',
  'busy',
  'failed',
  'no-answer',
  'canceled',
]);

export function isTerminal(status: CallStatus): boolean {
  return TERMINAL.has(status);
}

export type CallDirection = 'inbound' | 'outbound-api' | 'outbound-dial';

/** `answered_by` values (twilio.md §1.5). */
export type AnsweredBy =
  | 'human'
  | 'machine_start'
  | 'machine_end_beep'
  | 'machine_end_silence'
  | 'machine_end_other'
  | 'fax'
  | 'unknown';

/** One call as the simulator tracks it. Snapshots of it are what `getCall` returns. */
export interface CallRecord {
  sid: string;
  accountSid: string;
  to: string;
  from: string;
  status: CallStatus;
  direction: CallDirection;
  dateCreated: Date;
  dateUpdated: Date;
  startTime: Date | null;
  endTime: Date | null;
  answeredBy: AnsweredBy | null;
  parentCallSid: string | null;
  /** Why the call ended, in the simulator's words (`caller-hangup`, `twiml-hangup`, ...). */
  endReason: string | null;
  queueTimeMs: number;
}

/** A Twilio SID: two-letter prefix + 32 lowercase hex digits (`CA…`, `MZ…`). */
export function newSid(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
}

/** RFC 2822 date as in Twilio's resources and callbacks: `Tue, 31 Aug 2010 20:36:28 +0000`. */
export function rfc2822(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

/** Whole seconds the call was up (from answer to end), as Twilio's `duration`. */
export function durationSec(call: CallRecord): number {
  if (call.startTime === null) return 0;
  const end = call.endTime ?? new Date();
  return Math.max(0, Math.round((end.getTime() - call.startTime.getTime()) / 1000));
}

function formatted(n: string): string {
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(n);
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : n;
}

/** The JSON Twilio returns for a call (SDK-CALL `CallResource` field set). */
export function callResource(call: CallRecord): Record<string, unknown> {
  const base = `/2010-04-01/Accounts/${call.accountSid}/Calls/${call.sid}`;
  return {
    account_sid: call.accountSid,
    annotation: null,
    answered_by: call.answeredBy,
    api_version: '2010-04-01',
    caller_name: null,
    date_created: rfc2822(call.dateCreated),
    date_updated: rfc2822(call.dateUpdated),
    direction: call.direction,
    duration: isTerminal(call.status) ? String(durationSec(call)) : null,
    end_time: call.endTime ? rfc2822(call.endTime) : null,
    forwarded_from: null,
    from: call.from,
    from_formatted: formatted(call.from),
    group_sid: null,
    parent_call_sid: call.parentCallSid,
    phone_number_sid: null,
    price: null,
    price_unit: 'USD',
    queue_time: String(call.queueTimeMs),
    sid: call.sid,
    start_time: call.startTime ? rfc2822(call.startTime) : null,
    status: call.status,
    subresource_uris: {
      notifications: `${base}/Notifications.json`,
      recordings: `${base}/Recordings.json`,
      payments: `${base}/Payments.json`,
      events: `${base}/Events.json`,
      siprec: `${base}/Siprec.json`,
      streams: `${base}/Streams.json`,
      transcriptions: `${base}/Transcriptions.json`,
      user_defined_message_subscriptions: `${base}/UserDefinedMessageSubscriptions.json`,
      user_defined_messages: `${base}/UserDefinedMessages.json`,
    },
    to: call.to,
    to_formatted: formatted(call.to),
    trunk_sid: null,
    uri: `${base}.json`,
  };
}

/** Calls by SID, plus the recording of each. */
export class CallStore {
  readonly #calls = new Map<string, CallRecord>();
  readonly #recordings = new Map<string, CallRecording>();

  add(call: CallRecord, recording: CallRecording): void {
    this.#calls.set(call.sid, call);
    this.#recordings.set(call.sid, recording);
  }

  get(sid: string): CallRecord | undefined {
    return this.#calls.get(sid);
  }

  recording(sid: string): CallRecording | undefined {
    return this.#recordings.get(sid);
  }

  /** Newest first, as Twilio lists calls. */
  list(accountSid: string): CallRecord[] {
    return [...this.#calls.values()]
      .filter((c) => c.accountSid === accountSid)
      .sort((a, b) => b.dateCreated.getTime() - a.dateCreated.getTime());
  }

  /** Calls not yet in a terminal status. */
  liveCount(accountSid?: string): number {
    let n = 0;
    for (const c of this.#calls.values()) {
      if (!isTerminal(c.status) && (accountSid === undefined || c.accountSid === accountSid)) n++;
    }
    return n;
  }
}
