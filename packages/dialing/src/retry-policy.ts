/**
 * A campaign's retry policy, as the REST API takes it (`campaigns.retry_policy`) and the dialer
 * applies it (`call_requests.retry_policy`): one schema, so what the API accepts is exactly what
 * the dialer understands. Every field is optional; an absent one is the dialer's DIAL_* default.
 */
import { z } from 'zod';

/**
 * The end reasons (`calls.<id>.ended` `reason`) a policy may retry on: the callee was not
 * reached, or the call broke on our side before a conversation. `completed`, `caller-hangup`,
 * `agent-hangup` and `transferred` reached someone; `canceled` was someone's decision.
 */
export const RETRYABLE_END_REASONS = [
  'busy',
  'no-answer',
  'failed',
  'rejected',
  'error',
  'provider-error',
  'bridge_lost',
] as const;
export type RetryableEndReason = (typeof RETRYABLE_END_REASONS)[number];

/** Most attempts a policy may ask for (the first included); DIAL_MAX_ATTEMPTS has the same cap. */
export const MAX_RETRY_ATTEMPTS = 20;
/** Longest base backoff: a week, as DIAL_RETRY_BACKOFF_MS. */
export const MAX_RETRY_BACKOFF_MS = 7 * 24 * 3_600_000;

export const retryPolicySchema = z.strictObject({
  /** Attempts in all, the first included. */
  maxAttempts: z.number().int().min(1).max(MAX_RETRY_ATTEMPTS).optional(),
  /** Wait before the second attempt, ms. */
  backoffMs: z.number().int().min(0).max(MAX_RETRY_BACKOFF_MS).optional(),
  /** Each later wait is the previous one times this (1 = constant). @defaultValue 2 */
  backoffMultiplier: z.number().min(1).max(10).optional(),
  /** End reasons that earn another attempt. @defaultValue busy, no-answer, failed */
  retryOn: z
    .array(z.enum(RETRYABLE_END_REASONS))
    .min(1, 'retryOn needs at least one end reason (use maxAttempts: 1 for no retries)')
    .max(RETRYABLE_END_REASONS.length)
    .optional(),
});

/** A policy as stored: any subset of the fields. */
export type RetryPolicyInput = z.output<typeof retryPolicySchema>;

/**
 * Reads a stored policy leniently (the dialer must not stop on a row it cannot read): the
 * fields that are valid, nothing for the rest.
 */
export function readStoredRetryPolicy(value: unknown): RetryPolicyInput {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const out: RetryPolicyInput = {};
  const shape = retryPolicySchema.shape;
  const raw = value as Record<string, unknown>;
  const maxAttempts = shape.maxAttempts.safeParse(raw.maxAttempts);
  if (maxAttempts.success && maxAttempts.data !== undefined) out.maxAttempts = maxAttempts.data;
  const backoffMs = shape.backoffMs.safeParse(raw.backoffMs);
  if (backoffMs.success && backoffMs.data !== undefined) out.backoffMs = backoffMs.data;
  const multiplier = shape.backoffMultiplier.safeParse(raw.backoffMultiplier);
  if (multiplier.success && multiplier.data !== undefined) {
    out.backoffMultiplier = multiplier.data;
  }
  const retryOn = shape.retryOn.safeParse(raw.retryOn);
  if (retryOn.success && retryOn.data !== undefined) out.retryOn = retryOn.data;
  return out;
}
