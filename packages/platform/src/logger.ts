/**
 * The pino root logger of a process (STYLE.md 6.7).
 *
 * JSON to stdout, ISO timestamps, `base: { service, version, pod }`. Secrets are redacted by
 * path, everything under `pii` is redacted unless the operator opts in, and phone numbers under
 * the usual keys are masked even then. Build it once in `main.ts` and inject it; give each unit of
 * work a child ({@link callLogger}, `log.child({ campaignId })`).
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino } from 'pino';

/** The logger type used across the codebase. */
export type Logger = pino.Logger;

/** What replaces a redacted value. */
export const REDACTED = '[REDACTED]';

/**
 * Keys whose values are secrets, at the top level and up to two levels deep (`*.key`,
 * `*.*.key`). Config objects are covered by their variable names.
 */
export const SECRET_KEYS = [
  'authorization',
  'Authorization',
  'cookie',
  'Cookie',
  'set-cookie',
  'password',
  'token',
  'accessToken',
  'refreshToken',
  'authToken',
  'apiKey',
  'api_key',
  'secret',
  'clientSecret',
  'webhookSecret',
  'databaseUrl',
  'DATABASE_URL',
  'TWILIO_AUTH_TOKEN',
  'TWILIO_API_SECRET',
  'OPENAI_API_KEY',
  'OPENAI_WEBHOOK_SECRET',
  'API_KEY',
  'pass',
  'NATS_PASSWORD',
  'NATS_TOKEN',
] as const;

/**
 * Keys whose values are phone numbers: masked with {@link maskPhone} wherever they appear up to
 * two levels deep, `pii` included. Besides our message fields and Twilio's form parameters, the
 * Prisma fields are listed (prisma/schema.prisma: `fromNumber`/`toNumber` of `Call` and
 * `CallRequest`, `PhoneNumber.e164`, `Campaign.fromNumbers`, `phone` of contacts and the
 * do-not-call list, `HumanAgent.phoneNumber`), in both their model and column spelling, because a
 * row logged as it came from the database must not leak them.
 */
export const PHONE_KEYS = [
  'from',
  'to',
  'phone',
  'phoneNumber',
  'caller',
  'callee',
  'callerNumber',
  'calleeNumber',
  'fromNumber',
  'toNumber',
  'fromNumbers',
  'e164',
  'from_number',
  'to_number',
  'from_numbers',
  'phone_number',
  'From',
  'To',
  'Caller',
  'Called',
] as const;
const PHONE_KEY_SET: ReadonlySet<string> = new Set(PHONE_KEYS);

function depthPaths(keys: readonly string[]): string[] {
  // Bracket notation keeps keys such as `set-cookie` valid redaction paths.
  const seg = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `["${k}"]`);
  return keys.flatMap((k) => {
    const s = seg(k);
    return [s.startsWith('.') ? k : s, `*${s}`, `*.*${s}`];
  });
}

/** A phone-like value: optional `+`, then 7–15 digits, allowing common separators. */
const PHONE = /^\+?[0-9][0-9 ().-]{5,}[0-9]$/;
/** An E.164 number inside a longer string (`sip:+14155551234@trunk`, `client:+1...`). */
const EMBEDDED_E164 = /\+[0-9]{7,15}/g;

/**
 * Masks a phone number, keeping the `+`, the first 4 digits and the last 2:
 * `maskPhone('+14155551234') === '+1415*****34'`. Separators are dropped. Values that are not
 * phone numbers (7–15 digits) are returned unchanged.
 */
export function maskPhone(value: string): string {
  if (!PHONE.test(value)) return value;
  const digits = value.replace(/[^0-9]/g, '');
  if (digits.length < 7 || digits.length > 15) return value;
  const plus = value.startsWith('+') ? '+' : '';
  return `${plus}${digits.slice(0, 4)}${'*'.repeat(digits.length - 6)}${digits.slice(-2)}`;
}

/**
 * Masks a whole phone value, or E.164 numbers embedded in a longer string (SIP URIs), or each
 * number of a list (a campaign's `fromNumbers`).
 */
export function maskPhoneValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskPhoneValue);
  if (typeof value !== 'string') return value;
  const whole = maskPhone(value);
  return whole !== value ? whole : value.replace(EMBEDDED_E164, (m) => maskPhone(m));
}

/** `scheme://user:password@` in a URL (a `DATABASE_URL` in a driver's error message). */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)[^/\s:@]*(?::[^/\s@]*)?@/gi;
/** `Bearer <token>` / `Basic <credentials>` in a header value or message. */
const AUTH_SCHEME = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g;

/**
 * Free text (a message, an error's message or stack) without credentials or full phone
 * numbers: URL credentials and `Bearer`/`Basic` values are replaced, E.164 numbers masked.
 * Text is where redaction by path cannot reach: `log.info(\`call from ${from}\`)`, a driver's
 * `connect ECONNREFUSED postgresql://user:pw@…`.
 */
export function scrubText(text: string): string {
  return text
    .replace(URL_CREDENTIALS, `$1${REDACTED}@`)
    .replace(AUTH_SCHEME, `$1 ${REDACTED}`)
    .replace(EMBEDDED_E164, (m) => maskPhone(m));
}

/**
 * Query parameter names whose values are secrets: the {@link SECRET_KEYS} and anything named
 * like a credential (`token`, `sig`, `X-Amz-Signature`, `api-key`, `csrf`, `session`…).
 */
const SECRET_KEY_LOWER: ReadonlySet<string> = new Set(SECRET_KEYS.map((k) => k.toLowerCase()));
const SECRET_PARAM = /token|secret|passw|api[-_]?key|signature|^sig$|csrf|session|auth|cookie/i;
/** An E.164 number in a URL, its `+` raw or percent-encoded (`q=call%20%2B1415…`). */
const URL_E164 = /(%2B|\+)([0-9]{7,15})(?![0-9])/gi;

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/**
 * A path segment or query value, masked when it is a phone number: one written with its `+`
 * (raw or `%2B`, separators allowed) anywhere, or any value of a phone-named parameter.
 */
function maskComponent(raw: string, phoneParam: boolean): string {
  const plus = /^(\+|%2B)/i.test(raw);
  if (!plus && !phoneParam) return raw;
  // `+` in a query reads as a space: `?phone=+1415…` decodes to ` 1415…`.
  const decoded = safeDecode(raw).trim().replace(/^\+/, '');
  const value = plus ? `+${decoded}` : decoded;
  const masked = maskPhone(value);
  return masked === value ? raw : encodeURIComponent(masked);
}

/**
 * A request URL fit for a log line: values of secret-named query parameters are replaced,
 * phone numbers in the path or the query (`/v1/do-not-call/%2B14155550100`,
 * `?phone=%2B1415…`) are masked. A URL is the one part of a request Fastify logs by itself, at
 * `info`, on every request.
 */
export function scrubUrl(url: string): string {
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q))
    .split('/')
    .map((segment) => maskComponent(segment, false))
    .join('/');
  if (q < 0) return path.replace(URL_E164, (_m, plus: string, d: string) => plus + maskPhone(d));
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = safeDecode(eq < 0 ? pair : pair.slice(0, eq));
      if (eq < 0) return pair;
      if (SECRET_KEY_LOWER.has(name.toLowerCase()) || SECRET_PARAM.test(name)) {
        return `${pair.slice(0, eq)}=${REDACTED}`;
      }
      return `${pair.slice(0, eq)}=${maskComponent(pair.slice(eq + 1), PHONE_KEY_SET.has(name))}`;
    })
    .join('&');
  return `${path}?${query}`.replace(URL_E164, (_m, plus: string, d: string) => plus + maskPhone(d));
}

/** What Fastify's request serializer keeps, with {@link scrubUrl} applied to the URL. */
function serializeRequest(req: unknown): unknown {
  if (typeof req !== 'object' || req === null) return req;
  const r = req as {
    method?: unknown;
    url?: unknown;
    host?: unknown;
    ip?: unknown;
    socket?: { remoteAddress?: unknown; remotePort?: unknown };
  };
  // Not a request (someone logged their own `req` object): redaction by path covers it.
  if (typeof r.url !== 'string' || typeof r.method !== 'string') return req;
  return {
    method: r.method,
    url: scrubUrl(r.url),
    host: r.host,
    remoteAddress: r.ip ?? r.socket?.remoteAddress,
    remotePort: r.socket?.remotePort,
  };
}

/** pino's error serializer, with {@link scrubText} over the message and the stack. */
function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const out = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  for (const key of ['message', 'stack'] as const) {
    const v = out[key];
    if (typeof v === 'string') out[key] = scrubText(v);
  }
  return out;
}

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Service name, e.g. `'call-bridge'`; in every line as `service`. */
  service: string;
  /** Service version; in every line as `version`. */
  version: string;
  /** Minimum level. @defaultValue `'info'` */
  level?: pino.LevelWithSilentOrString;
  /** Where lines go; tests pass a stream to assert on. @defaultValue stdout (synchronous) */
  destination?: pino.DestinationStream;
  /** Pod (instance) name; in every line as `pod`. @defaultValue `undefined` (omitted) */
  pod?: string;
  /**
   * Log `pii.*` in clear (phone numbers stay masked). Only for a debugging session someone
   * explicitly opted into. @defaultValue `false`
   */
  logPii?: boolean;
  /** Extra redaction paths (pino syntax), e.g. `['*.twilioSignature']`. @defaultValue `[]` */
  redactPaths?: readonly string[];
  /**
   * Add `traceId` and `spanId` of the active OpenTelemetry span to every line.
   * @defaultValue `true`
   */
  traceIds?: boolean;
  /**
   * Called with the error (or the message, when no error was logged) of every `fatal` line,
   * before it is written; the service runtime reports these to error tracking.
   * @defaultValue none
   */
  onFatal?: (err: unknown, message: string | undefined) => void;
}

/** pino's numeric level of `fatal`. */
const FATAL_LEVEL = 60;

/** The error and message of a log call's arguments: `(err, msg)`, `({ err }, msg)` or `(msg)`. */
function fatalArgs(args: readonly unknown[]): { err: unknown; message: string | undefined } {
  const [first, second] = args;
  const message = typeof second === 'string' ? second : undefined;
  if (first instanceof Error) return { err: first, message: message ?? first.message };
  if (typeof first === 'object' && first !== null) {
    const fields = first as { err?: unknown; error?: unknown };
    return { err: fields.err ?? fields.error ?? message, message };
  }
  return { err: typeof first === 'string' ? first : message, message: message ?? String(first) };
}

/** `traceId`/`spanId` of the active span, so log lines join their trace. */
function traceMixin(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : {};
}

/**
 * Builds the root logger of a process.
 *
 * @example
 * ```ts
 * const log = createLogger({ service: 'gateway', version: '1.2.0', pod: config.POD_NAME });
 * log.info({ pii: { from } }, 'call received'); // "pii":"[REDACTED]"
 * ```
 */
export function createLogger(opts: CreateLoggerOptions): Logger {
  const paths = [
    ...depthPaths(SECRET_KEYS),
    'req.headers.authorization',
    'req.headers.cookie',
    ...(opts.logPii ? [] : ['pii', '*.pii']),
    ...depthPaths(PHONE_KEYS),
    ...(opts.redactPaths ?? []),
  ];
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: opts.service, version: opts.version, pod: opts.pod },
      timestamp: pino.stdTimeFunctions.isoTime,
      ...(opts.traceIds === false ? {} : { mixin: traceMixin }),
      serializers: { err: serializeError, error: serializeError, req: serializeRequest },
      hooks: {
        logMethod(this: pino.Logger, args: Parameters<pino.LogFn>, method, level) {
          if (opts.onFatal && level >= FATAL_LEVEL) {
            const { err, message } = fatalArgs(args);
            try {
              opts.onFatal(err, message);
            } catch {
              // Reporting must never stop the line from being written.
            }
          }
          // The message (and its format arguments) is free text, out of reach of the paths.
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubText(a) : a));
          return method.apply(this, scrubbed as Parameters<pino.LogFn>);
        },
      },
      redact: {
        paths,
        // One censor for both rules: phone keys are masked, everything else is replaced.
        censor: (value: unknown, path: string[]) =>
          PHONE_KEY_SET.has(path[path.length - 1] ?? '') ? maskPhoneValue(value) : REDACTED,
      },
    },
    opts.destination ?? pino.destination({ fd: 1, sync: true }),
  );
}

/** Ids bound to every line about one call. */
export interface CallLogBindings {
  /** Our call id. */
  callId: string;
  /** Twilio's `CA…` call SID, when known. */
  callSid?: string;
}

/** A child logger for one call: every line carries `callId` (and `callSid` when known). */
export function callLogger(log: Logger, { callId, callSid }: CallLogBindings): Logger {
  return log.child(callSid === undefined ? { callId } : { callId, callSid });
}
