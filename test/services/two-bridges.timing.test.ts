/**
 * Two call-bridge processes behind one media URL (a round-robin balancer, as a Kubernetes
 * Service), a gateway process, the simulators, real NATS and PostgreSQL. One bridge is killed
 * (SIGKILL: no drain, no goodbye) mid-call: the other bridge's calls go on to their natural end,
 * and the killed bridge's calls are closed as `bridge_lost` by the survivor's sweeper.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';

import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { CallOwners, createNames, type Names } from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase } from '@app/db/testing';
import { signStreamToken } from '@app/platform';
import { captureLogs } from '@app/platform/testing';
import { parseScenario, startSimulators, type Simulators } from '@app/sim';

import {
  freePort,
  spawnService,
  until,
  waitForOk,
  type ServiceProcess,
} from './service-process.js';
import { startTcpBalancer, type TcpBalancer } from './tcp-balancer.js';

const NATS_URL = 'nats://127.0.0.1:4222';
const NUMBER = '+15555550100';
const SECRET = 'two-bridges-test-stream-token-secret-0000';

/** A few turns with a long pause in the middle, so calls are live when a bridge dies. */
const chat = parseScenario({
  name: 'long-chat',
  caller: {
    steps: [
      { waitForAgent: { quietMs: 700, timeoutMs: 20_000 } },
      { say: 'What time do you open tomorrow?' },
      { waitForAgent: { quietMs: 700, timeoutMs: 20_000 } },
      { pauseMs: 40_000 },
      { say: 'Great, thank you.' },
      { waitForAgent: { quietMs: 700, timeoutMs: 20_000 } },
      { hangup: true },
    ],
  },
  model: {
    greeting: 'Hello, thanks for calling. How can I help?',
    turns: [{ say: 'We open at nine in the morning.' }, { say: 'You are welcome, goodbye!' }],
  },
});

describe('call-bridge - two processes share calls and survive the loss of one', () => {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const names: Names = createNames(prefix);
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let prisma: PrismaClient;
  let nc: NatsConnection;
  let sims: Simulators;
  let balancer: TcpBalancer;
  const procs: ServiceProcess[] = [];
  let agentId: string;
  let bridgeA: number;
  let bridgeB: number;
  let a: ServiceProcess;
  let b: ServiceProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    prisma = createPrismaClient({ databaseUrl: db.databaseUrl });
    const agent = await prisma.agent.create({
      data: { name: 'front desk', instructions: 'Be brief.' },
    });
    agentId = agent.id;
    await prisma.phoneNumber.create({ data: { e164: NUMBER, agentId: agent.id } });
    nc = await connect({ servers: NATS_URL });

    let gatewayPort: number;
    [gatewayPort, bridgeA, bridgeB] = [await freePort(), await freePort(), await freePort()];
    balancer = await startTcpBalancer([bridgeA, bridgeB]);
    sims = await startSimulators({
      // Real time: the calls' 40 s pause must last 40 s. 'fast' pacing (a frame every 2 ms) made
      // it 4 s, so whole calls took 7 s and the test raced them to see all four live at once:
      // in CI they had all ended before it looked.
      pacing: 'realtime',
      voiceUrl: `http://127.0.0.1:${gatewayPort}/twilio/voice`,
      statusCallbackUrl: `http://127.0.0.1:${gatewayPort}/twilio/status`,
    });
    const common = {
      DATABASE_URL: db.databaseUrl,
      NATS_URL,
      NATS_PREFIX: prefix,
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      STREAM_TOKEN_SECRET: SECRET,
    };
    const gateway = spawnService('gateway', {
      ...common,
      HTTP_PORT: String(gatewayPort),
      POD_NAME: 'gateway-0',
      PUBLIC_BASE_URL: `http://127.0.0.1:${gatewayPort}`,
      TWILIO_AUTH_TOKEN: sims.credentials.twilio.authToken,
      CALL_BRIDGE_MEDIA_URL: `ws://127.0.0.1:${balancer.port}/media`,
    });
    const bridgeEnv = (pod: string, port: number) => ({
      ...common,
      HTTP_PORT: String(port),
      POD_NAME: pod,
      OPENAI_API_KEY: sims.credentials.openai.apiKey,
      OPENAI_BASE_URL: `${sims.openaiHttpUrl}/v1`,
      OPENAI_REALTIME_URL: sims.openaiWssUrl,
      OPENAI_REALTIME_CA: sims.tlsCertPem,
      TWILIO_ACCOUNT_SID: sims.credentials.twilio.accountSid,
      TWILIO_AUTH_TOKEN: sims.credentials.twilio.authToken,
      TWILIO_API_BASE_URL: sims.twilioUrl,
      CALL_OWNER_HEARTBEAT_MS: '200',
      OWNER_STALE_AFTER_MS: '1000',
      OWNER_SWEEP_INTERVAL_MS: '300',
      // Two calls fill a pod; SIGTERM lets calls go on for 2 s.
      MAX_CALLS: '2',
      DRAIN_TIMEOUT_MS: '2000',
      SHUTDOWN_TIMEOUT_MS: '8000',
    });
    a = spawnService('call-bridge', bridgeEnv('bridge-a', bridgeA));
    b = spawnService('call-bridge', bridgeEnv('bridge-b', bridgeB));
    procs.push(gateway, a, b);
    await Promise.all([
      waitForOk(`http://127.0.0.1:${gatewayPort}/readyz`, gateway, 60_000),
      waitForOk(`http://127.0.0.1:${bridgeA}/readyz`, a, 60_000),
      waitForOk(`http://127.0.0.1:${bridgeB}/readyz`, b, 60_000),
    ]);
  }, 90_000);

  /** The last log lines of every service, for a failure message. */
  const recentLogs = () =>
    procs
      .map((p, i) => `--- process ${i}\n${[...p.stderr, ...p.stdout].slice(-15).join('\n')}`)
      .join('\n');

  afterAll(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await balancer?.close();
    await sims?.close();
    const jsm = await jetstreamManager(nc);
    for (const stream of [
      ...Object.values(names.streams).map((s) => s.name),
      ...Object.values(names.kv).map((b) => `KV_${b.name}`),
    ]) {
      await jsm.streams.delete(stream).catch(() => undefined);
    }
    await nc?.close();
    await prisma?.$disconnect();
    await db?.drop();
  });

  it(
    'the killed bridge`s calls end bridge_lost; the other bridge`s calls finish normally',
    { timeout: 120_000 },
    async () => {
      const placed = await Promise.all(
        Array.from({ length: 4 }, () =>
          sims.twilio.ringInbound({ to: NUMBER, from: '+15555550142', scenario: chat }),
        ),
      );
      // Every call bridged, on both pods (the balancer alternates).
      const owners = await CallOwners.open(nc, names, captureLogs().log);
      const owned = await until(
        async () => {
          const list = await owners.list();
          return list.length === placed.length ? list : undefined;
        },
        // Under 40 s, the calls' pause: beyond it the first calls could end before the last.
        38_000,
        // What the simulated callers saw too: with every service quiet (warn level), a call
        // that never reached a bridge shows where it stopped only here.
        async () =>
          `owners: ${JSON.stringify(await owners.list())}\n` +
          placed
            .map(
              (c, i) =>
                `call ${i} ${c.callSid}: ${c.recording.entries
                  .slice(-6)
                  .map(
                    (e) => `${e.kind}${e.data ? ` ${JSON.stringify(e.data).slice(0, 160)}` : ''}`,
                  )
                  .join(' | ')}`,
            )
            .join('\n') +
          `\n${recentLogs()}`,
      );
      const podOf = new Map(owned.map((o) => [o.callId, o.owner.pod]));
      expect([...new Set(podOf.values())].sort()).toEqual(['bridge-a', 'bridge-b']);

      a.child.kill('SIGKILL');
      await a.exited;
      // As Kubernetes would: the dead pod leaves the Service.
      balancer.setBackends([bridgeB]);
      const outcomes = await Promise.all(placed.map((p) => p.ended));
      expect(outcomes).toHaveLength(4);

      const rows = await until(async () => {
        const calls = await prisma.call.findMany({
          where: { twilioCallSid: { in: placed.map((p) => p.callSid) } },
          include: { transcriptTurns: { orderBy: { sequence: 'asc' } } },
        });
        return calls.length === placed.length && calls.every((c) => c.endReason !== null)
          ? calls
          : undefined;
      }, 30_000);
      for (const call of rows) {
        if (podOf.get(call.id) === 'bridge-a') {
          expect(call).toMatchObject({ status: 'failed', endReason: 'bridge_lost' });
        } else {
          expect(call).toMatchObject({ status: 'completed', endReason: 'caller-hangup' });
          expect(call.transcriptTurns.map((t) => [t.role, t.text])).toEqual([
            ['assistant', 'Hello, thanks for calling. How can I help?'],
            ['user', 'What time do you open tomorrow?'],
            ['assistant', 'We open at nine in the morning.'],
            ['user', 'Great, thank you.'],
            ['assistant', 'You are welcome, goodbye!'],
          ]);
        }
      }
      // The survivor is still healthy and holds no call.
      const ready = await fetch(`http://127.0.0.1:${bridgeB}/readyz`);
      expect(ready.status).toBe(200);
      expect(await owners.list()).toEqual([]);
    },
  );

  it(
    'at capacity the pod is not ready and refuses streams with 1013; SIGTERM stops new calls, lets live ones go on, then ends them',
    { timeout: 60_000 },
    async () => {
      const longCall = parseScenario({
        name: 'long-call',
        caller: {
          steps: [{ waitForAgent: { quietMs: 700, timeoutMs: 20_000 } }, { pauseMs: 600_000 }],
        },
        model: { greeting: 'Hello, take your time.' },
      });
      const placed = await Promise.all(
        [1, 2].map(() =>
          sims.twilio.ringInbound({ to: NUMBER, from: '+15555550142', scenario: longCall }),
        ),
      );
      const owners = await CallOwners.open(nc, names, captureLogs().log);
      await until(async () => ((await owners.list()).length === 2 ? true : undefined), 30_000);
      const readyz = async () => {
        const res = await fetch(`http://127.0.0.1:${bridgeB}/readyz`);
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      const full = await readyz();
      expect(full.status).toBe(503);
      expect(full.body).toMatchObject({ reasons: ['capacity-exhausted'] });

      // A third stream on the full pod: refused cleanly, the caller can be retried elsewhere.
      const callId = randomUUID();
      const token = signStreamToken({ callId, agentId, secret: SECRET, ttlSec: 60 });
      const ws = new WebSocket(`ws://127.0.0.1:${bridgeB}/media`);
      await once(ws, 'open');
      const closed = once(ws, 'close') as Promise<[number, Buffer]>;
      ws.send(
        JSON.stringify({
          event: 'start',
          streamSid: 'MZfull',
          start: { streamSid: 'MZfull', customParameters: { callId, agentId, token } },
        }),
      );
      const [code, reason] = await closed;
      expect([code, String(reason)]).toEqual([1013, 'try again later']);

      // SIGTERM: readiness goes at once, live calls go on until DRAIN_TIMEOUT_MS (2 s).
      const termAt = Date.now();
      b.child.kill('SIGTERM');
      const draining = await until(async () => {
        const r = await readyz().catch(() => undefined);
        const reasons = (r?.body.reasons ?? []) as string[];
        return reasons.includes('shutting-down') ? r : undefined;
      }, 2_000);
      expect(draining.status).toBe(503);
      const ends = await Promise.all(placed.map((p) => p.ended));
      const heldMs = Date.now() - termAt;
      expect(heldMs).toBeGreaterThanOrEqual(1_900);
      expect(ends.map((e) => e.status)).toEqual(['completed', 'completed']);
      expect((await b.exited).code).toBe(0);
      const rows = await until(async () => {
        const calls = await prisma.call.findMany({
          where: { twilioCallSid: { in: placed.map((p) => p.callSid) } },
        });
        return calls.length === 2 && calls.every((c) => c.endReason !== null) ? calls : undefined;
      }, 20_000);
      expect(rows.map((r) => r.endReason)).toEqual(['completed', 'completed']);
    },
  );
});
