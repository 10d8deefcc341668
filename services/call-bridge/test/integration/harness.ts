/**
 * The inbound paths end to end, in process: the Twilio and OpenAI simulators, the gateway's
 * Twilio and OpenAI webhooks and call-record projector, and this bridge's media route and SIP
 * offer endpoint with call ownership, over real NATS and PostgreSQL (each test file gets its own namespace and database). Tests ring
 * the simulated number and look at what the caller heard, what the model saw, the CALLS stream
 * and the database.
 */
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { Registry } from 'prom-client';

import { CallOwners, type Names } from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase } from '@app/db/testing';
import {
  callIdForOpenAICall,
  KvWebhookClaims,
  openAIWebhookRoutes,
  PrismaCallDirectory,
  PrismaCallRecordStore,
  startCallRecordProjector,
  twilioWebhookRoutes,
} from '@app/gateway';
import {
  captureLogs,
  freePort,
  natsTestNamespace,
  type NatsTestNamespace,
} from '@app/platform/testing';
import { SIM_DEFAULTS, startSimulators, type Simulators } from '@app/sim';

import { agentSessionLoader, type ToolSpecs } from '../../src/adapters/agent-sessions.js';
import { callEventPublisher } from '../../src/adapters/call-events.js';
import { callOwnership } from '../../src/adapters/call-ownership.js';
import { disclosureRecorder } from '../../src/adapters/disclosure-record.js';
import { handoffClient } from '../../src/adapters/handoff-client.js';
import {
  openAIRealtime,
  realtimeEndpoint,
  type RealtimeConnection,
} from '../../src/adapters/openai-realtime.js';
import { openAISideband } from '../../src/adapters/openai-sideband.js';
import { openAISipCalls } from '../../src/adapters/openai-sip-calls.js';
import { toolRunnerClient } from '../../src/adapters/tool-runner-client.js';
import { twilioCalls } from '../../src/adapters/twilio-calls.js';
import type { RecoveryPolicy } from '../../src/domain/call-session.js';
import { LiveCalls } from '../../src/domain/live-calls.js';
import type { ToolPolicy } from '../../src/domain/tool-calls.js';
import { serveSipOffers } from '../../src/handlers/sip-offers.js';
import { createBridgeMetrics, type BridgeMetrics } from '../../src/metrics.js';
import { mediaStreamRoutes } from '../../src/routes/media-stream.js';

export const SECRET = 'call-bridge-test-stream-token-secret-000';
export const OUR_NUMBER = '+15555550100';
export const CALLER = '+15555550142';
/** The simulators' number whose calls Twilio's trunk sends to OpenAI over SIP. */
export const SIP_NUMBER = SIM_DEFAULTS.numbers.sip;
export const APOLOGY = 'Sorry, something went wrong on our side. Please call again. Goodbye.';

export interface StoredEvent {
  type: string;
  callId: string;
  ts: string;
  data: Record<string, unknown>;
}

export interface HarnessOptions {
  pacing?: 'realtime' | 'fast';
  /** Reconnects per call (REALTIME_MAX_RECONNECTS). @defaultValue 3 */
  maxReconnects?: number;
  recovery?: Partial<RecoveryPolicy>;
  maxCalls?: number;
  /** SIP_OFFER_DEADLINE_MS of the gateway. @defaultValue 2000 */
  offerDeadlineMs?: number;
  /** The agent's `toolNames`. @defaultValue [] */
  toolNames?: string[];
  /** Describes the agent's tools to the model; absent: it is offered none. */
  toolSpecs?: ToolSpecs;
  /** TOOL_TIMEOUT_MS. @defaultValue 5000 */
  toolTimeoutMs?: number;
  toolPolicy?: Partial<ToolPolicy>;
}

export interface Harness {
  ns: NatsTestNamespace;
  names: Names;
  jsm: JetStreamManager;
  prisma: PrismaClient;
  sims: Simulators;
  calls: LiveCalls;
  metrics: BridgeMetrics;
  registry: Registry;
  agentId: string;
  bridgeUrl: string;
  /** Every log line the bridge wrote (JSON objects). */
  bridgeLogs: () => Array<Record<string, unknown>>;
  owners: CallOwners;
  /** Every event stored in CALLS for one call, in order. */
  eventsOf(callId: string): Promise<StoredEvent[]>;
  /** Our call id of a Twilio CallSid (from its `created` event). */
  callIdOf(callSid: string): Promise<string>;
  /** OpenAI's call id (`rtc_…`) of a SIP call, once the simulator has it. */
  openaiCallIdOf(callSid: string): Promise<string>;
  /** Our call id of a SIP call (derived from OpenAI's call id, as the gateway does). */
  sipCallIdOf(callSid: string): Promise<string>;
  /** The events of a call once its `ended` is stored. */
  endedEventsOf(callId: string): Promise<StoredEvent[]>;
  close(): Promise<void>;
}

/** Polls `check` every 50 ms until it returns a value. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const ns = await natsTestNamespace();
  const { nc, names } = ns;
  const jsm = await jetstreamManager(nc);
  const db = await createTestDatabase();
  const prisma = createPrismaClient({ databaseUrl: db.databaseUrl });
  const agent = await prisma.agent.create({
    data: {
      name: 'front desk',
      instructions: 'Be brief.',
      voice: 'marin',
      toolNames: opts.toolNames ?? [],
    },
  });
  await prisma.phoneNumber.create({ data: { e164: OUR_NUMBER, agentId: agent.id } });
  await prisma.phoneNumber.create({
    data: { e164: SIP_NUMBER, agentId: agent.id, transport: 'sip' },
  });

  const gatewayPort = await freePort();
  const sims = await startSimulators({
    pacing: opts.pacing ?? 'fast',
    voiceUrl: `http://127.0.0.1:${gatewayPort}/twilio/voice`,
    statusCallbackUrl: `http://127.0.0.1:${gatewayPort}/twilio/status`,
    webhookUrl: `http://127.0.0.1:${gatewayPort}/openai/webhook`,
  });

  const calls = new LiveCalls(opts.maxCalls ?? 20);
  const registry = new Registry();
  const metrics = createBridgeMetrics(registry);
  const owners = await CallOwners.open(nc, names, captureLogs().log);
  const bridgeLog = captureLogs({ level: 'debug' });
  const bridge: FastifyInstance = Fastify({ loggerInstance: bridgeLog.log as FastifyBaseLogger });
  const connection: RealtimeConnection = {
    apiKey: sims.credentials.openai.apiKey,
    baseURL: `${sims.openaiHttpUrl}/v1`,
    realtimeUrl: sims.openaiWssUrl,
    ca: sims.tlsCertPem,
    maxReconnects: opts.maxReconnects ?? 3,
  };
  const endpoint = realtimeEndpoint(connection);
  const recordDisclosure = disclosureRecorder(prisma, { retryDelayMs: 200 });
  const wiring = {
    pod: 'bridge-test-0',
    publish: callEventPublisher(jetstream(nc), names),
    metrics,
    ...(opts.recovery ? { recovery: opts.recovery } : {}),
    onCallLive: callOwnership({
      nc,
      names,
      owners,
      pod: 'bridge-test-0',
      heartbeatMs: 200,
      log: captureLogs().log,
    }),
    runTool: toolRunnerClient({
      nc,
      names,
      timeoutMs: opts.toolTimeoutMs ?? 5_000,
      log: bridgeLog.log,
    }),
    ...(opts.toolPolicy ? { toolPolicy: opts.toolPolicy } : {}),
    handOff: handoffClient({ nc, names, timeoutMs: 2_000, log: bridgeLog.log }),
    disclosureSaid: async (callId: string) => {
      await recordDisclosure(callId);
    },
  };
  const loadAgent = agentSessionLoader(prisma, opts.toolSpecs);
  const offers = serveSipOffers({
    ...wiring,
    nc,
    names,
    pod: 'bridge-test-0',
    calls,
    owners,
    loadAgent,
    sipCalls: openAISipCalls(endpoint.client),
    openSideband: openAISideband(endpoint, { maxReconnects: opts.maxReconnects ?? 3 }),
    log: bridgeLog.log,
  });
  await bridge.register(mediaStreamRoutes, {
    ...wiring,
    calls,
    streamTokenSecret: SECRET,
    openRealtime: openAIRealtime(connection, endpoint),
    loadAgent,
    twilioCalls: twilioCalls({
      accountSid: sims.credentials.twilio.accountSid,
      authToken: sims.credentials.twilio.authToken,
      apiBaseUrl: sims.twilioUrl,
    }),
    apologyText: APOLOGY,
  });
  const address = await bridge.listen({ host: '127.0.0.1', port: 0 });
  const bridgeUrl = `${address.replace('http:', 'ws:')}/media`;

  const gateway: FastifyInstance = Fastify({
    loggerInstance: captureLogs().log as FastifyBaseLogger,
  });
  await gateway.register(twilioWebhookRoutes, {
    publicBaseUrl: `http://127.0.0.1:${gatewayPort}`,
    authToken: sims.credentials.twilio.authToken,
    mediaUrl: bridgeUrl,
    streamTokenSecret: SECRET,
    streamTokenTtlSec: 60,
    js: jetstream(nc),
    names,
    directory: new PrismaCallDirectory(prisma),
    lookupWaitMs: 3_000,
  });
  await gateway.register(openAIWebhookRoutes, {
    webhookSecret: sims.credentials.openai.webhookSecret,
    openai: new OpenAI({
      apiKey: sims.credentials.openai.apiKey,
      baseURL: `${sims.openaiHttpUrl}/v1`,
      maxRetries: 0,
    }),
    toleranceSec: 300,
    claims: await KvWebhookClaims.open(nc, names),
    directory: new PrismaCallDirectory(prisma),
    nc,
    js: jetstream(nc),
    names,
    offerDeadlineMs: opts.offerDeadlineMs ?? 2_000,
  });
  await gateway.listen({ host: '127.0.0.1', port: gatewayPort });
  const projector = await startCallRecordProjector({
    nc,
    names,
    store: new PrismaCallRecordStore(prisma),
    log: captureLogs().log,
    retryDelayMs: () => 200,
  });

  const stream = names.streams.calls.name;
  const allEvents = async (): Promise<StoredEvent[]> => {
    const info = await jsm.streams.info(stream);
    const out: StoredEvent[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (msg) out.push(msg.json<StoredEvent>());
    }
    return out;
  };
  const eventsOf = async (callId: string) => (await allEvents()).filter((e) => e.callId === callId);

  return {
    ns,
    names,
    jsm,
    prisma,
    sims,
    calls,
    metrics,
    registry,
    agentId: agent.id,
    bridgeUrl,
    owners,
    bridgeLogs: () => bridgeLog.lines,
    eventsOf,
    callIdOf: (callSid) =>
      waitFor(async () => {
        const created = (await allEvents()).find(
          (e) => e.type === 'call.created' && e.data.providerCallSid === callSid,
        );
        return created?.callId;
      }),
    openaiCallIdOf: (callSid) =>
      waitFor(() => sims.openai.calls().find((c) => c.callSid === callSid)?.callId),
    sipCallIdOf: async (callSid) => {
      const rtc = await waitFor(
        () => sims.openai.calls().find((c) => c.callSid === callSid)?.callId,
      );
      return callIdForOpenAICall(rtc).callId;
    },
    endedEventsOf: (callId) =>
      waitFor(async () => {
        const list = await eventsOf(callId);
        return list.some((e) => e.type === 'call.ended') ? list : undefined;
      }, 20_000),
    close: async () => {
      offers.unsubscribe();
      await projector.stop();
      await gateway.close();
      await bridge.close();
      await sims.close();
      await ns.close();
      await prisma.$disconnect();
      await db.drop();
    },
  };
}
