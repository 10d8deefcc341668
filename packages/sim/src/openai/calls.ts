/**
 * SIP calls (openai-realtime.md §6): the {@link SipTrunkTarget} the Twilio simulator hands calls
 * to, the registry the REST routes act on, and the wiring of the simulated caller straight into
 * the accepted session (OpenAI carries the audio; there is no Twilio media stream).
 */
import type { Logger } from '@app/platform';

import { startCaller, type CallerHandle } from '../caller/runner.js';
import type { ScenarioBook } from '../scenario-book.js';
import type { SipOffer, SipOfferOutcome, SipTrunkTarget } from '../sip.js';
import { newCallId } from './errors.js';
import type { RealtimeSession } from './realtime-session.js';
import type { Pacing } from './response-generator.js';
import type { SessionConfig } from './session-config.js';
import { SipPlayback } from './sip-playback.js';
import {
  callIncomingEvent,
  deliverWebhook,
  type Delivery,
  type WebhookTarget,
} from './webhooks.js';

type CallState = 'ringing' | 'accepted' | 'rejected' | 'ended';

export interface SipCall {
  id: string;
  offer: SipOffer;
  state: CallState;
  createdAt: number;
  session?: RealtimeSession;
  referTarget?: string;
  endReason?: string;
  webhook?: Delivery;
  readonly ended: Promise<{ reason: string }>;
}

interface CallInternals extends SipCall {
  decide(outcome: Omit<SipOfferOutcome, 'callId' | 'ended'>): void;
  finish(reason: string): void;
  caller?: CallerHandle;
  playback?: SipPlayback;
  runId?: number;
}

/** Why a REST action on a call failed: 404 unknown/ended, 400 wrong state. */
export class CallActionError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export interface SipCallsDeps {
  webhook: WebhookTarget | undefined;
  scenarios: ScenarioBook;
  pacing: Pacing;
  log: Logger;
  /** How long a ringing call waits for accept/reject, ms. @defaultValue 30 000 */
  acceptDeadlineMs: number;
  /** Creates the realtime session of an accepted call. */
  createSession(config: SessionConfig, callId: string): RealtimeSession;
}

export class SipCalls implements SipTrunkTarget {
  readonly #calls = new Map<string, CallInternals>();

  constructor(private readonly deps: SipCallsDeps) {}

  get(id: string): SipCall | undefined {
    return this.#calls.get(id);
  }

  all(): SipCall[] {
    return [...this.#calls.values()];
  }

  async incomingCall(offer: SipOffer): Promise<SipOfferOutcome> {
    const id = newCallId();
    const log = this.deps.log.child({ callId: id, callSid: offer.callSid });
    let decide!: (o: Omit<SipOfferOutcome, 'callId' | 'ended'>) => void;
    const decided = new Promise<Omit<SipOfferOutcome, 'callId' | 'ended'>>((r) => (decide = r));
    let finish!: (reason: string) => void;
    const ended = new Promise<{ reason: string }>((r) => (finish = (reason) => r({ reason })));
    const call: CallInternals = {
      id,
      offer,
      state: 'ringing',
      createdAt: Date.now(),
      ended,
      decide: (o) => decide(o),
      finish: (reason) => {
        if (call.state === 'ended') return;
        call.state = 'ended';
        call.endReason = reason;
        call.playback?.stop();
        call.caller?.ended(reason);
        call.session?.close(1000, 'call ended');
        if (call.runId !== undefined) this.deps.scenarios.release(call.runId);
        offer.recording.add('openai.call-ended', { callId: id, reason });
        log.info({ reason }, 'sip call ended');
        finish(reason);
      },
    };
    this.#calls.set(id, call);
    offer.recording.add('openai.call-incoming', { callId: id });
    log.info('sip call incoming');

    if (this.deps.webhook) {
      const sipHeaders = [
        { name: 'From', value: `sip:${offer.from}@sip.twilio.com` },
        { name: 'To', value: `sip:${offer.to}@sip.api.openai.com` },
        { name: 'Call-ID', value: `${offer.callSid}@sip.twilio.com` },
        ...Object.entries(offer.headers).map(([name, value]) => ({ name, value })),
      ];
      void deliverWebhook(this.deps.webhook, callIncomingEvent(id, sipHeaders), log).then((d) => {
        call.webhook = d;
        offer.recording.add('openai.webhook', { status: d.status });
      });
    } else {
      log.warn('no webhook configured: the call waits for an accept over REST');
    }

    const timer = setTimeout(() => {
      if (call.state !== 'ringing') return;
      call.state = 'ended';
      call.endReason = 'timeout';
      finish('timeout');
      decide({ outcome: 'timeout' });
    }, this.deps.acceptDeadlineMs);
    const outcome = await decided;
    clearTimeout(timer);
    return { ...outcome, callId: id, ended };
  }

  #live(id: string): CallInternals {
    const call = this.#calls.get(id);
    if (!call || call.state === 'ended' || call.state === 'rejected') {
      throw new CallActionError(404, `Call with id '${id}' not found.`);
    }
    return call;
  }

  accept(id: string, config: SessionConfig): RealtimeSession {
    const call = this.#live(id);
    if (call.state !== 'ringing')
      throw new CallActionError(400, `Call '${id}' was already accepted.`);
    call.state = 'accepted';
    const session = this.deps.createSession(config, id);
    call.session = session;
    const { offer } = call;
    if (offer.scenario) {
      call.runId = this.deps.scenarios.register(offer.scenario);
      session.bindScenario(call.runId, offer.scenario);
      call.caller = startCaller({
        scenario: offer.scenario,
        runId: call.runId,
        recording: offer.recording,
        pacing: this.deps.pacing,
        transport: {
          sendAudio: (frame) => session.sipAudio(frame),
          sendDtmf: (digit) => session.dtmf(digit),
          hangup: () => call.finish('caller-hangup'),
        },
      });
      call.playback = new SipPlayback(session, call.caller, this.deps.pacing);
      session.audioOut = call.playback;
      void call.caller.done.then(({ reason }) => call.finish(reason));
    }
    offer.recording.add('openai.call-accepted', { callId: id, sessionId: session.id });
    call.decide({ outcome: 'accepted' });
    return session;
  }

  reject(id: string, sipStatus = 603): void {
    const call = this.#live(id);
    if (call.state !== 'ringing') throw new CallActionError(400, `Call '${id}' is not ringing.`);
    call.state = 'rejected';
    call.endReason = 'rejected';
    call.offer.recording.add('openai.call-rejected', { callId: id, sipStatus });
    call.decide({ outcome: 'rejected', sipStatus });
    call.finish('rejected');
  }

  /** SIP REFER (§6 step 6): records the target and ends our leg with reason `referred`. */
  refer(id: string, targetUri: string): void {
    const call = this.#live(id);
    if (call.state !== 'accepted') throw new CallActionError(400, `Call '${id}' is not active.`);
    call.referTarget = targetUri;
    call.offer.recording.add('openai.refer', { callId: id, targetUri });
    call.finish('referred');
  }

  hangup(id: string): void {
    const call = this.#live(id);
    if (call.state === 'ringing') {
      call.decide({ outcome: 'rejected', sipStatus: 603 });
    }
    call.finish('hangup');
  }

  /** The session ended on its own (expiry): the call ends too. */
  sessionClosed(callId: string, reason: string): void {
    this.#calls.get(callId)?.finish(reason);
  }

  closeAll(): void {
    for (const call of this.#calls.values()) {
      if (call.state === 'ringing') call.decide({ outcome: 'failed' });
      call.finish('simulator-closed');
    }
  }
}
