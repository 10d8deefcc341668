/**
 * `/v1/phone-numbers`: the numbers we own and their routing (issue 9): which agent answers an
 * inbound call to each, over which transport, and the outbound pool it belongs to.
 *
 * - Auth (`api-key-auth.ts`): any role reads, `admin`/`operator` write (403 else).
 * - `e164` is normalised the way the dialer reads numbers (`@app/dialing` `parsePhone`), so
 *   `+1 (415) 555-0100` is stored as `+14155500100` and matches the `To` Twilio sends.
 * - `pool` follows the pool names `POST /v1/calls` (`fromPool`) and campaigns accept.
 * - Refusals: 400 `{ error, issues }` (an unknown `agentId` included), 404 `{ error }`, 409
 *   `{ error }` for a number already listed, and 409 `{ error, campaigns }` when a campaign that
 *   may still dial calls from the number (its `fromNumbers`) and the number would go (delete, or a
 *   change of `e164`): the dialer would refuse each of its calls.
 * - Every write commits with its `audit_logs` row (`phone_number.create|update|delete`).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';

import type { PhoneNumber, Prisma } from '@app/db';
import { parsePhone } from '@app/dialing';

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

export type PhoneNumbersApiOptions = AdminResourceOptions;

const BODY_LIMIT = 16 * 1024;
const TAGS = ['Phone numbers'];
/** `phone_numbers.transport` (the `PhoneTransport` enum). */
const TRANSPORTS = ['media_streams', 'sip'] as const;
/** A pool name, as `@app/dialing` (`fromPool`) and campaigns (`fromPool`) accept it. */
const POOL = /^[A-Za-z0-9._-]{1,64}$/;
const POOL_MESSAGE = 'a pool name is 1 to 64 letters, digits, ".", "_" or "-"';
/** Campaigns that may still dial. */
const ACTIVE_CAMPAIGNS = ['draft', 'running', 'paused'] as const;

const e164 = z
  .string()
  .max(64)
  .describe('international format; stored as E.164 (+14155550100)')
  .transform((raw, ctx) => {
    const parsed = parsePhone('e164', raw);
    if (parsed.ok) return parsed.e164;
    ctx.addIssue({ code: 'custom', message: parsed.issue.message });
    return z.NEVER;
  });
const fields = {
  e164,
  transport: z.enum(TRANSPORTS, { error: `transport is ${TRANSPORTS.join(' or ')}` }),
  agentId: z.string().regex(UUID, 'agentId is the id of an agent (a uuid)'),
  pool: z.string().regex(POOL, POOL_MESSAGE).nullable(),
};
const createSchema = z.strictObject({
  e164: fields.e164,
  transport: fields.transport.optional(),
  agentId: fields.agentId,
  pool: fields.pool.optional(),
});
const updateSchema = z.strictObject({
  e164: fields.e164.optional(),
  transport: fields.transport.optional(),
  agentId: fields.agentId.optional(),
  pool: fields.pool.optional(),
});
const listQuerySchema = pageQuerySchema.extend({
  agentId: fields.agentId.optional().describe('only the numbers of this agent'),
  pool: z.string().regex(POOL, POOL_MESSAGE).optional().describe('only the numbers of this pool'),
});
const idParamsSchema = z.object({ id: z.string().describe('phone number id (uuid)') });

const phoneNumberSchema = z.object({
  id: z.string(),
  e164: z.string(),
  transport: z.enum(TRANSPORTS),
  agentId: z.string(),
  agentName: z.string(),
  pool: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const listSchema = z.object({
  items: z.array(phoneNumberSchema),
  nextCursor: z.string().nullable(),
});
const inUseSchema = z.object({ error: z.string(), campaigns: z.array(z.string()) });

type Row = PhoneNumber & { agent: { name: string } };
const withAgent = { agent: { select: { name: true } } } as const;

function view(p: Row) {
  return {
    id: p.id,
    e164: p.e164,
    transport: p.transport,
    agentId: p.agentId,
    agentName: p.agent.name,
    pool: p.pool,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

const UNKNOWN_AGENT: Issue = {
  field: 'agentId',
  code: 'unknown_agent',
  message: 'no agent with this agentId',
};

class Invalid extends Error {
  constructor(readonly issues: Issue[]) {
    super('invalid phone number');
  }
}
class InUse extends Error {
  constructor(
    readonly e164: string,
    readonly campaigns: string[],
  ) {
    super(`${e164} is a from-number of campaigns that may still dial: ${campaigns.join(', ')}`);
  }
}

/** Names of the campaigns that may still dial from `e164`. */
async function campaignsCallingFrom(tx: Prisma.TransactionClient, e164: string) {
  const rows = await tx.campaign.findMany({
    where: { fromNumbers: { has: e164 }, status: { in: [...ACTIVE_CAMPAIGNS] } },
    select: { name: true },
    orderBy: { name: 'asc' },
  });
  return rows.map((r) => r.name);
}

/** Refuses an agent that does not exist (its row is key-share locked until commit). */
async function checkAgent(tx: Prisma.TransactionClient, agentId: string | undefined) {
  if (agentId === undefined) return;
  const found = await tx.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM agents WHERE id = ${agentId}::uuid FOR KEY SHARE`;
  if (found.length === 0) throw new Invalid([UNKNOWN_AGENT]);
}

export async function phoneNumbersApiRoutes(
  app: FastifyInstance,
  opts: PhoneNumbersApiOptions,
): Promise<void> {
  const { prisma } = opts;
  const { invalid, notFound, audited } = adminResource(app, opts, {
    noun: 'phone number',
    action: 'change phone numbers',
    failureLog: 'phone number request failed',
    resourceType: 'phone_number',
    view,
  });

  /** Runs a write; its refusals become answers. Undefined: the answer was sent. */
  async function write<T>(
    reply: FastifyReply,
    run: (tx: Prisma.TransactionClient) => Promise<T>,
  ): Promise<T | undefined> {
    try {
      return await prisma.$transaction(run);
    } catch (err) {
      if (err instanceof Invalid) await invalid(reply, err.issues);
      else if (err instanceof InUse) {
        await reply.code(409).send({ error: err.message, campaigns: err.campaigns });
      } else if (isUniqueViolation(err)) {
        await reply.code(409).send({ error: 'this phone number is already listed' });
      } else if (isForeignKeyViolation(err)) {
        // The agent was deleted between the check and the write.
        await invalid(reply, [UNKNOWN_AGENT]);
      } else throw err;
      return undefined;
    }
  }

  /** Locks the number's row: a concurrent change of it waits for this transaction. */
  async function lockNumber(tx: Prisma.TransactionClient, id: string): Promise<Row | null> {
    return (await lockForUpdate(tx, 'phone_numbers', id))
      ? tx.phoneNumber.findUnique({ where: { id }, include: withAgent })
      : null;
  }

  app.get(
    '/v1/phone-numbers',
    {
      ...describeRoute({
        tags: TAGS,
        summary: 'List phone numbers',
        description: 'Ordered by number; `nextCursor` is null on the last page.',
        querystring: listQuerySchema,
        response: { 200: listSchema, 400: invalidSchema },
      }),
    },
    async (request, reply) => {
      const query = readListQuery(listQuerySchema, request.query, 1);
      if (!query.ok) return invalid(reply, query.issues);
      const { data, after } = query;
      const { limit, agentId, pool } = data;
      const rows = await prisma.phoneNumber.findMany({
        where: {
          ...(agentId ? { agentId } : {}),
          ...(pool ? { pool } : {}),
          // e164 is unique: it alone orders the list.
          ...(after ? { e164: { gt: after[0] } } : {}),
        },
        include: withAgent,
        orderBy: { e164: 'asc' },
        take: limit + 1,
      });
      return reply.send(pageOf(rows, limit, (p) => [p.e164], view));
    },
  );

  app.post(
    '/v1/phone-numbers',
    {
      bodyLimit: BODY_LIMIT,
      ...describeRoute({
        tags: TAGS,
        summary: 'Add a phone number',
        description: 'Inbound calls to it are answered by `agentId` from then on.',
        body: createSchema,
        response: { 201: phoneNumberSchema, 400: invalidSchema, 409: errorSchema },
      }),
    },
    async (request, reply) => {
      const parsed = createSchema.safeParse(request.body);
      if (!parsed.success) return invalid(reply, issuesOf(parsed.error));
      const data = parsed.data;
      const created = await write(reply, async (tx) => {
        await checkAgent(tx, data.agentId);
        const row = await tx.phoneNumber.create({ data, include: withAgent });
        await audited(tx, request, 'phone_number.create', row.id, null, row);
        return row;
      });
      if (created === undefined) return reply;
      request.log.info({ phoneNumberId: created.id, agentId: created.agentId }, 'number added');
      return reply.code(201).send(view(created));
    },
  );

  app.get(
    '/v1/phone-numbers/:id',
    {
      ...describeRoute({
        tags: TAGS,
        summary: 'Get a phone number',
        params: idParamsSchema,
        response: { 200: phoneNumberSchema, 404: errorSchema },
      }),
    },
    async (request, reply) => {
      const id = uuidParam(request);
      const row =
        id === null
          ? null
          : await prisma.phoneNumber.findUnique({ where: { id }, include: withAgent });
      return row === null ? notFound(reply) : reply.send(view(row));
    },
  );

  app.patch(
    '/v1/phone-numbers/:id',
    {
      bodyLimit: BODY_LIMIT,
      ...describeRoute({
        tags: TAGS,
        summary: 'Update a phone number',
        description: 'Only the fields sent change; `pool: null` takes the number out of its pool.',
        params: idParamsSchema,
        body: updateSchema,
        response: {
          200: phoneNumberSchema,
          400: invalidSchema,
          404: errorSchema,
          409: inUseSchema,
        },
      }),
    },
    async (request, reply) => {
      const id = uuidParam(request);
      const parsed = updateSchema.safeParse(request.body);
      if (!parsed.success) return invalid(reply, issuesOf(parsed.error));
      if (id === null) return notFound(reply);
      const data = parsed.data;
      const updated = await write(reply, async (tx) => {
        const before = await lockNumber(tx, id);
        if (before === null) return null;
        if (data.e164 !== undefined && data.e164 !== before.e164) {
          const campaigns = await campaignsCallingFrom(tx, before.e164);
          if (campaigns.length > 0) throw new InUse(before.e164, campaigns);
        }
        await checkAgent(tx, data.agentId);
        const after = await tx.phoneNumber.update({ where: { id }, data, include: withAgent });
        await audited(tx, request, 'phone_number.update', id, before, after);
        return after;
      });
      if (updated === undefined) return reply;
      return updated === null ? notFound(reply) : reply.send(view(updated));
    },
  );

  app.delete(
    '/v1/phone-numbers/:id',
    {
      ...describeRoute({
        tags: TAGS,
        summary: 'Remove a phone number',
        description:
          'Inbound calls to it are no longer answered. Refused (409) while a draft, running or ' +
          'paused campaign calls from it.',
        params: idParamsSchema,
        response: { 204: { description: 'removed' }, 404: errorSchema, 409: inUseSchema },
      }),
    },
    async (request, reply) => {
      const id = uuidParam(request);
      if (id === null) return notFound(reply);
      const deleted = await write(reply, async (tx) => {
        const before = await lockNumber(tx, id);
        if (before === null) return false;
        const campaigns = await campaignsCallingFrom(tx, before.e164);
        if (campaigns.length > 0) throw new InUse(before.e164, campaigns);
        await tx.phoneNumber.delete({ where: { id } });
        await audited(tx, request, 'phone_number.delete', id, before, null);
        return true;
      });
      if (deleted === undefined) return reply;
      return deleted ? reply.code(204).send() : notFound(reply);
    },
  );
}
