/**
 * Error tracking: unhandled errors, fatal log lines and HTTP 5xx reported to Sentry when
 * `SENTRY_DSN` is set; nothing at all otherwise.
 *
 * `@sentry/node` is imported only when a DSN is configured, so a process without one loads no
 * Sentry code, installs no handler and opens no connection. Sentry's own OpenTelemetry setup
 * stays off (`enableOpenTelemetrySetup: false`) and none of its default integrations run (no
 * HTTP/fetch/console patching, no module hooks): tracing remains `startTelemetry`'s, and the
 * tracer provider, propagator and context manager it registers are untouched.
 *
 * Every event passes {@link scrubEvent} before it leaves the process: the logger's secret keys
 * are redacted, its phone keys masked, E.164 numbers inside any string masked, credentials in
 * URLs and bearer tokens removed, and the configured secret values replaced wherever they appear.
 */
import { isSecretVariable } from './config.js';
import {
  maskPhoneValue,
  PHONE_KEYS,
  REDACTED,
  scrubText,
  SECRET_KEYS,
  type Logger,
} from './logger.js';

/** Options of {@link startErrorTracking}. */
export interface ErrorTrackingOptions {
  /** Sentry DSN; `undefined` disables error tracking. */
  dsn: string | undefined;
  /** Service name; a tag on every event. */
  serviceName: string;
  /** Service version; the release is `<serviceName>@<version>`. */
  serviceVersion: string;
  /** `NODE_ENV`; Sentry's environment. */
  environment: string;
  /** Pod name; Sentry's `server_name`. @defaultValue the host name */
  pod?: string;
  /** Receives the start-up line and reporting failures. */
  log: Logger;
  /** Values that must never leave the process (the config's secrets), replaced in every string. */
  secrets?: readonly string[];
  /**
   * Install `uncaughtException`/`unhandledRejection` handlers that report the error, log it as
   * fatal, flush and exit 1 (Node's own behaviour, plus the report). @defaultValue `true`
   */
  handleProcessErrors?: boolean;
}

/** Handle of the error tracking of a process. */
export interface ErrorTracking {
  /** Whether events are sent (a DSN is configured). */
  readonly enabled: boolean;
  /** Reports `err` (once per error object) with optional tags and extra context. */
  capture(err: unknown, context?: CaptureContext): void;
  /** Sends pending events (within `timeoutMs`) and stops reporting. Idempotent. */
  close(timeoutMs?: number): Promise<void>;
}

/** Context of one report. */
export interface CaptureContext {
  level?: 'fatal' | 'error';
  tags?: Record<string, string>;
  extra?: Record<string, unknown>;
  /** Whether the error was handled by the code (a 5xx) or escaped it (an uncaught exception). */
  handled?: boolean;
}

/** Error tracking that does nothing (no DSN). */
export const disabledErrorTracking: ErrorTracking = {
  enabled: false,
  capture: () => undefined,
  close: async () => undefined,
};

const SECRET_KEY_SET: ReadonlySet<string> = new Set(SECRET_KEYS.map((k) => k.toLowerCase()));
const PHONE_KEY_SET: ReadonlySet<string> = new Set(PHONE_KEYS);
/** Secrets shorter than this are not searched for inside strings (they would match too much). */
const MIN_SECRET_LENGTH = 6;
/** Nesting scrubbed; anything deeper is dropped. */
const MAX_DEPTH = 20;

function isSecretKey(key: string): boolean {
  return SECRET_KEY_SET.has(key.toLowerCase()) || isSecretVariable(key);
}

function scrubString(value: string, secrets: readonly string[]): string {
  let out = value;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  // The logger's own text scrubbing: an event and a log line hide the same things.
  return scrubText(out);
}

/**
 * A copy of `value` (a Sentry event, or any JSON-like value) without secrets or full phone
 * numbers: the logger's secret keys and secret-looking variable names are redacted, its phone
 * keys masked, and in every string the `secrets`, URL credentials, bearer tokens and E.164
 * numbers are removed or masked.
 */
export function scrubEvent<T>(value: T, secrets: readonly string[] = []): T {
  const usable = secrets.filter((s) => s.length >= MIN_SECRET_LENGTH);
  const seen = new WeakSet<object>();
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return scrubString(v, usable);
    if (typeof v !== 'object' || v === null) return v;
    if (depth > MAX_DEPTH || seen.has(v)) return REDACTED;
    seen.add(v);
    if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(v)) {
      if (isSecretKey(key)) out[key] = REDACTED;
      else if (PHONE_KEY_SET.has(key)) out[key] = walk(maskPhoneValue(item), depth + 1);
      else out[key] = walk(item, depth + 1);
    }
    return out;
  };
  return walk(value, 0) as T;
}

/** Process handlers are installed once, whatever the number of runtimes in the process. */
let processHandlersFor: ErrorTracking | undefined;

/**
 * Starts error tracking. Without a DSN it returns {@link disabledErrorTracking} and does
 * nothing else: `@sentry/node` is not even imported.
 */
export async function startErrorTracking(opts: ErrorTrackingOptions): Promise<ErrorTracking> {
  if (!opts.dsn) return disabledErrorTracking;
  const Sentry = await import('@sentry/node');
  const secrets = [...(opts.secrets ?? [])];
  const client = Sentry.initWithoutDefaultIntegrations({
    dsn: opts.dsn,
    environment: opts.environment,
    release: `${opts.serviceName}@${opts.serviceVersion}`,
    ...(opts.pod ? { serverName: opts.pod } : {}),
    // Tracing is OpenTelemetry's (startTelemetry): Sentry registers no provider, samples no span.
    enableOpenTelemetrySetup: false,
    enableRuntimeChannelInjection: false,
    tracesSampleRate: 0,
    // Breadcrumbs would copy log and request data around the scrubbing of the event itself.
    maxBreadcrumbs: 0,
    integrations: [
      Sentry.functionToStringIntegration(),
      Sentry.linkedErrorsIntegration(),
      Sentry.dedupeIntegration(),
    ],
    initialScope: { tags: { service: opts.serviceName } },
    beforeSend: (event) => scrubEvent(event, secrets),
  });
  const log = opts.log.child({ component: 'error-tracking' });
  const reported = new WeakSet<object>();
  let closed: Promise<void> | undefined;

  const tracking: ErrorTracking = {
    enabled: true,
    capture: (err, context = {}) => {
      if (closed) return;
      if (typeof err === 'object' && err !== null) {
        if (reported.has(err)) return;
        reported.add(err);
      }
      const error = err instanceof Error || typeof err === 'string' ? err : new Error(String(err));
      try {
        Sentry.captureException(error, {
          mechanism: { type: 'auto.platform', handled: context.handled ?? true },
          captureContext: {
            level: context.level ?? 'error',
            ...(context.tags ? { tags: context.tags } : {}),
            ...(context.extra ? { extra: context.extra } : {}),
          },
        });
      } catch (captureErr) {
        log.warn({ err: captureErr }, 'error tracking failed to capture an error');
      }
    },
    close: (timeoutMs = 2_000) => {
      closed ??= (async () => {
        try {
          await client?.close(timeoutMs);
        } catch (err) {
          log.warn({ err }, 'error tracking flush failed; some events may be lost');
        }
      })();
      return closed;
    },
  };

  if ((opts.handleProcessErrors ?? true) && processHandlersFor === undefined) {
    processHandlersFor = tracking;
    let exiting = false;
    const fatal = (err: unknown, origin: string): void => {
      tracking.capture(err, { level: 'fatal', handled: false, tags: { origin } });
      // The fatal hook of the runtime's logger reports it too; `capture` skips the duplicate.
      opts.log.fatal({ err, origin }, `${origin}: the process exits`);
      if (exiting) return;
      exiting = true;
      void tracking.close().finally(() => process.exit(1));
    };
    process.on('uncaughtException', (err) => fatal(err, 'uncaughtException'));
    process.on('unhandledRejection', (reason) => fatal(reason, 'unhandledRejection'));
  }

  log.info(
    { environment: opts.environment, release: `${opts.serviceName}@${opts.serviceVersion}` },
    'error tracking started',
  );
  return tracking;
}
