/**
 * A caller's data on request (issue 10): `GET /v1/data-subjects/{phone}/export` answers every
 * record about one phone number as JSON, `POST /v1/data-subjects/{phone}/erase` deletes or
 * anonymises it. Admins only; both audited.
 *
 * - `{phone}` is the number URL-encoded (`%2B14155550100`), separators allowed; it must be
 *   E.164 once they are removed (400 otherwise). It is matched exactly as stored, without a
 *   validity check of the number plan: the data to find is whatever the providers delivered.
 * - Export: the calls where the number is the caller or the callee (with their events,
 *   transcript, tool invocations and handoffs), consent records, the do-not-call entry,
 *   campaign contacts and call requests to it.
 * - Erase, in one transaction: the calls' events, transcript turns and tool invocations are
 *   deleted, their handoffs' reason and summary cleared, and the number masked on the calls
 *   (`+14***00`) with their variables; consent records and campaign contacts deleted; call
 *   requests to it masked (pending ones canceled first). The call rows stay, anonymous, so
 *   reports and counts do not change. Refused (409) while a call with the number is live or
 *   being dialled (its events would write new data after the erasure), and for one of our own
 *   numbers (every call to it would go).
 * - The do-not-call entry is kept unless the body says `{ "removeDoNotCall": true }`:
 *   deleting it would let the platform call the person again, which is rarely what someone
 *   asking to be forgotten wants; keeping a suppression entry is the usual lawful exception.
 * - Audit rows (`data_subject.export`, `data_subject.erase`) name the subject by its masked
 *   number and hold counts only, never the erased data; the table masks any number on insert
 *   anyway, so audit rows hold no full phone numbers and the append-only trail needs no erasure.
 * - After the transaction commits, the calls' events are purged from the CALLS JetStream stream
 *   too (`callEventPurge`, one filtered purge per call), so its copies do not outlive the
 *   erasure by up to its 7-day max age. The database erasure does not wait on NATS: when the
 *   purge fails, the answer says so (`streamPurged: false`, `streamPurge.status: 'pending'`)
 *   and erasing the number again retries it. The calls are found again by their masked number
 *   (the full one is gone): every call with that mask started within the stream's max age (and
 *   a day for the call's length) is purged. A mask is shared by other numbers (`+14***99`), so
 *   this also purges other anonymised calls' events; their numbers were erased or masked by
 *   retention, so those copies are due to go as well. Older calls have nothing left there.
 *   Audited as `data_subject.stream_purge` (status and counts).
 * - Not reached: application logs (which never hold a full number).
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';

import { Prisma, type PrismaClient } from '@app/db';

import type { ApiKeyStore } from '../adapters/api-keys.js';
import { CallEventPurgeError, type CallEventPurge } from '../adapters/call-event-purge.js';
import { maskPhoneNumbers } from '../domain/phone-mask.js';
import { audit, errorSchema, invalidSchema, issuesOf, type Issue } from './admin-resource.js';
import { adminResourceAuth } from './api-key-auth.js';
import { describeRoute } from './route-docs.js';

export interface DataSubjectsApiOptions {
  apiKeys: ApiKeyStore;
  prisma: PrismaClient;
  /**
   * Purges erased calls' events from the CALLS stream. Without it (tests of other routes) the
   * erasure answers `streamPurge.status: 'not_configured'`; the gateway always passes one.
   */
  callEventPurge?: CallEventPurge;
}

const TAGS = ['Data subjects'];
const ADMIN_ONLY = ['admin'] as const;
const BODY_LIMIT = 1024;
/** Call statuses of a call that may still produce events. */
const LIVE_STATUSES = ['queued', 'initiated', 'ringing', 'in_progress'] as const;
/**
 * Longer than any call lasts: a call's events are published from its start (`createdAt`) to
 * its end, so one started longer ago than the stream's max age plus this has none left there.
 */
const CALL_SPAN_MS = 24 * 60 * 60 * 1000;

const phoneParamsSchema = z.object({
  phone: z
    .string()
    .max(64, 'phone is too long to be a phone number')
    .describe('the number, URL-encoded (%2B14155550100)')
    .transform((raw, ctx) => {
      const e164 = raw.trim().replace(/[\s\-.()/]/g, '');
      if (/^\+[1-9]\d{6,14}$/.test(e164)) return e164;
      ctx.addIssue({
        code: 'custom',
        message:
          'phone must be an E.164 number: + and the country code, then 6 to 14 digits ' +
          '(+14155550100), URL-encoded in the path (%2B14155550100)',
      });
      return z.NEVER;
    }),
});

const eraseBodySchema = z
  .strictObject({
    removeDoNotCall: z
      .boolean()
      .default(false)
      .describe('also remove the number from the do-not-call list (default: keep it listed)'),
  })
  .default({ removeDoNotCall: false });

const exportSchema = z.object({
  phone: z.string(),
  exportedAt: z.string(),
  calls: z.array(z.record(z.string(), z.unknown())).describe('with events, transcript, tools'),
  consentRecords: z.array(z.record(z.string(), z.unknown())),
  doNotCall: z.record(z.string(), z.unknown()).nullable(),
  campaignContacts: z.array(z.record(z.string(), z.unknown())),
  callRequests: z.array(z.record(z.string(), z.unknown())),
});

const streamPurgeSchema = z.object({
  status: z
    .enum(['purged', 'pending', 'not_configured'])
    .describe('pending: the stream could not be reached; erase the number again to retry'),
  calls: z.number().describe('calls whose events were purged (or are still to be)'),
  messages: z.number().describe('stream messages removed'),
  retry: z.string().optional().describe('when pending: why, and what to do'),
});

const erasedSchema = z.object({
  phone: z.string().describe('the masked number'),
  erased: z.record(z.string(), z.number()),
  doNotCall: z.enum(['kept', 'removed', 'not_listed']),
  streamPurged: z.boolean().describe("the calls' events are gone from the CALLS stream too"),
  streamPurge: streamPurgeSchema,
});

type StreamPurge = z.infer<typeof streamPurgeSchema>;

/** Every record about `phone`, as the export answers it. */
async function collect(prisma: PrismaClient, phone: string) {
  const [calls, consentRecords, doNotCall, campaignContacts, callRequests] = await Promise.all([
    prisma.call.findMany({
      where: { OR: [{ fromNumber: phone }, { toNumber: phone }] },
      orderBy: { createdAt: 'asc' },
      include: {
        events: { orderBy: { ts: 'asc' } },
        transcriptTurns: { orderBy: { sequence: 'asc' } },
        toolInvocations: { orderBy: { startedAt: 'asc' } },
        handoffs: { orderBy: { requestedAt: 'asc' } },
      },
    }),
    prisma.consentRecord.findMany({ where: { phone }, orderBy: { grantedAt: 'asc' } }),
    prisma.doNotCallEntry.findUnique({ where: { phone } }),
    prisma.campaignContact.findMany({ where: { phone }, orderBy: { createdAt: 'asc' } }),
    prisma.callRequest.findMany({ where: { toNumber: phone }, orderBy: { createdAt: 'asc' } }),
  ]);
  return { calls, consentRecords, doNotCall, campaignContacts, callRequests };
}

/**
 * Purges the CALLS stream of every call with the masked number that may still have events
 * there (see the module comment). A NATS failure does not throw: the answer says it is pending.
 */
async function purgeStream(
  prisma: PrismaClient,
  purge: CallEventPurge | undefined,
  masked: string,
  log: FastifyBaseLogger,
): Promise<StreamPurge> {
  if (purge === undefined) return { status: 'not_configured', calls: 0, messages: 0 };
  const since = new Date(Date.now() - purge.maxAgeMs - CALL_SPAN_MS);
  const callIds = (
    await prisma.call.findMany({
      where: { OR: [{ fromNumber: masked }, { toNumber: masked }], createdAt: { gte: since } },
      select: { id: true },
    })
  ).map((c) => c.id);
  try {
    return { status: 'purged', calls: callIds.length, messages: await purge.purge(callIds) };
  } catch (err) {
    if (!(err instanceof CallEventPurgeError)) throw err;
    log.warn({ err, calls: callIds.length }, 'call events not purged from the stream');
    return {
      status: 'pending',
      calls: callIds.length,
      messages: err.purged,
      retry:
        `${err.message}. The database erasure is done; erase this number again to purge ` +
        'the stream (before that, its copies expire with the stream’s max age).',
    };
  }
}

export async function dataSubjectsApiRoutes(
  app: FastifyInstance,
  opts: DataSubjectsApiOptions,
): Promise<void> {
  const { prisma } = opts;
  const actor = adminResourceAuth(app, {
    apiKeys: opts.apiKeys,
    rolesFor: () => ADMIN_ONLY,
    actionFor: () => "export or erase a caller's data",
    failureLog: 'data subject request failed',
  });

  const invalid = (reply: FastifyReply, issues: Issue[]) =>
    reply.code(400).send({ error: 'invalid data subject request', issues });

  app.get(
    '/v1/data-subjects/:phone/export',
    {
      ...describeRoute({
        tags: TAGS,
        summary: 'Export every record about a phone number (admins only)',
        description:
          'Calls where the number is the caller or the callee, with their events, transcript, ' +
          'tool invocations and handoffs; consent records; the do-not-call entry; campaign ' +
          'contacts and call requests. Audited (`data_subject.export`, masked number, counts).',
        params: phoneParamsSchema,
        response: { 200: exportSchema, 400: invalidSchema, 403: errorSchema },
      }),
      // A HEAD would read the whole export and audit it.
      exposeHeadRoute: false,
    },
    async (request, reply) => {
      const params = phoneParamsSchema.safeParse(request.params);
      if (!params.success) return invalid(reply, issuesOf(params.error));
      const { phone } = params.data;
      const data = await collect(prisma, phone);
      await audit(prisma, {
        actor: actor(request),
        action: 'data_subject.export',
        resourceType: 'data_subject',
        resourceId: maskPhoneNumbers(phone),
        before: null,
        after: {
          calls: data.calls.length,
          consentRecords: data.consentRecords.length,
          doNotCall: data.doNotCall !== null,
          campaignContacts: data.campaignContacts.length,
          callRequests: data.callRequests.length,
        },
      });
      request.log.info({ calls: data.calls.length }, 'data subject exported');
      return reply
        .header('cache-control', 'no-store')
        .send({ phone, exportedAt: new Date().toISOString(), ...data });
    },
  );

  app.post(
    '/v1/data-subjects/:phone/erase',
    {
      bodyLimit: BODY_LIMIT,
      ...describeRoute({
        tags: TAGS,
        summary: "Erase a phone number's personal data (admins only)",
        description:
          'Deletes the transcripts, events and tool invocations of every call with the number, ' +
          'masks the number on the call records (`+14***00`) and call requests, deletes consent ' +
          'records and campaign contacts. The do-not-call entry is kept unless ' +
          "`removeDoNotCall` is true. Then purges the calls' events from the CALLS stream; " +
          'when NATS cannot be reached the answer has `streamPurged: false` and ' +
          '`streamPurge.status: pending`: erase the number again to retry. 409 while a call ' +
          'with the number is live or being dialled, or for a number of this platform. ' +
          'Audited with the masked number and counts only.',
        params: phoneParamsSchema,
        body: eraseBodySchema,
        response: { 200: erasedSchema, 400: invalidSchema, 403: errorSchema, 409: errorSchema },
      }),
    },
    async (request, reply) => {
      const params = phoneParamsSchema.safeParse(request.params);
      const body = eraseBodySchema.safeParse(request.body ?? undefined);
      if (!params.success || !body.success) {
        return invalid(reply, [
          ...(params.success ? [] : issuesOf(params.error)),
          ...(body.success ? [] : issuesOf(body.error)),
        ]);
      }
      const { phone } = params.data;
      const masked = maskPhoneNumbers(phone);
      const outcome = await prisma.$transaction(
        async (tx) => {
          if ((await tx.phoneNumber.count({ where: { e164: phone } })) > 0) {
            return { conflict: 'this is one of the platform’s own numbers, not a caller’s' };
          }
          const live = await tx.call.count({
            where: {
              OR: [{ fromNumber: phone }, { toNumber: phone }],
              endedAt: null,
              status: { in: [...LIVE_STATUSES] },
            },
          });
          const dialing = await tx.callRequest.count({
            where: { toNumber: phone, status: { in: ['dialing', 'dialed'] } },
          });
          if (live + dialing > 0) {
            return { conflict: 'a call with this number is in progress: erase it once it ended' };
          }
          const callIds = (
            await tx.call.findMany({
              where: { OR: [{ fromNumber: phone }, { toNumber: phone }] },
              select: { id: true },
            })
          ).map((c) => c.id);
          const ofCalls = { callId: { in: callIds } };
          const erased = {
            callEvents: (await tx.callEvent.deleteMany({ where: ofCalls })).count,
            transcriptTurns: (await tx.transcriptTurn.deleteMany({ where: ofCalls })).count,
            toolInvocations: (await tx.toolInvocation.deleteMany({ where: ofCalls })).count,
            handoffs: (
              await tx.handoff.updateMany({
                where: ofCalls,
                data: { reason: 'erased on request', summary: null },
              })
            ).count,
            calls: callIds.length,
            consentRecords: (await tx.consentRecord.deleteMany({ where: { phone } })).count,
            campaignContacts: (await tx.campaignContact.deleteMany({ where: { phone } })).count,
            callRequests: 0,
          };
          await tx.call.updateMany({
            where: { fromNumber: phone },
            data: { fromNumber: masked, variables: Prisma.DbNull },
          });
          await tx.call.updateMany({
            where: { toNumber: phone },
            data: { toNumber: masked, variables: Prisma.DbNull },
          });
          // A pending request would otherwise dial the masked number.
          await tx.callRequest.updateMany({
            where: { toNumber: phone, status: 'pending' },
            data: { status: 'canceled', error: 'erased on request', finishedAt: new Date() },
          });
          erased.callRequests = (
            await tx.callRequest.updateMany({
              where: { toNumber: phone },
              data: { toNumber: masked, variables: {}, metadata: {} },
            })
          ).count;
          const listed = (await tx.doNotCallEntry.count({ where: { phone } })) > 0;
          if (listed && body.data.removeDoNotCall) {
            await tx.doNotCallEntry.deleteMany({ where: { phone } });
          }
          const doNotCall = !listed ? 'not_listed' : body.data.removeDoNotCall ? 'removed' : 'kept';
          await audit(tx, {
            actor: actor(request),
            action: 'data_subject.erase',
            resourceType: 'data_subject',
            resourceId: masked,
            before: null,
            after: { erased, doNotCall },
          });
          return { result: { phone: masked, erased, doNotCall } as const };
        },
        // Many calls make many rows: more than the default 5 s for one subject is possible.
        { timeout: 60_000, maxWait: 10_000 },
      );
      if ('conflict' in outcome) return reply.code(409).send({ error: outcome.conflict });
      // After the commit: the database erasure stands whatever NATS does.
      const streamPurge = await purgeStream(prisma, opts.callEventPurge, masked, request.log);
      if (streamPurge.calls > 0) {
        const { status, calls, messages } = streamPurge;
        await audit(prisma, {
          actor: actor(request),
          action: 'data_subject.stream_purge',
          resourceType: 'data_subject',
          resourceId: masked,
          before: null,
          after: { status, calls, messages },
        });
      }
      request.log.info(
        { erased: outcome.result.erased, streamPurge: streamPurge.status },
        'data subject erased',
      );
      return reply.send({
        ...outcome.result,
        streamPurged: streamPurge.status === 'purged',
        streamPurge,
      });
    },
  );
}
