/**
 * `/v1/human-agents`: the people calls are handed to (issue 8): CRUD, and presence
 * (`PUT /v1/human-agents/:id/presence`), which routes handoffs: the handoff service gives a call
 * to the `available` human with the skill who has been idle longest (`availableSince`).
 *
 * - API key required (`api-key-auth.ts`): any role reads, `admin`/`operator` write (403 else).
 * - Refusals have the shape of the other /v1 routes: 400 `{ error, issues: [{ field, code,
 *   message }] }`, 404 `{ error }`, 409 `{ error }` for a Twilio Client identity already taken.
 * - Every write commits with its `audit_logs` row (actor `api-key:<prefix>`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import { Prisma, type HumanAgent, type PrismaClient } from '@app/db';

import type { ApiKeyStore } from '../adapters/api-keys.js';
import { adminResourceAuth } from './api-key-auth.js';
import { describeRoute } from './route-docs.js';

export interface HumanAgentsApiOptions {
  apiKeys: ApiKeyStore;
  prisma: PrismaClient;
}

const BODY_LIMIT = 16 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const skill = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a skill is lowercase letters, digits, - or _ (at most 64)');
const fields = {
  name: z.string().trim().min(1, 'name is required').max(200),
  skills: z
    .array(skill)
    .max(50)
    .transform((s) => [...new Set(s)]),
  phoneNumber: z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, 'phoneNumber must be E.164 (+15551234567)')
    .nullable(),
  sipUri: z
    .string()
    .regex(/^sips?:[^\s@]+@[^\s]+$/i, 'sipUri must be a sip: URI')
    .max(255)
    .nullable(),
  twilioClientIdentity: z
    .string()
    .regex(
      /^[A-Za-z0-9_.@-]{1,121}$/,
      'twilioClientIdentity: letters, digits, _ . @ - (at most 121)',
    )
    .nullable(),
};
const createSchema = z.strictObject({
  name: fields.name,
  skills: fields.skills.default([]),
  phoneNumber: fields.phoneNumber.optional(),
  sipUri: fields.sipUri.optional(),
  twilioClientIdentity: fields.twilioClientIdentity.optional(),
});
const updateSchema = z.strictObject({
  name: fields.name.optional(),
  skills: fields.skills.optional(),
  phoneNumber: fields.phoneNumber.optional(),
  sipUri: fields.sipUri.optional(),
  twilioClientIdentity: fields.twilioClientIdentity.optional(),
});
/** `away` is a dashboard state too; only `available` receives handoffs. */
const presenceSchema = z.strictObject({ status: z.enum(['available', 'busy', 'away', 'offline']) });

/** What reads and writes answer (documentation; `view` builds it). */
const humanAgentViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  skills: z.array(z.string()),
  phoneNumber: z.string().nullable(),
  sipUri: z.string().nullable(),
  twilioClientIdentity: z.string().nullable(),
  status: presenceSchema.shape.status,
  availableSince: z.string().nullable(),
  lastSeenAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const idParams = z.object({ id: z.string().describe('the human agent id (UUID)') });
const listQuery = z.object({
  status: presenceSchema.shape.status.optional(),
  skill: z.string().optional().describe('only humans with this skill'),
});
const INVALID = { description: 'invalid human agent: `{ error, issues }`' };
const NOT_FOUND = { description: 'no human agent with this id' };
const TAKEN = { description: 'twilioClientIdentity is used by another human agent' };
const tags = ['Human agents'];

/** Each route's options: its body limit and its OpenAPI description (`/docs`). */
const ROUTES = {
  create: {
    bodyLimit: BODY_LIMIT,
    ...describeRoute({
      tags,
      summary: 'Create a human agent',
      description: 'Needs at least one of phoneNumber, sipUri, twilioClientIdentity. Audited.',
      body: createSchema,
      response: { 201: humanAgentViewSchema, 400: INVALID, 409: TAKEN },
    }),
  },
  list: describeRoute({
    tags,
    summary: 'List human agents',
    querystring: listQuery,
    response: { 200: z.object({ items: z.array(humanAgentViewSchema) }), 400: INVALID },
  }),
  get: describeRoute({
    tags,
    summary: 'Get a human agent',
    params: idParams,
    response: { 200: humanAgentViewSchema, 404: NOT_FOUND },
  }),
  update: {
    bodyLimit: BODY_LIMIT,
    ...describeRoute({
      tags,
      summary: 'Update a human agent',
      description: 'Only the fields sent change. Audited.',
      params: idParams,
      body: updateSchema,
      response: { 200: humanAgentViewSchema, 400: INVALID, 404: NOT_FOUND, 409: TAKEN },
    }),
  },
  remove: describeRoute({
    tags,
    summary: 'Delete a human agent',
    description: 'Audited.',
    params: idParams,
    response: { 204: { description: 'deleted' }, 404: NOT_FOUND },
  }),
  presence: {
    bodyLimit: BODY_LIMIT,
    ...describeRoute({
      tags,
      summary: "Set a human agent's presence",
      description:
        'Only `available` humans receive handoffs, the longest idle first (`availableSince`). ' +
        'Audited.',
      params: idParams,
      body: presenceSchema,
      response: { 200: humanAgentViewSchema, 400: INVALID, 404: NOT_FOUND },
    }),
  },
};

type Issue = { field: string; code: string; message: string };

function issuesOf(error: z.ZodError): Issue[] {
  return error.issues.map((i) => ({
    field: i.path.join('.') || '(body)',
    code: i.code === 'unrecognized_keys' ? 'unknown_field' : 'invalid_field',
    message: i.message,
  }));
}

const invalid = (reply: FastifyReply, issues: Issue[]) =>
  reply.code(400).send({ error: 'invalid human agent', issues });

/** A human with no way to be reached can never take a call. */
function reachable(h: {
  phoneNumber?: string | null;
  sipUri?: string | null;
  twilioClientIdentity?: string | null;
}): boolean {
  return Boolean(h.phoneNumber || h.sipUri || h.twilioClientIdentity);
}
const UNREACHABLE: Issue = {
  field: 'phoneNumber',
  code: 'unreachable',
  message: 'give at least one of phoneNumber, sipUri, twilioClientIdentity',
};

function view(h: HumanAgent) {
  return {
    id: h.id,
    name: h.name,
    skills: h.skills,
    phoneNumber: h.phoneNumber,
    sipUri: h.sipUri,
    twilioClientIdentity: h.twilioClientIdentity,
    status: h.status,
    availableSince: h.availableSince?.toISOString() ?? null,
    lastSeenAt: h.lastSeenAt?.toISOString() ?? null,
    createdAt: h.createdAt.toISOString(),
    updatedAt: h.updatedAt.toISOString(),
  };
}

const isUniqueViolation = (err: unknown) =>
  err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';

export async function humanAgentsApiRoutes(
  app: FastifyInstance,
  opts: HumanAgentsApiOptions,
): Promise<void> {
  const { prisma } = opts;
  const actor = adminResourceAuth(app, {
    apiKeys: opts.apiKeys,
    actionFor: () => 'change human agents',
    failureLog: 'human agent request failed',
  });

  /** Runs `write` with its audit row in one transaction; 409 on a taken identity. */
  async function audited(
    request: FastifyRequest,
    reply: FastifyReply,
    action: string,
    write: (
      tx: Prisma.TransactionClient,
    ) => Promise<{ id: string; before: unknown; after: HumanAgent | null }>,
  ): Promise<{ done: true; row: HumanAgent | null } | { done: false }> {
    try {
      const row = await prisma.$transaction(async (tx) => {
        const { id, before, after } = await write(tx);
        await tx.auditLog.create({
          data: {
            actor: actor(request),
            action,
            resourceType: 'human_agent',
            resourceId: id,
            before:
              before === null
                ? Prisma.JsonNull
                : (JSON.parse(JSON.stringify(before)) as Prisma.InputJsonValue),
            after:
              after === null
                ? Prisma.JsonNull
                : (JSON.parse(JSON.stringify(view(after))) as Prisma.InputJsonValue),
          },
          select: { id: true },
        });
        return after;
      });
      return { done: true, row };
    } catch (err) {
      if (isUniqueViolation(err)) {
        await reply
          .code(409)
          .send({ error: 'twilioClientIdentity is used by another human agent' });
        return { done: false };
      }
      throw err;
    }
  }

  const find = (id: string) =>
    UUID.test(id) ? prisma.humanAgent.findUnique({ where: { id } }) : null;
  const notFound = (reply: FastifyReply) =>
    reply.code(404).send({ error: 'human agent not found' });

  app.post('/v1/human-agents', ROUTES.create, async (request, reply) => {
    const parsed = createSchema.safeParse(request.body);
    if (!parsed.success) return invalid(reply, issuesOf(parsed.error));
    if (!reachable(parsed.data)) return invalid(reply, [UNREACHABLE]);
    const data = parsed.data;
    const out = await audited(request, reply, 'human_agent.create', async (tx) => {
      const created = await tx.humanAgent.create({
        data: {
          name: data.name,
          skills: data.skills,
          phoneNumber: data.phoneNumber ?? null,
          sipUri: data.sipUri ?? null,
          twilioClientIdentity: data.twilioClientIdentity ?? null,
        },
      });
      return { id: created.id, before: null, after: created };
    });
    if (!out.done || out.row === null) return reply;
    return reply.code(201).send(view(out.row));
  });

  app.get('/v1/human-agents', ROUTES.list, async (request, reply) => {
    const q = request.query as { status?: string; skill?: string };
    const status =
      q.status === undefined ? undefined : presenceSchema.shape.status.safeParse(q.status);
    if (status && !status.success) {
      return invalid(reply, [
        {
          field: 'status',
          code: 'invalid_field',
          message: 'status is available, busy, away or offline',
        },
      ]);
    }
    const rows = await prisma.humanAgent.findMany({
      where: {
        ...(status?.success ? { status: status.data } : {}),
        ...(q.skill !== undefined ? { skills: { has: q.skill } } : {}),
      },
      orderBy: [{ name: 'asc' }, { id: 'asc' }],
      take: 1_000,
    });
    return reply.send({ items: rows.map(view) });
  });

  app.get('/v1/human-agents/:id', ROUTES.get, async (request, reply) => {
    const row = await find((request.params as { id: string }).id);
    return row === null ? notFound(reply) : reply.send(view(row));
  });

  app.patch('/v1/human-agents/:id', ROUTES.update, async (request, reply) => {
    const { id } = request.params as { id: string };
    const parsed = updateSchema.safeParse(request.body);
    if (!parsed.success) return invalid(reply, issuesOf(parsed.error));
    const before = await find(id);
    if (before === null) return notFound(reply);
    const merged = { ...before, ...parsed.data };
    if (!reachable(merged)) return invalid(reply, [UNREACHABLE]);
    const out = await audited(request, reply, 'human_agent.update', async (tx) => {
      const after = await tx.humanAgent.update({ where: { id }, data: parsed.data });
      return { id, before: view(before), after };
    });
    if (!out.done || out.row === null) return reply;
    return reply.send(view(out.row));
  });

  app.delete('/v1/human-agents/:id', ROUTES.remove, async (request, reply) => {
    const { id } = request.params as { id: string };
    const before = await find(id);
    if (before === null) return notFound(reply);
    const out = await audited(request, reply, 'human_agent.delete', async (tx) => {
      await tx.humanAgent.delete({ where: { id } });
      return { id, before: view(before), after: null };
    });
    if (!out.done) return reply;
    return reply.code(204).send();
  });

  app.put('/v1/human-agents/:id/presence', ROUTES.presence, async (request, reply) => {
    const { id } = request.params as { id: string };
    const parsed = presenceSchema.safeParse(request.body);
    if (!parsed.success) return invalid(reply, issuesOf(parsed.error));
    const before = await find(id);
    if (before === null) return notFound(reply);
    const { status } = parsed.data;
    const now = new Date();
    const out = await audited(request, reply, 'human_agent.presence', async (tx) => {
      const after = await tx.humanAgent.update({
        where: { id },
        data: {
          status,
          lastSeenAt: now,
          // Idle time counts from becoming available; a repeated "available" keeps its place.
          availableSince:
            status !== 'available'
              ? null
              : before.status === 'available'
                ? (before.availableSince ?? now)
                : now,
        },
      });
      return { id, before: { status: before.status }, after };
    });
    if (!out.done || out.row === null) return reply;
    return reply.send(view(out.row));
  });
}
