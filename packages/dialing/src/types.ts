/**
 * The shapes shared by everyone who takes call requests: the REST API (gateway) and the dialer
 * (campaign-scheduler). Types only.
 */
import type { RetryPolicyInput } from './retry-policy.js';

/** How a call is placed; the transport of the from-number (`phone_numbers.transport`). */
export type Transport = 'media-streams' | 'sip';

/** A call request as received, before validation (REST body or `call-requests.<origin>` data). */
export interface CallRequestInput {
  /** Number to dial, international format (`+` and country code); any common formatting. */
  to: string;
  /**
   * Caller id, one of our numbers; absent (and no pool): the campaign's pool, else the first of
   * the agent's own numbers.
   */
  from?: string;
  /** Number pool (`phone_numbers.pool`) the dialer picks each attempt's caller id from. */
  fromPool?: string;
  agentId: string;
  /** Values substituted into the agent's instructions (`{{name}}`). */
  variables?: Record<string, string>;
  /**
   * Earliest time to dial, ISO 8601 with `Z` or an offset. Absent or in the past: now.
   */
  scheduledAt?: string;
  /** The same key never dials twice. At most 256 characters, not blank. */
  idempotencyKey: string;
  /** Opaque caller data, kept with the call. */
  metadata?: Record<string, unknown>;
  /**
   * The campaign the call belongs to: its consent purpose, number pool and retry policy apply.
   * Must exist (`unknown_campaign`).
   */
  campaignId?: string;
  /** The campaign's contact: its `maxAttempts` overrides the campaign's. */
  contactId?: string;
  /** Consent purpose the call needs besides the campaign's (if any); absent: none. */
  requireConsent?: string;
}

/** The stable codes of a {@link ValidationIssue}. */
export const ValidationCode = {
  /** `to` or `from` is not an international phone number. */
  InvalidPhone: 'invalid_phone',
  /** No agent with this id. */
  UnknownAgent: 'unknown_agent',
  /** `from` is not one of our numbers (`phone_numbers`). */
  FromNotOurs: 'from_not_ours',
  /** No `from` given and the agent has no number of its own to call from. */
  NoFromNumber: 'no_from_number',
  /** `to` is on the do-not-call list. */
  DoNotCall: 'do_not_call',
  /**
   * `to` has no consent in force (none recorded, or revoked) for the purpose the request's
   * campaign requires; the message names the purpose.
   */
  ConsentMissing: 'consent_missing',
  /** `fromPool` (given, or the campaign's) has no numbers. */
  UnknownPool: 'unknown_pool',
  /** No campaign with this `campaignId`. */
  UnknownCampaign: 'unknown_campaign',
  /** `scheduledAt` does not parse or is too far ahead. */
  InvalidSchedule: 'invalid_schedule',
  /** Any other field with a wrong value (idempotency key, variables, `from` and `fromPool`). */
  InvalidField: 'invalid_field',
} as const;
export type ValidationCode = (typeof ValidationCode)[keyof typeof ValidationCode];

/** One reason a request is refused. */
export interface ValidationIssue {
  /** The request field at fault: `to`, `from`, `agentId`, `scheduledAt`, `variables.<name>`, ... */
  field: string;
  /** One of {@link ValidationCode}. */
  code: string;
  /** Says why, for people; may contain the field name but never the phone number. */
  message: string;
}

/** A request that passed validation: numbers in E.164, defaults filled in. */
export interface ValidCallRequest {
  /** E.164. */
  to: string;
  /**
   * E.164, one of our numbers: the given one, or the agent's first; null when the dialer picks
   * it from {@link ValidCallRequest.fromPool} at each attempt.
   */
  from: string | null;
  /**
   * The pool each attempt's caller id comes from (given, or the campaign's); null (or absent,
   * in a request built by hand) = `from`.
   */
  fromPool?: string | null;
  agentId: string;
  /**
   * Transport of `from` (of the pool's first number for a pool): decides how the call is placed.
   */
  transport: Transport;
  variables: Record<string, string>;
  /** When to dial; `now` when none was given or it is in the past. */
  scheduledAt: Date;
  idempotencyKey: string;
  metadata: Record<string, unknown>;
  campaignId?: string;
  contactId?: string;
  /**
   * The campaign's retry policy with the contact's `maxAttempts` over it; null (or absent, in a
   * request built by hand) when the request has no campaign: the dialer's DIAL_* defaults apply.
   */
  retryPolicy?: RetryPolicyInput | null;
}

export type ValidationResult =
  { ok: true; request: ValidCallRequest } | { ok: false; issues: ValidationIssue[] };

/** One of our numbers with its transport. */
export interface OurNumber {
  /** E.164. */
  e164: string;
  transport: Transport;
}

/** What validation needs to know of a request's campaign. */
export interface CampaignPolicy {
  /** Consent purpose each callee needs in force; null = none. */
  consentPurpose: string | null;
  /** Pool to call from when the request names no `from`; null = none. */
  fromPool: string | null;
  /** As stored (`campaigns.retry_policy`): read leniently by `readStoredRetryPolicy`. */
  retryPolicy: unknown;
  /** The contact's `max_attempts` (when the contact is the campaign's); null = the campaign's. */
  contactMaxAttempts: number | null;
}

/** What validation needs to know about agents, our numbers and the callee. */
export interface DialingDirectory {
  agentExists(agentId: string): Promise<boolean>;
  /** Our numbers (PhoneNumber rows) routed to this agent, with their transport. */
  numbersOf(agentId: string): Promise<OurNumber[]>;
  /** One of our numbers, with its transport; null when not ours. */
  ourNumber(e164: string): Promise<OurNumber | null>;
  onDoNotCallList(e164: string): Promise<boolean>;
  /** Whether a consent record for `purpose` is in force (not revoked). */
  hasConsent(e164: string, purpose: string): Promise<boolean>;
  /** The numbers of a pool, oldest first; empty when no number is in it. */
  poolNumbers(pool: string): Promise<OurNumber[]>;
  /** The campaign's policies (and its contact's, when `contactId` is one of its contacts). */
  campaignPolicy(campaignId: string, contactId?: string): Promise<CampaignPolicy | null>;
}
