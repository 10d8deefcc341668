/**
 * No secret and no full phone number in the logs of a whole call (issue 10).
 *
 * Every service runs as a real process at `LOG_LEVEL=debug` (the most a production operator
 * can turn on), against the simulators, real NATS and PostgreSQL. The test drives what touches
 * secrets and personal numbers: a signed inbound call bridged to the model (Twilio signature,
 * stream token, OpenAI key), an outbound call placed with an API key, one dialled over SIP
 * (OpenAI's signed webhook), and the dashboard's admin API with a session cookie and CSRF token
 * (a do-not-call number in a body and in a URL). Then every line each process wrote, stdout and
 * stderr, is searched for every secret value and for the callers' and callees' numbers in full.
 */
import { createHash, randomBytes } from 'node:crypto';

import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNames, type Names } from '@app/contracts';
import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase } from '@app/db/testing';
import { createUser } from '@app/gateway';
import { parseScenario, startSimulators, type Simulators } from '@app/sim';

import {
  freePort,
  spawnService,
  until,
  waitForOk,
  type ServiceProcess,
} from './service-process.js';

const NATS_URL = 'nats://127.0.0.1:4222';
const OUR_NUMBER = '+15555550100';
const SIP_NUMBER = '+15555550199';
/** The people: an inbound caller, an outbound callee, a SIP callee, a do-not-call number. */
const CALLER = '+14155550142';
const CALLEE = '+14155550123';
const SIP_CALLEE = '+14155550124';
const DNC_NUMBER = '+14155550177';
const PERSONAL_NUMBERS = [CALLER, CALLEE, SIP_CALLEE, DNC_NUMBER];

const STREAM_SECRET = `log-hygiene-${randomBytes(24).toString('hex')}`;
const API_KEY = `vpk_${randomBytes(24).toString('base64url')}`;
const DB_PASSWORD = `dbpw-${randomBytes(12).toString('hex')}`;
const USER_PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
/** The shape of a stream token (`v1.<claims>.<mac>`), whatever its value. */
const STREAM_TOKEN = /v1\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}/;

const chat = (name: string) =>
  parseScenario({
    name,
    caller: {
      steps: [
        { waitForAgent: { quietMs: 600, timeoutMs: 20_000 } },
        { say: 'Hello, my number is four one five.' },
        { waitForAgent: { quietMs: 600, timeoutMs: 20_000 } },
        { hangup: true },
      ],
    },
    model: { greeting: 'Hello, how can I help?', turns: [{ say: 'Noted. Goodbye!' }] },
  });

/** `postgresql://user@host/db` with a password the server (trust auth) ignores but we search. */
function withPassword(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.username = url.username || 'postgres';
  url.password = DB_PASSWORD;
  return url.toString();
}

describe('log hygiene: a whole call at LOG_LEVEL=debug logs no secret and no full number', () => {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const names: Names = createNames(prefix);
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let prisma: PrismaClient;
  let sims: Simulators;
  const procs = new Map<string, ServiceProcess>();
  let agentId: string;
  let gatewayUrl: string;
  let databaseUrl: string;
  /** Secret values seen during the test (cookie, CSRF token), added as they are issued. */
  const issued: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    databaseUrl = withPassword(db.databaseUrl);
    prisma = createPrismaClient({ databaseUrl: db.databaseUrl });
    const agent = await prisma.agent.create({
      data: { name: 'front desk', instructions: 'Be brief.', greetFirst: true },
    });
    agentId = agent.id;
    await prisma.phoneNumber.create({ data: { e164: OUR_NUMBER, agentId } });
    await prisma.phoneNumber.create({ data: { e164: SIP_NUMBER, agentId, transport: 'sip' } });
    await prisma.apiKey.create({
      data: {
        name: 'log hygiene',
        hashedKey: createHash('sha256').update(API_KEY).digest('hex'),
        prefix: API_KEY.slice(0, 12),
        role: 'admin',
      },
    });
    await createUser(prisma, {
      email: 'admin@example.com',
      role: 'admin',
      name: 'Admin',
      password: USER_PASSWORD,
    });

    const ports = {
      gateway: await freePort(),
      bridge: await freePort(),
      scheduler: await freePort(),
      tools: await freePort(),
      handoff: await freePort(),
    };
    gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
    sims = await startSimulators({
      pacing: 'fast',
      voiceUrl: `${gatewayUrl}/twilio/voice`,
      statusCallbackUrl: `${gatewayUrl}/twilio/status`,
      webhookUrl: `${gatewayUrl}/openai/webhook`,
    });
    sims.twilio.setBehaviour(CALLEE, { answer: 'human', scenario: chat('outbound-callee') });
    sims.twilio.setBehaviour(SIP_CALLEE, { answer: 'human', scenario: chat('sip-callee') });
    const common = {
      DATABASE_URL: databaseUrl,
      NATS_URL,
      NATS_PREFIX: prefix,
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      STREAM_TOKEN_SECRET: STREAM_SECRET,
      TWILIO_ACCOUNT_SID: sims.credentials.twilio.accountSid,
      TWILIO_AUTH_TOKEN: sims.credentials.twilio.authToken,
      TWILIO_API_BASE_URL: sims.twilioUrl,
      OPENAI_API_KEY: sims.credentials.openai.apiKey,
      OPENAI_BASE_URL: `${sims.openaiHttpUrl}/v1`,
    };
    procs.set(
      'gateway',
      spawnService('gateway', {
        ...common,
        HTTP_PORT: String(ports.gateway),
        POD_NAME: 'gateway-0',
        PUBLIC_BASE_URL: gatewayUrl,
        CALL_BRIDGE_MEDIA_URL: `ws://127.0.0.1:${ports.bridge}/media`,
        OPENAI_WEBHOOK_SECRET: sims.credentials.openai.webhookSecret,
      }),
    );
    procs.set(
      'call-bridge',
      spawnService('call-bridge', {
        ...common,
        HTTP_PORT: String(ports.bridge),
        POD_NAME: 'bridge-0',
        OPENAI_REALTIME_URL: sims.openaiWssUrl,
        OPENAI_REALTIME_CA: sims.tlsCertPem,
      }),
    );
    procs.set(
      'campaign-scheduler',
      spawnService('campaign-scheduler', {
        ...common,
        HTTP_PORT: String(ports.scheduler),
        POD_NAME: 'scheduler-0',
        GATEWAY_PUBLIC_URL: gatewayUrl,
        DIAL_POLL_INTERVAL_MS: '100',
        OPENAI_SIP_URI: 'sip:proj_simulated@sip.api.openai.com;transport=tls',
        DIAL_MAX_CPS: '10',
      }),
    );
    procs.set(
      'tool-runner',
      spawnService('tool-runner', { ...common, HTTP_PORT: String(ports.tools), POD_NAME: 't-0' }),
    );
    procs.set(
      'handoff',
      spawnService('handoff', { ...common, HTTP_PORT: String(ports.handoff), POD_NAME: 'h-0' }),
    );
    await Promise.all([
      waitForOk(`${gatewayUrl}/readyz`, procs.get('gateway')!, 90_000),
      waitForOk(`http://127.0.0.1:${ports.bridge}/readyz`, procs.get('call-bridge')!, 90_000),
      waitForOk(
        `http://127.0.0.1:${ports.scheduler}/readyz`,
        procs.get('campaign-scheduler')!,
        90_000,
      ),
      waitForOk(`http://127.0.0.1:${ports.tools}/readyz`, procs.get('tool-runner')!, 90_000),
      waitForOk(`http://127.0.0.1:${ports.handoff}/readyz`, procs.get('handoff')!, 90_000),
    ]);
  }, 150_000);

  afterAll(async () => {
    await Promise.all(
      [...procs.values()].map(async (p) => {
        if (p.child.exitCode === null) p.child.kill('SIGKILL');
        await p.exited;
      }),
    );
    await sims?.close();
    const nc = await connect({ servers: NATS_URL });
    const jsm = await jetstreamManager(nc);
    for (const stream of [
      ...Object.values(names.streams).map((s) => s.name),
      ...Object.values(names.kv).map((b) => `KV_${b.name}`),
    ]) {
      await jsm.streams.delete(stream).catch(() => undefined);
    }
    await nc.close();
    await prisma?.$disconnect();
    await db?.drop();
  }, 60_000);

  const recentLogs = () =>
    [...procs]
      .map(([name, p]) => `--- ${name}\n${[...p.stderr, ...p.stdout].slice(-10).join('\n')}`)
      .join('\n');

  it('drives inbound, outbound, SIP and admin traffic, then finds nothing secret in any log', async () => {
    // Inbound: Twilio (signed webhook) → gateway TwiML with a stream token → bridge → model.
    const inbound = await sims.twilio.ringInbound({
      to: OUR_NUMBER,
      from: CALLER,
      scenario: chat('inbound-caller'),
    });
    expect((await inbound.ended).status).toBe('completed');

    // Outbound with an API key, over Media Streams and over SIP.
    const place = (to: string, from: string, key: string) =>
      fetch(`${gatewayUrl}/v1/calls`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${API_KEY}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: JSON.stringify({ to, from, agentId, variables: { name: 'Ada' } }),
      });
    expect((await place(CALLEE, OUR_NUMBER, 'hygiene-1')).status).toBe(202);
    expect((await place(SIP_CALLEE, SIP_NUMBER, 'hygiene-2')).status).toBe(202);

    // The dashboard: sign in (cookie + CSRF token), list and edit the do-not-call list.
    const signIn = await fetch(`${gatewayUrl}/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@example.com', password: USER_PASSWORD }),
    });
    expect(signIn.status).toBe(200);
    const { csrfToken } = (await signIn.json()) as { csrfToken: string };
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const cookieValue = cookie.split('=')[1] ?? '';
    expect(cookieValue.length).toBeGreaterThan(10);
    issued.push(csrfToken, cookieValue);
    const asAdmin = { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' };
    const added = await fetch(`${gatewayUrl}/v1/do-not-call`, {
      method: 'POST',
      headers: asAdmin,
      body: JSON.stringify({ phone: DNC_NUMBER, reason: 'asked by phone' }),
    });
    expect(added.status).toBe(201);
    const listed = await fetch(
      `${gatewayUrl}/v1/do-not-call?limit=10&phone=${encodeURIComponent(DNC_NUMBER)}`,
      { headers: { cookie } },
    );
    expect(listed.status).toBeLessThan(500);
    const removed = await fetch(`${gatewayUrl}/v1/do-not-call/${encodeURIComponent(DNC_NUMBER)}`, {
      method: 'DELETE',
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    expect(removed.status).toBe(204);
    // A wrong key and a wrong signature are logged as refusals: with what they carried?
    const wrongKey = await fetch(`${gatewayUrl}/v1/calls?token=${API_KEY}`, {
      headers: { authorization: `Bearer ${API_KEY}x` },
    });
    expect(wrongKey.status).toBe(401);

    // Both outbound calls run to their end and are recorded.
    await until(
      async () => {
        const ended = await prisma.call.count({
          where: { toNumber: { in: [CALLEE, SIP_CALLEE] }, endedAt: { not: null } },
        });
        return ended === 2 ? true : undefined;
      },
      90_000,
      recentLogs,
    );
    await until(
      async () => {
        const c = await prisma.call.findFirst({
          where: { twilioCallSid: inbound.callSid, endedAt: { not: null } },
        });
        return c ?? undefined;
      },
      30_000,
      recentLogs,
    );

    // Stop every service (their shutdown lines count too) and read everything they wrote.
    await Promise.all(
      [...procs.values()].map(async (p) => {
        p.child.kill('SIGTERM');
        const timer = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
        await p.exited;
        clearTimeout(timer);
      }),
    );
    const secrets: Record<string, string> = {
      'Twilio auth token': sims.credentials.twilio.authToken,
      'OpenAI API key': sims.credentials.openai.apiKey,
      'OpenAI webhook secret': sims.credentials.openai.webhookSecret,
      'stream token secret': STREAM_SECRET,
      'API key': API_KEY,
      'API key (wrong)': `${API_KEY}x`,
      'user password': USER_PASSWORD,
      'database password': DB_PASSWORD,
      'session cookie': issued[1] ?? '',
      'CSRF token': issued[0] ?? '',
    };
    const leaks: string[] = [];
    let lines = 0;
    for (const [name, p] of procs) {
      const all = [...p.stdout, ...p.stderr];
      lines += all.length;
      // Debug is on: far more than start and stop lines were written.
      expect(all.length, name).toBeGreaterThan(5);
      for (const line of all) {
        const decoded = decodeURIComponent(line.replace(/%(?![0-9A-Fa-f]{2})/g, '%25'));
        for (const [what, value] of Object.entries(secrets)) {
          expect(value.length).toBeGreaterThan(8);
          if (line.includes(value) || decoded.includes(value))
            leaks.push(`${name}: ${what}: ${line}`);
        }
        for (const phone of PERSONAL_NUMBERS) {
          const digits = phone.slice(1);
          if (line.includes(digits) || decoded.includes(digits)) {
            leaks.push(`${name}: phone ${phone}: ${line}`);
          }
        }
        if (STREAM_TOKEN.test(line)) leaks.push(`${name}: stream token: ${line}`);
      }
    }
    expect(lines).toBeGreaterThan(100);
    expect(leaks.slice(0, 20)).toEqual([]);
  }, 240_000);
});
