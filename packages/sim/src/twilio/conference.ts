/**
 * Conferences (`<Dial><Conference>`, twilio.md §3.3) and their participants, as Twilio's
 * Conference and Participant resources show them:
 * https://www.twilio.com/docs/voice/api/conference-resource and
 * https://www.twilio.com/docs/voice/api/conference-participant-resource.
 *
 * A conference exists from its first participant until it ends; it is `init` until a
 * participant with `startConferenceOnEnter` (the default) is in, then `in-progress`. It ends
 * (`completed`) when a participant with `endConferenceOnExit` leaves or is kicked, when the last
 * participant leaves, or through the REST API (`Status=completed`); the calls still in it then
 * leave their `<Dial>` and go on with the next verb. The Participant resource lists only current
 * participants: one whose call ended, or that was moved to other TwiML, is gone.
 *
 * No audio is mixed: what a participant hears is not simulated, only who is in which room.
 */
import type { CallRecording } from '../recording.js';
import { newSid, rfc2822 } from './call-store.js';

export type ConferenceStatus = 'init' | 'in-progress' | 'completed';
/** Participant statuses of the resource (SDK `ParticipantStatus`). */
export type ParticipantStatus =
  'queued' | 'connecting' | 'ringing' | 'connected' | 'complete' | 'failed';

/** `reason_conference_ended` values (SDK `ConferenceReasonConferenceEnded`). */
export type ConferenceEndReason =
  | 'conference-ended-via-api'
  | 'participant-with-end-conference-on-exit-left'
  | 'participant-with-end-conference-on-exit-kicked'
  | 'last-participant-kicked'
  | 'last-participant-left';

/** How a participant takes part (the `<Conference>` attributes / Participant parameters). */
export interface ParticipantOptions {
  /** @defaultValue true */
  startConferenceOnEnter: boolean;
  /** @defaultValue false */
  endConferenceOnExit: boolean;
  muted: boolean;
  /** A coach hears the conference and speaks only to {@link callSidToCoach}. */
  coaching: boolean;
  callSidToCoach: string | null;
  label: string | null;
}

export const DEFAULT_PARTICIPANT: ParticipantOptions = {
  startConferenceOnEnter: true,
  endConferenceOnExit: false,
  muted: false,
  coaching: false,
  callSidToCoach: null,
  label: null,
};

/** Why a participant left its `<Dial><Conference>`. */
export type LeaveReason = 'conference-ended' | 'kicked' | 'call-left';

interface Participant extends ParticipantOptions {
  callSid: string;
  status: ParticipantStatus;
  hold: boolean;
  dateCreated: Date;
  dateUpdated: Date;
  /** Set while the call is in the room: makes its `<Dial>` return. */
  leave?: (reason: LeaveReason) => void;
  recording?: CallRecording;
}

export interface Conference {
  sid: string;
  accountSid: string;
  friendlyName: string;
  status: ConferenceStatus;
  dateCreated: Date;
  dateUpdated: Date;
  reasonEnded: ConferenceEndReason | null;
  callSidEndingConference: string | null;
  participants: Map<string, Participant>;
}

const TRUE = new Set(['true', '1', 'yes']);

/** A TwiML/form boolean (`"true"`/`"false"`); absent gives `fallback`. */
export function flag(v: string | undefined, fallback: boolean): boolean {
  return v === undefined ? fallback : TRUE.has(v.toLowerCase());
}

export class ConferenceStore {
  readonly #bySid = new Map<string, Conference>();

  /** The live (not completed) conference with this friendly name, if any. */
  live(accountSid: string, name: string): Conference | undefined {
    for (const c of this.#bySid.values()) {
      if (c.accountSid === accountSid && c.friendlyName === name && c.status !== 'completed') {
        return c;
      }
    }
    return undefined;
  }

  /** A conference by SID (any status), or a live one by friendly name (as the API allows). */
  find(accountSid: string, sidOrName: string): Conference | undefined {
    const bySid = this.#bySid.get(sidOrName);
    if (bySid !== undefined) return bySid.accountSid === accountSid ? bySid : undefined;
    return this.live(accountSid, sidOrName);
  }

  /** Newest first, as Twilio lists them. */
  list(accountSid: string): Conference[] {
    return [...this.#bySid.values()]
      .filter((c) => c.accountSid === accountSid)
      .sort((a, b) => b.dateCreated.getTime() - a.dateCreated.getTime());
  }

  /** The live conference of that name, created (`init`) when there is none. */
  open(accountSid: string, name: string): Conference {
    const existing = this.live(accountSid, name);
    if (existing) return existing;
    const now = new Date();
    const conf: Conference = {
      sid: newSid('CF'),
      accountSid,
      friendlyName: name,
      status: 'init',
      dateCreated: now,
      dateUpdated: now,
      reasonEnded: null,
      callSidEndingConference: null,
      participants: new Map(),
    };
    this.#bySid.set(conf.sid, conf);
    return conf;
  }

  /**
   * A participant the Participants API is dialling: listed (`queued`) before its call answers
   * and joins, as Twilio lists it.
   */
  expect(conf: Conference, callSid: string, opts: ParticipantOptions): void {
    const now = new Date();
    conf.participants.set(callSid, {
      ...opts,
      callSid,
      status: 'queued',
      hold: false,
      dateCreated: now,
      dateUpdated: now,
    });
  }

  /** The dialled participant's call ended without joining: it is no longer listed. */
  forget(conf: Conference, callSid: string): void {
    const p = conf.participants.get(callSid);
    if (p !== undefined && p.leave === undefined) conf.participants.delete(callSid);
    if (conf.participants.size === 0 && conf.status === 'init') {
      this.#end(conf, 'last-participant-left', callSid);
    }
  }

  /**
   * A call enters the room (`<Dial><Conference>`). Resolves when it leaves: the conference
   * ended, it was kicked, or `signal` aborted (the call hung up or was moved to other TwiML).
   */
  join(
    accountSid: string,
    name: string,
    callSid: string,
    opts: ParticipantOptions,
    recording: CallRecording,
    signal: AbortSignal,
  ): Promise<LeaveReason> {
    const conf = this.open(accountSid, name);
    const pending = conf.participants.get(callSid);
    const now = new Date();
    // A participant the API dialled keeps what the API asked for (label, coaching, ...).
    const p: Participant = pending
      ? { ...pending, status: 'connected', dateUpdated: now, recording }
      : {
          ...opts,
          callSid,
          status: 'connected',
          hold: false,
          dateCreated: now,
          dateUpdated: now,
          recording,
        };
    conf.participants.set(callSid, p);
    recording.add('conference.joined', {
      conferenceSid: conf.sid,
      friendlyName: conf.friendlyName,
      label: p.label,
      startConferenceOnEnter: p.startConferenceOnEnter,
      endConferenceOnExit: p.endConferenceOnExit,
      coaching: p.coaching,
    });
    if (conf.status === 'init' && p.startConferenceOnEnter) this.#start(conf);
    return new Promise<LeaveReason>((resolve) => {
      const onAbort = () => {
        this.#remove(conf, p, 'call-left');
      };
      p.leave = (reason) => {
        signal.removeEventListener('abort', onAbort);
        recording.add('conference.left', { conferenceSid: conf.sid, reason });
        resolve(reason);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** `DELETE Participants/{CallSid}`: the call leaves the room and goes on with its TwiML. */
  kick(conf: Conference, callSid: string): boolean {
    const p = conf.participants.get(callSid);
    if (p === undefined) return false;
    if (p.leave === undefined) {
      conf.participants.delete(callSid);
      return true;
    }
    this.#remove(conf, p, 'kicked');
    return true;
  }

  /** `POST Conferences/{Sid}` with `Status=completed`. */
  endViaApi(conf: Conference): void {
    if (conf.status !== 'completed') this.#end(conf, 'conference-ended-via-api', null);
  }

  #start(conf: Conference): void {
    conf.status = 'in-progress';
    conf.dateUpdated = new Date();
    for (const p of conf.participants.values()) {
      p.recording?.add('conference.started', { conferenceSid: conf.sid });
    }
  }

  #remove(conf: Conference, p: Participant, reason: 'kicked' | 'call-left'): void {
    if (!conf.participants.has(p.callSid)) return;
    conf.participants.delete(p.callSid);
    p.leave?.(reason);
    if (conf.status === 'completed') return;
    const connected = [...conf.participants.values()].filter((x) => x.leave !== undefined);
    if (p.endConferenceOnExit && conf.status === 'in-progress') {
      this.#end(
        conf,
        reason === 'kicked'
          ? 'participant-with-end-conference-on-exit-kicked'
          : 'participant-with-end-conference-on-exit-left',
        p.callSid,
      );
    } else if (connected.length === 0) {
      this.#end(
        conf,
        reason === 'kicked' ? 'last-participant-kicked' : 'last-participant-left',
        p.callSid,
      );
    }
  }

  #end(conf: Conference, reason: ConferenceEndReason, callSid: string | null): void {
    conf.status = 'completed';
    conf.reasonEnded = reason;
    conf.callSidEndingConference = callSid;
    conf.dateUpdated = new Date();
    const remaining = [...conf.participants.values()];
    conf.participants.clear();
    for (const p of remaining) {
      p.recording?.add('conference.ended', { conferenceSid: conf.sid, reason });
      p.leave?.('conference-ended');
    }
  }
}

/** The JSON Twilio returns for a conference (SDK `ConferenceResource`). */
export function conferenceResource(c: Conference): Record<string, unknown> {
  const base = `/2010-04-01/Accounts/${c.accountSid}/Conferences/${c.sid}`;
  return {
    account_sid: c.accountSid,
    api_version: '2010-04-01',
    call_sid_ending_conference: c.callSidEndingConference,
    date_created: rfc2822(c.dateCreated),
    date_updated: rfc2822(c.dateUpdated),
    friendly_name: c.friendlyName,
    reason_conference_ended: c.reasonEnded,
    region: 'us1',
    sid: c.sid,
    status: c.status,
    subresource_uris: {
      participants: `${base}/Participants.json`,
      recordings: `${base}/Recordings.json`,
    },
    uri: `${base}.json`,
  };
}

/** The JSON Twilio returns for a participant (SDK `ParticipantResource`). */
export function participantResource(c: Conference, callSid: string): Record<string, unknown> {
  const p = c.participants.get(callSid);
  if (p === undefined) throw new RangeError(`no participant ${callSid} in ${c.sid}`);
  return {
    account_sid: c.accountSid,
    call_sid: p.callSid,
    call_sid_to_coach: p.callSidToCoach,
    coaching: p.coaching,
    conference_sid: c.sid,
    date_created: rfc2822(p.dateCreated),
    date_updated: rfc2822(p.dateUpdated),
    end_conference_on_exit: p.endConferenceOnExit,
    hold: p.hold,
    label: p.label,
    muted: p.muted,
    queue_time: '0',
    start_conference_on_enter: p.startConferenceOnEnter,
    status: p.status,
    uri: `/2010-04-01/Accounts/${c.accountSid}/Conferences/${c.sid}/Participants/${p.callSid}.json`,
  };
}

/** Applies `POST Participants/{CallSid}` fields (Muted, Hold, EndConferenceOnExit, Coaching). */
export function updateParticipant(
  c: Conference,
  callSid: string,
  form: Record<string, string | undefined>,
): void {
  const p = c.participants.get(callSid);
  if (p === undefined) return;
  p.muted = flag(form.Muted, p.muted);
  p.hold = flag(form.Hold, p.hold);
  p.endConferenceOnExit = flag(form.EndConferenceOnExit, p.endConferenceOnExit);
  p.coaching = flag(form.Coaching, p.coaching);
  if (form.CallSidToCoach !== undefined) p.callSidToCoach = form.CallSidToCoach;
  p.dateUpdated = new Date();
  p.recording?.add('conference.participant-updated', {
    conferenceSid: c.sid,
    muted: p.muted,
    hold: p.hold,
    coaching: p.coaching,
    ...(form.AnnounceUrl !== undefined ? { announceUrl: form.AnnounceUrl } : {}),
  });
}

/** Finds a participant by call SID or by label (the API accepts either in the path). */
export function participantKey(c: Conference, callSidOrLabel: string): string | undefined {
  if (c.participants.has(callSidOrLabel)) return callSidOrLabel;
  for (const p of c.participants.values()) if (p.label === callSidOrLabel) return p.callSid;
  return undefined;
}
