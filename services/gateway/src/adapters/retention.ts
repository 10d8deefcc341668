/**
 * Data retention (issue 10): per-data-type ages after which the job deletes or anonymises what
 * is older, in batches, and audits the run (`audit_logs` actor `system:retention`).
 *
 * Policies (days; 0 = kept forever), an age counted from the call's start unless said:
 * - transcripts: `transcript_turns` and `tool_invocations` (the model's arguments and results
 *   are what the caller said) deleted; `handoffs.summary` cleared.
 * - callEvents: `call_events` deleted, by the event's own `ts`. Events hold the call's numbers
 *   (the `created` event's from/to), so this age may not exceed the phone numbers' one.
 * - phoneNumbers: the other party's number on `calls` (the caller of an inbound call, the
 *   callee of an outbound one; our own number stays) masked (`+14***00`, see
 *   `domain/phone-mask.ts`) and the call's `variables` cleared; on `call_requests` finished
 *   that long ago, `to_number` masked and `variables`/`metadata` emptied. A value that is not a
 *   number (`anonymous`, a rejected request's raw input) becomes `redacted`.
 * - recordings: the schema stores none (Twilio recording is not enabled by this platform), so
 *   there is no policy to apply.
 *
 * Policies are environment variables, not a table: they are deployment decisions reviewed with
 * the manifests (a ConfigMap), need no UI, and each run's audit row records the ones it applied,
 * so a change is still visible in the audit trail.
 *
 * Kept on purpose: `do_not_call_entries` (deleting one would make the number callable again),
 * `consent_records` (the proof a call was allowed), `campaign_contacts` (a campaign's list,
 * removed with its campaign), and `audit_logs` (append-only; it holds no full number).
 *
 * Each batch is one short statement (`LIMIT` rows), so no long transaction holds locks on the
 * tables the call path writes; a run interrupted half-way resumes where it stopped next time.
 *
 * Outside the database: the CALLS JetStream stream keeps every call event 7 days (its max age,
 * `@app/contracts`), so with a policy shorter than that, copies remain there until they expire.
 */
import { z } from 'zod';

import { Prisma, type PrismaClient } from '@app/db';
import { intEnv } from '@app/platform';

const DAY_MS = 86_400_000;

/** The actor of every retention audit row. */
export const RETENTION_ACTOR = 'system:retention';

/** A whole E.164 number (a value the retention masks rather than redacts). */
const E164 = '^\\+[1-9][0-9]{6,14}$';
/** A value already anonymised: a masked number, or `redacted`. */
const DONE = '^(\\+[1-9][0-9]\\*\\*\\*[0-9]{2}|redacted)$';

/** Environment of the retention job (`pnpm retention:run`, the `retention` CronJob). */
export const retentionEnvSchema = z
  .object({
    DATABASE_URL: z
      .string({ error: 'DATABASE_URL is required (postgresql://…)' })
      .min(1, 'DATABASE_URL is required (postgresql://…)'),
    RETENTION_TRANSCRIPT_DAYS: intEnv({ min: 0, max: 36_500, default: 90 }),
    RETENTION_CALL_EVENT_DAYS: intEnv({ min: 0, max: 36_500, default: 30 }),
    RETENTION_PHONE_NUMBER_DAYS: intEnv({ min: 0, max: 36_500, default: 180 }),
    RETENTION_BATCH_SIZE: intEnv({ min: 1, max: 100_000, default: 1_000 }),
  })
  .superRefine((env, ctx) => {
    const events = env.RETENTION_CALL_EVENT_DAYS || Infinity;
    const numbers = env.RETENTION_PHONE_NUMBER_DAYS || Infinity;
    if (events > numbers) {
      ctx.addIssue({
        code: 'custom',
        path: ['RETENTION_CALL_EVENT_DAYS'],
        message:
          'call events hold the call numbers: keep them no longer than RETENTION_PHONE_NUMBER_DAYS',
      });
    }
  });

export type RetentionEnv = z.infer<typeof retentionEnvSchema>;

/** Days each data type is kept; 0 = forever. */
export interface RetentionPolicies {
  transcriptDays: number;
  callEventDays: number;
  phoneNumberDays: number;
}

export const policiesOf = (env: RetentionEnv): RetentionPolicies => ({
  transcriptDays: env.RETENTION_TRANSCRIPT_DAYS,
  callEventDays: env.RETENTION_CALL_EVENT_DAYS,
  phoneNumberDays: env.RETENTION_PHONE_NUMBER_DAYS,
});

/** Rows deleted or anonymised by one run, per kind. */
export interface RetentionCounts {
  transcriptTurnsDeleted: number;
  toolInvocationsDeleted: number;
  handoffSummariesCleared: number;
  callEventsDeleted: number;
  callNumbersMasked: number;
  callRequestNumbersMasked: number;
}

export interface RetentionReport {
  policies: RetentionPolicies;
  /** Per policy, the instant before which data was removed; null = policy off. */
  cutoffs: Record<keyof RetentionPolicies, string | null>;
  counts: RetentionCounts;
}

export interface RunRetentionOptions {
  policies: RetentionPolicies;
  /** Rows per statement. @defaultValue 1000 */
  batchSize?: number;
  /** @defaultValue new Date() */
  now?: Date;
  log?: (message: string) => void;
}

type Batch = (cutoff: Date, limit: number) => Promise<number>;

/** Runs `batch` until it touches fewer than `limit` rows; the rows it touched in all. */
async function drain(batch: Batch, cutoff: Date | null, limit: number): Promise<number> {
  if (cutoff === null) return 0;
  let total = 0;
  for (;;) {
    const n = await batch(cutoff, limit);
    total += n;
    if (n < limit) return total;
  }
}

/** One batch of each step. Every statement re-selects by age, so a batch never repeats work. */
function steps(prisma: PrismaClient) {
  return {
    transcriptTurns: (cutoff: Date, limit: number) => prisma.$executeRaw`
      DELETE FROM transcript_turns WHERE id IN (
        SELECT t.id FROM transcript_turns t JOIN calls c ON c.id = t.call_id
        WHERE c.created_at < ${cutoff} LIMIT ${limit})`,
    toolInvocations: (cutoff: Date, limit: number) => prisma.$executeRaw`
      DELETE FROM tool_invocations WHERE id IN (
        SELECT i.id FROM tool_invocations i JOIN calls c ON c.id = i.call_id
        WHERE c.created_at < ${cutoff} LIMIT ${limit})`,
    handoffSummaries: (cutoff: Date, limit: number) => prisma.$executeRaw`
      UPDATE handoffs SET summary = NULL WHERE id IN (
        SELECT h.id FROM handoffs h JOIN calls c ON c.id = h.call_id
        WHERE c.created_at < ${cutoff} AND h.summary IS NOT NULL LIMIT ${limit})`,
    callEvents: (cutoff: Date, limit: number) => prisma.$executeRaw`
      DELETE FROM call_events WHERE id IN (
        SELECT id FROM call_events WHERE ts < ${cutoff} LIMIT ${limit})`,
    // The other party only: an inbound call's caller, an outbound call's callee.
    callNumbers: (cutoff: Date, limit: number) => prisma.$executeRaw`
      UPDATE calls SET
        from_number = CASE WHEN direction = 'inbound' THEN
          CASE WHEN from_number ~ ${E164} THEN mask_phone_numbers(from_number) ELSE 'redacted' END
          ELSE from_number END,
        to_number = CASE WHEN direction = 'outbound' THEN
          CASE WHEN to_number ~ ${E164} THEN mask_phone_numbers(to_number) ELSE 'redacted' END
          ELSE to_number END,
        variables = NULL
      WHERE id IN (
        SELECT id FROM calls WHERE created_at < ${cutoff}
          AND CASE WHEN direction = 'inbound' THEN from_number ELSE to_number END !~ ${DONE}
        LIMIT ${limit})`,
    callRequestNumbers: (cutoff: Date, limit: number) => prisma.$executeRaw`
      UPDATE call_requests SET
        to_number = CASE WHEN to_number ~ ${E164} THEN mask_phone_numbers(to_number)
          ELSE 'redacted' END,
        variables = '{}', metadata = '{}'
      WHERE id IN (
        SELECT id FROM call_requests WHERE finished_at < ${cutoff} AND to_number !~ ${DONE}
        LIMIT ${limit})`,
  };
}

/**
 * Applies `policies` to the database once and writes the run's audit row (also when a step
 * failed: the row then says how far it got and why, and the error is rethrown).
 */
export async function runRetention(
  prisma: PrismaClient,
  opts: RunRetentionOptions,
): Promise<RetentionReport> {
  const { policies } = opts;
  const now = opts.now ?? new Date();
  const limit = opts.batchSize ?? 1_000;
  const cutoff = (days: number) => (days > 0 ? new Date(now.getTime() - days * DAY_MS) : null);
  const transcripts = cutoff(policies.transcriptDays);
  const events = cutoff(policies.callEventDays);
  const numbers = cutoff(policies.phoneNumberDays);
  const report: RetentionReport = {
    policies,
    cutoffs: {
      transcriptDays: transcripts?.toISOString() ?? null,
      callEventDays: events?.toISOString() ?? null,
      phoneNumberDays: numbers?.toISOString() ?? null,
    },
    counts: {
      transcriptTurnsDeleted: 0,
      toolInvocationsDeleted: 0,
      handoffSummariesCleared: 0,
      callEventsDeleted: 0,
      callNumbersMasked: 0,
      callRequestNumbersMasked: 0,
    },
  };
  const step = steps(prisma);
  const { counts } = report;
  let failure: unknown;
  try {
    counts.transcriptTurnsDeleted = await drain(step.transcriptTurns, transcripts, limit);
    counts.toolInvocationsDeleted = await drain(step.toolInvocations, transcripts, limit);
    counts.handoffSummariesCleared = await drain(step.handoffSummaries, transcripts, limit);
    counts.callEventsDeleted = await drain(step.callEvents, events, limit);
    counts.callNumbersMasked = await drain(step.callNumbers, numbers, limit);
    counts.callRequestNumbersMasked = await drain(step.callRequestNumbers, numbers, limit);
  } catch (error) {
    failure = error;
  }
  await prisma.auditLog.create({
    data: {
      actor: RETENTION_ACTOR,
      action: 'retention.run',
      resourceType: 'retention',
      before: Prisma.JsonNull,
      after: {
        ...report,
        at: now.toISOString(),
        ...(failure === undefined ? {} : { error: String(failure) }),
      } as unknown as Prisma.InputJsonValue,
    },
    select: { id: true },
  });
  opts.log?.(`retention ${failure === undefined ? 'done' : 'failed'}: ${JSON.stringify(counts)}`);
  if (failure !== undefined) throw failure;
  return report;
}
