/**
 * The OpenAI Realtime API simulator (openai-realtime.md): WebSocket sessions over ws:// and
 * wss://, the SIP calls REST API, signed `realtime.call.incoming` webhooks, and fault injection.
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

import Fastify from 'fastify';
import { pino } from 'pino';

import type { Logger } from '@app/platform';

import type { CallRecording } from '../recording.js';
import type { ScenarioBook } from '../scenario-book.js';
import type { SipTrunkTarget } from '../sip.js';
import { SipCalls } from './calls.js';
import { Faults, type FaultSettings } from './faults.js';
import {
  RealtimeSession,
  type BadInput,
  type SaidLine,
  type SentEvent,
} from './realtime-session.js';
import type { Pacing } from './response-generator.js';
import { registerRestRoutes } from './rest-routes.js';
import { defaultSessionConfig, type SessionConfig } from './session-config.js';
import { generateCertificate } from './tls.js';
import type { WebhookTarget } from './webhooks.js';
import { RealtimeWsServer } from './ws-server.js';

export interface OpenAISimOptions {
  /** Interface to listen on. @defaultValue '127.0.0.1' */
  host?: string;
  /** Plain HTTP port (REST + ws://); 0 = random. @defaultValue 0 */
  port?: number;
  /** TLS port (REST + wss://); 0 = random. @defaultValue 0 */
  tlsPort?: number;
  /** Accepted API keys (Bearer). */
  apiKeys: string[];
  /** Where `realtime.call.incoming` goes for SIP calls; none: calls wait for a REST accept. */
  webhook?: WebhookTarget;
  /** Scenarios by run id (the caller announces its run id in band). */
  scenarios: ScenarioBook;
  /**
   * `realtime`: output audio deltas no faster than real time. `fast`: deltas as fast as the
   * event loop allows (not 10×), SIP playback and run-tag hold at 10×. @defaultValue 'realtime'
   */
  pacing?: Pacing;
  /** Root logger; silent when absent. */
  log?: Logger;
  /** How long a SIP call rings before `timeout`, ms. @defaultValue 30 000 */
  acceptDeadlineMs?: number;
  /** Size of each output audio delta, ms. @defaultValue 100 */
  chunkMs?: number;
  /** Initial server-wide faults. */
  faults?: Partial<FaultSettings>;
}

/** What `sessions()` reports about each session (live ones, then the last closed ones). */
export interface SessionInfo {
  id: string;
  kind: 'ws' | 'sip';
  callId?: string;
  model: string;
  closed: boolean;
  sockets: number;
  runId?: number;
  scenario?: string;
  responses: number;
  /** When the session was created, ms since the Unix epoch (`said[].atMs` counts from here). */
  createdAt: number;
  badInputs: readonly BadInput[];
  /** Caller audio appended to the session so far, in ms. */
  inputAudioMs: number;
  said: readonly SaidLine[];
  /** Server events as written to the socket(s), with `atEpochMs` (live: grows as it runs). */
  sent: readonly SentEvent[];
  config: SessionConfig;
}

export interface CallInfo {
  callId: string;
  callSid: string;
  state: string;
  sessionId?: string;
  referTarget?: string;
  endReason?: string;
  webhookStatus?: number | null;
}

export interface OpenAISim {
  /** `http://host:port`: REST (`/v1/...`) and `ws://…/v1/realtime`. */
  httpUrl: string;
  /** `https://host:tlsPort`: the same over TLS. */
  httpsUrl: string;
  /** `ws://host:port/v1/realtime`. */
  wsUrl: string;
  /** `wss://host:tlsPort/v1/realtime`. */
  wssUrl: string;
  /** PEM of the self-signed certificate: pass as `ca` to trust `wss://` and `https://`. */
  tlsCertPem: string;
  sipTrunk: SipTrunkTarget;
  faults: Faults;
  sessions(): SessionInfo[];
  /** A session by `sess_…` or call `rtc_…` id. */
  session(id: string): SessionInfo | undefined;
  calls(): CallInfo[];
  /** The caller-side recording of a SIP call (the offer's). */
  recordingOf(callId: string): CallRecording | undefined;
  close(): Promise<void>;
}

const KEEP_CLOSED = 1_000;

function info(s: RealtimeSession): SessionInfo {
  const out: SessionInfo = {
    id: s.id,
    kind: s.kind,
    model: s.config.model,
    closed: s.closed,
    sockets: s.socketCount,
    responses: s.responses,
    createdAt: s.createdAt,
    badInputs: s.badInputs,
    inputAudioMs: s.input.cursorMs,
    said: s.said,
    sent: s.sent,
    config: s.config,
  };
  if (s.callId !== undefined) out.callId = s.callId;
  if (s.runId !== undefined) out.runId = s.runId;
  if (s.scenario) out.scenario = s.scenario.name;
  return out;
}

export async function startOpenAISim(opts: OpenAISimOptions): Promise<OpenAISim> {
  if (opts.apiKeys.length === 0)
    throw new RangeError('startOpenAISim: apiKeys must name at least one key');
  if (opts.webhook && !opts.webhook.secret.startsWith('whsec_')) {
    throw new RangeError('startOpenAISim: webhook.secret must look like whsec_<base64>');
  }
  const host = opts.host ?? '127.0.0.1';
  const log = (opts.log ?? pino({ level: 'silent' })).child({ component: 'openai-sim' });
  const pacing = opts.pacing ?? 'realtime';
  const apiKeys = new Set(opts.apiKeys);
  const faults = new Faults();
  if (opts.faults) faults.set(opts.faults);
  const sessions = new Map<string, RealtimeSession>();
  const closedOrder: string[] = [];

  const createSession = (config: SessionConfig, kind: 'ws' | 'sip', callId?: string) => {
    const session = new RealtimeSession({
      config,
      kind,
      ...(callId === undefined ? {} : { callId }),
      scenarios: opts.scenarios,
      pacing,
      faults,
      log,
      chunkMs: opts.chunkMs ?? 100,
      onClosed: (s) => {
        closedOrder.push(s.id);
        while (closedOrder.length > KEEP_CLOSED) sessions.delete(closedOrder.shift() as string);
        if (s.callId !== undefined) calls.sessionClosed(s.callId, 'session-closed');
      },
    });
    sessions.set(session.id, session);
    return session;
  };

  const calls = new SipCalls({
    webhook: opts.webhook,
    scenarios: opts.scenarios,
    pacing,
    log,
    acceptDeadlineMs: opts.acceptDeadlineMs ?? 30_000,
    createSession: (config, callId) => createSession(config, 'sip', callId),
  });

  const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
  registerRestRoutes(app, { apiKeys, calls, faults });
  const ws = new RealtimeWsServer({
    apiKeys,
    calls,
    log,
    createSession: (model) => createSession(defaultSessionConfig(model), 'ws'),
  });
  ws.attach(app.server);

  const tls = await generateCertificate(host);
  await app.ready();
  const https: HttpsServer = createHttpsServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) =>
    app.routing(req, res),
  );
  ws.attach(https);

  await app.listen({ host, port: opts.port ?? 0 });
  await new Promise<void>((resolve, reject) => {
    https.once('error', reject);
    https.listen(opts.tlsPort ?? 0, host, () => resolve());
  });
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const port = (app.server.address() as AddressInfo).port;
  const tlsPort = (https.address() as AddressInfo).port;
  log.info({ port, tlsPort }, 'openai simulator listening');

  const find = (id: string) =>
    sessions.get(id) ?? [...sessions.values()].find((s) => s.callId === id);

  return {
    httpUrl: `http://${urlHost}:${port}`,
    httpsUrl: `https://${urlHost}:${tlsPort}`,
    wsUrl: `ws://${urlHost}:${port}/v1/realtime`,
    wssUrl: `wss://${urlHost}:${tlsPort}/v1/realtime`,
    tlsCertPem: tls.certPem,
    sipTrunk: calls,
    faults,
    sessions: () => [...sessions.values()].map(info),
    session: (id) => {
      const s = find(id);
      return s ? info(s) : undefined;
    },
    calls: () =>
      calls.all().map((c) => {
        const out: CallInfo = { callId: c.id, callSid: c.offer.callSid, state: c.state };
        if (c.session) out.sessionId = c.session.id;
        if (c.referTarget !== undefined) out.referTarget = c.referTarget;
        if (c.endReason !== undefined) out.endReason = c.endReason;
        if (c.webhook) out.webhookStatus = c.webhook.status;
        return out;
      }),
    recordingOf: (callId) => calls.get(callId)?.offer.recording,
    close: async () => {
      calls.closeAll();
      for (const s of sessions.values()) s.close(1001, 'server shutting down');
      ws.close();
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
      await app.close();
    },
  };
}

export { Faults, type FaultSettings } from './faults.js';
export type { BadInput, SaidLine, SentEvent } from './realtime-session.js';
export type { WebhookTarget } from './webhooks.js';
export { signWebhook } from './webhooks.js';
export type { Pacing } from './response-generator.js';
export type { SessionConfig } from './session-config.js';
