/**
 * The running system for the end-to-end tests: the Twilio/OpenAI simulators pointed at a
 * gateway, and the gateway, a call-bridge and any further services as child processes
 * (`spawnService`) on free ports, configured as in a pod, with real NATS under a fresh prefix.
 *
 * A `SystemStack` is filled as it starts and `stop()` stops whatever did start, so a test file
 * calls `start()` in `beforeAll` and `stop()` in `afterAll` and a failed start leaks nothing.
 */
import { randomBytes } from 'node:crypto';

import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';

import { createNames, type Names } from '@app/contracts';
import { startSimulators, type Simulators } from '@app/sim';

import { freePort, spawnService, waitForOk, type ServiceProcess } from './service-process.js';

export const NATS_URL = 'nats://127.0.0.1:4222';

/** A service beside the gateway and the call-bridge (`services/<name>`). */
export interface ExtraService {
  name: string;
  pod: string;
  /** Its own variables, beyond the shared ones, `HTTP_PORT` and `POD_NAME`. */
  env?: (urls: { gatewayUrl: string }) => Record<string, string>;
}

export interface SystemStackOptions {
  databaseUrl: string;
  streamTokenSecret: string;
  /** The simulators' pacing. @defaultValue their default ('realtime') */
  pacing?: 'realtime' | 'fast';
  /** The gateway's own variables beyond the ones every gateway here gets. */
  gatewayEnv?: Record<string, string>;
  /** Started after the gateway and the call-bridge, in this order. */
  services?: ExtraService[];
}

/** How long a service may take to answer `/readyz` (tsx compiles its sources first). */
const READY_MS = 60_000;
/** How long a service may take to exit on SIGTERM before it is killed. */
const STOP_MS = 10_000;

export class SystemStack {
  /** The NATS prefix of this run: its streams and buckets are deleted by `stop()`. */
  readonly prefix = `t${randomBytes(4).toString('hex')}`;
  readonly names: Names = createNames(this.prefix);
  gatewayUrl = '';
  /** Set once `start()` has started them. */
  sims!: Simulators;
  /** The services in start order: the gateway, the call-bridge, then `services`. */
  readonly procs: Array<{ name: string; proc: ServiceProcess }> = [];
  private nc: NatsConnection | undefined;

  async start(opts: SystemStackOptions): Promise<void> {
    // Kept only to delete this run's streams at the end.
    this.nc = await connect({ servers: NATS_URL });
    const extra = opts.services ?? [];
    const gatewayPort = await freePort();
    const bridgePort = await freePort();
    const extraPorts: number[] = [];
    for (let i = 0; i < extra.length; i += 1) extraPorts.push(await freePort());
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    this.gatewayUrl = gatewayUrl;
    this.sims = await startSimulators({
      ...(opts.pacing ? { pacing: opts.pacing } : {}),
      voiceUrl: `${gatewayUrl}/twilio/voice`,
      statusCallbackUrl: `${gatewayUrl}/twilio/status`,
      webhookUrl: `${gatewayUrl}/openai/webhook`,
    });
    const { sims } = this;
    const common = {
      DATABASE_URL: opts.databaseUrl,
      NATS_URL,
      NATS_PREFIX: this.prefix,
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      STREAM_TOKEN_SECRET: opts.streamTokenSecret,
      TWILIO_ACCOUNT_SID: sims.credentials.twilio.accountSid,
      TWILIO_AUTH_TOKEN: sims.credentials.twilio.authToken,
      TWILIO_API_BASE_URL: sims.twilioUrl,
      OPENAI_API_KEY: sims.credentials.openai.apiKey,
      OPENAI_BASE_URL: `${sims.openaiHttpUrl}/v1`,
    };
    const services: Array<{ name: string; port: number; env: Record<string, string> }> = [
      {
        name: 'gateway',
        port: gatewayPort,
        env: {
          POD_NAME: 'gateway-0',
          PUBLIC_BASE_URL: gatewayUrl,
          CALL_BRIDGE_MEDIA_URL: `ws://127.0.0.1:${bridgePort}/media`,
          OPENAI_WEBHOOK_SECRET: sims.credentials.openai.webhookSecret,
          ...opts.gatewayEnv,
        },
      },
      {
        name: 'call-bridge',
        port: bridgePort,
        env: {
          POD_NAME: 'bridge-0',
          OPENAI_REALTIME_URL: sims.openaiWssUrl,
          OPENAI_REALTIME_CA: sims.tlsCertPem,
        },
      },
      ...extra.map((s, i) => ({
        name: s.name,
        port: extraPorts[i] ?? 0,
        env: { POD_NAME: s.pod, ...s.env?.({ gatewayUrl }) },
      })),
    ];
    const started = services.map((s) => ({
      ...s,
      proc: spawnService(s.name, { ...common, HTTP_PORT: String(s.port), ...s.env }),
    }));
    this.procs.push(...started.map(({ name, proc }) => ({ name, proc })));
    await Promise.all(
      started.map((s) => waitForOk(`http://127.0.0.1:${s.port}/readyz`, s.proc, READY_MS)),
    );
  }

  /** Each service's errors and last output lines, for a failing step's message. */
  logs(): string {
    return this.procs
      .map(
        ({ name, proc }) =>
          `--- ${name}\n${[...proc.stderr, ...proc.stdout.slice(-30)].join('\n')}`,
      )
      .join('\n');
  }

  /** Stops the services (SIGTERM, then SIGKILL), the simulators, and this run's NATS streams. */
  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map(async ({ proc }) => {
        proc.child.kill('SIGTERM');
        const timer = setTimeout(() => proc.child.kill('SIGKILL'), STOP_MS);
        await proc.exited;
        clearTimeout(timer);
      }),
    );
    // `sims` is unset when start() failed before the simulators were up.
    await (this.sims as Simulators | undefined)?.close();
    if (this.nc) {
      const jsm = await jetstreamManager(this.nc);
      for (const stream of [
        ...Object.values(this.names.streams).map((s) => s.name),
        ...Object.values(this.names.kv).map((b) => `KV_${b.name}`),
      ]) {
        await jsm.streams.delete(stream).catch(() => undefined);
      }
      await this.nc.close();
    }
  }
}
