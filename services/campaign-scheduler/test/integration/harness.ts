/**
 * The dialer end to end, in process, over real NATS and PostgreSQL (a namespace and a database
 * per test file): the Twilio simulator (fast pacing) behind a small fault-injecting proxy, the
 * gateway's status-callback route and call-record projector (so Twilio's final statuses become
 * `ended` events, as in production), a stand-in for the gateway's `/twilio/outbound` TwiML
 * route (a short `<Say>` and `<Hangup/>`), and one or more schedulers as replicas.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import { jetstream } from '@nats-io/jetstream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import twilio from 'twilio';

import { callRequest, publishCallRequest, type CallRequestData, type Names } from '@app/contracts';
import type { RunningConsumer } from '@app/contracts';
import { createPrismaClient, type CallRequest, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import {
  PrismaCallDirectory,
  PrismaCallRecordStore,
  startCallRecordProjector,
  twilioWebhookRoutes,
} from '@app/gateway';
import {
  captureLogs,
  freePort,
  natsTestNamespace,
  type CapturedLogs,
  type NatsTestNamespace,
} from '@app/platform/testing';
import { startSimulators, type Simulators } from '@app/sim';

import { twilioDialer } from '../../src/adapters/twilio-dialer.js';
import { startScheduler, type DialerSettings, type RunningScheduler } from '../../src/scheduler.js';

/** Our Media Streams number (the simulators' own) and three more configured for these tests. */
export const OUR_NUMBER = '+15555550100';
export const SIP_NUMBER = '+15555550199';
export const MORE_NUMBERS = ['+15555550101', '+15555550102', '+15555550103'] as const;

/** One `POST Calls.json` as the scheduler sent it (through the proxy). */
export interface CreateRequest {
  atMs: number;
  params: Record<string, string | string[]>;
  /** What the proxy answered: the simulator's status, or an injected one. */
  status: number;
}

/** An outbound call in the simulator's log. */
export interface SimCall {
  sid: string;
  to: string;
  from: string;
  /** When the simulator created it (epoch ms). */
  createdMs: number;
  /** When it ended (epoch ms); null while live. */
  endMs: number | null;
  status: string;
}

/** Faults the proxy injects in front of the simulator's `POST Calls.json`. */
export interface ProxyFaults {
  /** The next N creates answer this 5xx without reaching the simulator. */
  serverErrors: number;
  serverErrorStatus: number;
  /** The next N creates reach the simulator, then the connection is cut (no response). */
  resetsAfterCreate: number;
}

export interface Harness {
  ns: NatsTestNamespace;
  names: Names;
  prisma: PrismaClient;
  /** The test database, for a scheduler started as a process. */
  databaseUrl: string;
  sims: Simulators;
  agentId: string;
  gatewayUrl: string;
  /** The proxy's URL: give it to twilioDialer as the API base. */
  twilioUrl: string;
  creates: CreateRequest[];
  faults: ProxyFaults;
  /** Outbound TwiML requests the stand-in `/twilio/outbound` answered. */
  outboundFetches: Array<{ callId: string; agentId: string }>;
  settings(overrides?: Partial<DialerSettings>): DialerSettings;
  /** Starts a scheduler replica (stopped by close() if the test does not). */
  startScheduler(
    overrides?: Partial<DialerSettings>,
    pod?: string,
  ): Promise<RunningScheduler & { logs: CapturedLogs }>;
  /** Publishes a call request on `call-requests.<origin>`. */
  request(
    data: Partial<CallRequestData> & { idempotencyKey: string },
    origin?: string,
  ): Promise<void>;
  /** The request with this key, once `check` passes on it. */
  waitForRequest(
    key: string,
    check: (r: CallRequest) => boolean,
    timeoutMs?: number,
  ): Promise<CallRequest>;
  /** Outbound calls the simulator created, oldest first, with ms creation times. */
  simCalls(filter?: { to?: string }): Promise<SimCall[]>;
  close(): Promise<void>;
}

/** Polls `check` every 20 ms until it returns a value. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A pass-through HTTP proxy to the simulator that records creates and injects faults. */
async function startFaultProxy(
  target: string,
  creates: CreateRequest[],
  faults: ProxyFaults,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const body = await readBody(req);
      const isCreate = req.method === 'POST' && /\/Calls\.json$/.test(req.url ?? '');
      const record = (status: number) => {
        if (!isCreate) return;
        const params: Record<string, string | string[]> = {};
        for (const [k, v] of new URLSearchParams(body.toString())) {
          const prev = params[k];
          params[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
        }
        creates.push({ atMs: Date.now(), params, status });
      };
      if (isCreate && faults.serverErrors > 0) {
        faults.serverErrors -= 1;
        const status = faults.serverErrorStatus;
        record(status);
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            code: 20500,
            message: 'Internal Server Error',
            more_info: 'https://www.twilio.com/docs/errors/20500',
            status,
          }),
        );
        return;
      }
      const upstream = await fetch(`${target}${req.url ?? ''}`, {
        method: req.method ?? 'GET',
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(
            ([k, v]) =>
              typeof v === 'string' && k !== 'host' && k !== 'content-length' && k !== 'connection',
          ),
        ) as Record<string, string>,
        ...(body.length > 0 ? { body } : {}),
      });
      const text = await upstream.text();
      record(upstream.status);
      if (isCreate && faults.resetsAfterCreate > 0) {
        faults.resetsAfterCreate -= 1;
        req.socket.destroy();
        return;
      }
      res.writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'application/json',
      });
      res.end(text);
    })().catch(() => {
      res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, server };
}

export async function startHarness(): Promise<Harness> {
  const ns = await natsTestNamespace();
  const { nc, names } = ns;
  const db: TestDatabase = await createTestDatabase();
  const prisma = createPrismaClient({ databaseUrl: db.databaseUrl });
  const agent = await prisma.agent.create({
    data: { name: 'dialer test', instructions: 'Be brief.' },
  });
  await prisma.phoneNumber.create({ data: { e164: OUR_NUMBER, agentId: agent.id } });
  await prisma.phoneNumber.create({
    data: { e164: SIP_NUMBER, agentId: agent.id, transport: 'sip' },
  });
  for (const e164 of MORE_NUMBERS)
    await prisma.phoneNumber.create({ data: { e164, agentId: agent.id } });

  const gatewayPort = await freePort();
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const sims = await startSimulators({ pacing: 'fast', voiceUrl: `${gatewayUrl}/twilio/voice` });
  const { accountSid, authToken } = sims.credentials.twilio;
  for (const number of MORE_NUMBERS) {
    sims.twilio.configureNumber({ number, accountSid, voiceUrl: `${gatewayUrl}/twilio/voice` });
  }
  const creates: CreateRequest[] = [];
  const faults: ProxyFaults = { serverErrors: 0, serverErrorStatus: 500, resetsAfterCreate: 0 };
  const proxy = await startFaultProxy(sims.twilioUrl, creates, faults);
  const simClient = twilio(accountSid, authToken);
  simClient.api.baseUrl = sims.twilioUrl;
  // Warm the proxy's own HTTP client, so its first forwarded create is not tens of ms late
  // (that would show as calls closer together than their rate slots were).
  await fetch(`${proxy.url}/warm-up`).then((r) => r.text());

  // The gateway's side of Twilio: status callbacks become `status`/`ended` events once the
  // call's record is projected. `/twilio/outbound` is a stand-in: the callee hears a line.
  const outboundFetches: Array<{ callId: string; agentId: string }> = [];
  const gateway: FastifyInstance = Fastify({
    loggerInstance: captureLogs().log as FastifyBaseLogger,
    // The simulator keeps its callback connections alive; close() must not wait for them.
    forceCloseConnections: true,
  });
  await gateway.register(twilioWebhookRoutes, {
    publicBaseUrl: gatewayUrl,
    authToken,
    mediaUrl: 'ws://127.0.0.1:1/media',
    streamTokenSecret: 'campaign-scheduler-test-stream-token-secret',
    streamTokenTtlSec: 60,
    js: jetstream(nc),
    names,
    directory: new PrismaCallDirectory(prisma),
    lookupWaitMs: 3_000,
  });
  await gateway.register(async (app) => {
    // Twilio posts a form; its fields are not needed here.
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_req, body, done) => {
        done(null, body);
      },
    );
    app.post<{ Querystring: { callId: string; agentId: string } }>(
      '/twilio/outbound',
      async (request, reply) => {
        outboundFetches.push({ callId: request.query.callId, agentId: request.query.agentId });
        const response = new twilio.twiml.VoiceResponse();
        response.say('Hello from the dialer test.');
        response.hangup();
        return reply.type('text/xml').send(response.toString());
      },
    );
  });
  await gateway.listen({ host: '127.0.0.1', port: gatewayPort });
  const projector: RunningConsumer = await startCallRecordProjector({
    nc,
    names,
    store: new PrismaCallRecordStore(prisma),
    log: captureLogs().log,
    retryDelayMs: () => 100,
  });

  const settings = (overrides: Partial<DialerSettings> = {}): DialerSettings => ({
    gatewayUrl,
    openaiSipUri: 'sip:proj_test@sip.test.invalid;transport=tls',
    ringTimeoutSec: 1,
    maxCps: 100,
    maxCpsPerNumber: 100,
    maxConcurrent: 50,
    maxAttempts: 3,
    retryBackoffMs: 100,
    transientBackoffMs: 50,
    maxTransientFailures: 10,
    parallelism: 4,
    pollIntervalMs: 50,
    reclaimAfterMs: 2_000,
    liveCheckAfterMs: 60_000,
    ...overrides,
  });
  const schedulers: RunningScheduler[] = [];
  let replica = 0;

  return {
    ns,
    names,
    prisma,
    databaseUrl: db.databaseUrl,
    sims,
    agentId: agent.id,
    gatewayUrl,
    twilioUrl: proxy.url,
    creates,
    faults,
    outboundFetches,
    settings,
    async startScheduler(overrides = {}, pod = `scheduler-test-${replica++}`) {
      const logs = captureLogs({ level: 'debug' });
      const s = settings(overrides);
      const scheduler = await startScheduler({
        nc,
        names,
        prisma,
        dialer: twilioDialer({
          accountSid,
          authToken,
          apiBaseUrl: proxy.url,
          timeoutMs: Math.floor(s.reclaimAfterMs / 2),
        }),
        settings: s,
        pod,
        log: logs.log,
      });
      schedulers.push(scheduler);
      return { ...scheduler, logs };
    },
    async request(data, origin = 'test') {
      const message = callRequest({
        to: '+15550001000',
        from: OUR_NUMBER,
        agentId: agent.id,
        ...data,
      });
      await publishCallRequest(jetstream(nc), names, origin, message);
    },
    waitForRequest: (key, check, timeoutMs = 10_000) =>
      waitFor(async () => {
        const row = await prisma.callRequest.findUnique({ where: { idempotencyKey: key } });
        return row && check(row) ? row : undefined;
      }, timeoutMs),
    async simCalls(filter = {}) {
      // The simulator's own call log (its REST list, newest first), with ms creation times.
      const listed = await simClient.calls.list({
        ...(filter.to ? { to: filter.to } : {}),
        limit: 1_000,
      });
      const out = [];
      for (const { sid } of listed) {
        const call = sims.twilio.getCall(sid);
        if (!call || call.direction !== 'outbound-api') continue;
        out.push({
          sid,
          to: call.to,
          from: call.from,
          createdMs: call.dateCreated.getTime(),
          endMs: call.endTime ? call.endTime.getTime() : null,
          status: call.status,
        });
      }
      return out.sort((a, b) => a.createdMs - b.createdMs);
    },
    async close() {
      for (const s of schedulers) await s.stop().catch(() => undefined);
      await projector.stop();
      await gateway.close();
      // Drop the simulator's kept-alive and in-flight connections too: close() alone waits for
      // them, which on a loaded machine outlasted the 30 s hook timeout.
      await new Promise((resolve) => {
        proxy.server.close(resolve);
        proxy.server.closeAllConnections();
      });
      await sims.close();
      await ns.close();
      await prisma.$disconnect();
      await db.drop();
    },
  };
}
