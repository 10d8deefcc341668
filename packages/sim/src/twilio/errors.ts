/**
 * Twilio's REST errors, in the classic body shape the SDK turns into a `RestException`
 * (twilio.md §5.4): `{ code, message, more_info, status }`.
 */

/** The codes the simulator returns, with their HTTP status (twilio.md §5.4 table). */
export const TWILIO_ERRORS = {
  /** Bad or missing credentials. HTTP status per third-party mapping (§5.4: UNCONFIRMED). */
  AUTHENTICATION_FAILED: { code: 20003, status: 401 },
  /** Unknown resource, or an account the credentials do not own. */
  NOT_FOUND: { code: 20404, status: 404 },
  /**
   * Too many requests (REST rate limit, injected fault) or calls (concurrency cap); never
   * processed, safe to retry (§5.4, §5.5).
   */
  TOO_MANY_REQUESTS: { code: 20429, status: 429 },
  /** `To` missing. Code from Twilio's error dictionary as remembered; not in twilio.md. */
  TO_MISSING: { code: 21201, status: 400 },
  /** None of `Url`, `Twiml`, `ApplicationSid`. Code not in twilio.md (UNCONFIRMED). */
  URL_MISSING: { code: 21205, status: 400 },
  /** `From` is not a number of this account (§5.4, https://www.twilio.com/docs/api/errors/21210). */
  FROM_NOT_OWNED: { code: 21210, status: 400 },
  /** `To` is not a valid phone number (§5.4). */
  INVALID_TO: { code: 21211, status: 400 },
  /** `From` is not a valid phone number. Not in twilio.md (UNCONFIRMED). */
  INVALID_FROM: { code: 21212, status: 400 },
  /** `From` missing. Not in twilio.md (UNCONFIRMED). */
  FROM_MISSING: { code: 21213, status: 400 },
  /**
   * The account's geo permissions do not allow calling `To`'s country (§5.4: 21215, HTTP
   * "400?"; message wording UNCONFIRMED, taken from third-party reports of the live error).
   */
  GEO_PERMISSION: { code: 21215, status: 400 },
  /** Trial account calling an unverified `To`. Not in twilio.md (UNCONFIRMED). */
  TO_NOT_VERIFIED: { code: 21219, status: 400 },
  /** Updating a call that is no longer live (§5.3; HTTP status UNCONFIRMED). */
  INVALID_CALL_STATE: { code: 21220, status: 400 },
  /** A malformed parameter value (e.g. Status other than completed/canceled). */
  INVALID_PARAMETER: { code: 20001, status: 400 },
} as const;

export type TwilioErrorName = keyof typeof TWILIO_ERRORS;

/** Thrown inside route handlers; the error handler renders it as Twilio's JSON. */
export class TwilioApiError extends Error {
  readonly code: number;
  readonly status: number;

  constructor(name: TwilioErrorName, message: string) {
    super(message);
    this.name = 'TwilioApiError';
    this.code = TWILIO_ERRORS[name].code;
    this.status = TWILIO_ERRORS[name].status;
  }

  /** The response body Twilio sends. */
  toJSON(): { code: number; message: string; more_info: string; status: number } {
    return {
      code: this.code,
      message: this.message,
      more_info: `https://www.twilio.com/docs/errors/${this.code}`,
      status: this.status,
    };
  }
}
