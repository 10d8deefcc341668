/**
 * What the admin resource plugins (`/v1/agents`, `/v1/phone-numbers`, `/v1/do-not-call`) share:
 * their set-up (auth, the 400 and 404 answers, audit rows: `adminResource`), the
 * `{ field, code, message }` issues of a refused body, keyset pagination with an opaque cursor
 * (`readListQuery`, `pageOf`), and the audit row each write commits with.
 *
 * Pagination is keyset (`WHERE (sort, id) > (last sort, last id)`), not offset or Prisma's
 * `cursor`: a row deleted between two pages neither shifts the next page nor makes its cursor
 * unusable.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import { Prisma, type PrismaClient } from '@app/db';

import type { ApiKeyStore } from '../adapters/api-keys.js';
import { adminResourceAuth } from './api-key-auth.js';

export type Issue = { field: string; code: string; message: string };

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const PAGE_DEFAULT = 50;
export const PAGE_MAX = 200;

/**
 * Zod issues as ours. An unknown key gets its own issue naming it (zod reports them together on
 * the object), so a client sees which field to drop.
 */
export function issuesOf(error: z.ZodError): Issue[] {
  return error.issues.flatMap((i) => {
    const at = i.path.map(String).join('.');
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((key) => ({
        field: at === '' ? key : `${at}.${key}`,
        code: 'unknown_field',
        message: `${key} is not a field of this resource`,
      }));
    }
    return [{ field: at || '(body)', code: 'invalid_field', message: i.message }];
  });
}

/** `limit` and `cursor` of a list query, as the docs show them. */
export const pageQuerySchema = z.object({
  limit: z.coerce
    .number({ error: `limit is 1 to ${PAGE_MAX}` })
    .int(`limit is 1 to ${PAGE_MAX}`)
    .min(1, `limit is 1 to ${PAGE_MAX}`)
    .max(PAGE_MAX, `limit is 1 to ${PAGE_MAX}`)
    .default(PAGE_DEFAULT)
    .describe(`page size, 1 to ${PAGE_MAX} (default ${PAGE_DEFAULT})`),
  cursor: z.string().max(1024).optional().describe('the nextCursor of the previous page'),
});

/** The cursor after `keys` (the sort keys of a page's last row): opaque to clients. */
export function encodeCursor(keys: readonly string[]): string {
  return Buffer.from(JSON.stringify(keys), 'utf8').toString('base64url');
}

/** The sort keys in a cursor, or null when it is not one of ours (`width` keys, all strings). */
export function decodeCursor(cursor: string, width: number): string[] | null {
  try {
    const keys: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Array.isArray(keys) &&
      keys.length === width &&
      keys.every((k): k is string => typeof k === 'string')
      ? keys
      : null;
  } catch {
    return null;
  }
}

export const BAD_CURSOR: Issue = {
  field: 'cursor',
  code: 'invalid_field',
  message: 'cursor is the nextCursor of a previous page of this list',
};

/**
 * A list query read with `schema`, and the sort keys of its cursor (null on the first page), or
 * the issues to refuse it with. A cursor must hold `width` keys that `keysValid` accepts (their
 * types: a key the query would compare with a uuid or a date column must be one).
 */
export function readListQuery<S extends typeof pageQuerySchema>(
  schema: S,
  query: unknown,
  width: number,
  keysValid: (keys: readonly string[]) => boolean = () => true,
): { ok: true; data: z.output<S>; after: string[] | null } | { ok: false; issues: Issue[] } {
  const parsed = schema.safeParse(query);
  if (!parsed.success) return { ok: false, issues: issuesOf(parsed.error) };
  const data = parsed.data as z.output<S>;
  const cursor = data.cursor;
  if (cursor === undefined) return { ok: true, data, after: null };
  const after = decodeCursor(cursor, width);
  return after !== null && keysValid(after)
    ? { ok: true, data, after }
    : { ok: false, issues: [BAD_CURSOR] };
}

/** A page of `limit` rows out of `rows` (fetched with `take: limit + 1`) and its next cursor. */
export function pageOf<T, V>(
  rows: readonly T[],
  limit: number,
  keysOf: (row: T) => readonly string[],
  view: (row: T) => V,
): { items: V[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(view),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keysOf(last)) : null,
  };
}

/**
 * The `:id` of a request's path when it is a uuid, else null: an id that is not one names no row
 * (404), and is never handed to PostgreSQL, which would refuse it as a uuid.
 */
export function uuidParam(request: FastifyRequest): string | null {
  const { id } = request.params as { id: string };
  return UUID.test(id) ? id : null;
}

/**
 * Locks the row `id` of `table` until the transaction ends (`FOR UPDATE`): a concurrent update or
 * delete of it waits. False when there is no such row.
 */
export async function lockForUpdate(
  tx: Prisma.TransactionClient,
  table: 'agents' | 'phone_numbers',
  id: string,
): Promise<boolean> {
  // `table` is one of the literals above, never input: safe to splice into the SQL.
  const locked = await tx.$queryRaw<Array<{ id: string }>>(
    Prisma.sql`SELECT id FROM ${Prisma.raw(table)} WHERE id = ${id}::uuid FOR UPDATE`,
  );
  return locked.length > 0;
}

/** A value as JSON for an audit column: `null` is SQL NULL-as-JSON, dates become ISO strings. */
const json = (v: unknown) =>
  v === null || v === undefined
    ? Prisma.JsonNull
    : (JSON.parse(JSON.stringify(v)) as Prisma.InputJsonValue);

/** Writes the audit row of a write, in the write's transaction. */
export async function audit(
  tx: Prisma.TransactionClient,
  row: {
    actor: string;
    action: string;
    resourceType: string;
    resourceId: string;
    before: unknown;
    after: unknown;
  },
): Promise<void> {
  await tx.auditLog.create({
    data: { ...row, before: json(row.before), after: json(row.after) },
    select: { id: true },
  });
}

/** What every admin resource plugin is registered with. */
export interface AdminResourceOptions {
  apiKeys: ApiKeyStore;
  prisma: PrismaClient;
}

/**
 * The set-up every admin resource plugin starts with: its auth (`adminResourceAuth`: any role
 * reads, writers write), its 400 and 404 answers worded for the resource, and `audited`, which
 * writes a write's audit row with the request's actor and the rows as the API shows them.
 */
export function adminResource<Row>(
  app: FastifyInstance,
  opts: AdminResourceOptions,
  resource: {
    /** The resource in messages: `invalid <noun>`, `<noun> not found`. */
    noun: string;
    /** What a write does, for the 403 message (`change agents`). */
    action: string;
    /** The log message of an unexpected failure (`agent request failed`). */
    failureLog: string;
    /** `audit_logs.resource_type` of its rows. */
    resourceType: string;
    /** A row as reads answer it: what audit rows hold. */
    view: (row: Row) => unknown;
  },
) {
  const actor = adminResourceAuth(app, {
    apiKeys: opts.apiKeys,
    actionFor: () => resource.action,
    failureLog: resource.failureLog,
  });
  return {
    invalid: (reply: FastifyReply, issues: Issue[]) =>
      reply.code(400).send({ error: `invalid ${resource.noun}`, issues }),
    notFound: (reply: FastifyReply) =>
      reply.code(404).send({ error: `${resource.noun} not found` }),
    /** Writes the audit row of `action` on `resourceId`, in the write's transaction. */
    audited: (
      tx: Prisma.TransactionClient,
      request: FastifyRequest,
      action: string,
      resourceId: string,
      before: Row | null,
      after: Row | null,
    ) =>
      audit(tx, {
        actor: actor(request),
        action,
        resourceType: resource.resourceType,
        resourceId,
        before: before === null ? null : resource.view(before),
        after: after === null ? null : resource.view(after),
      }),
  };
}

export const isUniqueViolation = (err: unknown): boolean =>
  err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';

/** A foreign key refused the write (a referenced row is gone, or a restricted one still used). */
export const isForeignKeyViolation = (err: unknown): boolean =>
  err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2003';

/** Shared response schemas for the docs. */
export const errorSchema = z.object({ error: z.string() });
export const invalidSchema = z.object({
  error: z.string(),
  issues: z.array(z.object({ field: z.string(), code: z.string(), message: z.string() })),
});
