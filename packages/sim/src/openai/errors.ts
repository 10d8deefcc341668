/**
 * Error shapes of the Realtime API, in-band (`error` events) and over REST.
 *
 * In-band errors are recoverable: the session stays open (openai-realtime.md §9). The codes
 * below are the ones the reference lists; several are "observed" rather than documented.
 */
import { randomBytes } from 'node:crypto';

/** `error.type` values of an `error` server event or a REST error body. */
export const ERROR_TYPE = {
  invalidRequest: 'invalid_request_error',
  server: 'server_error',
  rateLimit: 'rate_limit_exceeded',
  authentication: 'invalid_request_error',
} as const;

/** Stable `error.code` values the simulator sends (openai-realtime.md §9 table). */
export const ERROR_CODE = {
  invalidEvent: 'invalid_event',
  invalidValue: 'invalid_value',
  invalidJson: 'invalid_json',
  unknownParameter: 'unknown_parameter',
  missingRequiredParameter: 'missing_required_parameter',
  activeResponse: 'conversation_already_has_active_response',
  cancelNotActive: 'response_cancel_not_active',
  commitEmpty: 'input_audio_buffer_commit_empty',
  itemNotFound: 'item_not_found',
  sessionExpired: 'session_expired',
  serverError: 'server_error',
  rateLimitExceeded: 'rate_limit_exceeded',
  invalidApiKey: 'invalid_api_key',
  callNotFound: 'call_not_found',
} as const;

/** The `error` object of an `error` server event (openai-realtime.md §4). */
export interface RealtimeErrorBody {
  type: string;
  code: string | null;
  message: string;
  param: string | null;
  /** The client's `event_id` of the event that failed, when it sent one. */
  event_id: string | null;
}

/** A failure of one client event, turned into an `error` event by the session. */
export class ClientEventError extends Error {
  readonly code: string;
  readonly param: string | null;
  readonly type: string;

  constructor(
    code: string,
    message: string,
    param: string | null = null,
    type: string = ERROR_TYPE.invalidRequest,
  ) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.param = param;
    this.type = type;
  }

  toBody(eventId: string | null): RealtimeErrorBody {
    return {
      type: this.type,
      code: this.code,
      message: this.message,
      param: this.param,
      event_id: eventId,
    };
  }
}

/** The JSON body of an OpenAI REST error (`{error:{message,type,param,code}}`, openai-realtime.md §6). */
export function restErrorBody(
  type: string,
  code: string | null,
  message: string,
  param: string | null = null,
): { error: { message: string; type: string; param: string | null; code: string | null } } {
  return { error: { message, type, param, code } };
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** An id in the API's style: `prefix_` plus 22 random base62 characters (e.g. `sess_…`, `item_…`). */
export function newId(prefix: string): string {
  const bytes = randomBytes(22);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return `${prefix}_${out}`;
}

/** A SIP call id as in the webhook example: `rtc_` plus 32 hex characters (openai-realtime.md §6). */
export function newCallId(): string {
  return `rtc_${randomBytes(16).toString('hex')}`;
}
