/**
 * What the sign-in, user and API key routes share: their response schemas (documented through
 * `describeRoute`), refused bodies in the `{ error, issues }` shape of the other /v1 routes, and
 * the audit row each write commits with.
 */
import { z } from 'zod';

import { ApiKeyRole, Prisma } from '@app/db';

import type { UserRecord } from '../adapters/users.js';

export type Issue = { field: string; code: string; message: string };

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Zod issues as ours; an unknown key is an `unknown_field` naming it. */
export function issuesOf(error: z.ZodError): Issue[] {
  return error.issues.flatMap((i) => {
    const at = i.path.map(String).join('.');
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((key) => ({
        field: at === '' ? key : `${at}.${key}`,
        code: 'unknown_field',
        message: `${key} is not a field here`,
      }));
    }
    return [{ field: at || '(body)', code: 'invalid_field', message: i.message }];
  });
}

export const errorSchema = z.object({ error: z.string() });
export const invalidSchema = z.object({
  error: z.string(),
  issues: z.array(z.object({ field: z.string(), code: z.string(), message: z.string() })),
});
export const idParamsSchema = z.object({ id: z.uuid() });

export const roleSchema = z.enum(ApiKeyRole);

/** A user as every route shows it: never the password hash. */
export const userSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: roleSchema,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  disabledAt: z.iso.datetime().nullable(),
});

export function userView(u: UserRecord): z.output<typeof userSchema> {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role,
    createdAt: u.createdAt.toISOString(),
    updatedAt: u.updatedAt.toISOString(),
    disabledAt: u.disabledAt?.toISOString() ?? null,
  };
}

const asJson = (value: unknown) =>
  value === null ? Prisma.JsonNull : (JSON.parse(JSON.stringify(value)) as Prisma.InputJsonValue);

/** Writes the audit row of a write, inside the write's transaction. */
export async function writeAudit(
  tx: Prisma.TransactionClient,
  entry: {
    actor: string;
    action: string;
    resourceType: string;
    resourceId: string;
    before: unknown;
    after: unknown;
  },
): Promise<void> {
  await tx.auditLog.create({
    data: {
      actor: entry.actor,
      action: entry.action,
      resourceType: entry.resourceType,
      resourceId: entry.resourceId,
      before: asJson(entry.before),
      after: asJson(entry.after),
    },
    select: { id: true },
  });
}

export const isUniqueViolation = (err: unknown): boolean =>
  err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
