/**
 * Validated configuration from environment variables (STYLE.md 6.5).
 *
 * Each service declares one zod schema (usually `baseServiceEnv(...).extend({...})`) and calls
 * {@link parseConfig} once in `main.ts`. A bad value stops the process with one line naming every
 * bad variable, and secret values never appear in that line. This is the only module that reads
 * `process.env`, and only when {@link parseConfig} is called, never at import time.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

import { z } from 'zod';

import { createNames } from '@app/contracts';

import { ConfigError, type ConfigIssue } from './errors.js';

/**
 * A strict boolean: only `true`, `false`, `1` or `0` (so a typo such as `ture` fails instead of
 * silently meaning `false`). The caller adds the default: `boolEnv.default(false)`.
 */
export const boolEnv = z
  .enum(['true', 'false', '1', '0'], { error: 'expected one of true, false, 1, 0' })
  .transform((v) => v === 'true' || v === '1');

const NATS_URL_FORMAT = 'expected comma-separated nats:// or tls:// URLs';

/** Options of {@link listEnv}. */
export interface ListEnvOptions {
  /** Value when the variable is unset. @defaultValue `''` (an empty list) */
  default?: string;
  /** Why `entry` is refused, or null when it is fine; every distinct problem is reported. */
  check?: (entry: string) => string | null;
  /** The message when the list is empty; absent: an empty list is fine. */
  required?: string;
}

/**
 * A comma-separated variable as its list of trimmed, non-empty entries (`a, b,,c` is
 * `['a', 'b', 'c']`), each entry checked by `check`.
 */
export function listEnv(opts: ListEnvOptions = {}) {
  return z
    .string()
    .default(opts.default ?? '')
    .transform((value, ctx): string[] => {
      const entries = value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      if (entries.length === 0 && opts.required !== undefined) {
        ctx.addIssue({ code: 'custom', message: opts.required });
        return z.NEVER;
      }
      // Each distinct problem once (a message that does not name its entry would repeat).
      const problems = new Set(entries.map((e) => opts.check?.(e) ?? null));
      problems.delete(null);
      for (const message of problems) ctx.addIssue({ code: 'custom', message: message as string });
      return entries;
    });
}

/** Options of {@link intEnv}. */
export interface IntEnvOptions {
  /** Smallest accepted value. @defaultValue `Number.MIN_SAFE_INTEGER` */
  min?: number;
  /** Largest accepted value. @defaultValue `Number.MAX_SAFE_INTEGER` */
  max?: number;
  /** Value when the variable is unset; `undefined` makes the variable required. */
  default?: number;
}

/**
 * A decimal integer (`"42"`, coerced to a number) within `[min, max]`.
 *
 * @throws RangeError when `default` is outside `[min, max]`.
 */
export function intEnv(opts: IntEnvOptions = {}) {
  const min = opts.min ?? Number.MIN_SAFE_INTEGER;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  const expected =
    opts.min === undefined && opts.max === undefined
      ? 'expected an integer'
      : opts.max === undefined
        ? `expected an integer >= ${min}`
        : `expected an integer between ${min} and ${max}`;
  const fallback = opts.default;
  if (
    fallback !== undefined &&
    (!Number.isSafeInteger(fallback) || fallback < min || fallback > max)
  ) {
    throw new RangeError(`default ${fallback} is not valid: ${expected}`);
  }
  const schema = z.unknown().transform((value, ctx): number => {
    const n =
      typeof value === 'number'
        ? value
        : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)
          ? Number(value)
          : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: expected });
      return z.NEVER;
    }
    return n;
  });
  return fallback === undefined ? schema : schema.default(fallback);
}

/**
 * A TCP port, `1`–`65535`, coerced from its decimal string.
 *
 * @param defaultPort - Used when the variable is unset.
 * @throws RangeError when `defaultPort` is not a valid port.
 */
export function port(defaultPort: number) {
  return intEnv({ min: 1, max: 65535, default: defaultPort });
}

/** pino level names. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `LOG_LEVEL`: one of {@link LOG_LEVELS}. @defaultValue `'info'` */
export const logLevelEnv = z
  .enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` })
  .default('info');

function urlWithProtocol(value: string, protocols: readonly string[]): boolean {
  try {
    const url = new URL(value);
    return protocols.includes(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}

function validNatsPrefix(prefix: string): boolean {
  try {
    createNames(prefix);
    return true;
  } catch {
    return false;
  }
}

/** Options of {@link baseServiceEnv}. */
export interface BaseServiceEnvOptions {
  /** Default of `HTTP_PORT` for this service. */
  httpPort: number;
}

/**
 * The variables every service reads. Extend it with the service's own:
 * `baseServiceEnv({ httpPort: 8080 }).extend({ TWILIO_AUTH_TOKEN: z.string() })`.
 *
 * @throws RangeError when `httpPort` is not a valid port.
 */
export function baseServiceEnv({ httpPort }: BaseServiceEnvOptions) {
  return z.object({
    /** Runtime mode; `production` turns off dev conveniences. */
    NODE_ENV: z
      .enum(['development', 'test', 'production'], {
        error: 'expected one of development, test, production',
      })
      .default('development'),
    /** Minimum pino level written. */
    LOG_LEVEL: logLevelEnv,
    /** Interface the HTTP server binds; `0.0.0.0` so Kubernetes probes reach it. */
    HTTP_HOST: z.string().min(1).default('0.0.0.0'),
    /** Port of the HTTP server (API, webhooks, `/healthz`, `/readyz`, `/metrics`). */
    HTTP_PORT: port(httpPort),
    /**
     * NATS servers, comma-separated `nats://` or `tls://` URLs; parsed into a list. A URL may
     * carry the credentials (`nats://user:password@host:4222`, `nats://token@host:4222`) instead
     * of NATS_USER/NATS_PASSWORD/NATS_TOKEN; the list is then secret and never logged.
     */
    NATS_URL: listEnv({
      default: 'nats://127.0.0.1:4222',
      required: NATS_URL_FORMAT,
      check: (url) => (urlWithProtocol(url, ['nats:', 'tls:']) ? null : NATS_URL_FORMAT),
    }),
    /** Namespace of every subject, stream and bucket (`createNames`); `''` for none. */
    NATS_PREFIX: z.string().default('').refine(validNatsPrefix, {
      message: 'expected one lowercase token ([a-z0-9][a-z0-9_-]*) or empty',
    }),
    /**
     * NATS user (nats-server `authorization { user, password }`); set with NATS_PASSWORD, or
     * neither. Unset with NATS_TOKEN unset and no `user:password@` in NATS_URL: no credentials
     * are sent (a server without authorization, such as `pnpm dev`'s).
     */
    NATS_USER: z.string().min(1).optional(),
    /** Password of NATS_USER; never logged. */
    NATS_PASSWORD: z.string().min(1).optional(),
    /** NATS token authentication (`authorization { token }`), instead of a user; never logged. */
    NATS_TOKEN: z.string().min(1).optional(),
    /**
     * Replicas of each JetStream stream and KV bucket this service provisions. 1 on a single
     * server; 3 on a 3-node cluster, so losing a node loses no call event.
     */
    NATS_STREAM_REPLICAS: intEnv({ min: 1, max: 5, default: 1 }),
    /** PostgreSQL connection string; required, never logged. */
    DATABASE_URL: z.string().refine((v) => urlWithProtocol(v, ['postgres:', 'postgresql:']), {
      message: 'expected a postgres:// or postgresql:// URL',
    }),
    /** Maximum connections in this process's PostgreSQL pool. */
    DATABASE_POOL_MAX: intEnv({ min: 1, max: 1000, default: 10 }),
    /** OTLP/HTTP collector base URL (`http://otel-collector:4318`); unset = no export. */
    OTEL_EXPORTER_OTLP_ENDPOINT: z
      .string()
      .refine((v) => urlWithProtocol(v, ['http:', 'https:']), {
        message: 'expected an http:// or https:// URL',
      })
      .optional(),
    /**
     * Sentry DSN (`https://<key>@<host>/<project>`): unhandled errors and HTTP 5xx are reported
     * there, scrubbed of secrets and phone numbers. Unset: no error tracking, nothing is sent.
     */
    SENTRY_DSN: z
      .string()
      .refine((v) => urlWithProtocol(v, ['http:', 'https:']), {
        message: 'expected an http:// or https:// URL',
      })
      .optional(),
    /** Deadline for the graceful shutdown after SIGTERM, in ms; keep it below the pod's grace period. */
    SHUTDOWN_TIMEOUT_MS: intEnv({ min: 0, max: 3_600_000, default: 10_000 }),
    /** Pod (instance) name, used in logs, metrics labels and the NATS connection name. */
    POD_NAME: z
      .string()
      .min(1)
      .default(() => hostname()),
  });
}

/** The parsed result of {@link baseServiceEnv}. */
export type BaseServiceConfig = z.output<ReturnType<typeof baseServiceEnv>>;

/** Names whose values are never printed, in errors or logs. */
const SECRET_NAME = /SECRET|TOKEN|KEY|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|DATABASE_URL|DSN/i;

/** `scheme://userinfo@` anywhere in a value: the second URL of a comma-separated list too. */
const URL_WITH_CREDENTIALS = /[a-z][a-z0-9+.-]*:\/\/[^/\s,@]*@/i;

/**
 * Whether the value of `variable` must never be printed. URLs carrying credentials are secret
 * too, alone, in a comma-separated list or in a parsed list (`NATS_URL`).
 */
export function isSecretVariable(variable: string, value?: unknown): boolean {
  if (SECRET_NAME.test(variable)) return true;
  const values = Array.isArray(value) ? (value as unknown[]) : [value];
  return values.some((v) => typeof v === 'string' && URL_WITH_CREDENTIALS.test(v));
}

/** Credentials for nats-server's `authorization` block: a user and password, or a token. */
export interface NatsCredentials {
  user?: string;
  pass?: string;
  token?: string;
}

/** `scheme://` and the userinfo before `@` of a server URL. */
const NATS_URL_USERINFO = /^(\s*[a-z][a-z0-9+.-]*:\/\/)([^/@]*)@/i;

function decodeUserinfo(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * Takes the credentials off NATS server URLs, the way the NATS clients read them:
 * `nats://user:password@host:4222` is a user and password, `nats://token@host:4222` a token, both
 * percent-decoded. The nats.js client does not do it itself: it drops them and connects without
 * credentials (and reads `user:password@nats:4222` as an IPv6 address), so `connectNats` passes
 * them as options instead.
 *
 * @returns The URLs without credentials, and each distinct set of credentials found.
 */
export function splitNatsUrlCredentials(urls: readonly string[]): {
  servers: string[];
  credentials: NatsCredentials[];
} {
  const found = new Map<string, NatsCredentials>();
  const servers = urls.map((url) => {
    const m = NATS_URL_USERINFO.exec(url);
    if (!m) return url;
    const userinfo = m[2] ?? '';
    const colon = userinfo.indexOf(':');
    const credentials: NatsCredentials =
      colon < 0
        ? { token: decodeUserinfo(userinfo) }
        : {
            user: decodeUserinfo(userinfo.slice(0, colon)),
            pass: decodeUserinfo(userinfo.slice(colon + 1)),
          };
    found.set(JSON.stringify(credentials), credentials);
    return `${m[1] ?? ''}${url.slice(m[0].length)}`;
  });
  return { servers, credentials: [...found.values()] };
}

/**
 * The rules across the NATS credential variables of {@link baseServiceEnv}: a user comes with
 * its password, a token is not combined with a user, and credentials are given either in
 * NATS_URL or in the variables, not both. `values` is the raw environment (empty = unset).
 */
function natsCredentialIssues(values: Env): ConfigIssue[] {
  const { NATS_USER: user, NATS_PASSWORD: pass, NATS_TOKEN: token, NATS_URL: url } = values;
  const issues: ConfigIssue[] = [];
  const pair = 'set both NATS_USER and NATS_PASSWORD, or neither';
  if (user !== undefined && pass === undefined) {
    issues.push({ variable: 'NATS_PASSWORD', message: `required with NATS_USER: ${pair}` });
  }
  if (pass !== undefined && user === undefined) {
    issues.push({ variable: 'NATS_USER', message: `required with NATS_PASSWORD: ${pair}` });
  }
  if (token !== undefined && (user !== undefined || pass !== undefined)) {
    issues.push({
      variable: 'NATS_TOKEN',
      message: 'set either NATS_TOKEN or NATS_USER and NATS_PASSWORD, not both',
    });
  }
  const inUrl = splitNatsUrlCredentials((url ?? '').split(',')).credentials;
  if (inUrl.length > 1) {
    issues.push({
      variable: 'NATS_URL',
      message: 'its URLs carry different credentials: give every server the same ones, or none',
    });
  }
  if (inUrl.length > 0 && (user ?? pass ?? token) !== undefined) {
    issues.push({
      variable: 'NATS_URL',
      message:
        'carries credentials (user:password@) and NATS_USER, NATS_PASSWORD or NATS_TOKEN is set too: give them one way',
    });
  }
  return issues;
}

/**
 * Every value of a parsed config that must never leave the process, for scrubbing error
 * reports: the secret variables' values, and the passwords and tokens inside URLs (NATS_URL's
 * list included).
 */
export function secretValues(config: object): string[] {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(config)) {
    if (typeof v === 'string' && isSecretVariable(k, v)) out.add(v);
    const strings = (Array.isArray(v) ? (v as unknown[]) : [v]).filter(
      (x): x is string => typeof x === 'string',
    );
    for (const c of splitNatsUrlCredentials(strings.flatMap((s) => s.split(','))).credentials) {
      if (c.pass !== undefined) out.add(c.pass);
      if (c.token !== undefined) out.add(c.token);
    }
  }
  return [...out];
}

/** Env as read from files and the environment; empty strings count as unset. */
type Env = Record<string, string | undefined>;

function schemaKeys(schema: z.ZodType): string[] | undefined {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : undefined;
}

/**
 * Applies `X_FILE`: when `X` is unset and `X_FILE` names a file (a Kubernetes Secret mount),
 * `X` becomes the file's content without its trailing newline.
 */
function resolveEnv(
  schema: z.ZodType,
  env: Env,
): { values: Env; fromFile: Set<string>; issues: ConfigIssue[] } {
  const values: Env = {};
  for (const [k, v] of Object.entries(env)) values[k] = v === '' ? undefined : v;
  const fromFile = new Set<string>();
  const issues: ConfigIssue[] = [];
  const keys =
    schemaKeys(schema) ??
    Object.keys(values)
      .filter((k) => k.endsWith('_FILE'))
      .map((k) => k.slice(0, -'_FILE'.length));
  for (const key of keys) {
    const file = values[`${key}_FILE`];
    if (values[key] !== undefined || file === undefined) continue;
    try {
      values[key] = readFileSync(file, 'utf8').replace(/[\r\n]+$/, '');
      fromFile.add(key);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      issues.push({ variable: `${key}_FILE`, message: `cannot read file "${file}" (${code})` });
    }
  }
  return { values, fromFile, issues };
}

function describeValue(variable: string, value: unknown, fromFile: boolean): string {
  if (fromFile || isSecretVariable(variable, value)) return ' (value hidden)';
  const text = String(value);
  // JSON quoting keeps the message on one line even when the value holds a newline.
  return ` (got ${JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text)})`;
}

/** Recursively freezes plain objects and arrays. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Validates `env` against `schema` and returns the deep-frozen result.
 *
 * Before validation, empty strings count as unset and every `X_FILE` whose `X` is unset is read
 * into `X`. Every problem is collected (not just the first), and none of the messages contains a
 * secret value (see {@link isSecretVariable}; values read from files are always hidden).
 *
 * @param env - The environment to read. @defaultValue `process.env`
 * @throws ConfigError listing every invalid variable in a one-line message.
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  env: Env = process.env,
): Readonly<z.output<S>> {
  const { values, fromFile, issues } = resolveEnv(schema, env);
  const result = schema.safeParse(values);
  // Cross-field rules of the base variables live here, not in a refinement of the schema: zod
  // refuses `.extend` over a key of a refined object, and services override base keys.
  const crossField = schemaKeys(schema)?.includes('NATS_USER') ? natsCredentialIssues(values) : [];
  if (result.success && issues.length === 0 && crossField.length === 0) {
    return deepFreeze(result.data);
  }
  for (const issue of result.error?.issues ?? []) {
    const variable = issue.path.length > 0 ? issue.path.map(String).join('.') : '(config)';
    const raw = values[String(issue.path[0])];
    if (issue.path.length > 0 && raw === undefined) {
      issues.push({ variable, message: 'required' });
    } else {
      const got =
        issue.path.length === 1 ? describeValue(variable, raw, fromFile.has(variable)) : '';
      issues.push({ variable, message: `${issue.message}${got}` });
    }
  }
  issues.push(...crossField);
  throw new ConfigError(issues);
}

/**
 * The one-line text to print when start-up fails: the {@link ConfigError} message, or the
 * message of any other error.
 */
export function formatConfigError(err: unknown): string {
  if (err instanceof ConfigError) return err.message.replace(/[\r\n]+/g, ' ');
  return err instanceof Error ? err.message : String(err);
}

/**
 * A copy of a parsed config that is safe to log: secret values (by name, or URLs with
 * credentials) become `'[REDACTED]'`.
 */
export function redactConfig<T extends object>(config: T): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    out[k] = isSecretVariable(k, v) ? '[REDACTED]' : v;
  }
  return out;
}

/**
 * The variables of a service that calls Twilio's REST API, to spread into its `.extend({...})`;
 * pair them with {@link requireTwilioCredentialPair}.
 */
export const twilioRestEnv = {
  /** Twilio account (`AC…`). Unset: the service does without Twilio's REST API. */
  TWILIO_ACCOUNT_SID: z
    .string()
    .regex(/^AC[0-9a-f]{32}$/, 'must be AC + 32 hex digits')
    .optional(),
  /** Twilio auth token of TWILIO_ACCOUNT_SID. */
  TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
  /** Twilio REST base URL; unset: api.twilio.com. The local simulator's in development. */
  TWILIO_API_BASE_URL: z.url().optional(),
};

/**
 * A `superRefine` step for services that call Twilio's REST API: the account SID and the auth
 * token come together or not at all, since either alone can only fail at the first call.
 */
export function requireTwilioCredentialPair(
  cfg: { TWILIO_ACCOUNT_SID?: string | undefined; TWILIO_AUTH_TOKEN?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if ((cfg.TWILIO_ACCOUNT_SID === undefined) !== (cfg.TWILIO_AUTH_TOKEN === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: [cfg.TWILIO_ACCOUNT_SID === undefined ? 'TWILIO_ACCOUNT_SID' : 'TWILIO_AUTH_TOKEN'],
      message: 'set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or neither',
    });
  }
}
