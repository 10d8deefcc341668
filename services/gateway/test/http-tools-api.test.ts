/**
 * `/v1/http-tools` and `PUT /v1/agents/:id/tools` against real PostgreSQL: CRUD with roles, the
 * tool-runner's validation rules, the signing secret shown once (create, rotate) and never again
 * (reads, audit rows, logs), the audit rows of writes, agents' tool lists, and a tool made here
 * accepted by `toolSpecsForAgent` (what the call-bridge offers the model).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPrismaClient, type PrismaClient } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/db/testing';
import { captureLogs, type CapturedLogs } from '@app/platform/testing';
import { resolveAgentTools, toolSpecsForAgent } from '@app/tools';

import { createApiKey, PrismaApiKeyStore } from '../src/adapters/api-keys.js';
import { httpToolsApiRoutes } from '../src/routes/http-tools-api.js';

let db: TestDatabase;
let prisma: PrismaClient;
let app: FastifyInstance;
let logs: CapturedLogs;
const keys = { admin: '', operator: '', viewer: '' };

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrismaClient({ databaseUrl: db.databaseUrl, poolMax: 4 });
  for (const role of ['admin', 'operator', 'viewer'] as const) {
    keys[role] = (await createApiKey(prisma, { name: `test-${role}`, role })).key;
  }
  logs = captureLogs();
  app = Fastify({ loggerInstance: logs.log as FastifyBaseLogger });
  await app.register(httpToolsApiRoutes, { apiKeys: new PrismaApiKeyStore(prisma), prisma });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await prisma?.$disconnect();
  await db?.drop();
});

function call(
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  url: string,
  body?: unknown,
  key: string | null = keys.operator,
) {
  return app.inject({
    method,
    url,
    headers: {
      ...(key !== null ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
}

const lookup = (name: string) => ({
  name,
  description: 'Looks up an order by its number.',
  url: 'https://orders.example.com/lookup',
  parameters: {
    type: 'object',
    properties: { orderId: { type: 'string', pattern: '^[0-9]+$' } },
    required: ['orderId'],
  },
  headers: { Authorization: 'Bearer header-token-1' },
});

interface ToolView {
  id: string;
  name: string;
  signed: boolean;
  headerNames: string[];
  signingSecret?: string | null;
}

async function create(body: unknown) {
  const res = await call('POST', '/v1/http-tools', body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<ToolView>();
}

const fieldsOf = (res: { json: <T>() => T }) =>
  res.json<{ issues: Array<{ field: string; code: string }> }>().issues.map((i) => i.field);

describe('http-tools API', () => {
  it('creates, lists, reads, updates and deletes a tool, with an audit row per write', async () => {
    const tool = await create(lookup('lookup_order'));
    expect(tool).toMatchObject({
      name: 'lookup_order',
      method: 'POST',
      timeoutMs: 5000,
      maxRetries: 0,
      maxResponseBytes: 65536,
      enabled: true,
      signed: true,
      headerNames: ['Authorization'],
    });
    expect(tool.signingSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const read = await call('GET', `/v1/http-tools/${tool.id}`, undefined, keys.viewer);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ name: 'lookup_order', signed: true });

    const patched = await call('PATCH', `/v1/http-tools/${tool.id}`, {
      method: 'GET',
      timeoutMs: 2000,
      maxRetries: 2,
      enabled: false,
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({
      method: 'GET',
      timeoutMs: 2000,
      maxRetries: 2,
      enabled: false,
    });

    expect((await call('DELETE', `/v1/http-tools/${tool.id}`)).statusCode).toBe(204);
    expect((await call('GET', `/v1/http-tools/${tool.id}`)).statusCode).toBe(404);
    expect((await call('DELETE', `/v1/http-tools/${tool.id}`)).statusCode).toBe(404);
    expect((await call('PATCH', `/v1/http-tools/${tool.id}`, { enabled: true })).statusCode).toBe(
      404,
    );
    expect((await call('GET', '/v1/http-tools/not-a-uuid')).statusCode).toBe(404);

    const audit = await prisma.auditLog.findMany({
      where: { resourceType: 'http_tool', resourceId: tool.id },
      orderBy: { at: 'asc' },
    });
    expect(audit.map((a) => a.action)).toEqual([
      'http_tool.create',
      'http_tool.update',
      'http_tool.delete',
    ]);
    expect(audit[0]?.actor).toMatch(/^api-key:vpk_/);
    expect(audit[1]?.before).toMatchObject({ method: 'POST', signed: true });
    expect(audit[1]?.after).toMatchObject({ method: 'GET', signed: true });
    expect(audit[2]?.after).toBeNull();
  });

  it('lists newest first with a cursor', async () => {
    const made: string[] = [];
    for (const n of ['page_a', 'page_b', 'page_c']) made.push((await create(lookup(n))).id);
    const first = await call('GET', '/v1/http-tools?limit=2', undefined, keys.viewer);
    expect(first.statusCode).toBe(200);
    const p1 = first.json<{ items: ToolView[]; nextCursor: string | null }>();
    expect(p1.items.map((t) => t.id)).toEqual([made[2], made[1]]);
    expect(p1.items.every((t) => !('signingSecret' in t))).toBe(true);
    expect(p1.nextCursor).toBe(made[1]);
    const second = await call(
      'GET',
      `/v1/http-tools?limit=2&cursor=${p1.nextCursor}`,
      undefined,
      keys.viewer,
    );
    const p2 = second.json<{ items: ToolView[]; nextCursor: string | null }>();
    expect(p2.items.map((t) => t.id)).toContain(made[0]);
    expect((await call('GET', '/v1/http-tools?limit=0')).statusCode).toBe(400);
    expect((await call('GET', '/v1/http-tools?limit=201')).statusCode).toBe(400);
    expect((await call('GET', '/v1/http-tools?cursor=nope')).statusCode).toBe(400);
  });

  it('refuses each invalid field by the rules the tool-runner loads rows with', async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['bad name', { name: 'has space' }, 'name'],
      ['long name', { name: 'x'.repeat(65) }, 'name'],
      ['built-in name', { name: 'transfer_to_human' }, 'name'],
      ['empty description', { description: '' }, 'description'],
      ['not a url', { url: 'orders' }, 'url'],
      ['not http(s)', { url: 'ftp://orders.example.com/x' }, 'url'],
      ['method', { method: 'TRACE' }, 'method'],
      ['parameters not an object schema', { parameters: { type: 'string' } }, 'parameters.type'],
      [
        'parameters ajv cannot compile',
        { parameters: { type: 'object', properties: { a: { type: 'no-such-type' } } } },
        'parameters',
      ],
      [
        'parameters with a bad pattern',
        { parameters: { type: 'object', properties: { a: { type: 'string', pattern: '(' } } } },
        'parameters',
      ],
      ['header name', { headers: { 'Bad Header': 'x' } }, 'headers.Bad Header'],
      ['header value', { headers: { 'X-A': 1 } }, 'headers.X-A'],
      ['empty secret', { signingSecret: '' }, 'signingSecret'],
      ['timeout', { timeoutMs: 60_001 }, 'timeoutMs'],
      ['timeout zero', { timeoutMs: 0 }, 'timeoutMs'],
      ['retries', { maxRetries: 6 }, 'maxRetries'],
      ['negative retries', { maxRetries: -1 }, 'maxRetries'],
      ['response size', { maxResponseBytes: 1024 * 1024 + 1 }, 'maxResponseBytes'],
      ['retryNonIdempotent', { retryNonIdempotent: 'yes' }, 'retryNonIdempotent'],
      ['enabled', { enabled: 1 }, 'enabled'],
      ['unknown field', { extra: true }, '(body)'],
    ];
    for (const [label, patch, field] of cases) {
      const res = await call('POST', '/v1/http-tools', { ...lookup('valid_name'), ...patch });
      expect(res.statusCode, label).toBe(400);
      expect(fieldsOf(res), label).toContain(field);
    }
    const missing = await call('POST', '/v1/http-tools', { name: 'only_name' });
    expect(missing.statusCode).toBe(400);
    expect(fieldsOf(missing)).toEqual(expect.arrayContaining(['description', 'url']));
    expect(
      await prisma.httpTool.count({ where: { name: { in: ['valid_name', 'only_name'] } } }),
    ).toBe(0);

    // PATCH: the same rules on the fields sent; a taken name is 409.
    const a = await create(lookup('patch_a'));
    await create(lookup('patch_b'));
    const bad = await call('PATCH', `/v1/http-tools/${a.id}`, {
      name: 'end_call',
      url: 'file:///etc/passwd',
      parameters: { type: 'object', required: 'orderId' },
    });
    expect(bad.statusCode).toBe(400);
    expect(fieldsOf(bad)).toEqual(expect.arrayContaining(['name', 'url', 'parameters.required']));
    expect((await call('PATCH', `/v1/http-tools/${a.id}`, { name: 'patch_b' })).statusCode).toBe(
      409,
    );
    expect((await call('POST', '/v1/http-tools', lookup('patch_b'))).statusCode).toBe(409);
  });

  it('refuses anonymous callers, unknown keys and viewers that write', async () => {
    expect((await call('GET', '/v1/http-tools', undefined, null)).statusCode).toBe(401);
    expect((await call('GET', '/v1/http-tools', undefined, 'vpk_nope')).statusCode).toBe(401);
    const viewer = await call('POST', '/v1/http-tools', lookup('viewer_tool'), keys.viewer);
    expect(viewer.statusCode).toBe(403);
    const id = (await create(lookup('roles_tool'))).id;
    for (const [method, url, body] of [
      ['PATCH', `/v1/http-tools/${id}`, { enabled: false }],
      ['DELETE', `/v1/http-tools/${id}`, undefined],
      ['POST', `/v1/http-tools/${id}/rotate-secret`, undefined],
    ] as const) {
      expect((await call(method, url, body, keys.viewer)).statusCode, method).toBe(403);
    }
    expect((await call('GET', `/v1/http-tools/${id}`, undefined, keys.viewer)).statusCode).toBe(
      200,
    );
    const admin = await call('PATCH', `/v1/http-tools/${id}`, { enabled: false }, keys.admin);
    expect(admin.statusCode).toBe(200);
  });

  it('shows the signing secret once, on create and on rotate, never in reads, audit or logs', async () => {
    const given = await create({ ...lookup('given_secret'), signingSecret: 'my-own-secret-123' });
    expect(given.signingSecret).toBe('my-own-secret-123');
    const unsigned = await create({ ...lookup('unsigned_tool'), signingSecret: null });
    expect(unsigned).toMatchObject({ signed: false, signingSecret: null });

    const tool = await create(lookup('secret_tool'));
    const first = tool.signingSecret!;
    const rotated = await call('POST', `/v1/http-tools/${tool.id}/rotate-secret`);
    expect(rotated.statusCode).toBe(200);
    const second = rotated.json<ToolView>().signingSecret!;
    expect(second).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second).not.toBe(first);
    expect(
      (await prisma.httpTool.findUniqueOrThrow({ where: { id: tool.id } })).signingSecret,
    ).toBe(second);
    expect(
      (await call('POST', `/v1/http-tools/${crypto.randomUUID()}/rotate-secret`)).statusCode,
    ).toBe(404);

    const reads = [
      await call('GET', `/v1/http-tools/${tool.id}`, undefined, keys.viewer),
      await call('GET', '/v1/http-tools?limit=200', undefined, keys.viewer),
      await call('PATCH', `/v1/http-tools/${tool.id}`, { description: 'Changed.' }),
      await call('PATCH', `/v1/http-tools/${given.id}`, { enabled: false }),
    ];
    const secrets = [first, second, 'my-own-secret-123', 'header-token-1'];
    for (const res of reads) {
      expect(res.statusCode).toBe(200);
      for (const s of secrets) expect(res.body).not.toContain(s);
      expect(res.body).not.toContain('signingSecret');
    }
    const audit = await prisma.auditLog.findMany({ where: { resourceType: 'http_tool' } });
    expect(audit.map((a) => a.action)).toContain('http_tool.rotate_secret');
    for (const s of secrets) {
      expect(JSON.stringify(audit)).not.toContain(s);
      expect(JSON.stringify(logs.lines)).not.toContain(s);
    }
  });
});

describe('PUT /v1/agents/:id/tools', () => {
  it('sets built-in and http tools, refuses unknown names, audits, guards tools in use', async () => {
    const agent = await prisma.agent.create({ data: { name: 'tools-agent', instructions: 'Hi.' } });
    const tool = await create(lookup('agent_lookup'));

    const set = await call('PUT', `/v1/agents/${agent.id}/tools`, {
      toolNames: ['get_time', 'agent_lookup', 'get_time', 'transfer_to_human'],
    });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toEqual({
      id: agent.id,
      name: 'tools-agent',
      toolNames: ['get_time', 'agent_lookup', 'transfer_to_human'],
    });

    const refused = await call('PUT', `/v1/agents/${agent.id}/tools`, {
      toolNames: ['get_time', 'no_such_tool', 'another_missing'],
    });
    expect(refused.statusCode).toBe(400);
    const body = refused.json<{ issues: Array<{ field: string; message: string }> }>();
    expect(body.issues.map((i) => i.field)).toEqual(['toolNames.1', 'toolNames.2']);
    expect(body.issues[0]?.message).toContain('no_such_tool');
    expect(body.issues[1]?.message).toContain('another_missing');
    const badName = await call('PUT', `/v1/agents/${agent.id}/tools`, { toolNames: ['a b'] });
    expect(badName.statusCode).toBe(400);
    expect((await call('PUT', `/v1/agents/${agent.id}/tools`, { names: [] })).statusCode).toBe(400);
    expect((await prisma.agent.findUniqueOrThrow({ where: { id: agent.id } })).toolNames).toEqual([
      'get_time',
      'agent_lookup',
      'transfer_to_human',
    ]);

    expect(
      (await call('PUT', `/v1/agents/${crypto.randomUUID()}/tools`, { toolNames: [] })).statusCode,
    ).toBe(404);
    expect((await call('PUT', '/v1/agents/nope/tools', { toolNames: [] })).statusCode).toBe(404);
    expect(
      (await call('PUT', `/v1/agents/${agent.id}/tools`, { toolNames: [] }, keys.viewer))
        .statusCode,
    ).toBe(403);
    expect(
      (await call('PUT', `/v1/agents/${agent.id}/tools`, { toolNames: [] }, null)).statusCode,
    ).toBe(401);

    // A tool an agent uses is neither deleted nor renamed from under it.
    const del = await call('DELETE', `/v1/http-tools/${tool.id}`);
    expect(del.statusCode).toBe(409);
    expect(del.json()).toMatchObject({ agents: ['tools-agent'] });
    expect(
      (await call('PATCH', `/v1/http-tools/${tool.id}`, { name: 'renamed_lookup' })).statusCode,
    ).toBe(409);
    expect(
      (await call('PATCH', `/v1/http-tools/${tool.id}`, { description: 'Still fine.' })).statusCode,
    ).toBe(200);

    const audit = await prisma.auditLog.findMany({
      where: { resourceType: 'agent', resourceId: agent.id },
    });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      action: 'agent.tools',
      before: { toolNames: [] },
      after: { toolNames: ['get_time', 'agent_lookup', 'transfer_to_human'] },
    });

    const cleared = await call('PUT', `/v1/agents/${agent.id}/tools`, { toolNames: [] });
    expect(cleared.json()).toMatchObject({ toolNames: [] });
    expect((await call('DELETE', `/v1/http-tools/${tool.id}`)).statusCode).toBe(204);
  });

  it('a tool created through the API is what toolSpecsForAgent offers the model', async () => {
    const tool = await create({
      ...lookup('bridge_lookup'),
      method: 'GET',
      timeoutMs: 3000,
      maxRetries: 1,
    });
    const agent = await prisma.agent.create({
      data: { name: 'bridge-agent', instructions: 'Hi.' },
    });
    expect(
      (
        await call('PUT', `/v1/agents/${agent.id}/tools`, {
          toolNames: ['bridge_lookup', 'end_call'],
        })
      ).statusCode,
    ).toBe(200);
    const { toolNames } = await prisma.agent.findUniqueOrThrow({ where: { id: agent.id } });
    const resolved = await resolveAgentTools(prisma, toolNames);
    expect(resolved.skipped).toEqual([]);
    const specs = await toolSpecsForAgent(prisma, toolNames);
    expect(specs.map((s) => s.name)).toEqual(['bridge_lookup', 'end_call']);
    expect(specs[0]).toEqual({
      type: 'function',
      name: 'bridge_lookup',
      description: 'Looks up an order by its number.',
      parameters: lookup('x').parameters,
    });
    const http = resolved.tools[0];
    expect(http?.kind).toBe('http');
    if (http?.kind === 'http') {
      expect(http.definition).toMatchObject({
        url: 'https://orders.example.com/lookup',
        method: 'GET',
        timeoutMs: 3000,
        maxRetries: 1,
        signingSecret: tool.signingSecret,
        headers: { Authorization: 'Bearer header-token-1' },
      });
    }
  });
});
