/**
 * What a failed `calls.create` means for the request (twilio.md §5.4, §5.5). The question that
 * matters is whether Twilio may have created the call anyway, because the same attempt must
 * never be dialed twice:
 *
 * - `rate-limited`: HTTP 429 (20429), "never processed, safe to retry".
 * - `not-sent`: the connection was never made (refused, DNS): Twilio never saw it.
 * - `unknown-outcome`: a 5xx, or the connection broke: look at Twilio's call list first.
 * - `timed-out`: we stopped waiting; Twilio may still create the call, so only a later look
 *   (after DIAL_RECLAIM_AFTER_MS) can tell.
 * - `refused`: any other 4xx (invalid number, geo permissions 21215, caller id not ours): final.
 */
export type DialErrorKind =
  'rate-limited' | 'not-sent' | 'unknown-outcome' | 'timed-out' | 'refused';

export interface DialError {
  readonly kind: DialErrorKind;
  /** HTTP status, when Twilio answered. */
  readonly status?: number;
  /** Twilio's error code (`21215`) or the network error code (`ECONNRESET`). */
  readonly code?: string;
  /** Safe to store and log: Twilio's message or the network error's, never a payload. */
  readonly message: string;
}

const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const TIMED_OUT = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT']);

function field(err: unknown, name: string): unknown {
  return typeof err === 'object' && err !== null
    ? (err as Record<string, unknown>)[name]
    : undefined;
}

/** Classifies an error thrown by the twilio SDK (RestException, TwilioServiceException, axios). */
export function classifyDialError(err: unknown): DialError {
  const message = err instanceof Error ? err.message : String(err);
  const status = field(err, 'status');
  const rawCode = field(err, 'code');
  const code =
    typeof rawCode === 'number' || typeof rawCode === 'string' ? String(rawCode) : undefined;
  const withCode = code === undefined ? {} : { code };
  if (typeof status === 'number' && status >= 400) {
    if (status === 429) return { kind: 'rate-limited', status, ...withCode, message };
    if (status >= 500) return { kind: 'unknown-outcome', status, ...withCode, message };
    // 408 (request timeout) and 499 (client closed) are not final either.
    if (status === 408 || status === 499)
      return { kind: 'timed-out', status, ...withCode, message };
    return { kind: 'refused', status, ...withCode, message };
  }
  if (code !== undefined && NOT_SENT.has(code)) return { kind: 'not-sent', code, message };
  if (code !== undefined && TIMED_OUT.has(code)) return { kind: 'timed-out', code, message };
  if (/timeout/i.test(message)) return { kind: 'timed-out', ...withCode, message };
  return { kind: 'unknown-outcome', ...withCode, message };
}

/** One line for the request's `error` column: `twilio 400 21215: Account not authorized…`. */
export function describeDialError(e: DialError): string {
  const parts = ['twilio', e.status, e.code].filter((p) => p !== undefined).join(' ');
  return `${parts}: ${e.message}`.slice(0, 1_000);
}

/**
 * Log fields of a Twilio error: kind, HTTP status and code only. Never the error itself: an
 * axios error carries the request (To, From, auth header) and Twilio's messages often quote the
 * number (REVIEW.md: no phone numbers or provider payloads in logs).
 */
export function dialErrorFields(e: DialError): {
  kind: DialErrorKind;
  status?: number;
  code?: string;
} {
  return {
    kind: e.kind,
    ...(e.status === undefined ? {} : { status: e.status }),
    ...(e.code === undefined ? {} : { code: e.code }),
  };
}
