/**
 * The Twilio simulator: REST API, voice webhooks, status callbacks, Media Streams and the SIP
 * trunk route, faithful to /work/shared/protocols/twilio.md. Start it with {@link startTwilioSim}.
 */
import Fastify from 'fastify';

import { createLogger, type Logger } from '@app/platform';

import type { Pacing } from '../caller/runner.js';
import type { CallRecording } from '../recording.js';
import type { ScenarioBook } from '../scenario-book.js';
import type { SipTrunkTarget } from '../sip.js';
import type { SimTiming } from './call-session.js';
import type { CallRecord } from './call-store.js';
import { ConferenceStore } from './conference.js';
import { TwilioFaults, type TwilioFaultSettings } from './faults.js';
import { NumberRegistry, type Behaviour, type NumberConfig, type SimAccount } from './numbers.js';
import { RequestRateLimiter, type CallLimits } from './rate-limit.js';
import { twilioRestRoutes } from './rest-routes.js';
import { TwilioSim, type RingInboundOptions, type RingInboundResult } from './twilio-sim.js';

export { twilioSignature, isValidTwilioSignature, encodeForm } from './signature.js';
export type { WebhookParams } from './signature.js';
export { TWILIO_ERRORS, TwilioApiError } from './errors.js';
export type { CallRecord, CallStatus, AnsweredBy } from './call-store.js';
export type { ConferenceStatus, ParticipantStatus, ConferenceEndReason } from './conference.js';
export type { Behaviour, NumberConfig, SimAccount } from './numbers.js';
export type { CallLimits } from './rate-limit.js';
export { TwilioFaults, type TwilioFaultSettings } from './faults.js';
export type { SimTiming } from './call-session.js';
export type { RingInboundOptions, RingInboundResult } from './twilio-sim.js';

export interface TwilioSimOptions {
  /** Port to listen on; 0 picks a free one. @defaultValue `0` */
  port?: number;
  /** @defaultValue `'127.0.0.1'` */
  host?: string;
  /** Accounts whose credentials the REST API accepts. At least one. */
  accounts: SimAccount[];
  /** Numbers to configure at start (same as calling `configureNumber`). @defaultValue `[]` */
  numbers?: NumberConfig[];
  /** Behaviour of called numbers, by E.164 number. Unlisted numbers answer as a human. */
  behaviours?: Record<string, Behaviour>;
  /** Outbound call admission and the REST request rate. @defaultValue no limits */
  limits?: CallLimits;
  /** Initial REST faults (see {@link TwilioSimHandle.faults}). @defaultValue none */
  faults?: Partial<TwilioFaultSettings>;
  /**
   * Simulated durations in ms. Defaults: `ringMs` 3000, `playMs` 3000 (one `<Play>`),
   * `holdMs` 300000 (longest wait in `<Enqueue>`), `bridgeMs` 5000 (a dialled leg that is
   * not a SIP trunk), `webhookTimeoutMs` 15000 (wall-clock, not scaled).
   */
  timing?: Partial<SimTiming>;
  /**
   * `realtime`: 20 ms frames take 20 ms. `fast`: all simulated time runs 10× faster (2 ms
   * frames, like the simulated caller). @defaultValue `'realtime'`
   */
  pacing?: Pacing;
  /** Where SIP-trunk numbers and `<Dial><Sip>` to OpenAI go. @defaultValue none (calls fail) */
  sipTrunk?: SipTrunkTarget;
  /** SIP hosts routed to {@link sipTrunk}. @defaultValue `['sip.api.openai.com']` */
  sipTrunkHosts?: string[];
  /** Shared with the OpenAI simulator so it can find a call's scenario. */
  scenarios: ScenarioBook;
  /** Accept self-signed certificates on `wss://` stream URLs. @defaultValue `false` */
  allowInsecureTls?: boolean;
  /** @defaultValue a silent logger */
  log?: Logger;
  /** The URL clients should use, when it differs from the listening address. */
  publicUrl?: string;
}

export interface TwilioSimHandle {
  /** Base URL of the REST API, e.g. `http://127.0.0.1:4010` (set `client.api.baseUrl` to it). */
  url: string;
  /** Hangs up live calls and stops listening. */
  close(): Promise<void>;
  /** REST fault injection, e.g. `faults.set({ restRateLimits: 2 })`. */
  faults: TwilioFaults;
  configureNumber(n: NumberConfig): void;
  setBehaviour(number: string, b: Behaviour): void;
  /** Rings a configured number as if someone called it. */
  ringInbound(opts: RingInboundOptions): Promise<RingInboundResult>;
  /** A copy of the call's current state; undefined for unknown SIDs. */
  getCall(sid: string): CallRecord | undefined;
  recordingOf(callSid: string): CallRecording | undefined;
  /** The conferences of an account as the REST API renders them, newest first. */
  conferences(accountSid: string): Array<Record<string, unknown>>;
}

const DEFAULT_TIMING: SimTiming = {
  ringMs: 3_000,
  playMs: 3_000,
  holdMs: 300_000,
  bridgeMs: 5_000,
  webhookTimeoutMs: 15_000,
};

export async function startTwilioSim(opts: TwilioSimOptions): Promise<TwilioSimHandle> {
  if (opts.accounts.length === 0) throw new RangeError('accounts: list at least one account');
  const log = opts.log ?? createLogger({ service: 'twilio-sim', version: '0', level: 'silent' });
  const numbers = new NumberRegistry(opts.accounts);
  for (const n of opts.numbers ?? []) numbers.configure(n);
  for (const [n, b] of Object.entries(opts.behaviours ?? {})) numbers.setBehaviour(n, b);
  const pacing = opts.pacing ?? 'realtime';
  const limits = opts.limits ?? {};
  const limiter = new RequestRateLimiter(limits.requestsPerSecond);
  const faults = new TwilioFaults();
  if (opts.faults) faults.set(opts.faults);
  const sim = new TwilioSim(
    numbers,
    {
      numbers,
      scenarios: opts.scenarios,
      sipTrunk: opts.sipTrunk,
      sipTrunkHosts: opts.sipTrunkHosts ?? ['sip.api.openai.com'],
      pacing,
      timeScale: pacing === 'fast' ? 0.1 : 1,
      timing: { ...DEFAULT_TIMING, ...opts.timing },
      allowInsecureTls: opts.allowInsecureTls ?? false,
      log,
      conferences: new ConferenceStore(),
    },
    limits,
  );
  const app = Fastify({ loggerInstance: log.child({ component: 'twilio-sim-http' }) });
  await app.register(twilioRestRoutes, { sim, numbers, limiter, faults });
  const address = await app.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  const url = opts.publicUrl ?? address;
  log.info({ url }, 'twilio simulator listening');
  return {
    url,
    faults,
    async close() {
      const live = sim.liveSessions();
      sim.hangupAll('simulator-closing');
      await Promise.all(live.map((s) => s.callbacks.flush()));
      await app.close();
    },
    configureNumber: (n) => numbers.configure(n),
    setBehaviour: (n, b) => numbers.setBehaviour(n, b),
    ringInbound: async (o) => sim.ringInbound(o),
    getCall: (sid) => {
      const c = sim.store.get(sid);
      return c === undefined ? undefined : { ...c };
    },
    recordingOf: (sid) => sim.store.recording(sid),
    conferences: (accountSid) => sim.listConferences(accountSid),
  };
}
