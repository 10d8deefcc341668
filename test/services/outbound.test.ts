/**
 * An outbound call end to end, every service a real process as in a pod: an operator's
 * `POST /v1/calls` on the gateway, the campaign-scheduler's dialer placing it through the
 * Twilio simulator, the callee answering, Twilio fetching the gateway's `/twilio/outbound`
 * TwiML, the call-bridge bridging it to the OpenAI simulator with the request's variables in
 * the agent's instructions, and the call and the request recorded in PostgreSQL. Real NATS.
 */
import { createHash, randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase } from '@app/db/testing';
import { parseScenario, type Simulators } from '@app/sim';

import { until } from './service-process.js';
import { SystemStack } from './system-stack.js';

const OUR_NUMBER = '+15555550100';
const CALLEE = '+15555550123';
/** Our number whose calls go over SIP: an agent on it is dialed through OpenAI's SIP endpoint. */
const SIP_NUMBER = '+15555550199';
const SIP_CALLEE = '+15555550124';
const SECRET = 'outbound-test-stream-token-secret-000000';
const API_KEY = `vpk_${randomBytes(24).toString('base64url')}`;

/** The callee: listens to the agent, answers once, hangs up. */
const calleeJson = {
  name: 'renewal-callee',
  caller: {
    steps: [
      { waitForAgent: { quietMs: 700, timeoutMs: 20_000 } },
      { say: 'Yes, please renew it.' },
      { waitForAgent: { quietMs: 700, timeoutMs: 20_000 } },
      { hangup: true },
    ],
  },
  model: {
    greeting: 'Hello Ada, I am calling about your policy renewal.',
    turns: [{ say: 'Done, it is renewed. Goodbye!' }],
  },
};
const callee = parseScenario(calleeJson);

describe('outbound call: API → dialer → Twilio → gateway TwiML → bridge → model', () => {
  const system = new SystemStack();
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let prisma: PrismaClient;
  let sims: Simulators;
  let agentId: string;
  let gatewayUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    prisma = createPrismaClient({ databaseUrl: db.databaseUrl });
    const agent = await prisma.agent.create({
      data: {
        name: 'renewals',
        instructions: 'You call {{name}} to renew policy {{policy}}.',
        greetFirst: true,
      },
    });
    agentId = agent.id;
    await prisma.phoneNumber.create({ data: { e164: OUR_NUMBER, agentId } });
    await prisma.phoneNumber.create({ data: { e164: SIP_NUMBER, agentId, transport: 'sip' } });
    await prisma.apiKey.create({
      data: {
        name: 'outbound test',
        hashedKey: createHash('sha256').update(API_KEY).digest('hex'),
        prefix: API_KEY.slice(0, 12),
        role: 'operator',
      },
    });
    await system.start({
      databaseUrl: db.databaseUrl,
      streamTokenSecret: SECRET,
      pacing: 'fast',
      services: [
        {
          name: 'campaign-scheduler',
          pod: 'scheduler-0',
          env: ({ gatewayUrl: url }) => ({
            GATEWAY_PUBLIC_URL: url,
            DIAL_POLL_INTERVAL_MS: '100',
            OPENAI_SIP_URI: 'sip:proj_simulated@sip.api.openai.com;transport=tls',
            DIAL_MAX_CPS: '10',
          }),
        },
      ],
    });
    ({ gatewayUrl, sims } = system);
    sims.twilio.setBehaviour(CALLEE, { answer: 'human', scenario: callee });
    sims.twilio.setBehaviour(SIP_CALLEE, {
      answer: 'human',
      scenario: parseScenario({ ...calleeJson, name: 'renewal-callee-sip' }),
    });
  }, 120_000);

  afterAll(async () => {
    await system.stop();
    await prisma?.$disconnect();
    await db?.drop();
  }, 60_000);

  const placeCall = (idempotencyKey: string, o: { to?: string; from?: string } = {}) =>
    fetch(`${gatewayUrl}/v1/calls`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${API_KEY}`,
        'content-type': 'application/json',
        'idempotency-key': idempotencyKey,
      },
      body: JSON.stringify({
        to: o.to ?? '+1 555 555 0123',
        ...(o.from ? { from: o.from } : {}),
        agentId,
        variables: { name: 'Ada', policy: 'P-9' },
      }),
    });

  it('places the requested call once, bridges it with the variables, and records it', async () => {
    const first = await placeCall('renewal-ada-1');
    expect(first.status).toBe(202);
    const { requestId } = (await first.json()) as { requestId: string };
    // The same key again: the same request, never a second call.
    const again = await placeCall('renewal-ada-1');
    expect(again.status).toBe(202);
    expect(((await again.json()) as { requestId: string }).requestId).toBe(requestId);

    const call = await until(async () => {
      const c = await prisma.call.findFirst({
        where: { direction: 'outbound', toNumber: CALLEE, endedAt: { not: null } },
        include: { transcriptTurns: { orderBy: { sequence: 'asc' } } },
      });
      return c ?? undefined;
    }, 60_000);
    expect(call).toMatchObject({
      fromNumber: OUR_NUMBER,
      agentId,
      status: 'completed',
      transport: 'media_streams',
      bridgePod: 'bridge-0',
      variables: { name: 'Ada', policy: 'P-9' },
    });
    expect(call.transcriptTurns.map((t) => [t.role, t.text])).toEqual([
      ['assistant', 'Hello Ada, I am calling about your policy renewal.'],
      ['user', 'Yes, please renew it.'],
      ['assistant', 'Done, it is renewed. Goodbye!'],
    ]);
    // The model was configured with the request's values in the agent's instructions.
    const session = sims.openai.sessions().find((s) => s.scenario === 'renewal-callee');
    expect(session?.config.instructions).toBe('You call Ada to renew policy P-9.');

    // Twilio placed exactly one call, from our number, fetching the gateway's outbound TwiML.
    const { accountSid, authToken } = sims.credentials.twilio;
    const listed = await fetch(`${sims.twilioUrl}/2010-04-01/Accounts/${accountSid}/Calls.json`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
      },
    });
    const { calls } = (await listed.json()) as { calls: Array<{ sid: string; to: string }> };
    const placed = calls.filter((c) => c.to === CALLEE);
    expect(placed).toHaveLength(1);
    expect(placed[0]?.sid).toBe(call.twilioCallSid);
    const request = await prisma.callRequest.findUniqueOrThrow({
      where: { idempotencyKey: 'renewal-ada-1' },
    });
    expect(request.callId).toBe(call.id);
  }, 90_000);

  it('from a SIP number: dialed through OpenAI SIP, the webhook links it to the same call', async () => {
    const res = await placeCall('renewal-ada-sip', { to: SIP_CALLEE, from: SIP_NUMBER });
    expect(res.status).toBe(202);
    const call = await until(async () => {
      const c = await prisma.call.findFirst({
        where: { toNumber: SIP_CALLEE, endedAt: { not: null } },
        include: { transcriptTurns: { orderBy: { sequence: 'asc' } } },
      });
      return c ?? undefined;
    }, 60_000);
    // One call, outbound, over SIP, with OpenAI's call id and the conversation on it.
    expect(call).toMatchObject({
      direction: 'outbound',
      transport: 'sip',
      fromNumber: SIP_NUMBER,
      agentId,
      variables: { name: 'Ada', policy: 'P-9' },
    });
    expect(call.openaiCallId).toMatch(/^rtc_/);
    expect(call.transcriptTurns.map((t) => t.text)).toContain('Yes, please renew it.');
    expect(await prisma.call.count({ where: { toNumber: SIP_CALLEE } })).toBe(1);
    const session = sims.openai.sessions().find((s) => s.callId === call.openaiCallId);
    expect(session?.config.instructions).toBe('You call Ada to renew policy P-9.');
  }, 90_000);
});
