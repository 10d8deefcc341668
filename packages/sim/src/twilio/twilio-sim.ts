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
