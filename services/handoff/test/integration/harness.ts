/**
 * The handoff service in process over real NATS and PostgreSQL (a namespace and a database per
 * test file), with both simulators: live Media Streams calls are Twilio-simulator calls (the AI's
 * leg stands as a long `<Pause>`: what the service does to it is a call update, whatever TwiML
 * it ran), live SIP calls are calls the Twilio trunk sent to the OpenAI simulator. A local HTTP
 * server receives the handoff webhook and checks its signature.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';

import { jetstreamManager } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import twilio from 'twilio';

import {
  callEventSchema,
  humanAgentNotifySchema,
  type CallEvent,
  type HumanAgentNotify,
  type Names,
} from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { captureLogs, natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';
import { SIM_DEFAULTS, startSimulators, type Simulators } from '@app/sim';

import { twilioVoice } from '../../src/adapters/twilio-voice.js';
import { startHandoff, type HandoffSettings, type RunningHandoff } from '../../src/handoff.js';
import { createHandoffMetrics } from '../../src/metrics.js';

export const OURS = SIM_DEFAULTS.numbers.mediaStreams;
export const CUSTOMER = '+15555550142';
export const WEBHOOK_SECRET = 'handoff-test-webhook-secret-0001';

export interface ReceivedWebhook {
  body: Record<string, unknown>;
  /** Whether `X-Handoff-Signature` matched the body and timestamp under the secret. */
  signatureValid: boolean;
}

export interface Harness {
  ns: NatsTestNamespace;
  names: Names;
  prisma: PrismaClient;
  sims: Simulators;
  client: ReturnType<typeof twilio>;
  webhooks: ReceivedWebhook[];
  handoff: RunningHandoff;
  /** The service's metrics registry. */
  registry: Registry;
  /** The service's log lines (captured). */
  logs: Record<string, unknown>[];
  /** Creates a human agent, `available` since `idleSinceMsAgo` ms ago unless given a status. */
  human(fields: {
    name: string;
    skills?: string[];
    phoneNumber?: string;
    sipUri?: string;
    twilioClientIdentity?: string;
    status?: 'available' | 'busy' | 'offline';
    idleSinceMsAgo?: number;
  }): Promise<string>;
  /** A live Media Streams call (in the Twilio simulator) and its Call row. */
  mediaStreamsCall(): Promise<{ callId: string; callSid: string }>;
  /** A Call row for a SIP call with this OpenAI call id. */
  sipCallRow(openaiCallId: string): Promise<string>;
  /** Notifications published to a human's dashboard channel. */
  watchHuman(humanAgentId: string): { received: HumanAgentNotify[]; sub: Subscription };
  /** Call events of a call in the CALLS stream, oldest first. */
  events(callId: string): Promise<CallEvent[]>;
  close(): Promise<void>;
}

export async function until<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startWebhookServer(
  received: ReceivedWebhook[],
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      // Checked here as a receiver would, independently of the service's signing code.
      const ts = String(req.headers['x-handoff-timestamp'] ?? '');
      const given = Buffer.from(String(req.headers['x-handoff-signature'] ?? ''));
      const expected = Buffer.from(
        `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(`${ts}.${raw}`).digest('hex')}`,
      );
      const fresh = Math.abs(Date.now() / 1000 - Number(ts)) < 300;
      received.push({
        body: JSON.parse(raw) as Record<string, unknown>,
        signatureValid:
          fresh && given.length === expected.length && timingSafeEqual(given, expected),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}/handoff-hook`, server };
}

export async function startHarness(settings: Partial<HandoffSettings> = {}): Promise<Harness> {
  const ns = await natsTestNamespace();
  const db: TestDatabase = await createTestDatabase();
  const prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 4 });
  const sims = await startSimulators({ pacing: 'fast' });
  const { accountSid, authToken } = sims.credentials.twilio;
  const client = twilio(accountSid, authToken);
  client.api.baseUrl = sims.twilioUrl;
  const webhooks: ReceivedWebhook[] = [];
  const logs = captureLogs();
  const registry = new Registry();
  const hook = await startWebhookServer(webhooks);
  const agent = await prisma.agent.create({ data: { name: 'handoff', instructions: 'Hi.' } });
  const handoff = await startHandoff({
    nc: ns.nc,
    names: ns.names,
    prisma,
    twilio: twilioVoice({ accountSid, authToken, apiBaseUrl: sims.twilioUrl, timeoutMs: 5_000 }),
    webhook: { url: hook.url, secret: WEBHOOK_SECRET, timeoutMs: 5_000 },
    settings: {
      transferDelayMs: 0,
      ringTimeoutSec: 10,
      joinTimeoutMs: 30_000,
      pollIntervalMs: 100,
      controlTimeoutMs: 3_000,
      ...settings,
    },
    metrics: createHandoffMetrics(registry),
    log: logs.log,
  });
  const jsm = await jetstreamManager(ns.nc);
  const subs: Subscription[] = [];

  return {
    ns,
    names: ns.names,
    prisma,
    sims,
    client,
    webhooks,
    handoff,
    logs: logs.lines,
    registry,
    async human(f) {
      const status = f.status ?? 'available';
      const row = await prisma.humanAgent.create({
        data: {
          name: f.name,
          skills: f.skills ?? [],
          phoneNumber: f.phoneNumber ?? null,
          sipUri: f.sipUri ?? null,
          twilioClientIdentity: f.twilioClientIdentity ?? null,
          status,
          availableSince:
            status === 'available' ? new Date(Date.now() - (f.idleSinceMsAgo ?? 0)) : null,
        },
      });
      return row.id;
    },
    async mediaStreamsCall() {
      const call = await client.calls.create({
        to: CUSTOMER,
        from: OURS,
        twiml: '<Response><Pause length="600"/></Response>',
      });
      await until(() =>
        sims.twilio.getCall(call.sid)?.status === 'in-progress' ? true : undefined,
      );
      const row = await prisma.call.create({
        data: {
          twilioCallSid: call.sid,
          direction: 'outbound',
          transport: 'media_streams',
          fromNumber: OURS,
          toNumber: CUSTOMER,
          status: 'in_progress',
          agentId: agent.id,
        },
      });
      return { callId: row.id, callSid: call.sid };
    },
    async sipCallRow(openaiCallId) {
      const row = await prisma.call.create({
        data: {
          openaiCallId,
          direction: 'inbound',
          transport: 'sip',
          fromNumber: CUSTOMER,
          toNumber: SIM_DEFAULTS.numbers.sip,
          status: 'in_progress',
          agentId: agent.id,
        },
      });
      return row.id;
    },
    watchHuman(humanAgentId) {
      const received: HumanAgentNotify[] = [];
      const sub = ns.nc.subscribe(ns.names.subjects.humanAgentNotify(humanAgentId), {
        callback: (err, msg) => {
          if (!err) received.push(humanAgentNotifySchema.parse(msg.json()));
        },
      });
      subs.push(sub);
      return { received, sub };
    },
    async events(callId) {
      const stream = ns.names.streams.calls.name;
      const info = await jsm.streams.info(stream);
      const out: CallEvent[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
        const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
        if (!msg) continue;
        const event = callEventSchema.parse(msg.json());
        if (event.callId === callId) out.push(event);
      }
      return out;
    },
    async close() {
      for (const s of subs) s.unsubscribe();
      await handoff.stop();
      await sims.close();
      await new Promise((r) => hook.server.close(r));
      await ns.close();
      await prisma.$disconnect();
      await db.drop();
    },
  };
}

export { randomUUID };
