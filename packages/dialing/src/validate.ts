/**
 * Validation of a call request, shared by the REST API and the dialer so both refuse the same
 * requests with the same reasons. Every issue is collected, not just the first, so a caller can
 * fix a request in one round trip.
 */
import { isoTimestampSchema } from '@app/contracts';

import { parsePhone } from './phone.js';
import {
  MAX_RETRY_ATTEMPTS,
  readStoredRetryPolicy,
  type RetryPolicyInput,
} from './retry-policy.js';
import {
  ValidationCode,
  type CallRequestInput,
  type CampaignPolicy,
  type DialingDirectory,
  type OurNumber,
  type ValidationIssue,
  type ValidationResult,
} from './types.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Longest idempotency key, as in the `call-requests` schema of `@app/contracts`. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

/** Options of {@link validateCallRequest}. */
export interface ValidateCallRequestOptions {
  /**
   * How far ahead `scheduledAt` may be, in ms.
   * @defaultValue 30 days
   */
  maxScheduleAheadMs?: number;
}

/** Default of {@link ValidateCallRequestOptions.maxScheduleAheadMs}: 30 days. */
export const DEFAULT_MAX_SCHEDULE_AHEAD_MS = 30 * DAY_MS;

/** A pool name: letters, digits, `.`, `_`, `-` (it appears in messages and logs). */
const POOL_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** `campaigns.id` and `campaign_contacts.id` are uuid columns. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Validates a call request against the directory: both numbers parse to E.164, the agent exists,
 * the campaign (if named) exists, the caller id is ours or the pool has numbers (or the agent has
 * a number to call from), the callee is not on the do-not-call list and has the consent the
 * campaign (and `requireConsent`) names in force, the schedule time parses and is not too far
 * ahead, and the idempotency key is usable. A campaign's pool is used when the request names no
 * `from`; its retry policy, with the contact's `maxAttempts` over it, comes with the result.
 *
 * @param now - The current time; a `scheduledAt` before it means now. @defaultValue `new Date()`
 * @returns the normalised request, or every issue found (each names its field).
 * @throws RangeError when `maxScheduleAheadMs` is not a non-negative finite number; the
 *   directory's errors (database down) propagate, they are not the caller's fault.
 */
export async function validateCallRequest(
  input: CallRequestInput,
  dir: DialingDirectory,
  now: Date = new Date(),
  options: ValidateCallRequestOptions = {},
): Promise<ValidationResult> {
  const maxAheadMs = options.maxScheduleAheadMs ?? DEFAULT_MAX_SCHEDULE_AHEAD_MS;
  if (!Number.isFinite(maxAheadMs) || maxAheadMs < 0) {
    throw new RangeError(
      `maxScheduleAheadMs must be a non-negative number of ms, got ${maxAheadMs}`,
    );
  }
  const issues: ValidationIssue[] = [];
  const issue = (field: string, code: ValidationCode, message: string) =>
    issues.push({ field, code, message });

  const to = parsePhone('to', input.to);
  if (!to.ok) issues.push(to.issue);

  let from: { ok: true; e164: string } | { ok: false } | undefined;
  if (input.from !== undefined) {
    const parsed = parsePhone('from', input.from);
    if (!parsed.ok) issues.push(parsed.issue);
    from = parsed;
  }
  let askedPool: string | undefined;
  if (input.fromPool !== undefined) {
    if (input.from !== undefined) {
      issue('fromPool', ValidationCode.InvalidField, 'give either from or fromPool, not both');
    } else if (typeof input.fromPool !== 'string' || !POOL_NAME.test(input.fromPool)) {
      issue(
        'fromPool',
        ValidationCode.InvalidField,
        'fromPool must be a pool name: 1 to 64 letters, digits, ".", "_" or "-"',
      );
    } else {
      askedPool = input.fromPool;
    }
  }

  const agentId = typeof input.agentId === 'string' ? input.agentId.trim() : '';
  if (agentId === '') issue('agentId', ValidationCode.InvalidField, 'agentId is required');

  const scheduledAt = parseSchedule(input.scheduledAt, now, maxAheadMs, issues);
  checkIdempotencyKey(input.idempotencyKey, issues);
  const variables = checkVariables(input.variables, issues);
  const metadata = checkMetadata(input.metadata, issues);

  // The directory lookups in two rounds of parallel queries (the dialer's intake does this for
  // every campaign call, at the campaign's pace): first all that the request alone decides,
  // the campaign included; then what the campaign adds (its pool, its consent purpose).
  const noCallerGiven = input.from === undefined && input.fromPool === undefined;
  const campaignUuid =
    input.campaignId !== undefined && UUID.test(input.campaignId) ? input.campaignId : undefined;
  const ownPurpose =
    typeof input.requireConsent === 'string' && input.requireConsent !== ''
      ? input.requireConsent
      : undefined;
  const [agentKnown, fromNumber, agentNumbers, askedPoolNumbers, doNotCall, campaign, ownConsent] =
    await Promise.all([
      agentId === '' ? Promise.resolve(false) : dir.agentExists(agentId),
      from?.ok ? dir.ourNumber(from.e164) : Promise.resolve(null),
      // Possibly unused (a campaign with a pool): one indexed query, cheaper than a round.
      agentId !== '' && noCallerGiven ? dir.numbersOf(agentId) : Promise.resolve([]),
      askedPool ? dir.poolNumbers(askedPool) : Promise.resolve([]),
      to.ok ? dir.onDoNotCallList(to.e164) : Promise.resolve(false),
      campaignUuid
        ? dir.campaignPolicy(
            campaignUuid,
            input.contactId !== undefined && UUID.test(input.contactId)
              ? input.contactId
              : undefined,
          )
        : Promise.resolve(null),
      to.ok && ownPurpose ? dir.hasConsent(to.e164, ownPurpose) : Promise.resolve(true),
    ]);
  if (input.campaignId !== undefined && campaign === null) {
    issue('campaignId', ValidationCode.UnknownCampaign, 'no campaign with this campaignId');
  }
  const fromCampaignPool = noCallerGiven ? (campaign?.fromPool ?? undefined) : undefined;
  const pool = askedPool ?? fromCampaignPool;
  const campaignPurpose =
    campaign?.consentPurpose && campaign.consentPurpose !== ownPurpose
      ? campaign.consentPurpose
      : undefined;
  const [campaignPoolNumbers, campaignConsent] = await Promise.all([
    fromCampaignPool ? dir.poolNumbers(fromCampaignPool) : Promise.resolve([]),
    to.ok && campaignPurpose ? dir.hasConsent(to.e164, campaignPurpose) : Promise.resolve(true),
  ]);
  const poolNumbers: OurNumber[] = fromCampaignPool ? campaignPoolNumbers : askedPoolNumbers;
  const usesAgentNumber = agentId !== '' && noCallerGiven && !pool;
  const missingConsent = [
    ...(campaignConsent ? [] : [campaignPurpose]),
    ...(ownConsent ? [] : [ownPurpose]),
  ].filter((p): p is string => p !== undefined);

  if (doNotCall) issue('to', ValidationCode.DoNotCall, 'to is on the do-not-call list');
  for (const purpose of missingConsent) {
    issue(
      'to',
      ValidationCode.ConsentMissing,
      `to has no consent in force for purpose "${purpose}" (none recorded, or revoked)` +
        (purpose === campaign?.consentPurpose ? ', which the campaign requires' : ''),
    );
  }
  if (agentId !== '' && !agentKnown) {
    issue('agentId', ValidationCode.UnknownAgent, 'no agent with this agentId');
  }

  let caller: OurNumber | undefined;
  if (from?.ok) {
    if (fromNumber === null) {
      issue('from', ValidationCode.FromNotOurs, 'from is not one of our phone numbers');
    } else {
      caller = fromNumber;
    }
  } else if (pool) {
    caller = poolNumbers[0];
    if (caller === undefined) {
      issue(
        'fromPool',
        ValidationCode.UnknownPool,
        fromCampaignPool
          ? `the campaign's fromPool "${pool}" has no phone numbers: add numbers to it`
          : `fromPool "${pool}" has no phone numbers (unknown or empty pool)`,
      );
    }
  } else if (usesAgentNumber && agentKnown) {
    caller = agentNumbers[0];
    if (caller === undefined) {
      issue(
        'from',
        ValidationCode.NoFromNumber,
        'from is missing and the agent has no phone number to call from: give from',
      );
    }
  }

  if (issues.length > 0) return { ok: false, issues: byField(issues) };
  // Each of these has pushed an issue when it failed; this only narrows the types.
  if (!to.ok || caller === undefined || scheduledAt === undefined) {
    throw new Error('validateCallRequest: a failed check left no issue');
  }
  return {
    ok: true,
    request: {
      to: to.e164,
      from: pool ? null : caller.e164,
      fromPool: pool ?? null,
      agentId,
      transport: caller.transport,
      variables,
      scheduledAt,
      idempotencyKey: input.idempotencyKey,
      metadata,
      ...(input.campaignId === undefined ? {} : { campaignId: input.campaignId }),
      ...(input.contactId === undefined ? {} : { contactId: input.contactId }),
      retryPolicy: campaign ? effectiveRetryPolicy(campaign) : null,
    },
  };
}

/** The campaign's policy as stored, with the contact's `maxAttempts` over it. */
function effectiveRetryPolicy(campaign: CampaignPolicy): RetryPolicyInput {
  const policy = readStoredRetryPolicy(campaign.retryPolicy);
  const own = campaign.contactMaxAttempts;
  // A contact's value outside what a policy may ask for is clamped, not a reason to refuse.
  return own === null || !Number.isInteger(own)
    ? policy
    : { ...policy, maxAttempts: Math.min(Math.max(own, 1), MAX_RETRY_ATTEMPTS) };
}

/** Issues in the order of the request's fields; stable within one field. */
const FIELD_ORDER = [
  'to',
  'from',
  'fromPool',
  'agentId',
  'campaignId',
  'scheduledAt',
  'idempotencyKey',
];

function byField(issues: ValidationIssue[]): ValidationIssue[] {
  const rank = (field: string) => {
    const i = FIELD_ORDER.indexOf(field.split('.')[0] ?? field);
    return i === -1 ? FIELD_ORDER.length : i;
  };
  return [...issues].sort((a, b) => rank(a.field) - rank(b.field));
}

/** The dial time: `now` when absent or past; undefined (with an issue) when unusable. */
function parseSchedule(
  raw: string | undefined,
  now: Date,
  maxAheadMs: number,
  issues: ValidationIssue[],
): Date | undefined {
  if (raw === undefined) return new Date(now.getTime());
  if (typeof raw !== 'string' || !isoTimestampSchema.safeParse(raw).success) {
    issues.push({
      field: 'scheduledAt',
      code: ValidationCode.InvalidSchedule,
      message:
        'scheduledAt must be an ISO 8601 date and time with Z or an offset, ' +
        'e.g. 2030-01-31T09:30:00Z or 2030-01-31T09:30:00+01:00',
    });
    return undefined;
  }
  const at = new Date(raw);
  if (at.getTime() - now.getTime() > maxAheadMs) {
    const days = Math.round((maxAheadMs / DAY_MS) * 100) / 100;
    issues.push({
      field: 'scheduledAt',
      code: ValidationCode.InvalidSchedule,
      message: `scheduledAt may be at most ${days} days ahead`,
    });
    return undefined;
  }
  // A time in the past means as soon as possible.
  return at.getTime() < now.getTime() ? new Date(now.getTime()) : at;
}

function checkIdempotencyKey(key: unknown, issues: ValidationIssue[]): void {
  const problem =
    typeof key !== 'string' || key.trim() === ''
      ? 'idempotencyKey is required and must not be blank'
      : key.length > MAX_IDEMPOTENCY_KEY_LENGTH
        ? `idempotencyKey may have at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`
        : undefined;
  if (problem)
    issues.push({ field: 'idempotencyKey', code: ValidationCode.InvalidField, message: problem });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `variables` as given (a copy), or `{}`; issues for values that are not strings. */
function checkVariables(raw: unknown, issues: ValidationIssue[]): Record<string, string> {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) {
    issues.push({
      field: 'variables',
      code: ValidationCode.InvalidField,
      message: 'variables must be an object of string values',
    });
    return {};
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value === 'string') out[name] = value;
    else {
      issues.push({
        field: `variables.${name}`,
        code: ValidationCode.InvalidField,
        message: `variables.${name} must be a string`,
      });
    }
  }
  return out;
}

function checkMetadata(raw: unknown, issues: ValidationIssue[]): Record<string, unknown> {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) {
    issues.push({
      field: 'metadata',
      code: ValidationCode.InvalidField,
      message: 'metadata must be a JSON object',
    });
    return {};
  }
  return { ...raw };
}
