/**
 * The simulator's domain: accounts, numbers, calls and their sessions. HTTP lives in
 * rest-routes.ts; wiring and listening in index.ts.
 */
import type { Logger } from '@app/platform';

import { CallRecording } from '../recording.js';
import type { Scenario } from '../scenario.js';
import { CallSession, type SessionDeps, type TwimlSource } from './call-session.js';
import {
  callResource,
  CallStore,
  isTerminal,
  newSid,
  type CallDirection,
  type CallRecord,
} from './call-store.js';
import {
  conferenceResource,
  DEFAULT_PARTICIPANT,
  flag,
  participantKey,
  participantResource,
  updateParticipant,
  type Conference,
} from './conference.js';
import { TwilioApiError } from './errors.js';
import { runInbound, runOutbound, type MachineDetection } from './lifecycle.js';
import { isCallAddress, isE164, type NumberRegistry } from './numbers.js';
import { CpsScheduler, type CallLimits } from './rate-limit.js';
import { parseStatusEvents, StatusCallbacks } from './status-callbacks.js';
import type { HttpMethod } from './webhook-client.js';

/** Form parameters as parsed (repeated keys become arrays). */
export type FormParams = Record<string, string | string[] | undefined>;

function one(form: FormParams, key: string): string | undefined {
  const v = form[key];
  return Array.isArray(v) ? v[0] : v;
}

function httpMethod(v: string | undefined): HttpMethod {
  return v?.toUpperCase() === 'GET' ? 'GET' : 'POST';
}

/** Options of {@link TwilioSim.ringInbound}. */
export interface RingInboundOptions {
  /** A number configured with `configureNumber`. */
  to: string;
  from: string;
  /** What the caller does once a `<Connect><Stream>` (or the SIP leg) is up. */
  scenario?: Scenario;
  /** `X-…` headers the trunk adds (SIP numbers only). */
  sipHeaders?: Record<string, string>;
}

export interface RingInboundResult {
  callSid: string;
  recording: CallRecording;
  ended: Promise<{ status: string; reason: string }>;
}

export class TwilioSim {
  readonly store = new CallStore();
  readonly #sessions = new Map<string, CallSession>();
  readonly #numbers: NumberRegistry;
  readonly #deps: SessionDeps;
  readonly #limits: CallLimits;
  readonly #cps: CpsScheduler;
  readonly #log: Logger;

  constructor(numbers: NumberRegistry, deps: SessionDeps, limits: CallLimits) {
    this.#numbers = numbers;
    this.#deps = deps;
    this.#limits = limits;
    this.#cps = new CpsScheduler(limits.cps);
    this.#log = deps.log;
  }

  /** Every call's `ended`, for a clean shutdown. */
  liveSessions(): CallSession[] {
    return [...this.#sessions.values()].filter((s) => !s.terminal);
  }

  #newCall(accountSid: string, to: string, from: string, direction: CallDirection): CallRecord {
    const now = new Date();
    return {
      sid: newSid('CA'),
      accountSid,
      to,
      from,
      status: direction === 'inbound' ? 'ringing' : 'queued',
      direction,
      dateCreated: now,
      dateUpdated: now,
      startTime: null,
      endTime: null,
      answeredBy: null,
      parentCallSid: null,
      endReason: null,
      queueTimeMs: 0,
    };
  }

  #session(
    call: CallRecord,
    authToken: string,
    scenario: Scenario | undefined,
    cb: { url: string | undefined; method: HttpMethod; events: string | string[] | undefined },
  ): CallSession {
    const recording = new CallRecording();
    const callbacks = new StatusCallbacks({
      url: cb.url,
      method: cb.method,
      events: parseStatusEvents(cb.events),
      authToken,
      recording,
      log: this.#log,
      timeoutMs: this.#deps.timing.webhookTimeoutMs,
    });
    const session = new CallSession({
      call,
      recording,
      callbacks,
      authToken,
      scenario,
      deps: this.#deps,
    });
    this.store.add(call, recording);
    this.#sessions.set(call.sid, session);
    recording.add('call.created', { callSid: call.sid, direction: call.direction });
    void session.ended.then(() => this.#sessions.delete(call.sid));
    return session;
  }

  /** `POST Calls.json` (twilio.md §5.1). Validates like Twilio, then places the call. */
  createCall(accountSid: string, authToken: string, form: FormParams): Record<string, unknown> {
    const to = one(form, 'To');
    const from = one(form, 'From');
    const url = one(form, 'Url');
    const twiml = one(form, 'Twiml');
    if (!to) throw new TwilioApiError('TO_MISSING', "A 'To' phone number is required.");
    if (!from) throw new TwilioApiError('FROM_MISSING', "A 'From' phone number is required.");
    if (!url && !twiml && !one(form, 'ApplicationSid')) {
      throw new TwilioApiError('URL_MISSING', 'Either Url, Twiml or ApplicationSid is required.');
    }
    if (!isCallAddress(to)) {
      throw new TwilioApiError('INVALID_TO', `Invalid 'To' Phone Number: ${to}`);
    }
    if (!isCallAddress(from)) {
      throw new TwilioApiError('INVALID_FROM', `Invalid 'From' Phone Number: ${from}`);
    }
    if (isE164(from) && !this.#numbers.ownsCallerId(accountSid, from)) {
      throw new TwilioApiError(
        'FROM_NOT_OWNED',
        `The source phone number provided, ${from}, is not yet verified for your account. You may only make calls from phone numbers that you've verified or purchased from Twilio.`,
      );
    }
    if (this.#numbers.geoBlocks(accountSid, to)) {
      throw new TwilioApiError(
        'GEO_PERMISSION',
        `Account not authorized to call ${to}. Perhaps you need to enable some international permissions: https://www.twilio.com/console/voice/calls/geo-permissions/low-risk`,
      );
    }
    const account = this.#numbers.account(accountSid);
    if (account?.trial && !(account.verifiedNumbers ?? []).includes(to)) {
      throw new TwilioApiError(
        'TO_NOT_VERIFIED',
        `The number ${to} is unverified. Trial accounts may only make calls to verified numbers.`,
      );
    }
    const max = this.#limits.maxConcurrentCalls;
    if (max !== undefined && this.store.liveCount(accountSid) >= max) {
      throw new TwilioApiError('TOO_MANY_REQUESTS', 'Too Many Requests');
    }
    const timeoutSec = Math.min(
      600,
      Math.max(1, Number.parseInt(one(form, 'Timeout') ?? '60', 10) || 60),
    );
    const md = one(form, 'MachineDetection');
    const amd: MachineDetection | undefined =
      md === 'Enable' || md === 'DetectMessageEnd'
        ? {
            mode: md,
            async: one(form, 'AsyncAmd') === 'true',
            asyncCallback: one(form, 'AsyncAmdStatusCallback'),
            asyncCallbackMethod: httpMethod(one(form, 'AsyncAmdStatusCallbackMethod')),
          }
        : undefined;
    // `Url` wins when both are given (SDK-CALL doc: Twiml is then ignored).
    const source: TwimlSource = url
      ? { kind: 'fetch', url, method: httpMethod(one(form, 'Method')) }
      : { kind: 'twiml', twiml: twiml ?? '<Response/>' };
    const call = this.#newCall(accountSid, to, from, 'outbound-api');
    const queueDelayMs = this.#cps.reserve(accountSid);
    call.queueTimeMs = queueDelayMs;
    const behaviour = this.#numbers.behaviour(to);
    const session = this.#session(call, authToken, behaviour.scenario, {
      url: one(form, 'StatusCallback'),
      method: httpMethod(one(form, 'StatusCallbackMethod')),
      events: form.StatusCallbackEvent,
    });
    this.#log.info({ callSid: call.sid, pii: { to, from } }, 'outbound call created');
    void runOutbound(session, {
      source,
      behaviour,
      timeoutMs: timeoutSec * 1000,
      queueDelayMs,
      ringMs: this.#deps.timing.ringMs,
      amd,
      webhookTimeoutMs: this.#deps.timing.webhookTimeoutMs,
      authToken,
    });
    return callResource(call);
  }

  /** `POST Calls/{Sid}.json` (twilio.md §5.3). */
  updateCall(accountSid: string, callSid: string, form: FormParams): Record<string, unknown> {
    const call = this.getOwnedCall(accountSid, callSid);
    const session = this.#sessions.get(callSid);
    const status = one(form, 'Status');
    const url = one(form, 'Url');
    const twiml = one(form, 'Twiml');
    if (status !== undefined && status !== 'completed' && status !== 'canceled') {
      throw new TwilioApiError(
        'INVALID_PARAMETER',
        `Status must be completed or canceled, got ${status}`,
      );
    }
    if (isTerminal(call.status) || session === undefined) {
      throw new TwilioApiError('INVALID_CALL_STATE', 'Call is not in-progress. Cannot redirect.');
    }
    const notAnswered = call.status === 'queued' || call.status === 'ringing';
    if (status === 'canceled') {
      // `canceled` only affects calls not yet answered (§5.3).
      if (notAnswered) session.finish('canceled', 'api-canceled');
    } else if (status === 'completed') {
      if (notAnswered) session.finish('canceled', 'api-canceled');
      else session.finish('completed', 'api-completed');
    } else if (url) {
      session.redirect({ kind: 'fetch', url, method: httpMethod(one(form, 'Method')) });
    } else if (twiml) {
      session.redirect({ kind: 'twiml', twiml });
    }
    return callResource(call);
  }

  /** The call if it belongs to the account, else 20404. */
  getOwnedCall(accountSid: string, callSid: string): CallRecord {
    const call = this.store.get(callSid);
    if (call === undefined || call.accountSid !== accountSid) {
      throw new TwilioApiError(
        'NOT_FOUND',
        `The requested resource /2010-04-01/Accounts/${accountSid}/Calls/${callSid}.json was not found`,
      );
    }
    return call;
  }

  /** `GET Conferences.json`, newest first (filters: FriendlyName, Status). */
  listConferences(
    accountSid: string,
    filter: { friendlyName?: string; status?: string } = {},
  ): Array<Record<string, unknown>> {
    return this.#deps.conferences
      .list(accountSid)
      .filter((c) => filter.friendlyName === undefined || c.friendlyName === filter.friendlyName)
      .filter((c) => filter.status === undefined || c.status === filter.status)
      .map(conferenceResource);
  }

  /** The conference by SID (any status) or live friendly name, else 20404. */
  getConference(accountSid: string, sidOrName: string): Conference {
    const conf = this.#deps.conferences.find(accountSid, sidOrName);
    if (conf === undefined) {
      throw new TwilioApiError(
        'NOT_FOUND',
        `The requested resource /2010-04-01/Accounts/${accountSid}/Conferences/${sidOrName}.json was not found`,
      );
    }
    return conf;
  }

  /** `POST Conferences/{Sid}.json`: `Status=completed` ends it; announcements are recorded. */
  updateConference(accountSid: string, sid: string, form: FormParams): Record<string, unknown> {
    const conf = this.getConference(accountSid, sid);
    const status = one(form, 'Status');
    if (status !== undefined && status !== 'completed') {
      throw new TwilioApiError('INVALID_PARAMETER', `Status must be completed, got ${status}`);
    }
    if (status === 'completed') this.#deps.conferences.endViaApi(conf);
    return conferenceResource(conf);
  }

  /**
   * `POST Conferences/{Sid}/Participants.json`: dials `To` from `From`; once answered the call
   * joins the conference (created when `{Sid}` is a friendly name not yet in use, as Twilio
   * does). Listed as `queued` until it joins; gone if it ends first.
   */
  createParticipant(
    accountSid: string,
    authToken: string,
    sidOrName: string,
    form: FormParams,
  ): Record<string, unknown> {
    const existing = this.#deps.conferences.find(accountSid, sidOrName);
    if (existing === undefined && /^CF[0-9a-f]{32}$/.test(sidOrName)) {
      throw new TwilioApiError(
        'NOT_FOUND',
        `The requested resource /2010-04-01/Accounts/${accountSid}/Conferences/${sidOrName}.json was not found`,
      );
    }
    if (existing?.status === 'completed') {
      throw new TwilioApiError('INVALID_PARAMETER', `Conference ${sidOrName} has ended`);
    }
    const name = existing?.friendlyName ?? sidOrName;
    const opts = {
      ...DEFAULT_PARTICIPANT,
      startConferenceOnEnter: flag(one(form, 'StartConferenceOnEnter'), true),
      endConferenceOnExit: flag(one(form, 'EndConferenceOnExit'), false),
      muted: flag(one(form, 'Muted'), false),
      coaching: flag(one(form, 'Coaching'), false),
      callSidToCoach: one(form, 'CallSidToCoach') ?? null,
      label: one(form, 'Label') ?? null,
    };
    const escape = (v: string) =>
      v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
    // The dialled leg runs what `<Dial><Conference>` would: createCall validates To/From,
    // account limits and CPS exactly as for any outbound call.
    const twiml =
      `<Response><Dial><Conference startConferenceOnEnter="${opts.startConferenceOnEnter}"` +
      ` endConferenceOnExit="${opts.endConferenceOnExit}" muted="${opts.muted}">` +
      `${escape(name)}</Conference></Dial></Response>`;
    const call = this.createCall(accountSid, authToken, {
      To: form.To,
      From: form.From,
      Twiml: twiml,
      Timeout: form.Timeout,
      StatusCallback: form.StatusCallback,
      StatusCallbackMethod: form.StatusCallbackMethod,
      StatusCallbackEvent: form.StatusCallbackEvent,
    });
    const callSid = String(call.sid);
    const conf = this.#deps.conferences.open(accountSid, name);
    this.#deps.conferences.expect(conf, callSid, opts);
    const session = this.#sessions.get(callSid);
    void session?.ended.then(() => this.#deps.conferences.forget(conf, callSid));
    return participantResource(conf, callSid);
  }

  /** `GET Participants.json`: the current participants. */
  listParticipants(accountSid: string, sid: string): Array<Record<string, unknown>> {
    const conf = this.getConference(accountSid, sid);
    return [...conf.participants.keys()].map((k) => participantResource(conf, k));
  }

  #participant(
    accountSid: string,
    sid: string,
    key: string,
  ): { conf: Conference; callSid: string } {
    const conf = this.getConference(accountSid, sid);
    const callSid = participantKey(conf, key);
    if (callSid === undefined) {
      throw new TwilioApiError(
        'NOT_FOUND',
        `The requested resource /2010-04-01/Accounts/${accountSid}/Conferences/${sid}/Participants/${key}.json was not found`,
      );
    }
    return { conf, callSid };
  }

  getParticipant(accountSid: string, sid: string, key: string): Record<string, unknown> {
    const { conf, callSid } = this.#participant(accountSid, sid, key);
    return participantResource(conf, callSid);
  }

  updateParticipant(
    accountSid: string,
    sid: string,
    key: string,
    form: FormParams,
  ): Record<string, unknown> {
    const { conf, callSid } = this.#participant(accountSid, sid, key);
    const fields: Record<string, string | undefined> = {};
    for (const k of Object.keys(form)) fields[k] = one(form, k);
    updateParticipant(conf, callSid, fields);
    return participantResource(conf, callSid);
  }

  /** `DELETE Participants/{CallSid}`: kicks it; its call goes on with the TwiML after `<Dial>`. */
  deleteParticipant(accountSid: string, sid: string, key: string): void {
    const { conf, callSid } = this.#participant(accountSid, sid, key);
    this.#deps.conferences.kick(conf, callSid);
  }

  /** Rings a configured number from outside (the CLI's "call in"). */
  ringInbound(opts: RingInboundOptions): RingInboundResult {
    const number = this.#numbers.number(opts.to);
    if (number === undefined) {
      throw new RangeError(`${opts.to} is not configured; call configureNumber first`);
    }
    const account = this.#numbers.account(number.accountSid);
    if (account === undefined) throw new RangeError(`unknown account ${number.accountSid}`);
    const call = this.#newCall(account.sid, opts.to, opts.from, 'inbound');
    const session = this.#session(call, account.authToken, opts.scenario, {
      url: number.statusCallback,
      method: 'POST',
      events: undefined,
    });
    void runInbound(session, number, {
      target: this.#deps.sipTrunk,
      headers: opts.sipHeaders ?? {},
    });
    return { callSid: call.sid, recording: session.recording, ended: session.ended };
  }

  /** Hangs up every live call (shutdown). */
  hangupAll(reason: string): void {
    for (const s of this.liveSessions())
      s.finish(s.call.startTime ? 'completed' : 'canceled', reason);
  }
}
