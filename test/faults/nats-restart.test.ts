/**
 * NATS restarted mid-call (issue 10, "Faults"). A gateway and a call-bridge process run against
 * a private nats-server, the simulators place a real-time call, and the server is killed while
 * the conversation goes on, then started again on the same port with the same JetStream store.
 *
 * - The caller: the conversation goes on through the outage (media never crosses NATS) and the
 *   call completes normally.
 * - The record: once NATS is back, the call record in PostgreSQL is complete: every transcript
 *   turn, in order, including those said while NATS was down, and the end reason.
 * - Nothing lost or duplicated: each event is stored once in the CALLS stream and projected
 *   once into `call_events`.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNames } from '@app/contracts';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';

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
import { startPrivateNats, type PrivateNats } from './private-servers.js';

/** The second turn falls in the fault; the third after it (the long pause). */
const scenario = threeTurnCall('nats-restart', 6_000);

interface StoredEvent {
  id: string;
  type: string;
  callId: string;
}

describe('faults - NATS restarted mid-call', () => {
  let nats: PrivateNats;
  let db: TestDatabase;
  let stack: FaultStack;

  beforeAll(async () => {
    nats = await startPrivateNats();
    db = await createTestDatabase();
    stack = await startFaultStack({
      natsUrl: nats.url,
      databaseUrl: db.databaseUrl,
      testDatabaseUrl: db.databaseUrl,
      bridgeEnv: EAGER_SWEEPER_ENV,
    });
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
    await nats?.close();
    await db?.drop();
  });

  it(
    'the call goes on and completes; its record is complete once NATS is back, with each event once',
    { timeout: 120_000 },
    async () => {
      const placed = await stack.sims.twilio.ringInbound({ to: NUMBER, from: CALLER, scenario });
      await until(
        async () => (stack.agentSaid().includes(REPLY_1) ? true : undefined),
        30_000,
        () => stack.logs(),
      );
      // A crash, not a goodbye: clients learn it from the dropped socket.
      await nats.stop('SIGKILL');
      const downAt = Date.now();
      // The caller asks and the agent answers while NATS is down.
      await until(
        async () => (stack.agentSaid().includes(REPLY_2) ? true : undefined),
        30_000,
        () => `said: ${JSON.stringify(stack.agentSaid())}\n${stack.logs()}`,
      );
      await nats.start();
      const outageMs = Date.now() - downAt;

      // The caller: the call went on and ended as the caller ended it.
      const ended = await placed.ended;
      expect(ended.status).toBe('completed');
      expect(stack.agentSaid()).toEqual([GREETING, REPLY_1, REPLY_2, REPLY_3]);

      // The record, once NATS is back: every event stored in the stream is projected.
      const callId = (
        await until(
          () =>
            stack.prisma.call
              .findUnique({ where: { twilioCallSid: placed.callSid } })
              .then((c) => c ?? undefined),
          30_000,
        )
      ).id;
      const nc: NatsConnection = await connect({ servers: nats.url });
      const stored = async () => {
        const { name } = createNames().streams.calls;
        const jsm = await jetstreamManager(nc);
        const { state } = await jsm.streams.info(name);
        const out: Array<{ id: string; type: string }> = [];
        for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
          const event = (await jsm.streams.getMessage(name, { seq }))?.json<StoredEvent>();
          if (event?.callId === callId) out.push({ id: event.id, type: event.type });
        }
        return out;
      };
      try {
        const { call, events } = await until(
          async () => {
            const c = await stack.prisma.call.findUniqueOrThrow({
              where: { id: callId },
              include: { transcriptTurns: { orderBy: { sequence: 'asc' } }, events: true },
            });
            const inStream = await stored();
            const projected = c.events.map((e) => e.eventId).sort();
            const all = inStream.map((e) => e.id).sort();
            return c.endReason && JSON.stringify(projected) === JSON.stringify(all)
              ? { call: c, events: inStream }
              : undefined;
          },
          45_000,
          () => `outage ${outageMs} ms\n${stack.logs()}`,
        );
        expect(call).toMatchObject({ status: 'completed', endReason: 'caller-hangup' });
        expect(call.transcriptTurns.map((t) => [t.role, t.text, t.sequence])).toEqual(
          THREE_TURN_TRANSCRIPT,
        );
        // Nothing duplicated: each event once in the stream (and so once in the record).
        expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
        const count = (type: string) => events.filter((e) => e.type === type).length;
        expect(
          ['call.created', 'call.answered', 'call.transcript', 'call.ended'].map(count),
          JSON.stringify(events),
        ).toEqual([1, 1, 7, 1]);
      } finally {
        await nc.close();
      }
      // Both services came through it and are ready again.
      for (const url of [stack.gatewayUrl, stack.bridgeUrl]) {
        await until(
          async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined),
          15_000,
          () => stack.logs(),
        );
      }
    },
  );
});
