/**
 * `/v1/http-tools` (HTTP tools configured without code, issue 8) and `PUT /v1/agents/:id/tools`
 * (which tools an agent may use).
 *
 * - API key required (`api-key-auth.ts`): any role reads, `admin`/`operator` write (403 else).
 * - Validation is the tool-runner's own: `httpToolDefinitionSchema` from `@app/tools` on the body,
 *   and again on the row as stored (inside the transaction, so a row that `parseHttpTool` would
 *   refuse is never committed), plus an ajv compile of `parameters` (options of the
 *   tool-runner's `ArgumentValidator`).
 * - The signing secret is generated when not given, answered once (create, `rotate-secret`), and
 *   never in a list, a get, an audit row or a log: views say `signed: true|false` instead. Header
 *   values may be credentials too: views list the header names only.
 * - Refusals: 400 `{ error, issues: [{ field, code, message }] }`, 404 `{ error }`, 409 `{ error }`
 *   for a name taken, or a tool still in some agent's `toolNames` (delete, rename).
 * - Every write commits with its `audit_logs` row (actor `api-key:<prefix>`).
 */
import { randomBytes } from 'node:crypto';

import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import { Prisma, type HttpTool, type PrismaClient } from '@app/db';
import { httpToolDefinitionSchema, isBuiltinToolName, toolNameSchema } from '@app/tools';

import type { ApiKeyStore } from '../adapters/api-keys.js';
import { adminResourceAuth } from './api-key-auth.js';
import { describeRoute } from './route-docs.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module, `.default` the plugin.
const addFormats = addFormatsModule.default;

export interface HttpToolsApiOptions {
  apiKeys: ApiKeyStore;
  prisma: PrismaClient;
}

const BODY_LIMIT = 64 * 1024;
const PAGE_DEFAULT = 50;
const PAGE_MAX = 200;
/** More tools than a model can sensibly choose from. */
const MAX_AGENT_TOOLS = 128;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Create: the row's rules; what is not sent takes the column default. */
const createSchema = httpToolDefinitionSchema
  .partial()
  .required({ name: true, description: true, url: true })
  .strict();
/** Update: the fields sent, each by the row's rules. */
const updateSchema = httpToolDefinitionSchema.partial().strict();
const agentToolsSchema = z.strictObject({
  toolNames: z
    .array(toolNameSchema)
    .max(MAX_AGENT_TOOLS)
    .transform((n) => [...new Set(n)]),
});

/** What reads answer (documentation; `view` builds it): never the secret or header values. */
const httpToolViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  parameters: z.unknown().describe('JSON Schema of the arguments'),
  url: z.string(),
  method: z.string(),
  headerNames: z.array(z.string()),
  signed: z.boolean(),
  timeoutMs: z.number().int(),
  maxRetries: z.number().int(),
  retryNonIdempotent: z.boolean(),
  maxResponseBytes: z.number().int(),
  enabled: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const withSecretSchema = httpToolViewSchema.extend({
  signingSecret: z.string().nullable().describe('shown only in this answer'),
});
const idParams = z.object({ id: z.string().describe('the http tool id (UUID)') });
const agentIdParams = z.object({ id: z.string().describe('the agent id (UUID)') });
const pageQuery = z.object({
  limit: z.string().optional().describe(`page size, 1 to ${PAGE_MAX} (default ${PAGE_DEFAULT})`),
  cursor: z.string().optional().describe('the nextCursor of the previous page'),
});
const INVALID = { description: 'invalid http tool: `{ error, issues }`' };
const NOT_FOUND = { description: 'no http tool with this id' };
const tags = ['HTTP tools'];

/** Each route's options: its body limit and its OpenAPI description (`/docs`). */
const ROUTES = {
  create: {
    bodyLimit: BODY_LIMIT,
    ...describeRoute({
      tags,
      summary: 'Create an http tool',
      description: 'The signing secret is generated when not given and shown only here. Audited.',
      body: createSchema,
      response: {
        201: withSecretSchema,
        400: INVALID,
        409: { description: 'an http tool with this name exists' },
      },
    }),
  },
  list: describeRoute({
    tags,
    summary: 'List http tools',
    querystring: pageQuery,
    response: {
      200: z.object({ items: z.array(httpToolViewSchema), nextCursor: z.string().nullable() }),
      400: INVALID,
    },
  }),
  get: describeRoute({
    tags,
    summary: 'Get an http tool',
    params: idParams,
    response: { 200: httpToolViewSchema, 404: NOT_FOUND },
  }),
  update: {
    bodyLimit: BODY_LIMIT,
    ...describeRoute({
      tags,
      summary: 'Update an http tool',
      description: 'Only the fields sent change; a tool in use cannot be renamed. Audited.',
      params: idParams,
      body: updateSchema,
      response: {
        200: httpToolViewSchema,
        400: INVALID,
        404: NOT_FOUND,
        409: { description: 'the name is taken, or agents use the tool' },
      },
    }),
  },
  remove: describeRoute({
    tags,
    summary: 'Delete an http tool',
    description: 'Refused while an agent lists it. Audited.',
    params: idParams,
    response: {
      204: { description: 'deleted' },
      404: NOT_FOUND,
      409: { description: 'agents use the tool' },
    },
  }),
  rotateSecret: describeRoute({
    tags,
    summary: "Rotate an http tool's signing secret",
    description: 'The new secret is shown only in this answer. Audited.',
    params: idParams,
    response: { 200: withSecretSchema, 404: NOT_FOUND },
  }),
  agentTools: {
    bodyLimit: BODY_LIMIT,
    ...describeRoute({
      tags: ['Agents'],
      summary: 'Set the tools an agent may use',
      description: 'Built-in tool names or http tool names. Audited.',
      params: agentIdParams,
      body: agentToolsSchema,
      response: {
        200: z.object({ id: z.string(), name: z.string(), toolNames: z.array(z.string()) }),
        400: { description: 'invalid agent tools: `{ error, issues }`' },
        404: { description: 'no agent with this id' },
      },
    }),
  },
};

type Issue = { field: string; code: string; message: string };

function issuesOf(error: z.ZodError): Issue[] {
  return error.issues.map((i) => ({
    field: i.path.map(String).join('.') || '(body)',
    code: i.code === 'unrecognized_keys' ? 'unknown_field' : 'invalid_field',
    message: i.message,
  }));
}

/** Compiles `parameters` as the tool-runner will (a fresh ajv: nothing cached, no `$id` clash). */
function parametersIssues(parameters: unknown): Issue[] {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  try {
    ajv.compile(parameters as object);
    return [];
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return [
      { field: 'parameters', code: 'invalid_schema', message: `not a JSON Schema: ${message}` },
    ];
  }
}

/** The row's rules, on the row as it would be stored. */
function rowIssues(row: HttpTool): Issue[] {
  const parsed = httpToolDefinitionSchema.safeParse(row);
  if (!parsed.success) return issuesOf(parsed.error);
  return parametersIssues(parsed.data.parameters);
}

class Invalid extends Error {
  constructor(readonly issues: Issue[]) {
    super('invalid http tool');
  }
}

const newSecret = () => randomBytes(32).toString('base64url');

/** What reads answer (and audit rows hold): never the secret, never header values. */
function view(t: HttpTool) {
  return {
    id: t.id,
    name: t.name,
    description: t.description,
    parameters: t.parameters,
    url: t.url,
    method: t.method,
    headerNames: Object.keys((t.headers ?? {}) as Record<string, unknown>),
    signed: t.signingSecret !== null,
    timeoutMs: t.timeoutMs,
    maxRetries: t.maxRetries,
    retryNonIdempotent: t.retryNonIdempotent,
    maxResponseBytes: t.maxResponseBytes,
    enabled: t.enabled,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  };
}

const json = (v: unknown) =>
  v === null ? Prisma.JsonNull : (JSON.parse(JSON.stringify(v)) as Prisma.InputJsonValue);

const isUniqueViolation = (err: unknown) =>
  err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';

/** Agents whose `toolNames` hold `name`. */
async function agentsUsing(tx: Prisma.TransactionClient, name: string): Promise<string[]> {
  const rows = await tx.agent.findMany({
    where: { toolNames: { has: name } },
    select: { name: true },
    orderBy: { name: 'asc' },
  });
  return rows.map((r) => r.name);
}

class InUse extends Error {
  constructor(
    readonly tool: string,
    readonly agents: string[],
  ) {
    super(`http tool ${tool} is used by agents: ${agents.join(', ')}`);
  }
}

export async function httpToolsApiRoutes(
  app: FastifyInstance,
  opts: HttpToolsApiOptions,
): Promise<void> {
  const { prisma } = opts;
  const actor = adminResourceAuth(app, {
    apiKeys: opts.apiKeys,
    actionFor: (request) =>
      request.url.startsWith('/v1/agents') ? "change agents' tools" : 'change http tools',
    failureLog: 'http tool request failed',
  });

  const invalid = (reply: FastifyReply, issues: Issue[], what = 'invalid http tool') =>
    reply.code(400).send({ error: what, issues });
  const notFound = (reply: FastifyReply) => reply.code(404).send({ error: 'http tool not found' });

  /**
   * Runs `write` with its audit row in one transaction. The row written must pass the
   * tool-runner's rules or nothing commits (400); a taken name is 409, and so is a tool in use.
   */
  async function audited(
    request: FastifyRequest,
    reply: FastifyReply,
    action: string,
    write: (tx: Prisma.TransactionClient) => Promise<{
      id: string;
      before: HttpTool | null;
      after: HttpTool | null;
    } | null>,
  ): Promise<{ row: HttpTool | null } | 'not_found' | 'replied'> {
    try {
      return await prisma.$transaction(async (tx) => {
        const written = await write(tx);
        if (written === null) return 'not_found' as const;
        const { id, before, after } = written;
        if (after !== null) {
          const issues = rowIssues(after);
          if (issues.length > 0) throw new Invalid(issues);
        }
        await tx.auditLog.create({
          data: {
            actor: actor(request),
            action,
            resourceType: 'http_tool',
            resourceId: id,
            before: json(before && view(before)),
            after: json(after && view(after)),
          },
          select: { id: true },
        });
        return { row: after };
      });
    } catch (err) {
      if (err instanceof Invalid) {
        await invalid(reply, err.issues);
        return 'replied';
      }
      if (err instanceof InUse) {
        await reply.code(409).send({ error: err.message, agents: err.agents });
        return 'replied';
      }
      if (isUniqueViolation(err)) {
        await reply.code(409).send({ error: 'an http tool with this name exists' });
        return 'replied';
      }
      throw err;
    }
  }

  /** Locks the row (a concurrent `PUT /v1/agents/:id/tools` holds it FOR SHARE). */
  async function lockTool(tx: Prisma.TransactionClient, id: string): Promise<HttpTool | null> {
    const locked = await tx.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM http_tools WHERE id = ${id}::uuid FOR UPDATE`;
    return locked.length === 0 ? null : tx.httpTool.findUnique({ where: { id } });
  }

  app.post('/v1/http-tools', ROUTES.create, async (request, reply) => {
    const parsed = createSchema.safeParse(request.body);
    if (!parsed.success) return invalid(reply, issuesOf(parsed.error));
    const issues = parametersIssues(parsed.data.parameters ?? { type: 'object' });
    if (issues.length > 0) return invalid(reply, issues);
    const { signingSecret, parameters, headers, ...rest } = parsed.data;
    const secret = signingSecret === undefined ? newSecret() : signingSecret;
    const out = await audited(request, reply, 'http_tool.create', async (tx) => {
      const created = await tx.httpTool.create({
        data: {
          ...rest,
          ...(parameters !== undefined ? { parameters: json(parameters) } : {}),
          ...(headers !== undefined ? { headers: json(headers) } : {}),
          signingSecret: secret,
        },
      });
      return { id: created.id, before: null, after: created };
    });
    if (typeof out === 'string' || out.row === null) return reply;
    const row = out.row;
    request.log.info({ httpToolId: row.id, name: row.name }, 'http tool created');
    // The only answers that carry the secret: this one and rotate-secret's.
    return reply.code(201).send({ ...view(row), signingSecret: row.signingSecret });
  });

  app.get('/v1/http-tools', ROUTES.list, async (request, reply) => {
    const query = request.query as { limit?: string; cursor?: string };
    const limit = query.limit === undefined ? PAGE_DEFAULT : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX) {
      return invalid(reply, [
        { field: 'limit', code: 'invalid_field', message: `limit is 1 to ${PAGE_MAX}` },
      ]);
    }
    if (query.cursor !== undefined && !UUID.test(query.cursor)) {
      return invalid(reply, [
        { field: 'cursor', code: 'invalid_field', message: 'cursor is a nextCursor of this API' },
      ]);
    }
    const rows = await prisma.httpTool.findMany({
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      ...(query.cursor === undefined ? {} : { cursor: { id: query.cursor }, skip: 1 }),
    });
    const page = rows.slice(0, limit);
    return reply.send({
      items: page.map(view),
      nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
    });
  });

  app.get('/v1/http-tools/:id', ROUTES.get, async (request, reply) => {
    const { id } = request.params as { id: string };
    const row = UUID.test(id) ? await prisma.httpTool.findUnique({ where: { id } }) : null;
    return row === null ? notFound(reply) : reply.send(view(row));
  });

  app.patch('/v1/http-tools/:id', ROUTES.update, async (request, reply) => {
    const { id } = request.params as { id: string };
    const parsed = updateSchema.safeParse(request.body);
    if (!parsed.success) return invalid(reply, issuesOf(parsed.error));
    if (!UUID.test(id)) return notFound(reply);
    const { parameters, headers, ...rest } = parsed.data;
    const out = await audited(request, reply, 'http_tool.update', async (tx) => {
      const before = await lockTool(tx, id);
      if (before === null) return null;
      if (rest.name !== undefined && rest.name !== before.name) {
        const users = await agentsUsing(tx, before.name);
        if (users.length > 0) throw new InUse(before.name, users);
      }
      const after = await tx.httpTool.update({
        where: { id },
        data: {
          ...rest,
          ...(parameters !== undefined ? { parameters: json(parameters) } : {}),
          ...(headers !== undefined ? { headers: json(headers) } : {}),
        },
      });
      return { id, before, after };
    });
    if (out === 'replied') return reply;
    return out === 'not_found' || out.row === null ? notFound(reply) : reply.send(view(out.row));
  });

  app.delete('/v1/http-tools/:id', ROUTES.remove, async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!UUID.test(id)) return notFound(reply);
    const out = await audited(request, reply, 'http_tool.delete', async (tx) => {
      const before = await lockTool(tx, id);
      if (before === null) return null;
      const users = await agentsUsing(tx, before.name);
      if (users.length > 0) throw new InUse(before.name, users);
      await tx.httpTool.delete({ where: { id } });
      return { id, before, after: null };
    });
    if (out === 'replied') return reply;
    return out === 'not_found' ? notFound(reply) : reply.code(204).send();
  });

  app.post('/v1/http-tools/:id/rotate-secret', ROUTES.rotateSecret, async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!UUID.test(id)) return notFound(reply);
    const out = await audited(request, reply, 'http_tool.rotate_secret', async (tx) => {
      const before = await lockTool(tx, id);
      if (before === null) return null;
      const after = await tx.httpTool.update({
        where: { id },
        data: { signingSecret: newSecret() },
      });
      return { id, before, after };
    });
    if (out === 'replied') return reply;
    if (out === 'not_found' || out.row === null) return notFound(reply);
    const row = out.row;
    request.log.info({ httpToolId: row.id }, 'http tool signing secret rotated');
    return reply.send({ ...view(row), signingSecret: row.signingSecret });
  });

  app.put('/v1/agents/:id/tools', ROUTES.agentTools, async (request, reply) => {
    const { id } = request.params as { id: string };
    const parsed = agentToolsSchema.safeParse(request.body);
    if (!parsed.success) return invalid(reply, issuesOf(parsed.error), 'invalid agent tools');
    const { toolNames } = parsed.data;
    if (!UUID.test(id)) return reply.code(404).send({ error: 'agent not found' });
    const out = await prisma.$transaction(async (tx) => {
      const before = await tx.agent.findUnique({ where: { id } });
      if (before === null) return { kind: 'not_found' as const };
      const httpNames = toolNames.filter((n) => !isBuiltinToolName(n));
      // FOR SHARE: a concurrent delete or rename of these tools waits for this commit, then
      // sees the agent using them (and refuses).
      const found =
        httpNames.length === 0
          ? []
          : await tx.$queryRaw<Array<{ name: string }>>`
              SELECT name FROM http_tools WHERE name = ANY(${httpNames}::text[]) FOR SHARE`;
      const known = new Set(found.map((r) => r.name));
      const unknown = toolNames.flatMap((n, i) =>
        isBuiltinToolName(n) || known.has(n)
          ? []
          : [
              {
                field: `toolNames.${i}`,
                code: 'unknown_tool',
                message: `${n} is neither a built-in tool nor an http tool`,
              },
            ],
      );
      if (unknown.length > 0) return { kind: 'invalid' as const, issues: unknown };
      const after = await tx.agent.update({ where: { id }, data: { toolNames } });
      await tx.auditLog.create({
        data: {
          actor: actor(request),
          action: 'agent.tools',
          resourceType: 'agent',
          resourceId: id,
          before: { toolNames: before.toolNames },
          after: { toolNames: after.toolNames },
        },
        select: { id: true },
      });
      return { kind: 'ok' as const, agent: after };
    });
    if (out.kind === 'not_found') return reply.code(404).send({ error: 'agent not found' });
    if (out.kind === 'invalid') return invalid(reply, out.issues, 'invalid agent tools');
    return reply.send({ id: out.agent.id, name: out.agent.name, toolNames: out.agent.toolNames });
  });
}
