import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  CallDirection,
  CallStatus,
  checkDatabase,
  createPrismaClient,
  Prisma,
  type PrismaClient,
} from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

describe(
  'client - Prisma 7 on @prisma/adapter-pg against the migrated database',
  { timeout: 30_000 },
  () => {
    let db: TestDatabase;
    let prisma: PrismaClient;

    beforeAll(async () => {
      db = await createTestDatabase();
      prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 2 });
    });

    afterAll(async () => {
      await prisma?.$disconnect();
      await db?.drop();
    });

    it('creates and reads an Agent -> PhoneNumber -> Call -> CallEvent chain', async () => {
      const agent = await prisma.agent.create({
        data: {
          name: 'front-desk',
          instructions: 'Greet the caller and help.',
          toolNames: ['lookup_order'],
          phoneNumbers: { create: { e164: '+14155550100', transport: 'media_streams' } },
        },
        include: { phoneNumbers: true },
      });
      // Unless configured, an agent speaks first and greets from its general instructions.
      expect(agent).toMatchObject({
        voice: 'alloy',
        model: 'gpt-realtime',
        transferTargets: [],
        greetFirst: true,
        greeting: null,
      });
      expect(agent.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(agent.phoneNumbers).toHaveLength(1);

      const call = await prisma.call.create({
        data: {
          twilioCallSid: 'CA00000000000000000000000000000001',
          direction: CallDirection.inbound,
          fromNumber: '+14155550199',
          toNumber: '+14155550100',
          status: CallStatus.ringing,
          agentId: agent.id,
          bridgePod: 'call-bridge-0',
          events: {
            create: {
              eventId: 'evt-1',
              type: 'created',
              ts: new Date('2026-01-01T00:00:00.123Z'),
              data: { v: 1, direction: 'inbound' },
            },
          },
        },
      });

      const read = await prisma.phoneNumber.findUniqueOrThrow({
        where: { e164: '+14155550100' },
        include: { agent: { include: { calls: { include: { events: true } } } } },
      });
      expect(read.agent.name).toBe('front-desk');
      expect(read.agent.calls).toHaveLength(1);
      expect(read.agent.calls[0]).toMatchObject({
        id: call.id,
        status: 'ringing',
        endedAt: null,
        durationMs: null,
      });
      expect(read.agent.calls[0]?.events[0]).toMatchObject({
        eventId: 'evt-1',
        callId: call.id,
        ts: new Date('2026-01-01T00:00:00.123Z'),
        data: { v: 1, direction: 'inbound' },
      });
    });

    it('rejects a second CallEvent with the same event id (P2002), keeping projection idempotent', async () => {
      const call = await prisma.call.create({
        data: { direction: 'outbound', fromNumber: '+14155550100', toNumber: '+14155550111' },
      });
      const event = {
        eventId: 'evt-dup',
        callId: call.id,
        type: 'answered',
        ts: new Date(),
        data: {},
      };
      await prisma.callEvent.create({ data: event });

      const error = await prisma.callEvent.create({ data: event }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
      expect(error).toMatchObject({ code: 'P2002' });
      expect(await prisma.callEvent.count({ where: { eventId: 'evt-dup' } })).toBe(1);

      // What the projector does: insert-or-ignore.
      const inserted = await prisma.callEvent.createMany({ data: [event], skipDuplicates: true });
      expect(inserted.count).toBe(0);
    });

    it('checkDatabase resolves when the database answers', async () => {
      await expect(checkDatabase(prisma)).resolves.toBeUndefined();
    });

    it('checkDatabase rejects when the database is unreachable', async () => {
      const down = createPrismaClient({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/none' });
      try {
        await expect(checkDatabase(down, { timeoutMs: 5_000 })).rejects.toThrow();
      } finally {
        await down.$disconnect();
      }
    });

    it('createPrismaClient rejects a pool size that is not a positive integer', () => {
      expect(() => createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 0 })).toThrow(
        RangeError,
      );
    });
  },
);
