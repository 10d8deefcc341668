/**
 * The body of `POST /v1/campaigns` and `PATCH /v1/campaigns/:id`, read field by field. Pure: what
 * needs the database (the agent exists, the numbers are ours) is checked by the route.
 */
import { z } from 'zod';

import {
  parsePhone,
  retryPolicySchema,
  type RetryPolicyInput,
  type ValidationIssue,
} from '@app/dialing';

/** A local-time window in which calls may start (`days`: 1 = Monday … 7 = Sunday, ISO 8601). */
export interface CallingWindow {
  days: number[];
  /** `HH:MM`, 24-hour, inclusive. */
  start: string;
  /** `HH:MM`, 24-hour, exclusive; after `start` (a window does not cross midnight). */
  end: string;
}

/**
 * `{ maxAttempts?, backoffMs?, backoffMultiplier?, retryOn? }` (`@app/dialing`'s schema, the one
 * the dialer reads); the dialer's DIAL_* defaults fill what is absent.
 */
export type RetryPolicy = RetryPolicyInput;

/**
 * The fields of a campaign as the API takes them, validated. A create leaves out what was not
 * sent, and the columns' defaults apply (no from-numbers, no schedule, no windows, UTC, 1 live
 * call, 10 calls a minute, the runner's retry policy).
 */
export interface CampaignFields {
  name: string;
  agentId: string;
  /** E.164; empty: the agent's own numbers. */
  fromNumbers: string[];
  startAt: Date | null;
  endAt: Date | null;
  callingWindows: CallingWindow[];
  timezone: string;
  maxConcurrentCalls: number;
  callsPerMinute: number;
  retryPolicy: RetryPolicy;
  /** Consent purpose every contact needs in force (`consent_records`); null = none. */
  consentPurpose: string | null;
  /** Number pool to call from when `fromNumbers` is empty; null = the agent's own number. */
  fromPool: string | null;
}

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;

/** A consent purpose or pool name: a short label, safe in messages and logs. */
const LABEL = /^[A-Za-z0-9._:-]{1,64}$/;
const POOL = /^[A-Za-z0-9._-]{1,64}$/;

const windowSchema = z.strictObject({
  days: z
    .array(
      z
        .number()
        .int()
        .min(1, 'days are 1 (Monday) to 7 (Sunday)')
        .max(7, 'days are 1 (Monday) to 7 (Sunday)'),
    )
    .min(1, 'a window needs at least one day'),
  start: z.string().regex(HH_MM, 'start must be HH:MM (00:00 to 23:59)'),
  end: z.string().regex(HH_MM, 'end must be HH:MM (00:00 to 23:59)'),
});

const instant = z
  .string()
  .max(64)
  .refine(
    (s) => !Number.isNaN(Date.parse(s)),
    'must be an ISO 8601 time, e.g. 2026-12-01T09:00:00Z',
  )
  .nullable();

/** The body's fields and types (the route's OpenAPI description documents it too). */
export const campaignBodySchema = z.strictObject({
  name: z.string().trim().min(1, 'name is required').max(200),
  agentId: z.string().max(64),
  fromNumbers: z.array(z.string().max(64)).max(100).optional(),
  startAt: instant.optional(),
  endAt: instant.optional(),
  callingWindows: z.array(windowSchema).max(50).optional(),
  timezone: z.string().max(64).optional(),
  maxConcurrentCalls: z.number().int().min(1).max(1_000).optional(),
  callsPerMinute: z.number().int().min(1).max(6_000).optional(),
  retryPolicy: retryPolicySchema.optional(),
  consentPurpose: z
    .string()
    .regex(
      LABEL,
      'a purpose is 1 to 64 letters, digits, ".", "_", ":" or "-", e.g. marketing_calls',
    )
    .nullable()
    .optional(),
  fromPool: z
    .string()
    .regex(POOL, 'a pool name is 1 to 64 letters, digits, ".", "_" or "-"')
    .nullable()
    .optional(),
});
type Body = z.output<typeof campaignBodySchema>;

const issue = (field: string, message: string): ValidationIssue => ({
  field,
  code: 'invalid_field',
  message,
});

/** Whether `zone` is an IANA zone this runtime knows (`Intl` throws a RangeError otherwise). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.trim() !== '';
  } catch {
    return false;
  }
}

/**
 * Reads a create body (`partial: false`) or an update body (`partial: true`, only the fields
 * sent). Every issue is reported at once, each naming its field (`callingWindows.0.start`).
 */
export function readCampaignBody(
  body: unknown,
  partial: boolean,
): { ok: true; fields: Partial<CampaignFields> } | { ok: false; issues: ValidationIssue[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, issues: [issue('body', 'the body must be a JSON object')] };
  }
  const raw = body as Record<string, unknown>;
  const schema = partial ? campaignBodySchema.partial() : campaignBodySchema;
  const parsed = schema.safeParse(raw);
  const issues: ValidationIssue[] = [];
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      if (i.code === 'unrecognized_keys') {
        for (const key of i.keys) issues.push(issue(key, `${key} is not a field of a campaign`));
        continue;
      }
      const field = i.path.map(String).join('.') || 'body';
      const missing = i.path.length === 1 && raw[field] === undefined;
      issues.push(issue(field, missing ? `${field} is required` : `${field}: ${i.message}`));
    }
    return { ok: false, issues };
  }
  const data = parsed.data as Partial<Body>;
  const fields: Partial<CampaignFields> = {};
  if (data.name !== undefined) fields.name = data.name;
  if (data.agentId !== undefined) fields.agentId = data.agentId;
  if (data.fromNumbers !== undefined) {
    const numbers: string[] = [];
    data.fromNumbers.forEach((raw, i) => {
      const phone = parsePhone(`fromNumbers.${i}`, raw);
      if (phone.ok) numbers.push(phone.e164);
      else issues.push(phone.issue);
    });
    fields.fromNumbers = [...new Set(numbers)];
  }
  if (data.startAt !== undefined)
    fields.startAt = data.startAt === null ? null : new Date(data.startAt);
  if (data.endAt !== undefined) fields.endAt = data.endAt === null ? null : new Date(data.endAt);
  if (data.callingWindows !== undefined) {
    data.callingWindows.forEach((w, i) => {
      if (w.start >= w.end) {
        issues.push(
          issue(
            `callingWindows.${i}`,
            `callingWindows.${i}: start must be before end (HH:MM, same day)`,
          ),
        );
      }
    });
    fields.callingWindows = data.callingWindows.map((w) => ({
      days: [...new Set(w.days)].sort(),
      start: w.start,
      end: w.end,
    }));
  }
  if (data.timezone !== undefined) {
    if (isTimeZone(data.timezone)) fields.timezone = data.timezone;
    else issues.push(issue('timezone', 'timezone must be an IANA time zone, e.g. Europe/Paris'));
  }
  if (data.maxConcurrentCalls !== undefined) fields.maxConcurrentCalls = data.maxConcurrentCalls;
  if (data.callsPerMinute !== undefined) fields.callsPerMinute = data.callsPerMinute;
  if (data.retryPolicy !== undefined) fields.retryPolicy = data.retryPolicy;
  if (data.consentPurpose !== undefined) fields.consentPurpose = data.consentPurpose;
  if (data.fromPool !== undefined) fields.fromPool = data.fromPool;
  return issues.length > 0 ? { ok: false, issues } : { ok: true, fields };
}

/** Cross-field rule over the campaign as it will be stored (the update merged in). */
export function scheduleIssues(
  campaign: Pick<CampaignFields, 'startAt' | 'endAt'>,
): ValidationIssue[] {
  if (campaign.startAt && campaign.endAt && campaign.startAt >= campaign.endAt) {
    return [issue('endAt', 'endAt must be after startAt')];
  }
  return [];
}

/**
 * Every cross-field rule over the campaign as it will be stored: the schedule, and one source of
 * caller ids (a list of numbers or a pool, not both: which would win is not obvious).
 */
export function campaignIssues(
  campaign: Pick<CampaignFields, 'startAt' | 'endAt' | 'fromNumbers' | 'fromPool'>,
): ValidationIssue[] {
  const issues = scheduleIssues(campaign);
  if (campaign.fromPool && campaign.fromNumbers.length > 0) {
    issues.push(
      issue(
        'fromPool',
        'give either fromNumbers or fromPool, not both (set the other to [] or null)',
      ),
    );
  }
  return issues;
}
