/**
 * The campaign bench's system: campaign-scheduler replicas as real processes (from their
 * sources, as in a pod) against the machine's NATS (a random `NATS_PREFIX`) and PostgreSQL (a
 * fresh migrated database), dialing the Twilio simulator in this process. Gateway-less: no
 * gateway or bridge process, and none of the gateway's call records. This process stands in
 * for the gateway's two Twilio endpoints of an outbound call: the TwiML fetch gets a short line
 * and a hang-up, and a final status callback becomes the call's `ended` event (the gateway's
 * own status-to-reason mapping), the call found by its CallSid from the dialer's `created`
 * event. So the bench measures the campaign path (runner, dialer, their NATS and PostgreSQL)
 * and not the gateway's call-record projector, which the real status route waits for.
 */
import { randomBytes } from 'node:crypto';

import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pg from 'pg';

import {
  callEvent,
  callEventSchema,
  createNames,
  publishEvent,
  type CallEvent,
  type Names,
} from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase } from '@app/db/testing';
import { endReasonForStatus } from '@app/gateway';
import { createLogger, provisionJetStream } from '@app/platform';
import { freePort } from '@app/platform/testing';
import { SIM_DEFAULTS, startSimulators, type Simulators } from '@app/sim';

import { spawnService, waitForOk, type ServiceProcess } from '../stack/service-process.js';
import type { LoggedCall } from './campaign-analysis.js';

/** The campaign's from-number pool: the simulators' Media Streams number and three more. */
export const FROM_POOL = [
  SIM_DEFAULTS.numbers.mediaStreams,
  '+15555550101',
  '+15555550102',
  '+15555550103',
] as const;

/** The dialer's settings of each replica (env of the campaign-scheduler). */
export interface DialerEnv {
  [name: string]: string;
}

export interface CampaignStackOptions {
  replicas: number;
  /** Overrides of the replicas' environment (DIAL_*, CAMPAIGN_*). */
  env: DialerEnv;
  /** @defaultValue 'info', as in production */
  logLevel?: string;
}

export interface CampaignStack {
  names: Names;
  prisma: PrismaClient;
  /** A pool on the bench database, for the samplers. */
  db: pg.Pool;
  sims: Simulators;
  agentId: string;
  schedulers: ServiceProcess[];
  /** Calls not in a final status at the simulator (its REST list, Twilio's view). */
  liveAtTwilio(): Promise<number>;
  /** Messages each durable consumer on the call path has not yet acknowledged. */
  consumerBacklog(): Promise<Record<string, number>>;
  /** Every outbound call in the simulator's log, oldest first, with ms times. */
  loggedCalls(): Promise<LoggedCall[]>;
  close(): Promise<void>;
}

const LIVE_STATUSES = ['queued', 'initiated', 'ringing', 'in-progress'];

export async function startCampaignStack(opts: CampaignStackOptions): Promise<CampaignStack> {
  const natsUrl = 'nats://127.0.0.1:4222';
  const names = createNames(`bench${randomBytes(4).toString('hex')}`);
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const fn of closers.reverse()) await fn().catch(() => undefined);
    closers.length = 0;
  };
  const silent = createLogger({ service: 'bench', version: '0', level: 'silent' });
  try {
    const database = await createTestDatabase();
    closers.push(() => database.drop());
    const prisma = createPrismaClient({ databaseUrl: database.databaseUrl });
    closers.push(() => prisma.$disconnect());
    const db = new pg.Pool({ connectionString: database.databaseUrl, max: 3 });
    closers.push(() => db.end());
    const agent = await prisma.agent.create({
      data: { name: 'bench campaign', instructions: 'Be brief.' },
    });
    for (const e164 of FROM_POOL)
      await prisma.phoneNumber.create({ data: { e164, agentId: agent.id } });

    const nc: NatsConnection = await connect({ servers: natsUrl, name: 'bench-campaign' });
    closers.push(async () => {
      const jsm = await jetstreamManager(nc);
      const streams = [
        ...Object.values(names.streams).map((s) => s.name),
        ...Object.values(names.kv).map((b) => `KV_${b.name}`),
      ];
      for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
      await nc.close();
    });
    await provisionJetStream(nc, names);

    const gatewayPort = await freePort();
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const sims = await startSimulators({ pacing: 'fast', voiceUrl: `${gatewayUrl}/twilio/voice` });
    closers.push(() => sims.close());
    const { accountSid, authToken } = sims.credentials.twilio;
    for (const number of FROM_POOL.slice(1)) {
      sims.twilio.configureNumber({ number, accountSid, voiceUrl: `${gatewayUrl}/twilio/voice` });
    }

    // Our call id by CallSid, from the dialer's `created` events (published right after Twilio
    // accepted the call, before its first status callback can matter).
    const callIds = new Map<string, string>();
    const created = nc.subscribe(names.subjects.callEventsOfType('created'), {
      callback: (err, msg) => {
        if (err) return;
        const event = callEventSchema.safeParse(msg.json());
        if (
          event.success &&
          event.data.type === 'call.created' &&
          event.data.data.providerCallSid
        ) {
          callIds.set(event.data.data.providerCallSid, event.data.callId);
        }
      },
    });
    closers.push(async () => created.unsubscribe());
    const js = jetstream(nc);
    const callIdOf = async (sid: string): Promise<string | undefined> => {
      const deadline = Date.now() + 5_000;
      while (!callIds.has(sid) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      return callIds.get(sid);
    };

    const gateway: FastifyInstance = Fastify({ loggerInstance: silent as FastifyBaseLogger });
    await gateway.register(async (app) => {
      app.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string' },
        (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
      );
      // The callee hears one line and the call ends: no bridge, no model.
      app.post('/twilio/outbound', async (_request, reply) =>
        reply
          .type('text/xml')
          .send(
            '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hello from the campaign bench.</Say><Hangup/></Response>',
          ),
      );
      app.post<{ Body: Record<string, string> }>('/twilio/status', async (request, reply) => {
        const { CallSid, CallStatus } = request.body;
        const reason = CallStatus ? endReasonForStatus(CallStatus) : null;
        const callId = reason && CallSid ? await callIdOf(CallSid) : undefined;
        if (reason && callId) {
          await publishEvent(js, names, callEvent('ended', callId, { reason }) as CallEvent);
        }
        return reply.code(204).send();
      });
    });
    await gateway.listen({ host: '127.0.0.1', port: gatewayPort });
    closers.push(() => gateway.close());

    const schedulers: ServiceProcess[] = [];
    for (let i = 0; i < opts.replicas; i++) {
      const port = await freePort();
      const proc = spawnService('campaign-scheduler', {
        NODE_ENV: 'production',
        DATABASE_URL: database.databaseUrl,
        NATS_URL: natsUrl,
        NATS_PREFIX: names.prefix,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(port),
        POD_NAME: `scheduler-bench-${i}`,
        LOG_LEVEL: opts.logLevel ?? 'info',
        TWILIO_ACCOUNT_SID: accountSid,
        TWILIO_AUTH_TOKEN: authToken,
        TWILIO_API_BASE_URL: sims.twilioUrl,
        GATEWAY_PUBLIC_URL: gatewayUrl,
        ...opts.env,
      });
      closers.push(() => proc.stop());
      schedulers.push(proc);
      await waitForOk(`http://127.0.0.1:${port}/readyz`, proc, 60_000);
    }

    const auth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
    const listPage = async (query: string) => {
      const res = await fetch(
        `${sims.twilioUrl}/2010-04-01/Accounts/${accountSid}/Calls.json?${query}`,
        { headers: { authorization: auth } },
      );
      if (!res.ok) throw new Error(`twilio simulator list: ${res.status}`);
      return (await res.json()) as { calls: Array<{ sid: string }>; next_page_uri: string | null };
    };

    return {
      names,
      prisma,
      db,
      sims,
      agentId: agent.id,
      schedulers,
      async liveAtTwilio() {
        // One list per status, one after the other: a call that moves on between two lists
        // (ringing, then in-progress) shows up in both, so calls are counted by SID, once.
        const live = new Set<string>();
        for (const status of LIVE_STATUSES) {
          for (const call of (await listPage(`Status=${status}&PageSize=1000`)).calls) {
            live.add(call.sid);
          }
        }
        return live.size;
      },
      async consumerBacklog() {
        const jsm = await jetstreamManager(nc);
        const out: Record<string, number> = {};
        for (const [stream, consumer] of [
          [names.streams.callRequests.name, names.consumers.callRequests],
          [names.streams.calls.name, names.consumers.schedulerOnCallEnded],
        ] as const) {
          const info = await jsm.consumers.info(stream, consumer).catch(() => null);
          out[consumer] = info ? info.num_pending + info.num_ack_pending : -1;
        }
        return out;
      },
      async loggedCalls() {
        const out: LoggedCall[] = [];
        for (let page = 0; ; page++) {
          const body = await listPage(`PageSize=1000&Page=${page}`);
          for (const { sid } of body.calls) {
            // The REST resource has second resolution; the simulator's record has ms.
            const call = sims.twilio.getCall(sid);
            if (!call || call.direction !== 'outbound-api') continue;
            out.push({
              to: call.to,
              createdMs: call.dateCreated.getTime(),
              endMs: call.endTime ? call.endTime.getTime() : null,
              status: call.status,
            });
          }
          if (!body.next_page_uri) break;
        }
        return out.sort((a, b) => a.createdMs - b.createdMs);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
