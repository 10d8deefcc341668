import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  DEMO_AGENT_NAME,
  DEMO_HUMAN_NAME,
  DEMO_PHONE_NUMBER,
  DEMO_TOOLS,
  seed,
} from '../../../prisma/seed.js';
import { createPrismaClient, type PrismaClient } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

describe('seed - development data', { timeout: 30_000 }, () => {
  let db: TestDatabase;
  let prisma: PrismaClient;

  beforeAll(async () => {
    db = await createTestDatabase();
    prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 1 });
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await db?.drop();
  });

  it('routes the demo number to the demo agent, and running it twice changes nothing', async () => {
    const first = await seed(prisma);
    const second = await seed(prisma);
    expect(second).toEqual(first);
    const number = await prisma.phoneNumber.findUniqueOrThrow({
      where: { e164: DEMO_PHONE_NUMBER },
      include: { agent: true },
    });
    expect(number).toMatchObject({
      transport: 'media_streams',
      agent: {
        name: DEMO_AGENT_NAME,
        greetFirst: true,
        greeting: expect.stringMatching(/clinic/),
        toolNames: [...DEMO_TOOLS],
      },
    });
    expect(await prisma.agent.count()).toBe(1);
    // One demo human, available for transfer_to_human, however often the seed runs.
    const humans = await prisma.humanAgent.findMany();
    expect(humans).toEqual([
      expect.objectContaining({
        name: DEMO_HUMAN_NAME,
        status: 'available',
        skills: ['reception'],
      }),
    ]);
  });
});
