/**
 * The agent's disclosure end to end (issue 10): simulated Twilio rings our number over Media
 * Streams and over SIP, and the simulated OpenAI Realtime API records what the model was asked
 * to say: the disclosure, word for word, before the greeting and before the caller's first turn.
 * Once said, a consent-by-notice row (purpose `ai-call`, method `voice`) names the call and the
 * caller's number. Real NATS and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseScenario } from '@app/sim';

import { CALLER, OUR_NUMBER, SIP_NUMBER, startHarness, waitFor, type Harness } from './harness.js';

const NOTICE = 'This call is recorded, and you are speaking with an AI assistant.';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ pacing: 'fast' });
  await h.prisma.agent.update({
    where: { id: h.agentId },
    // The greeting's own instructions: the simulator answers a bare response.create after an
    // agent line with its fallback line, where the real model would greet from its prompt.
    data: { disclosure: NOTICE, greeting: 'Say "Hello, thanks for calling."' },
  });
});

afterAll(async () => {
  await h?.close();
});

const scenario = (name: string) =>
  parseScenario({
    name,
    caller: {
      steps: [
        // Quiet long enough for the disclosure and the greeting, said back to back.
        { waitForAgent: { quietMs: 1_500, timeoutMs: 15_000 } },
        { say: 'Hi, are you open today?' },
        { waitForAgent: { quietMs: 700, timeoutMs: 15_000 } },
        { hangup: true },
      ],
    },
    model: { greeting: 'Hello, thanks for calling.', turns: [{ say: 'Yes, until six.' }] },
  });

describe('agent disclosure', { timeout: 90_000 }, () => {
  it.each([
    ['media streams', OUR_NUMBER],
    ['sip', SIP_NUMBER],
  ] as const)('is the first thing the model says, then it is recorded (%s)', async (kind, to) => {
    const name = `disclosure-${kind.replace(' ', '-')}`;
    const call = await h.sims.twilio.ringInbound({ to, from: CALLER, scenario: scenario(name) });
    const end = await call.ended;
    expect(end.status).toBe('completed');
    const callId =
      kind === 'sip' ? await h.sipCallIdOf(call.callSid) : await h.callIdOf(call.callSid);

    const session = h.sims.openai.sessions().find((s) => s.scenario === name);
    expect(session?.badInputs).toEqual([]);
    expect(session?.said.map((l) => [l.role, l.text])).toEqual([
      ['agent', NOTICE],
      ['agent', 'Hello, thanks for calling.'],
      ['caller', 'Hi, are you open today?'],
      ['agent', 'Yes, until six.'],
    ]);

    const consent = await waitFor(async () => {
      const rows = await h.prisma.consentRecord.findMany({ where: { callId } });
      return rows.length > 0 ? rows : undefined;
    });
    expect(consent).toEqual([
      expect.objectContaining({
        phone: CALLER,
        purpose: 'ai-call',
        method: 'voice',
        recordedBy: 'system:call-bridge',
        revokedAt: null,
      }),
    ]);
  });
});
