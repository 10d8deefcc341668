/**
 * The system under test, as it runs in production: a gateway (voice webhook, call-record
 * projector) and one call-bridge, each a real process, against the machine's NATS (a random
 * `NATS_PREFIX` of our own) and PostgreSQL (a fresh migrated database), with the simulators of
 * Twilio and OpenAI in this process. The bridge is pinned to CPU 0; the gateway and the load
 * generator to CPU 1, so the generator never takes the bridge's core.
 */
import { randomBytes } from 'node:crypto';

import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';

import { createNames, type Names } from '@app/contracts';
import { createPrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { freePort } from '@app/platform/testing';
import { SIM_DEFAULTS, type Simulators } from '@app/sim';

import { spawnService, waitForOk, type ServiceProcess } from './service-process.js';

/** The simulators' Media Streams number: its voice webhook is our gateway's. */
export const BENCH_NUMBER = SIM_DEFAULTS.numbers.mediaStreams;
/** The simulators' Twilio auth token: the gateway verifies signatures with it. */
const TWILIO_AUTH_TOKEN = SIM_DEFAULTS.twilio.authToken;

export interface StackOptions {
  /** @defaultValue nats://127.0.0.1:4222 */
  natsUrl?: string;
  /** Pin the bridge to CPU 0 and the gateway to CPU 1 (needs `taskset` and 2 CPUs). */
  pin: boolean;
  /** The services' LOG_LEVEL. @defaultValue 'info', as in production */
  logLevel?: string;
  /** How long a service may take to start, ms. @defaultValue 60 000 */
  startTimeoutMs?: number;
  /** Write a V8 CPU profile of each call-bridge into this directory (`node --cpu-prof`). */
  bridgeProfileDir?: string;
  /** More Node.js flags for each call-bridge, e.g. `--inspect` for the soak's forced GC. */
  bridgeNodeArgs?: readonly string[];
}

export interface BridgeProcess {
  proc: ServiceProcess;
  url: string;
}

export interface BenchStack {
  names: Names;
  nc: NatsConnection;
  /** A pool on the bench database, for the bench's own queries. */
  db: pg.Pool;
  agentId: string;
  gatewayUrl: string;
  /** The voice webhook Twilio is configured with. */
  voiceUrl: string;
  twilioAuthToken: string;
  gateway: ServiceProcess;
  /** Starts a call-bridge that talks to `sims`' OpenAI; one at a time (fixed port). */
  startBridge(sims: Simulators, maxCalls: number): Promise<BridgeProcess>;
  /** Starts another gateway (same database and NATS) on `cpus`, e.g. for the webhook bench. */
  startGateway(cpus: string | undefined): Promise<{ proc: ServiceProcess; url: string }>;
  close(): Promise<void>;
}

export async function startStack(opts: StackOptions): Promise<BenchStack> {
  const natsUrl = opts.natsUrl ?? 'nats://127.0.0.1:4222';
  const logLevel = opts.logLevel ?? 'info';
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const names = createNames(prefix);
  const secret = randomBytes(32).toString('hex');
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const fn of closers.reverse()) await fn().catch(() => undefined);
    closers.length = 0;
  };

  try {
    const database: TestDatabase = await createTestDatabase();
    closers.push(() => database.drop());
    const prisma = createPrismaClient({ databaseUrl: database.databaseUrl });
    const agent = await prisma.agent.create({
      data: { name: 'bench front desk', instructions: 'Answer briefly.', greetFirst: true },
    });
    await prisma.phoneNumber.create({ data: { e164: BENCH_NUMBER, agentId: agent.id } });
    await prisma.$disconnect();
    const db = new pg.Pool({ connectionString: database.databaseUrl, max: 4 });
    closers.push(() => db.end());

    const nc = await connect({ servers: natsUrl, name: 'bench' });
    closers.push(async () => {
      const jsm = await jetstreamManager(nc);
      const streams = [
        ...Object.values(names.streams).map((s) => s.name),
        ...Object.values(names.kv).map((b) => `KV_${b.name}`),
      ];
      for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
      await nc.close();
    });

    const bridgePort = await freePort();
    const common = {
      NODE_ENV: 'production',
      DATABASE_URL: database.databaseUrl,
      NATS_URL: natsUrl,
      NATS_PREFIX: prefix,
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: logLevel,
      STREAM_TOKEN_SECRET: secret,
    };
    const launchGateway = async (cpus: string | undefined, pod: string) => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const proc = spawnService(
        'gateway',
        {
          ...common,
          HTTP_PORT: String(port),
          POD_NAME: pod,
          PUBLIC_BASE_URL: url,
          TWILIO_AUTH_TOKEN,
          CALL_BRIDGE_MEDIA_URL: `ws://127.0.0.1:${bridgePort}/media`,
          // The load generator is one client sending what Twilio spreads over many addresses:
          // per-IP limits stay in the path (their cost is measured) but never refuse it.
          RATE_LIMIT_WEBHOOK_PER_MIN: '1000000',
          RATE_LIMIT_READ_PER_MIN: '1000000',
          RATE_LIMIT_WRITE_PER_MIN: '1000000',
        },
        cpus === undefined ? {} : { cpus },
      );
      closers.push(() => proc.stop());
      await waitForOk(`${url}/readyz`, proc, startTimeoutMs);
      return { proc, url };
    };
    const gateway = await launchGateway(opts.pin ? '1' : undefined, 'gateway-bench');

    return {
      names,
      nc,
      db,
      agentId: agent.id,
      gatewayUrl: gateway.url,
      voiceUrl: `${gateway.url}/twilio/voice`,
      twilioAuthToken: TWILIO_AUTH_TOKEN,
      gateway: gateway.proc,
      startGateway: (cpus) => launchGateway(cpus, `gateway-${randomBytes(2).toString('hex')}`),
      async startBridge(sims, maxCalls) {
        const proc = spawnService(
          'call-bridge',
          {
            ...common,
            HTTP_PORT: String(bridgePort),
            POD_NAME: 'bridge-bench',
            OPENAI_API_KEY: sims.credentials.openai.apiKey,
            OPENAI_BASE_URL: `${sims.openaiHttpUrl}/v1`,
            OPENAI_REALTIME_URL: sims.openaiWssUrl,
            OPENAI_REALTIME_CA: sims.tlsCertPem,
            TWILIO_ACCOUNT_SID: sims.credentials.twilio.accountSid,
            TWILIO_AUTH_TOKEN: sims.credentials.twilio.authToken,
            TWILIO_API_BASE_URL: sims.twilioUrl,
            MAX_CALLS: String(maxCalls),
            DRAIN_TIMEOUT_MS: '2000',
            SHUTDOWN_TIMEOUT_MS: '8000',
          },
          {
            ...(opts.pin ? { cpus: '0' } : {}),
            nodeArgs: [
              ...(opts.bridgeProfileDir
                ? ['--cpu-prof', `--cpu-prof-dir=${opts.bridgeProfileDir}`]
                : []),
              ...(opts.bridgeNodeArgs ?? []),
            ],
          },
        );
        const url = `http://127.0.0.1:${bridgePort}`;
        try {
          await waitForOk(`${url}/readyz`, proc, startTimeoutMs);
        } catch (err) {
          await proc.stop(1_000);
          throw err;
        }
        return { proc, url };
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
