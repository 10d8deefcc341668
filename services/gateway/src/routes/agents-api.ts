/**
 * `/v1/agents`: the voice agents (issue 9): list, create, read, update, delete. The tools an
 * agent may use are shown here (`toolNames`) but set by `PUT /v1/agents/:id/tools`
 * (`http-tools-api.ts`), which checks each name.
 *
 * - Auth (`api-key-auth.ts`): any role reads, `admin`/`operator` write (403 else).
 * - Refusals: 400 `{ error, issues: [{ field, code, message }] }`, 404 `{ error }`, 409 `{ error }`
 *   for a name taken, and 409 `{ error, references }` for a delete of an agent still in use.
 * - Delete is refused while phone numbers route to the agent (the foreign key is `Restrict`),
 *   while campaigns use it (`Restrict` too), while calls are recorded with it (their foreign key
 *   would set `agent_id` to null: the history and reports would lose who took those calls) and
 *   while call requests for it are not finished (the dialer would place them with no agent).
 * - Every write commits with its `audit_logs` row (`agent.create`, `agent.update`, `agent.delete`).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';

import type { Agent, Prisma } from '@app/db';

import {
  agentCreateSchema,
  agentUpdateSchema,
  AMD_MODES,
  REALTIME_VOICES,
  withoutToolNames,
} from '../domain/agent-input.js';
import {
  adminResource,
  errorSchema,
  invalidSchema,
  isForeignKeyViolation,
  issuesOf,
  isUniqueViolation,
  lockForUpdate,
  pageOf,
  pageQuerySchema,
  readListQuery,
  UUID,
  uuidParam,
  type AdminResourceOptions,
  type Issue,
} from './admin-resource.js';
import { describeRoute } from './route-docs.js';

export type AgentsApiOptions = AdminResourceOptions;

/** Instructions can be long; 256 KiB is far more than a prompt needs. */
const BODY_LIMIT = 256 * 1024;
const TAGS = ['Agents'];

const listQuerySchema = pageQuerySchema.extend({
  q: z.string().trim().max(200).optional().describe('part of the name (case-insensitive)'),
});
const idParamsSchema = z.object({ id: z.string().describe('agent id (uuid)') });

const agentSchema = z.object({
  id: z.string(),
  name: z.string(),
  instructions: z.string(),
  greetFirst: z.boolean(),
  greeting: z.string().nullable(),
  disclosure: z.string().nullable().describe('said word for word before anything else'),
  voice: z.enum(REALTIME_VOICES),
  model: z.string(),
  toolNames: z.array(z.string()).describe('set with PUT /v1/agents/{id}/tools'),
  transferTargets: z.array(
    z.object({
      name: z.string(),
      skill: z.string().optional(),
      phone: z.string().optional(),
      sipUri: z.string().optional(),
    }),
  ),
  amdMode: z.enum(AMD_MODES),
  voicemailMessage: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const agentListSchema = z.object({
  items: z.array(agentSchema),
  nextCursor: z.string().nullable(),
});
const inUseSchema = z.object({
  error: z.string(),
  references: z.object({
    phoneNumbers: z.number(),
    campaigns: z.number(),
    calls: z.number(),
    openCallRequests: z.number(),
  }),
});

/** What reads answer and audit rows hold. */
export function agentView(a: Agent) {
  return {
    id: a.id,
    name: a.name,
    instructions: a.instructions,
    greetFirst: a.greetFirst,
    greeting: a.greeting,
    disclosure: a.disclosure,
    voice: a.voice,
    model: a.model,
    toolNames: a.toolNames,
    transferTargets: a.transferTargets,
    amdMode: a.amdMode,
    voicemailMessage: a.voicemailMessage,
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  };
}

/** Call requests the dialer has not finished with. */
const OPEN_REQUESTS = ['pending', 'dialing', 'dialed'] as const;

type References = {
  phoneNumbers: number;
  campaigns: number;
  calls: number;
  openCallRequests: number;
};

class InUse extends Error {
  constructor(
    readonly agent: string,
    readonly references: References,
  ) {
    const labels: Record<keyof References, string> = {
      phoneNumbers: 'phone numbers',
      campaigns: 'campaigns',
      calls: 'recorded calls',
      openCallRequests: 'unfinished call requests',
    };
    const parts = (Object.keys(labels) as Array<keyof References>)
      .filter((k) => references[k] > 0)
      .map((k) => `${labels[k]}: ${references[k]}`);
    super(`agent ${agent} is in use (${parts.join(', ')}): move or delete those first`);
  }
}

const nameTaken = (reply: FastifyReply) =>
  reply.code(409).send({ error: 'an agent with this name exists' });

export async function agentsApiRoutes(app: FastifyInstance, opts: AgentsApiOptions): Promise<void> {
  const { prisma } = opts;
  const { invalid, notFound, audited } = adminResource(app, opts, {
    noun: 'agent',
    action: 'change agents',
    failureLog: 'agent request failed',
    resourceType: 'agent',
    view: agentView,
  });

  /** The body as the schema reads it, or every issue (`toolNames` with where to set it). */
  function read<S extends typeof agentCreateSchema | typeof agentUpdateSchema>(
    schema: S,
    body: unknown,
  ): { ok: true; data: z.output<S> } | { ok: false; issues: Issue[] } {
    const { rest, issue } = withoutToolNames(body);
    const parsed = schema.safeParse(rest);
    const issues = [...(issue ? [issue] : []), ...(parsed.success ? [] : issuesOf(parsed.error))];
    return parsed.success && issues.length === 0
      ? { ok: true, data: parsed.data as z.output<S> }
      : { ok: false, issues };
  }

  /** Locks the agent row: a concurrent update or delete of it waits for this transaction. */
  async function lockAgent(tx: Prisma.TransactionClient, id: string): Promise<Agent | null> {
    return (await lockForUpdate(tx, 'agents', id)) ? tx.agent.findUnique({ where: { id } }) : null;
  }

  app.get(
    '/v1/agents',
    {
      ...describeRoute({
        tags: TAGS,
        summary: 'List agents',
        description: 'Ordered by name; `nextCursor` is null on the last page.',
        querystring: listQuerySchema,
        response: { 200: agentListSchema, 400: invalidSchema },
      }),
    },
    async (request, reply) => {
      const query = readListQuery(listQuerySchema, request.query, 2, (k) => UUID.test(k[1] ?? ''));
      if (!query.ok) return invalid(reply, query.issues);
      const { data, after } = query;
      const { limit, q } = data;
      const rows = await prisma.agent.findMany({
        where: {
          // Prisma hands `contains` to ILIKE as it is: escape its wildcards (and the escape
          // character), or `?q=%` would match every name.
          ...(q ? { name: { contains: q.replace(/[\\%_]/g, '\\$&'), mode: 'insensitive' } } : {}),
          ...(after
            ? {
                OR: [{ name: { gt: after[0] } }, { name: after[0], id: { gt: after[1] } }],
              }
            : {}),
        },
        orderBy: [{ name: 'asc' }, { id: 'asc' }],
        take: limit + 1,
      });
      return reply.send(pageOf(rows, limit, (a) => [a.name, a.id], agentView));
    },
  );

  app.post(
    '/v1/agents',
    {
      bodyLimit: BODY_LIMIT,
      ...describeRoute({
        tags: TAGS,
        summary: 'Create an agent',
        description: 'Its tools are set afterwards with `PUT /v1/agents/{id}/tools`.',
        body: agentCreateSchema,
        response: { 201: agentSchema, 400: invalidSchema, 409: errorSchema },
      }),
    },
    async (request, reply) => {
      const body = read(agentCreateSchema, request.body);
      if (!body.ok) return invalid(reply, body.issues);
      try {
        const created = await prisma.$transaction(async (tx) => {
          const row = await tx.agent.create({ data: body.data });
          await audited(tx, request, 'agent.create', row.id, null, row);
          return row;
        });
        request.log.info({ agentId: created.id, name: created.name }, 'agent created');
        return reply.code(201).send(agentView(created));
      } catch (err) {
        if (isUniqueViolation(err)) return nameTaken(reply);
        throw err;
      }
    },
  );

  app.get(
    '/v1/agents/:id',
    {
      ...describeRoute({
        tags: TAGS,
        summary: 'Get an agent',
        params: idParamsSchema,
        response: { 200: agentSchema, 404: errorSchema },
      }),
    },
    async (request, reply) => {
      const id = uuidParam(request);
      const row = id === null ? null : await prisma.agent.findUnique({ where: { id } });
      return row === null ? notFound(reply) : reply.send(agentView(row));
    },
  );

  app.patch(
    '/v1/agents/:id',
    {
      bodyLimit: BODY_LIMIT,
      ...describeRoute({
        tags: TAGS,
        summary: 'Update an agent',
        description:
          'Only the fields sent change. Live calls keep the settings they started with; new ' +
          'calls take these.',
        params: idParamsSchema,
        body: agentUpdateSchema,
        response: { 200: agentSchema, 400: invalidSchema, 404: errorSchema, 409: errorSchema },
      }),
    },
    async (request, reply) => {
      const id = uuidParam(request);
      const body = read(agentUpdateSchema, request.body);
      if (!body.ok) return invalid(reply, body.issues);
      if (id === null) return notFound(reply);
      try {
        const updated = await prisma.$transaction(async (tx) => {
          const before = await lockAgent(tx, id);
          if (before === null) return null;
          const after = await tx.agent.update({ where: { id }, data: body.data });
          await audited(tx, request, 'agent.update', id, before, after);
          return after;
        });
        return updated === null ? notFound(reply) : reply.send(agentView(updated));
      } catch (err) {
        if (isUniqueViolation(err)) return nameTaken(reply);
        throw err;
      }
    },
  );

  app.delete(
    '/v1/agents/:id',
    {
      ...describeRoute({
        tags: TAGS,
        summary: 'Delete an agent',
        description:
          'Refused (409) while phone numbers route to it, campaigns use it, calls are recorded ' +
          'with it or call requests for it are not finished.',
        params: idParamsSchema,
        response: { 204: { description: 'deleted' }, 404: errorSchema, 409: inUseSchema },
      }),
    },
    async (request, reply) => {
      const id = uuidParam(request);
      if (id === null) return notFound(reply);
      try {
        const deleted = await prisma.$transaction(async (tx) => {
          // Locked first: a phone number, campaign or call inserted meanwhile takes a key-share
          // lock on this row (its foreign key), so it waits and then fails, or is counted here.
          const before = await lockAgent(tx, id);
          if (before === null) return false;
          const [phoneNumbers, campaigns, calls, openCallRequests] = await Promise.all([
            tx.phoneNumber.count({ where: { agentId: id } }),
            tx.campaign.count({ where: { agentId: id } }),
            tx.call.count({ where: { agentId: id } }),
            tx.callRequest.count({ where: { agentId: id, status: { in: [...OPEN_REQUESTS] } } }),
          ]);
          const references = { phoneNumbers, campaigns, calls, openCallRequests };
          if (Object.values(references).some((n) => n > 0)) {
            throw new InUse(before.name, references);
          }
          await tx.agent.delete({ where: { id } });
          await audited(tx, request, 'agent.delete', id, before, null);
          return true;
        });
        return deleted ? reply.code(204).send() : notFound(reply);
      } catch (err) {
        if (err instanceof InUse) {
          return reply.code(409).send({ error: err.message, references: err.references });
        }
        if (isForeignKeyViolation(err)) {
          return reply.code(409).send({ error: 'agent is in use: move or delete what uses it' });
        }
        throw err;
      }
    },
  );
}
