/**
 * An agent's `disclosure` (issue 10) through `/v1/agents` on real PostgreSQL: set, cleared,
 * audited, and refused when it could not be said word for word.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { agentsApiRoutes } from '../src/routes/agents-api.js';
import { adminApiFixture, type AdminApiFixture } from './admin-api-fixture.js';

let f: AdminApiFixture;

beforeAll(async () => {
  f = await adminApiFixture([agentsApiRoutes]);
});

afterAll(async () => {
  await f?.close();
});

const NOTICE = 'This call is recorded, and you are speaking with an AI assistant.';

describe('agent disclosure', { timeout: 30_000 }, () => {
  it('is stored trimmed, shown, changed and cleared, with audit rows', async () => {
    const created = await f.call('POST', '/v1/agents', {
      name: 'Disclosing',
      instructions: 'Be helpful.',
      disclosure: `  ${NOTICE} `,
    });
    expect(created.statusCode).toBe(201);
    const agent = created.json<{ id: string; disclosure: string | null }>();
    expect(agent.disclosure).toBe(NOTICE);
    expect((await f.prisma.agent.findUniqueOrThrow({ where: { id: agent.id } })).disclosure).toBe(
      NOTICE,
    );

    const cleared = await f.call('PATCH', `/v1/agents/${agent.id}`, { disclosure: null });
    expect(cleared.json()).toMatchObject({ disclosure: null });
    const audit = await f.prisma.auditLog.findMany({
      where: { resourceType: 'agent', resourceId: agent.id },
      orderBy: { at: 'asc' },
    });
    expect(audit[1]).toMatchObject({ before: { disclosure: NOTICE }, after: { disclosure: null } });

    // Absent means none.
    const plain = await f.call('POST', '/v1/agents', { name: 'Plain', instructions: 'x' });
    expect(plain.json()).toMatchObject({ disclosure: null });
  });

  it('refuses a blank, an overlong, or a double-quoted disclosure, by name', async () => {
    for (const disclosure of ['   ', 'x'.repeat(501), 'We say "hello" first.', 42]) {
      const res = await f.call('POST', '/v1/agents', {
        name: `Bad ${String(disclosure).slice(0, 8)}`,
        instructions: 'x',
        disclosure,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json<{ issues: Array<{ field: string }> }>().issues.map((i) => i.field)).toEqual([
        'disclosure',
      ]);
    }
  });
});
