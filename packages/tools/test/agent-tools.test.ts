import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';

import { resolveAgentTools, toolSpecsForAgent } from '../src/agent-tools.js';
import { BUILTIN_TOOLS } from '../src/builtin-tools.js';
import { parametersSchema } from '../src/tool-spec.js';

let db: TestDatabase;
let prisma: PrismaClient;

const lookup = {
  type: 'object',
  properties: { orderId: { type: 'string' } },
  required: ['orderId'],
};

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 2 });
  await prisma.httpTool.createMany({
    data: [
      {
        name: 'lookup_order',
        description: 'Find an order by id.',
        parameters: lookup,
        url: 'https://orders.example.com/lookup',
        signingSecret: 's3cret',
      },
      {
        name: 'old_tool',
        description: 'Retired.',
        url: 'https://example.com/old',
        enabled: false,
      },
      // Edited by hand into something the model cannot be given.
      {
        name: 'broken_tool',
        description: 'Bad schema.',
        parameters: { type: 'string' },
        url: 'ftp://example.com',
      },
      // Not a URL at all: skipped with a reason, never a throw that takes every tool down.
      { name: 'no_url_tool', description: 'Typo in the URL.', url: 'orders' },
    ],
  });
}, 60_000);

afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
});

describe('toolSpecsForAgent', () => {
  it('gives built-ins from code and HTTP tools from the database, in toolNames order', async () => {
    const specs = await toolSpecsForAgent(prisma, ['lookup_order', 'get_time', 'lookup_order']);

    expect(specs).toEqual([
      {
        type: 'function',
        name: 'lookup_order',
        description: 'Find an order by id.',
        parameters: lookup,
      },
      {
        type: 'function',
        name: 'get_time',
        description: BUILTIN_TOOLS.get('get_time')?.description,
        parameters: BUILTIN_TOOLS.get('get_time')?.parameters,
      },
    ]);
    // Nothing beyond what the session `tools` entry takes (no secret, url, timeout).
    expect(Object.keys(specs[0] ?? {}).sort()).toEqual([
      'description',
      'name',
      'parameters',
      'type',
    ]);
  });

  it('leaves out unknown, disabled and invalid tools, saying why', async () => {
    const names = ['end_call', 'nope', 'old_tool', 'broken_tool', 'no_url_tool'];

    const specs = await toolSpecsForAgent(prisma, names);
    const resolved = await resolveAgentTools(prisma, names);

    expect(specs.map((s) => s.name)).toEqual(['end_call']);
    expect(resolved.skipped).toEqual([
      { name: 'nope', reason: 'unknown tool' },
      { name: 'old_tool', reason: 'disabled' },
      {
        name: 'broken_tool',
        reason: expect.stringMatching(/parameters\.type: .*url: must be http or https/),
      },
      { name: 'no_url_tool', reason: expect.stringMatching(/url: Invalid URL/) },
    ]);
  });

  it('needs no database round trip for built-ins only, and returns [] for no tools', async () => {
    const noDb = {
      httpTool: {
        findMany: () => {
          throw new Error('database used');
        },
      },
    } as unknown as PrismaClient;

    expect(await toolSpecsForAgent(noDb, [])).toEqual([]);
    expect((await toolSpecsForAgent(noDb, [...BUILTIN_TOOLS.keys()])).map((s) => s.name)).toEqual([
      'get_time',
      'schedule_callback',
      'end_call',
      'transfer_to_human',
      'take_message',
      'add_to_do_not_call',
    ]);
  });
});

describe('built-in tool definitions', () => {
  it('are object schemas the model can be given, with a timeout', () => {
    for (const tool of BUILTIN_TOOLS.values()) {
      expect(parametersSchema.safeParse(tool.parameters).success, tool.name).toBe(true);
      expect(tool.parameters, tool.name).not.toHaveProperty('oneOf');
      expect(tool.timeoutMs, tool.name).toBeGreaterThan(0);
    }
  });
});
