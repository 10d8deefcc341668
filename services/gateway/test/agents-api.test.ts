/**
 * `/v1/agents` against real PostgreSQL: CRUD with roles, every validation rule naming its field,
 * `toolNames` left to `PUT /v1/agents/:id/tools`, name clashes, deletes refused while the agent
 * is in use, cursor pagination across pages, and the audit rows of writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { agentsApiRoutes } from '../src/routes/agents-api.js';
import { httpToolsApiRoutes } from '../src/routes/http-tools-api.js';
import { adminApiFixture, fieldsOf, walkPages, type AdminApiFixture } from './admin-api-fixture.js';

let f: AdminApiFixture;

beforeAll(async () => {
  // With the plugin that owns PUT /v1/agents/:id/tools, as main.ts registers both.
  f = await adminApiFixture([agentsApiRoutes, httpToolsApiRoutes]);
});

afterAll(async () => {
  await f?.close();
});

type AgentView = {
  id: string;
  name: string;
  voice: string;
  model: string;
  greetFirst: boolean;
  toolNames: string[];
  transferTargets: unknown[];
  amdMode: string;
};

async function createAgent(name: string, extra: Record<string, unknown> = {}) {
  const res = await f.call('POST', '/v1/agents', { name, instructions: 'Be helpful.', ...extra });
  expect(res.statusCode).toBe(201);
  return res.json<AgentView>();
}

describe('agents API', { timeout: 30_000 }, () => {
  it('creates, reads, updates and deletes an agent, with an audit row per write', async () => {
    const created = await f.call('POST', '/v1/agents', {
      name: 'Reception',
      instructions: 'You are the receptionist.',
      voice: 'marin',
      greeting: 'Greet the caller.',
      transferTargets: [
        { name: 'front desk', skill: 'reception' },
        { name: 'manager', phone: '+1 (415) 555-0100' },
        { name: 'pbx', sipUri: 'sip:desk@pbx.example.com' },
      ],
      amdMode: 'voicemail',
      voicemailMessage: 'Please call us back.',
    });
    expect(created.statusCode).toBe(201);
    const agent = created.json<AgentView>();
    expect(agent).toMatchObject({
      name: 'Reception',
      voice: 'marin',
      model: 'gpt-realtime',
      greetFirst: true,
      toolNames: [],
      amdMode: 'voicemail',
    });
    // Phone numbers are stored as the dialer reads them.
    expect(agent.transferTargets[1]).toEqual({ name: 'manager', phone: '+14155550100' });

    const read = await f.call('GET', `/v1/agents/${agent.id}`, undefined, 'viewer');
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(agent);

    const patched = await f.call('PATCH', `/v1/agents/${agent.id}`, {
      voice: 'cedar',
      greetFirst: false,
      greeting: null,
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({
      name: 'Reception',
      voice: 'cedar',
      greetFirst: false,
      greeting: null,
    });

    // Tools come from the tools route and show in reads.
    const tools = await f.call('PUT', `/v1/agents/${agent.id}/tools`, { toolNames: ['end_call'] });
    expect(tools.statusCode).toBe(200);
    expect((await f.call('GET', `/v1/agents/${agent.id}`)).json<AgentView>().toolNames).toEqual([
      'end_call',
    ]);

    expect((await f.call('DELETE', `/v1/agents/${agent.id}`)).statusCode).toBe(204);
    expect((await f.call('GET', `/v1/agents/${agent.id}`)).statusCode).toBe(404);

    const audit = await f.prisma.auditLog.findMany({
      where: { resourceType: 'agent', resourceId: agent.id },
      orderBy: { at: 'asc' },
    });
    expect(audit.map((a) => a.action)).toEqual([
      'agent.create',
      'agent.update',
      'agent.tools',
      'agent.delete',
    ]);
    expect(audit[0]).toMatchObject({ before: null, after: { name: 'Reception', voice: 'marin' } });
    expect(audit[1]).toMatchObject({ before: { voice: 'marin' }, after: { voice: 'cedar' } });
    expect(audit[3]).toMatchObject({ before: { name: 'Reception' }, after: null });
    expect(audit[0]?.actor).toMatch(/^api-key:vpk_/);
  });

  it('refuses each bad field by name, and toolNames with where to set it', async () => {
    const bad = await f.call('POST', '/v1/agents', {
      name: ' ',
      instructions: '',
      voice: 'robot',
      model: 'GPT Realtime!',
      greetFirst: 'yes',
      amdMode: 'maybe',
      voicemailMessage: 42,
      transferTargets: [
        { name: 'a', phone: '4155550100' },
        { name: 'b', sipUri: 'http://pbx' },
        { name: 'c' },
        { name: 'A', skill: 'Sales Team' },
        { name: 'd', skill: 'x', extension: 12 },
      ],
      toolNames: ['end_call'],
      id: 'mine',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'invalid agent' });
    expect(fieldsOf(bad)).toEqual(
      expect.arrayContaining([
        'name',
        'instructions',
        'voice',
        'model',
        'greetFirst',
        'amdMode',
        'voicemailMessage',
        'transferTargets.0.phone',
        'transferTargets.1.sipUri',
        'transferTargets.2.skill',
        'transferTargets.3.skill',
        'transferTargets.4.extension',
        'toolNames',
        'id',
      ]),
    );
    const issues = bad.json<{ issues: Array<{ field: string; code: string; message: string }> }>()
      .issues;
    expect(issues.find((i) => i.field === 'toolNames')).toMatchObject({
      code: 'read_only',
      message: expect.stringContaining('PUT /v1/agents/:id/tools'),
    });
    expect(issues.find((i) => i.field === 'voice')?.message).toContain('marin');

    // Target names are what the model picks a transfer by: no two alike.
    const twice = await f.call('POST', '/v1/agents', {
      name: 'Twice',
      instructions: 'x',
      transferTargets: [
        { name: 'Desk', skill: 'a' },
        { name: 'desk', skill: 'b' },
      ],
    });
    expect(fieldsOf(twice)).toEqual(['transferTargets.1.name']);

    // A valid body with toolNames alone is still refused.
    const agent = await createAgent('Tools only via PUT');
    const patch = await f.call('PATCH', `/v1/agents/${agent.id}`, { toolNames: [] });
    expect(patch.statusCode).toBe(400);
    expect(fieldsOf(patch)).toEqual(['toolNames']);

    expect(fieldsOf(await f.call('GET', '/v1/agents?limit=0'))).toEqual(['limit']);
    expect(fieldsOf(await f.call('GET', '/v1/agents?cursor=nope'))).toEqual(['cursor']);
  });

  it('answers 404 for unknown ids and 409 for a name taken', async () => {
    const missing = crypto.randomUUID();
    expect((await f.call('GET', `/v1/agents/${missing}`)).statusCode).toBe(404);
    expect((await f.call('GET', '/v1/agents/not-a-uuid')).statusCode).toBe(404);
    expect((await f.call('PATCH', `/v1/agents/${missing}`, { voice: 'ash' })).statusCode).toBe(404);
    expect((await f.call('DELETE', `/v1/agents/${missing}`)).statusCode).toBe(404);

    const first = await createAgent('Sales');
    const clash = await f.call('POST', '/v1/agents', { name: 'Sales', instructions: 'x' });
    expect(clash.statusCode).toBe(409);
    const other = await createAgent('Support');
    const rename = await f.call('PATCH', `/v1/agents/${other.id}`, { name: 'Sales' });
    expect(rename.statusCode).toBe(409);
    expect(rename.json()).toEqual({ error: 'an agent with this name exists' });
    // Nothing was written by the refused requests.
    expect(
      await f.prisma.auditLog.count({
        where: { resourceType: 'agent', resourceId: { in: [first.id, other.id] } },
      }),
    ).toBe(2);
  });

  it('refuses to delete an agent numbers, campaigns or calls refer to', async () => {
    const agent = await createAgent('In use');
    const number = await f.prisma.phoneNumber.create({
      data: { e164: '+14155550123', agentId: agent.id },
    });
    const campaign = await f.prisma.campaign.create({
      data: { name: 'Spring', agentId: agent.id },
    });
    const call = await f.prisma.call.create({
      data: {
        direction: 'inbound',
        fromNumber: '+14155550999',
        toNumber: number.e164,
        agentId: agent.id,
      },
    });

    const refused = await f.call('DELETE', `/v1/agents/${agent.id}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({
      error: expect.stringContaining('In use'),
      references: { phoneNumbers: 1, campaigns: 1, calls: 1, openCallRequests: 0 },
    });

    await f.prisma.phoneNumber.delete({ where: { id: number.id } });
    await f.prisma.campaign.delete({ where: { id: campaign.id } });
    const callsOnly = await f.call('DELETE', `/v1/agents/${agent.id}`);
    expect(callsOnly.statusCode).toBe(409);
    expect(callsOnly.json()).toMatchObject({ references: { phoneNumbers: 0, calls: 1 } });

    await f.prisma.call.delete({ where: { id: call.id } });
    await f.prisma.callRequest.create({
      data: {
        idempotencyKey: 'agent-delete-test',
        origin: 'api',
        toNumber: '+14155550998',
        agentId: agent.id,
        scheduledAt: new Date(),
      },
    });
    const queued = await f.call('DELETE', `/v1/agents/${agent.id}`);
    expect(queued.statusCode).toBe(409);
    expect(queued.json()).toMatchObject({ references: { openCallRequests: 1 } });
    expect(await f.prisma.agent.count({ where: { id: agent.id } })).toBe(1);
  });

  it('pages through the list by name with a cursor, and filters by q', async () => {
    const names = ['pg-delta', 'pg-alpha', 'pg-echo', 'pg-charlie', 'pg-bravo'];
    for (const name of names) await createAgent(name);

    const { items, pages } = await walkPages<AgentView>(f, '/v1/agents?q=PG-&limit=2');
    expect(pages).toBe(3);
    expect(items.map((a) => a.name)).toEqual([...names].sort());

    // A deleted row does not break the cursor that points at it.
    const first = await f.call('GET', '/v1/agents?q=pg-&limit=1');
    const page1 = first.json<{ items: AgentView[]; nextCursor: string }>();
    expect((await f.call('DELETE', `/v1/agents/${page1.items[0]?.id}`)).statusCode).toBe(204);
    const next = await f.call(
      'GET',
      `/v1/agents?q=pg-&limit=1&cursor=${encodeURIComponent(page1.nextCursor)}`,
    );
    expect(next.json<{ items: AgentView[] }>().items.map((a) => a.name)).toEqual(['pg-bravo']);
  });

  it('lets any role read, only admin and operator write, nobody without a key', async () => {
    expect((await f.call('GET', '/v1/agents', undefined, null)).statusCode).toBe(401);
    expect((await f.call('GET', '/v1/agents', undefined, 'viewer')).statusCode).toBe(200);
    const viewer = await f.call('POST', '/v1/agents', { name: 'V', instructions: 'x' }, 'viewer');
    expect(viewer.statusCode).toBe(403);
    expect(viewer.json<{ error: string }>().error).toContain('change agents');
    const admin = await f.call('POST', '/v1/agents', { name: 'A', instructions: 'x' }, 'admin');
    expect(admin.statusCode).toBe(201);
    const id = admin.json<AgentView>().id;
    expect((await f.call('PATCH', `/v1/agents/${id}`, { voice: 'ash' }, 'viewer')).statusCode).toBe(
      403,
    );
    expect((await f.call('DELETE', `/v1/agents/${id}`, undefined, 'viewer')).statusCode).toBe(403);
    expect((await f.call('DELETE', `/v1/agents/${id}`, undefined, null)).statusCode).toBe(401);
  });
});
