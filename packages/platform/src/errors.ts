/**
 * Typed errors shared by every service (STYLE.md 6.6).
 *
 * Errors are classified by who must act: the caller ({@link UserError}), the infrastructure
 * ({@link SystemError}), an external provider such as Twilio or OpenAI ({@link ProviderError}) or
 * the operator who configured the process ({@link ConfigError}). Whether an operation may be
 * retried is decided here, by the error type, never at the call site.
 */

/** Options of every {@link AppError}; `cause` comes from the standard `ErrorOptions`. */
export interface AppErrorOptions extends ErrorOptions {
  /**
   * Stable, machine-readable code (`CALL_NOT_FOUND`, `NATS_UNAVAILABLE`); each service documents
   * its codes in one registry.
   * @defaultValue the class default (`APP_ERROR`, `USER_ERROR`, `SYSTEM_ERROR`, `PROVIDER_ERROR`)
   */
  code?: string;
  /**
   * Whether repeating the same operation unchanged may succeed.
   * @defaultValue the class default (`false`, except `true` for {@link SystemError})
   */
  retryable?: boolean;
}

/**
 * Base class of every error this codebase throws on purpose.
 *
 * @example
 * ```ts
 * throw new UserError('call not found', { code: 'CALL_NOT_FOUND' });
 * ```
 */
export class AppError extends Error {
  /** Stable string code; safe to match on and to send over the wire. */
  readonly code: string;
  /** Whether retrying the same operation unchanged may succeed. */
  readonly retryable: boolean;

  constructor(message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? 'APP_ERROR';
    this.retryable = options.retryable ?? false;
  }
}

/**
 * The caller must act: invalid input, unknown id, forbidden action. Never retryable as is.
 */
export class UserError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(message, { ...options, code: options.code ?? 'USER_ERROR', retryable: false });
  }
}

/**
 * The infrastructure failed: NATS, PostgreSQL, a timeout between our own services.
 * Retryable unless stated otherwise.
 */
export class SystemError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(message, {
      ...options,
      code: options.code ?? 'SYSTEM_ERROR',
      retryable: options.retryable ?? true,
    });
  }
}

/** Options of a {@link ProviderError}. */
export interface ProviderErrorOptions extends AppErrorOptions {
  /** Which provider failed: `'twilio'`, `'openai'`, ... */
  provider: string;
  /** HTTP status the provider answered with; `undefined` when there was no HTTP response. */
  status?: number;
}

/**
 * HTTP statuses below 500 that are still worth retrying: 408 Request Timeout, 429 Too Many
 * Requests and 499 Client Closed Request (livekit/agents-js `_exceptions.ts`).
 */
const RETRYABLE_4XX: ReadonlySet<number> = new Set([408, 429, 499]);

/** An external provider (Twilio, OpenAI) failed or refused. */
export class ProviderError extends AppError {
  /** Which provider failed. */
  readonly provider: string;
  /** HTTP status of the provider's answer; `undefined` when there was none. */
  readonly status: number | undefined;

  constructor(message: string, options: ProviderErrorOptions) {
    super(message, { ...options, code: options.code ?? 'PROVIDER_ERROR' });
    this.provider = options.provider;
    this.status = options.status;
  }

  /**
   * Builds the error for an HTTP answer of a provider. Retryable when `status` is 5xx, 408, 429
   * or 499; every other 4xx is final.
   *
   * @param status - HTTP status code (100–599).
   * @param message - What failed, without the provider's payload (it may hold PII).
   * @param opts - `provider` is required; `code` defaults to `PROVIDER_HTTP_<status>`.
   * @throws RangeError when `status` is not an integer in 100–599.
   */
  static fromHttpStatus(
    status: number,
    message: string,
    opts: Omit<ProviderErrorOptions, 'status' | 'retryable'>,
  ): ProviderError {
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new RangeError(`HTTP status must be an integer in 100-599, got ${status}`);
    }
    return new ProviderError(message, {
      ...opts,
      status,
      code: opts.code ?? `PROVIDER_HTTP_${status}`,
      retryable: status >= 500 || RETRYABLE_4XX.has(status),
    });
  }
}

/** One invalid configuration variable. `message` never contains a secret value. */
export interface ConfigIssue {
  /** The environment variable, e.g. `HTTP_PORT` (or `DATABASE_URL_FILE`). */
  variable: string;
  /** Why it is invalid, e.g. `required` or `expected an integer between 1 and 65535 (got "abc")`. */
  message: string;
}

/**
 * The process configuration is invalid; the operator must fix the environment. Its `message` is
 * one line naming every bad variable:
 * `invalid configuration: HTTP_PORT: expected an integer between 1 and 65535 (got "abc"); DATABASE_URL: required`.
 */
export class ConfigError extends AppError {
  /** Every invalid variable, in schema order. */
  readonly issues: ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options: ErrorOptions = {}) {
    super(`invalid configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`, {
      ...options,
      code: 'CONFIG_INVALID',
      retryable: false,
    });
    this.issues = issues.map((i) => ({ variable: i.variable, message: i.message }));
  }
}
