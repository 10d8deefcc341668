/**
 * `/v1/consents`: what a phone number's owner agreed to, when, how and who recorded it (issue 10).
 *
 * - Auth (`api-key-auth.ts`): any role reads, `admin`/`operator` write (403 else).
 * - A consent is a `consent_records` row: given at `grantedAt`, in force until `revokedAt`. The
 *   dialer (`@app/dialing` `hasConsent`) counts any row of the number and purpose still in force,
 *   so withdrawal is by number and purpose (`POST /v1/consents/withdraw`) and revokes every row
 *   in force: withdrawing one row of two would leave the consent in force without anyone noticing.
 * - Rows are never deleted or rewritten beyond their withdrawal: the history is the record.
 * - `recordedBy`/`revokedBy` are the request's actor (as in `audit_logs`), never from the body.
 * - Every write commits with its `audit_logs` row (`consent.create`, `consent.withdraw`).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';

import type { ConsentRecord, PrismaClient } from '@app/db';
import { parsePhone } from '@app/dialing';

import type { ApiKeyStore } from '../adapters/api-keys.js';
import {
  audit,
  BAD_CURSOR,
  decodeCursor,
  invalidSchema,
  isForeignKeyViolation,
  issuesOf,
  pageOf,
  pageQuerySchema,
  UUID,
  type Issue,
} from './admin-resource.js';
import { adminResourceAuth } from './api-key-auth.js';
import { describeRoute } from './route-docs.js';

export interface ConsentsApiOptions {
  apiKeys: ApiKeyStore;
  prisma: PrismaClient;
}

const BODY_LIMIT = 8 * 1024;
const TAGS = ['Consents'];

/** How a consent was obtained. `voice`: said on a call (the bridge's disclosure notice too). */
export const CONSENT_METHODS = ['voice', 'web', 'api', 'import', 'written'] as const;

/** A phone number in international format, normalised to E.164 as the dialer looks it up. */
const phoneSchema = z
  .string()
  .max(64)
  .describe('international format (+14155550100); stored as E.164')
  .transform((raw, ctx) => {
    const parsed = parsePhone('phone', raw);
    if (parsed.ok) return parsed.e164;
    ctx.addIssue({ code: 'custom', message: parsed.issue.message });
    return z.NEVER;
  });
/** A `+` left unencoded in a query string arrives as a space (form encoding). */
const queryPhoneSchema = z
  .string()
  .transform((v) => v.replace(/^ (?=\d)/, '+'))
  .pipe(phoneSchema);
/** Purposes are matched exactly by the dialer (a campaign's `consentPurpose`): a plain token. */
const purposeSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'purpose is a lowercase token such as recording or ai-call')
  .describe('recording, ai-call, marketing, or a campaign consentPurpose');

const createSchema = z.strictObject({
  phone: phoneSchema,
  purpose: purposeSchema,
  method: z.enum(CONSENT_METHODS),
  /** The call in which it was given; must be a call we know. */
  callId: z.string().regex(UUID, 'callId is a call id (uuid)').nullable().optional(),
  /** When it was given, when not now (an import); never in the future. */
  grantedAt: z.iso
    .datetime({ offset: true })
    .refine((v) => Date.parse(v) <= Date.now() + 60_000, 'grantedAt cannot be in the future')
    .optional(),
});
const withdrawSchema = z.strictObject({
  phone: phoneSchema,
  purpose: purposeSchema,
  callId: z.string().regex(UUID, 'callId is a call id (uuid)').nullable().optional(),
});
const listQuerySchema = pageQuerySchema.extend({
  phone: queryPhoneSchema.optional().describe('only this number (any international format)'),
  purpose: purposeSchema.optional(),
  inForce: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .describe('true: only consents not withdrawn; false: only withdrawn ones'),
});

const consentSchema = z.object({
  id: z.string(),
  phone: z.string(),
  purpose: z.string(),
  method: z.string(),
  grantedAt: z.string(),
  revokedAt: z.string().nullable(),
  callId: z.string().nullable(),
  recordedBy: z.string(),
  revokedBy: z.string().nullable(),
});
const listSchema = z.object({ items: z.array(consentSchema), nextCursor: z.string().nullable() });
const withdrawnSchema = z.object({ withdrawn: z.array(consentSchema) });

function view(c: ConsentRecord) {
  return {
    id: c.id,
    phone: c.phone,
    purpose: c.purpose,
    method: c.method,
    grantedAt: c.grantedAt.toISOString(),
    revokedAt: c.revokedAt?.toISOString() ?? null,
    callId: c.callId,
    recordedBy: c.recordedBy,
    revokedBy: c.revokedBy,
  };
}

const UNKNOWN_CALL: Issue = { field: 'callId', code: 'unknown_call', message: 'no such call' };

export async function consentsApiRoutes(
  app: FastifyInstance,
  opts: ConsentsApiOptions,
): Promise<void> {
  const { prisma } = opts;
  const actor = adminResourceAuth(app, {
    apiKeys: opts.apiKeys,
    actionFor: () => 'record consents',
    failureLog: 'consent request failed',
  });

  const invalid = (reply: FastifyReply, issues: Issue[]) =>
    reply.code(400).send({ error: 'invalid consent', issues });

  app.get(
    '/v1/consents',
    {
      ...describeRoute({
        tags: TAGS,
        summary: 'List consent records',
        description:
          'Newest first (by `grantedAt`), withdrawn ones included unless `inForce=true`; ' +
          '`nextCursor` is null on the last page.',
        querystring: listQuerySchema,
        response: { 200: listSchema, 400: invalidSchema },
      }),
    },
    async (request, reply) => {
      const parsed = listQuerySchema.safeParse(request.query);
      if (!parsed.success) return invalid(reply, issuesOf(parsed.error));
      const { limit, cursor, phone, purpose, inForce } = parsed.data;
      const after = cursor === undefined ? null : decodeCursor(cursor, 2);
      const at = after ? new Date(after[0] ?? '') : null;
      if (
        cursor !== undefined &&
        (after === null || at === null || Number.isNaN(at.getTime()) || !UUID.test(after[1] ?? ''))
      ) {
        return invalid(reply, [BAD_CURSOR]);
      }
      const rows = await prisma.consentRecord.findMany({
        where: {
          ...(phone ? { phone } : {}),
          ...(purpose ? { purpose } : {}),
          ...(inForce === undefined ? {} : { revokedAt: inForce ? null : { not: null } }),
          ...(after && at
            ? { OR: [{ grantedAt: { lt: at } }, { grantedAt: at, id: { lt: after[1] } }] }
            : {}),
        },
        orderBy: [{ grantedAt: 'desc' }, { id: 'desc' }],
        take: limit + 1,
      });
      return reply.send(pageOf(rows, limit, (c) => [c.grantedAt.toISOString(), c.id], view));
    },
  );

  app.post(
    '/v1/consents',
    {
      bodyLimit: BODY_LIMIT,
      ...describeRoute({
        tags: TAGS,
        summary: 'Record a consent',
        description:
          'The number agreed to `purpose`; in force until withdrawn. `recordedBy` is the ' +
          'caller of this API. A campaign whose `consentPurpose` is this purpose may then dial it.',
        body: createSchema,
        response: { 201: consentSchema, 400: invalidSchema },
      }),
    },
    async (request, reply) => {
      const parsed = createSchema.safeParse(request.body);
      if (!parsed.success) return invalid(reply, issuesOf(parsed.error));
      const { phone, purpose, method, callId, grantedAt } = parsed.data;
      const recordedBy = actor(request);
      try {
        const created = await prisma.$transaction(async (tx) => {
          const row = await tx.consentRecord.create({
            data: {
              phone,
              purpose,
              method,
              callId: callId ?? null,
              recordedBy,
              ...(grantedAt ? { grantedAt: new Date(grantedAt) } : {}),
            },
          });
          await audit(tx, {
            actor: recordedBy,
            action: 'consent.create',
            resourceType: 'consent_record',
            resourceId: row.id,
            before: null,
            after: view(row),
          });
          return row;
        });
        request.log.info({ consentId: created.id, purpose }, 'consent recorded');
        return reply.code(201).send(view(created));
      } catch (err) {
        if (isForeignKeyViolation(err)) return invalid(reply, [UNKNOWN_CALL]);
        throw err;
      }
    },
  );

  app.post(
    '/v1/consents/withdraw',
    {
      bodyLimit: BODY_LIMIT,
      ...describeRoute({
        tags: TAGS,
        summary: 'Withdraw a consent',
        description:
          'Withdraws every record of the number and purpose still in force (the rows stay, ' +
          'with `revokedAt` and `revokedBy`). Idempotent: nothing in force answers an empty ' +
          '`withdrawn`. Queued campaign calls needing the purpose are refused before they are placed.',
        body: withdrawSchema,
        response: { 200: withdrawnSchema, 400: invalidSchema },
      }),
    },
    async (request, reply) => {
      const parsed = withdrawSchema.safeParse(request.body);
      if (!parsed.success) return invalid(reply, issuesOf(parsed.error));
      const { phone, purpose, callId } = parsed.data;
      const revokedBy = actor(request);
      try {
        const withdrawn = await prisma.$transaction(async (tx) => {
          // Locked: a concurrent withdrawal waits, then finds nothing left in force.
          const ids = await tx.$queryRaw<Array<{ id: string }>>`
            SELECT id FROM consent_records
            WHERE phone = ${phone} AND purpose = ${purpose} AND revoked_at IS NULL
            ORDER BY granted_at, id FOR UPDATE`;
          const rows: ConsentRecord[] = [];
          const revokedAt = new Date();
          for (const { id } of ids) {
            const before = await tx.consentRecord.findUniqueOrThrow({ where: { id } });
            const after = await tx.consentRecord.update({
              where: { id },
              // The call it was withdrawn in, when given; else the row keeps the call it was given in.
              data: { revokedAt, revokedBy, ...(callId ? { callId } : {}) },
            });
            await audit(tx, {
              actor: revokedBy,
              action: 'consent.withdraw',
              resourceType: 'consent_record',
              resourceId: id,
              before: view(before),
              after: view(after),
            });
            rows.push(after);
          }
          return rows;
        });
        request.log.info({ count: withdrawn.length, purpose }, 'consent withdrawn');
        return reply.send({ withdrawn: withdrawn.map(view) });
      } catch (err) {
        if (isForeignKeyViolation(err)) return invalid(reply, [UNKNOWN_CALL]);
        throw err;
      }
    },
  );
}
