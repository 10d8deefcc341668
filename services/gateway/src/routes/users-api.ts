/**
 * `/v1/users`: the people who sign in to the dashboard, managed by admins (403 for any other
 * role, reads too). No answer ever carries a password or its hash.
 *
 * - `GET /v1/users`, `GET /v1/users/:id`.
 * - `POST /v1/users` `{ email, name, role, password }`: 201; 409 when the email is taken
 *   (emails are compared lowercased).
 * - `PATCH /v1/users/:id` `{ name?, role?, disabled?, password? }`: disabling a user, or setting
 *   a new password, ends their sessions. An admin cannot disable or demote themselves (409), so
 *   the last admin cannot lock everyone out by mistake.
 *
 * Every write commits with its `audit_logs` row (never the password).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';

import type { PrismaClient } from '@app/db';

import type { ApiKeyStore } from '../adapters/api-keys.js';
import { createUser, MAX_EMAIL_LENGTH, USER_FIELDS } from '../adapters/users.js';
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../domain/passwords.js';
import { adminResourceAuth } from './api-key-auth.js';
import {
  errorSchema,
  idParamsSchema,
  invalidSchema,
  issuesOf,
  isUniqueViolation,
  roleSchema,
  userSchema,
  userView,
  UUID,
  writeAudit,
} from './auth-api-common.js';
import { describeRoute } from './route-docs.js';

export interface UsersApiOptions {
  apiKeys: ApiKeyStore;
  prisma: PrismaClient;
}

const BODY_LIMIT = 8 * 1024;
const TAGS = ['Users'];
const LIST_MAX = 1_000;

const password = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `the password needs at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(MAX_PASSWORD_LENGTH);
const name = z.string().trim().min(1, 'name is required').max(200);

const createSchema = z.strictObject({
  email: z.email('email must be an email address').max(MAX_EMAIL_LENGTH),
  name,
  role: roleSchema,
  password,
});
const updateSchema = z.strictObject({
  name: name.optional(),
  role: roleSchema.optional(),
  disabled: z.boolean().optional().describe('true: cannot sign in, sessions end'),
  password: password.optional().describe('a new password; the user’s sessions end'),
});

const invalid = (reply: FastifyReply, error: z.ZodError) =>
  reply.code(400).send({ error: 'invalid user', issues: issuesOf(error) });
const notFound = (reply: FastifyReply) => reply.code(404).send({ error: 'user not found' });

export async function usersApiRoutes(app: FastifyInstance, opts: UsersApiOptions): Promise<void> {
  const { prisma } = opts;
  const actor = adminResourceAuth(app, {
    apiKeys: opts.apiKeys,
    rolesFor: () => ['admin'],
    actionFor: () => 'manage users',
    failureLog: 'user request failed',
  });

  app.get(
    '/v1/users',
    {
      ...describeRoute({
        tags: TAGS,
        summary: 'List users',
        description: 'Ordered by email. Admins only.',
        response: { 200: z.object({ items: z.array(userSchema) }), 403: errorSchema },
      }),
    },
    async (_request, reply) => {
      const rows = await prisma.user.findMany({
        select: USER_FIELDS,
        orderBy: { email: 'asc' },
        take: LIST_MAX,
      });
      return reply.send({ items: rows.map(userView) });
    },
  );

  app.get(
    '/v1/users/:id',
    {
      ...describeRoute({
        tags: TAGS,
        summary: 'Get a user',
        params: idParamsSchema,
        response: { 200: userSchema, 403: errorSchema, 404: errorSchema },
      }),
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const row = UUID.test(id)
        ? await prisma.user.findUnique({ where: { id }, select: USER_FIELDS })
        : null;
      return row === null ? notFound(reply) : reply.send(userView(row));
    },
  );

  app.post(
    '/v1/users',
    {
      bodyLimit: BODY_LIMIT,
      ...describeRoute({
        tags: TAGS,
        summary: 'Create a user',
        description: `The password needs at least ${MIN_PASSWORD_LENGTH} characters.`,
        body: createSchema,
        response: { 201: userSchema, 400: invalidSchema, 403: errorSchema, 409: errorSchema },
      }),
    },
    async (request, reply) => {
      const parsed = createSchema.safeParse(request.body);
      if (!parsed.success) return invalid(reply, parsed.error);
      try {
        const user = await prisma.$transaction(async (tx) => {
          const created = await createUser(tx, parsed.data);
          await writeAudit(tx, {
            actor: actor(request),
            action: 'user.create',
            resourceType: 'user',
            resourceId: created.id,
            before: null,
            after: userView(created),
          });
          return created;
        });
        return await reply.code(201).send(userView(user));
      } catch (err) {
        if (isUniqueViolation(err)) {
          return reply.code(409).send({ error: 'a user with this email exists' });
        }
        throw err;
      }
    },
  );

  app.patch(
    '/v1/users/:id',
    {
      bodyLimit: BODY_LIMIT,
      ...describeRoute({
        tags: TAGS,
        summary: 'Update a user',
        description:
          'Disabling a user or setting a new password ends their sessions. Admins cannot ' +
          'disable or demote themselves.',
        params: idParamsSchema,
        body: updateSchema,
        response: {
          200: userSchema,
          400: invalidSchema,
          403: errorSchema,
          404: errorSchema,
          409: errorSchema,
        },
      }),
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      if (!UUID.test(id)) return notFound(reply);
      const parsed = updateSchema.safeParse(request.body);
      if (!parsed.success) return invalid(reply, parsed.error);
      const change = parsed.data;
      const who = actor(request);
      if (
        who === `user:${id}` &&
        (change.disabled === true || (change.role ?? 'admin') !== 'admin')
      ) {
        return reply
          .code(409)
          .send({ error: 'you cannot disable yourself or give up your own admin role' });
      }
      const passwordHash =
        change.password === undefined ? undefined : await hashPassword(change.password);
      const after = await prisma.$transaction(async (tx) => {
        const before = await tx.user.findUnique({ where: { id }, select: USER_FIELDS });
        if (before === null) return null;
        const now = new Date();
        const updated = await tx.user.update({
          where: { id },
          data: {
            ...(change.name === undefined ? {} : { name: change.name }),
            ...(change.role === undefined ? {} : { role: change.role }),
            ...(passwordHash === undefined ? {} : { passwordHash }),
            ...(change.disabled === undefined
              ? {}
              : { disabledAt: change.disabled ? (before.disabledAt ?? now) : null }),
          },
          select: USER_FIELDS,
        });
        // Re-enabling a user later must not bring back a session from before.
        if (change.disabled === true || passwordHash !== undefined) {
          await tx.userSession.updateMany({
            where: { userId: id, revokedAt: null },
            data: { revokedAt: now },
          });
        }
        await writeAudit(tx, {
          actor: who,
          action: 'user.update',
          resourceType: 'user',
          resourceId: id,
          before: userView(before),
          after: { ...userView(updated), ...(passwordHash ? { passwordChanged: true } : {}) },
        });
        return updated;
      });
      return after === null ? notFound(reply) : reply.send(userView(after));
    },
  );
}
