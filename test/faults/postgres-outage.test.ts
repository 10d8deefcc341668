/**
 * PostgreSQL unavailable for 30 seconds (issue 10, "Faults"). A gateway and a call-bridge process
 * reach the database through a TCP proxy that the test cuts: every open connection is reset and
 * new ones are refused, as when the database crashed or its host dropped off the network. (A
 * proxy rather than a private cluster: the shared server must stay up for the other test files,
 * and what the `pg` driver sees, a dead socket and then refused connects, is the same.)
 *
 * - A call in progress: the conversation goes on (a live call needs no database) and completes;
 *   its events wait in JetStream and, once the database is back, the record is complete: every
 *   transcript turn in order, the end reason, each event projected once.
 * - A call arriving during the outage to a number called before: the gateway and the bridge use
 *   the number's last known agent and its settings, so the caller is answered and talks to the
 *   agent; its record is written once the database is back.
 * - A call arriving during the outage to a number not looked up before: there is no agent to
 *   answer with, so the caller hears "try again in a few minutes" (not Twilio's "application
 *   error") and the call ends; nothing is recorded half-way.
 * - Afterwards both services are ready again without a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { parseScenario } from '@app/sim';

import { until } from '../services/service-process.js';
import {
  CALLER,
  EAGER_SWEEPER_ENV,
  GREETING,
  NUMBER,
  REPLY_1,
  REPLY_2,
  REPLY_3,
  startFaultStack,
  THREE_TURN_TRANSCRIPT,
  threeTurnCall,
  type FaultStack,
} from './fault-stack.js';
import {
  startCuttableProxy,
  startPrivateNats,
  type CuttableProxy,
  type PrivateNats,
} from './private-servers.js';

const OUTAGE_MS = 30_000;
/** A number of ours that no call reached before the outage. */
const OTHER_NUMBER = '+15555550177';
/** The second turn falls in the fault; the third after it (the long pause). */
const scenario = threeTurnCall('postgres-outage', OUTAGE_MS);

const shortCall = parseScenario({
  name: 'during-outage',
  caller: { steps: [{ waitForAgent: { quietMs: 700, timeoutMs: 10_000 } }, { hangup: true }] },
  model: { greeting: GREETING },
});

describe('faults - PostgreSQL unavailable for 30 seconds', () => {
  let nats: PrivateNats;
  let db: TestDatabase;
  let proxy: CuttableProxy;
  let stack: FaultStack;

  beforeAll(async () => {
    nats = await startPrivateNats();
    db = await createTestDatabase();
    const direct = new URL(db.databaseUrl);
    proxy = await startCuttableProxy(Number(direct.port || 5432));
    const proxied = new URL(db.databaseUrl);
    proxied.port = String(proxy.port);
    stack = await startFaultStack({
      natsUrl: nats.url,
      databaseUrl: proxied.toString(),
      testDatabaseUrl: db.databaseUrl,
      // An eager sweeper: the record catches up long after the call ended (the projector's
      // redelivery backoff), and the sweeper must not take that for a lost bridge.
      bridgeEnv: EAGER_SWEEPER_ENV,
    });
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
    await proxy?.close();
    await nats?.close();
    await db?.drop();
  });

  it(
    'a live call goes on and is recorded in full afterwards; a new call is answered by the last known agent, or told to try again',
    { timeout: 150_000 },
    async () => {
      const agent = await stack.prisma.phoneNumber.findUniqueOrThrow({ where: { e164: NUMBER } });
      await stack.prisma.phoneNumber.create({
        data: { e164: OTHER_NUMBER, agentId: agent.agentId },
      });
      stack.sims.twilio.configureNumber({
        number: OTHER_NUMBER,
        accountSid: stack.sims.credentials.twilio.accountSid,
        voiceUrl: `${stack.gatewayUrl}/twilio/voice`,
      });
      const placed = await stack.sims.twilio.ringInbound({ to: NUMBER, from: CALLER, scenario });
      await until(
        async () => (stack.agentSaid().includes(REPLY_1) ? true : undefined),
        30_000,
        () => stack.logs(),
      );
      await proxy.cut();
      const restoreAt = Date.now() + OUTAGE_MS;

      // A new call during the outage to the same number: answered by its last known agent.
      const answered = await stack.sims.twilio.ringInbound({
        to: NUMBER,
        from: '+15555550143',
        scenario: shortCall,
      });
      expect(await answered.ended).toEqual({ status: 'completed', reason: 'caller-hangup' });
      expect(answered.recording.entries.some((e) => e.kind === 'received.media')).toBe(true);
      // A number nobody called yet: no agent known, the caller is told to try again later.
      const refused = await stack.sims.twilio.ringInbound({
        to: OTHER_NUMBER,
        from: '+15555550144',
        scenario: shortCall,
      });
      expect(await refused.ended).toEqual({ status: 'completed', reason: 'twiml-hangup' });
      expect(refused.recording.entries.find((e) => e.kind === 'twiml.say')?.data?.text).toMatch(
        /cannot take your call right now\. Please try again/,
      );
      // The live call's second turn, during the outage.
      await until(
        async () => (stack.agentSaid().includes(REPLY_2) ? true : undefined),
        30_000,
        () => `said: ${JSON.stringify(stack.agentSaid())}\n${stack.logs()}`,
      );
      // The services notice: not ready while their database is gone.
      await until(
        async () => ((await fetch(`${stack.gatewayUrl}/readyz`)).status === 503 ? true : undefined),
        15_000,
      );
      // The fault is the 30 s outage itself, not a wait for something.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, restoreAt - Date.now())));
      const acceptedBefore = proxy.accepted;
      await proxy.restore();

      const ended = await placed.ended;
      expect(ended.status).toBe('completed');
      // Both calls' lines: the live call's four, and the greeting of the call set up meanwhile.
      expect([...stack.agentSaid()].sort()).toEqual(
        [GREETING, GREETING, REPLY_1, REPLY_2, REPLY_3].sort(),
      );

      const call = await until(
        async () => {
          const c = await stack.prisma.call.findUnique({
            where: { twilioCallSid: placed.callSid },
            include: { transcriptTurns: { orderBy: { sequence: 'asc' } }, events: true },
          });
          return c?.endReason ? c : undefined;
        },
        60_000,
        () => stack.logs(),
      );
      expect(call).toMatchObject({ status: 'completed', endReason: 'caller-hangup' });
      expect(call.transcriptTurns.map((t) => [t.role, t.text, t.sequence])).toEqual(
        THREE_TURN_TRANSCRIPT,
      );
      const types = call.events.map((e) => e.type);
      const count = (type: string) => types.filter((t) => t === type).length;
      expect([count('created'), count('answered'), count('transcript'), count('ended')]).toEqual([
        1, 1, 7, 1,
      ]);

      // The call answered during the outage is recorded in full once the database is back.
      const during = await until(
        async () => {
          const c = await stack.prisma.call.findUnique({
            where: { twilioCallSid: answered.callSid },
            include: { transcriptTurns: { orderBy: { sequence: 'asc' } } },
          });
          return c?.endReason ? c : undefined;
        },
        60_000,
        () => stack.logs(),
      );
      expect(during).toMatchObject({
        status: 'completed',
        endReason: 'caller-hangup',
        fromNumber: '+15555550143',
        agentId: call.agentId,
      });
      expect(during.transcriptTurns.map((t) => [t.role, t.text])).toEqual([
        ['assistant', GREETING],
      ]);
      // The refused call left nothing behind.
      expect(
        await stack.prisma.call.findUnique({ where: { twilioCallSid: refused.callSid } }),
      ).toBeNull();
      // Both services reconnected on their own and are ready again.
      for (const url of [stack.gatewayUrl, stack.bridgeUrl]) {
        await until(
          async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined),
          30_000,
          () => stack.logs(),
        );
      }
      expect(proxy.accepted).toBeGreaterThan(acceptedBefore);
    },
  );
});
