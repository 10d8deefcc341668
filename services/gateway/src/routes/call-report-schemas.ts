/**
 * The zod schemas of the call reports (`/v1/calls` reads, the CSV export, `/v1/stats`): the
 * handlers validate with them and `describeRoute` documents them, so the two cannot differ.
 * Query strings arrive as strings, so each field is a string checked and then converted.
 */
import { z } from 'zod';

import { CallDirection, CallStatus } from '@app/db';

import { decodeCursor, isUuid, type CallFilters } from '../adapters/call-reports.js';

/** One refusal, naming the query field: the shape of every /v1 400. */
export interface QueryIssue {
  field: string;
  code: string;
  message: string;
}

export function issuesOf(error: z.ZodError): QueryIssue[] {
  return error.issues.map((i) => ({
    field: i.path.map(String).join('.') || '(query)',
    code: 'invalid_field',
    message: i.message,
  }));
}

/**
 * A date (`2026-03-01`, midnight UTC) or a date-time with its offset (`2026-03-01T09:30:00Z`,
 * `…+02:00`). A date-time without an offset is refused: it would mean the server's zone.
 */
export const isoInstant = (field: string) =>
  z
    .union([z.iso.date(), z.iso.datetime({ offset: true })], {
      error: `${field} is an ISO 8601 date (2026-03-01) or date-time with offset (2026-03-01T09:30:00Z)`,
    })
    .transform((s) => new Date(s))
    .refine((d) => !Number.isNaN(d.getTime()), `${field} is not a real date`);

const uuid = (field: string) => z.string().refine(isUuid, `${field} is a UUID`);

/** The range and the agent and campaign: shared by the list, the export and the stats. */
export const rangeFields = {
  from: isoInstant('from').optional().describe('createdAt on or after this instant'),
  to: isoInstant('to').optional().describe('createdAt before this instant'),
  agentId: uuid('agentId').optional(),
  campaignId: uuid('campaignId').optional(),
};

/** `to` after `from`, reported on `to`. */
export function rangeInOrder(q: { from?: Date; to?: Date }, ctx: z.RefinementCtx): void {
  if (q.from && q.to && q.to.getTime() <= q.from.getTime()) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'to must be after from' });
  }
}

const filterFields = {
  ...rangeFields,
  direction: z.enum(CallDirection).optional(),
  status: z.enum(CallStatus).optional(),
  endReason: z.string().trim().min(1).max(64).optional().describe('exact end reason'),
  q: z
    .string()
    // Spaces, dashes, dots and brackets are how people write numbers; E.164 keeps none of them.
    .transform((s) => s.replace(/[\s().-]/g, ''))
    .pipe(
      z
        .string()
        .regex(/^\+?\d{1,16}$/, 'q is part of a phone number: digits, with an optional leading +'),
    )
    .optional()
    .describe('a part of the from or to number'),
};

/** The export's query: the filters alone. Unknown keys are ignored (cache busters). */
export const callFilterQuerySchema = z
  .object(filterFields)
  .superRefine(rangeInOrder) satisfies z.ZodType<CallFilters, unknown>;

/** The list's query: the filters, a page size and the cursor of the previous page. */
export const callListQuerySchema = z
  .object({
    ...filterFields,
    limit: z
      .string()
      .regex(/^\d+$/, 'limit is a whole number from 1 to 200')
      .transform(Number)
      .pipe(z.number().min(1, 'limit is at least 1').max(200, 'limit is at most 200'))
      .optional()
      .describe('page size, 1 to 200 (default 50)'),
    cursor: z
      .string()
      .transform((s, ctx) => {
        const cursor = decodeCursor(s);
        if (cursor === null) {
          ctx.addIssue({ code: 'custom', message: 'cursor is a nextCursor of this API' });
          return z.NEVER;
        }
        return cursor;
      })
      .optional()
      .describe('nextCursor of the previous page'),
  })
  .superRefine(rangeInOrder);

export const callIdParamsSchema = z.object({ id: z.string() });

const nullableString = z.string().nullable();
const instant = z.string().describe('ISO 8601, UTC');

export const callSummarySchema = z.object({
  id: z.string(),
  direction: z.enum(CallDirection),
  transport: nullableString,
  fromNumber: z.string(),
  toNumber: z.string(),
  status: z.enum(CallStatus),
  endReason: nullableString,
  agentId: nullableString,
  agentName: nullableString,
  campaignId: nullableString,
  campaignName: nullableString,
  createdAt: instant,
  answeredAt: instant.nullable(),
  endedAt: instant.nullable(),
  durationMs: z.number().int().nullable(),
  setupMs: z.number().int().nullable(),
});

export const callListSchema = z.object({
  items: z.array(callSummarySchema),
  nextCursor: nullableString,
});

export const callDetailSchema = callSummarySchema.extend({
  events: z.array(z.object({ id: z.string(), type: z.string(), ts: instant, data: z.unknown() })),
  transcript: z.array(
    z.object({
      role: z.string(),
      text: z.string(),
      startedAt: instant.nullable(),
      sequence: z.number().int(),
    }),
  ),
  toolInvocations: z.array(
    z.object({
      id: z.string(),
      invocationId: z.string(),
      name: z.string(),
      args: z.unknown(),
      result: z.unknown(),
      error: nullableString,
      latencyMs: z.number().int().nullable(),
      startedAt: instant,
      finishedAt: instant.nullable(),
    }),
  ),
  handoffs: z.array(
    z.object({
      id: z.string(),
      reason: z.string(),
      summary: nullableString,
      trigger: z.string(),
      skill: nullableString,
      mode: z.string(),
      status: z.string(),
      humanAgentId: nullableString,
      humanAgentName: nullableString,
      target: nullableString,
      failureReason: nullableString,
      requestedAt: instant,
      connectedAt: instant.nullable(),
      endedAt: instant.nullable(),
    }),
  ),
});

export const errorSchema = z.object({
  error: z.string(),
  issues: z
    .array(z.object({ field: z.string(), code: z.string(), message: z.string() }))
    .optional(),
});
