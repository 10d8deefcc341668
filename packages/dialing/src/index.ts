/**
 * `@app/dialing`: validation of outbound call requests, shared by the gateway's `POST /v1/calls`
 * and the campaign-scheduler's dialer. An in-memory directory for tests is in
 * `@app/dialing/testing`.
 */

export { parsePhone, type ParsePhoneResult } from './phone.js';
export { PrismaDialingDirectory } from './prisma-directory.js';
export {
  MAX_RETRY_ATTEMPTS,
  MAX_RETRY_BACKOFF_MS,
  RETRYABLE_END_REASONS,
  readStoredRetryPolicy,
  retryPolicySchema,
  type RetryableEndReason,
  type RetryPolicyInput,
} from './retry-policy.js';
export { timeZoneOf, timeZonesOf } from './timezone.js';
export {
  ValidationCode,
  type CallRequestInput,
  type CampaignPolicy,
  type DialingDirectory,
  type OurNumber,
  type Transport,
  type ValidCallRequest,
  type ValidationIssue,
  type ValidationResult,
} from './types.js';
export {
  DEFAULT_MAX_SCHEDULE_AHEAD_MS,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  validateCallRequest,
  type ValidateCallRequestOptions,
} from './validate.js';
