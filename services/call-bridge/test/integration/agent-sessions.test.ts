import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase } from '@app/db/testing';
import { toolSpecsForAgent } from '@app/tools';

import { agentSessionLoader } from '../../src/adapters/agent-sessions.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl });
});

afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
});

describe('agentSessionLoader', () => {
  it("fills the agent's instructions and greeting with the call's variables", async () => {
    const agent = await prisma.agent.create({
      data: {
        name: 'renewals',
        instructions: 'You call {{name}} about policy {{policy}}.',
        greeting: 'Greet {{name}} by name.',
      },
    });
    const callId = randomUUID();
    await prisma.call.create({
      data: {
        id: callId,
        direction: 'outbound',
        fromNumber: '+15555550100',
        toNumber: '+15555550123',
        agentId: agent.id,
        variables: { name: 'Ada', policy: 'P-9' },
      },
    });
    const load = agentSessionLoader(prisma);
    expect(await load(agent.id, callId)).toMatchObject({
      instructions: 'You call Ada about policy P-9.',
      greeting: 'Greet Ada by name.',
      tools: [],
    });
    // No call row (an inbound call's stream may come first), or no variables: placeholders empty.
    expect(await load(agent.id, randomUUID())).toMatchObject({
      instructions: 'You call  about policy .',
    });
    expect(await load(randomUUID())).toBeNull();
  });

  it("offers the agent's tools as the tool registry describes them, and only those", async () => {
    const agent = await prisma.agent.create({
      data: {
        name: 'with tools',
        instructions: 'Help.',
        toolNames: ['get_time', 'end_call', 'no_such_tool'],
      },
    });
    const load = agentSessionLoader(prisma, (names) => toolSpecsForAgent(prisma, names));
    const session = await load(agent.id);
    expect(session?.tools?.map((t) => t.name)).toEqual(['get_time', 'end_call']);
    for (const tool of session?.tools ?? []) {
      expect(tool).toMatchObject({
        type: 'function',
        description: expect.any(String),
        parameters: { type: 'object' },
      });
    }
    // Without a registry the agent is offered nothing it could call.
    expect((await agentSessionLoader(prisma)(agent.id))?.tools).toEqual([]);
  });
});
