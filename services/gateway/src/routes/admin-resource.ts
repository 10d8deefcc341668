/**
 * What the admin resource plugins (`/v1/agents`, `/v1/phone-numbers`, `/v1/do-not-call`) share:
 * the `{ field, code, message }` issues of a refused body, keyset pagination with an opaque
 * cursor, and the audit row each write commits with.
 *
 * Pagination is keyset (`WHERE (sort, id) > (last sort, last id)`), not offset or Prisma's
 * `cursor`: a row deleted between two pages neither shifts the next page nor makes its cursor
 * unusable.
 */
import { z } from 'zod';

import { Prisma } from '@app/db';

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
