/**
 * The NATS connection of a process, JetStream provisioning and the NATS readiness check.
 *
 * Streams and the KV bucket are declared in code (STYLE.md 6.8), from the specs that
 * `@app/contracts` builds, so every environment and every test namespace gets the same shape.
 */
import {
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import {
  AuthorizationError,
  connect,
  nanos,
  type NatsConnection,
  type Status,
} from '@nats-io/transport-node';

import type { KvBucketSpec, Names, StreamSpec } from '@app/contracts';

import { splitNatsUrlCredentials, type NatsCredentials } from './config.js';
import { SystemError } from './errors.js';
import type { CheckResult, HealthCheck } from './health.js';
import type { Logger } from './logger.js';

/** Options of {@link connectNats}. */
export interface ConnectNatsOptions {
  /**
   * Server URLs (`nats://host:4222`, `tls://...`), e.g. the parsed `NATS_URL`. Credentials in
   * a URL (`nats://user:pass@host:4222`, `nats://token@host:4222`) are used as `user`/`pass` or
   * `token`; they must not be given both ways.
   */
  servers: string | readonly string[];
  /** Connection name shown by the server, `<service>@<pod>` (e.g. `'gateway@pod-1'`). */
  name: string;
  /** Connection events are logged here. */
  log: Logger;
  /** Token authentication; not with `user`. @defaultValue none */
  token?: string;
  /** User for user/password authentication (requires `pass`). @defaultValue none */
  user?: string;
  /** Password for `user`. @defaultValue none */
  pass?: string;
  /**
   * Keep trying when no server answers the first connect, instead of failing. @defaultValue
   * `false`: start-up fails fast and the orchestrator restarts the process.
   */
  waitOnFirstConnect?: boolean;
  /** Handshake timeout per attempt, in ms. @defaultValue `5000` */
  timeoutMs?: number;
}

/** First reconnect delay, in ms; doubles per failed attempt up to {@link RECONNECT_MAX_MS}. */
const RECONNECT_BASE_MS = 250;
/** Longest delay between reconnect attempts, in ms. */
const RECONNECT_MAX_MS = 5_000;

/**
 * Connects to NATS and reconnects forever (exponential backoff from 250 ms to 5 s, with "equal
 * jitter" so a fleet of pods does not reconnect in lock-step). Every `nc.status()` event becomes
 * a log line: `disconnect`/`staleConnection`/`ldm`/`slowConsumer` at warn, `reconnect` at info,
 * `error` at error, and the per-attempt `reconnecting`/`ping` at debug.
 *
 * @throws TypeError when the credentials are inconsistent (see `natsAuth` below).
 * @throws SystemError `NATS_AUTH_FAILED` when the server refuses the credentials (or their
 * absence): at once, not after a timeout.
 */
export async function connectNats(opts: ConnectNatsOptions): Promise<NatsConnection> {
  const { log } = opts;
  const { servers, credentials } = natsAuth(opts);
  let attempts = 0;
  const nc = await connect({
    servers,
    name: opts.name,
    ...credentials,
    reconnect: true,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: opts.waitOnFirstConnect ?? false,
    timeout: opts.timeoutMs ?? 5_000,
    // Detect a dead server within about a minute instead of the default 4 minutes.
    pingInterval: 20_000,
    maxPingOut: 3,
    reconnectDelayHandler: () => {
      const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.min(attempts, 10));
      return ceiling / 2 + Math.random() * (ceiling / 2);
    },
  }).catch((err: unknown) => {
    throw authFailure(err, servers, credentials) ?? err;
  });
  log.info({ server: nc.getServer(), name: opts.name }, 'nats connected');
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'reconnecting') attempts++;
      if (s.type === 'reconnect') attempts = 0;
      logStatus(log, s);
    }
  })();
  void nc.closed().then((err) => {
    if (err) log.error({ err }, 'nats connection closed with an error');
    else log.info('nats connection closed');
  });
  return nc;
}

/**
 * The servers without credentials, and the credentials to send: from the options or from the
 * URLs (which nats.js would otherwise drop, see {@link splitNatsUrlCredentials}).
 *
 * @throws TypeError when `user` comes without `pass` (or the reverse), a token with a user, URLs
 * with different credentials, or credentials both in a URL and in the options.
 */
function natsAuth(opts: ConnectNatsOptions): { servers: string[]; credentials: NatsCredentials } {
  const { servers, credentials: inUrl } = splitNatsUrlCredentials(
    typeof opts.servers === 'string' ? opts.servers.split(',') : opts.servers,
  );
  const given: NatsCredentials = {
    ...(opts.user !== undefined ? { user: opts.user } : {}),
    ...(opts.pass !== undefined ? { pass: opts.pass } : {}),
    ...(opts.token !== undefined ? { token: opts.token } : {}),
  };
  if ((given.user === undefined) !== (given.pass === undefined)) {
    throw new TypeError('connectNats: give both user and pass, or neither');
  }
  if (given.token !== undefined && given.user !== undefined) {
    throw new TypeError('connectNats: give a token or a user and pass, not both');
  }
  if (inUrl.length > 1) {
    throw new TypeError('connectNats: the server URLs carry different credentials');
  }
  if (inUrl.length > 0 && Object.keys(given).length > 0) {
    throw new TypeError('connectNats: credentials both in a server URL and in the options');
  }
  return {
    servers: servers.map((s) => s.trim()).filter((s) => s !== ''),
    credentials: inUrl[0] ?? given,
  };
}

/** How a connection authenticated, for messages: never the secret itself. */
function describeAuth(credentials: NatsCredentials): string {
  if (credentials.user !== undefined) return `as user "${credentials.user}"`;
  if (credentials.token !== undefined) return 'with a token';
  return 'without credentials';
}

/**
 * A connect error that is the server refusing the credentials, as a {@link SystemError}
 * `NATS_AUTH_FAILED` naming the servers and how we authenticated; `undefined` for any other
 * error. Not retryable: the same credentials fail the same way, so the process should stop
 * with this message (and the orchestrator restart it with the fixed Secret).
 */
function authFailure(
  err: unknown,
  servers: readonly string[],
  credentials: NatsCredentials,
): SystemError | undefined {
  if (!(err instanceof AuthorizationError)) return undefined;
  return new SystemError(
    `NATS refused the connection to ${servers.join(', ')} ${describeAuth(credentials)}: ` +
      `${err.message}. Check NATS_USER and NATS_PASSWORD (or NATS_TOKEN, or the credentials in ` +
      "NATS_URL) against the server's authorization settings.",
    { code: 'NATS_AUTH_FAILED', retryable: false, cause: err },
  );
}

function logStatus(log: Logger, s: Status): void {
  switch (s.type) {
    case 'disconnect':
      return log.warn({ server: s.server }, 'nats disconnected');
    case 'reconnect':
      return log.info({ server: s.server }, 'nats reconnected');
    case 'reconnecting':
      return log.debug('nats reconnecting');
    case 'error':
      return log.error({ err: s.error }, 'nats error');
    case 'staleConnection':
      return log.warn('nats connection stale');
    case 'ldm':
      return log.warn({ server: s.server }, 'nats server entering lame duck mode');
    case 'slowConsumer':
      return log.warn({ subject: s.sub.getSubject(), pending: s.pending }, 'nats slow consumer');
    case 'update':
      return log.info({ added: s.added, deleted: s.deleted }, 'nats cluster update');
    case 'forceReconnect':
      return log.info('nats forced reconnect');
    case 'ping':
      return log.debug({ pendingPings: s.pendingPings }, 'nats ping');
    case 'close':
      return;
  }
}

/** What {@link provisionJetStream} did to each stream or bucket. */
export type ProvisionAction = 'created' | 'updated' | 'unchanged';

/** Result of {@link provisionJetStream}: the action per stream or bucket name. */
export type ProvisionResult = Record<string, ProvisionAction>;

/** JetStream error 10058: "stream name already in use with a different configuration". */
const STREAM_NAME_IN_USE = 10058;
/** JetStream API error: `subjects overlap with an existing stream`. */
const SUBJECTS_OVERLAP = 10065;

function streamConfig(
  spec: StreamSpec,
  replicas: number,
): Partial<StreamConfig> & { name: string } {
  return {
    name: spec.name,
    subjects: [...spec.subjects],
    retention: spec.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(spec.maxAgeMs),
    duplicate_window: nanos(spec.duplicateWindowMs),
    num_replicas: replicas,
  };
}

function sameStreamConfig(have: StreamConfig, want: Partial<StreamConfig>): boolean {
  return (
    have.retention === want.retention &&
    have.storage === want.storage &&
    have.max_age === want.max_age &&
    have.num_replicas === want.num_replicas &&
    have.duplicate_window === want.duplicate_window &&
    [...have.subjects].sort().join(',') === [...(want.subjects ?? [])].sort().join(',')
  );
}

function isNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
}

async function ensureStream(
  jsm: JetStreamManager,
  spec: StreamSpec,
  replicas: number,
): Promise<ProvisionAction> {
  const want = streamConfig(spec, replicas);
  // Two processes may provision at once: an `add` that loses the race (10058 with a different
  // config; 10065 on nats-server 2.9 while the winner's stream is half made) is retried, and
  // then finds the stream; an identical `add` succeeds on the server.
  for (let attempt = 0; attempt < 3; attempt++) {
    let have: StreamConfig;
    try {
      have = (await jsm.streams.info(spec.name)).config;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await jsm.streams.add(want);
        return 'created';
      } catch (addErr) {
        if (
          addErr instanceof JetStreamApiError &&
          (addErr.code === STREAM_NAME_IN_USE || addErr.code === SUBJECTS_OVERLAP)
        ) {
          continue;
        }
        throw addErr;
      }
    }
    if (sameStreamConfig(have, want)) return 'unchanged';
    if (have.retention !== want.retention || have.storage !== want.storage) {
      throw new SystemError(
        `stream ${spec.name} exists with retention ${have.retention}/${have.storage}; JetStream cannot change that in place: delete the stream (losing its messages) or migrate it`,
        { code: 'JETSTREAM_STREAM_INCOMPATIBLE', retryable: false },
      );
    }
    // `update` merges these into the server's current config.
    await jsm.streams.update(spec.name, {
      subjects: want.subjects,
      max_age: want.max_age,
      duplicate_window: want.duplicate_window,
      num_replicas: want.num_replicas,
    });
    return 'updated';
  }
  throw new SystemError(`stream ${spec.name} kept changing while provisioning it`, {
    code: 'JETSTREAM_PROVISION_CONFLICT',
  });
}

async function ensureKvBucket(
  nc: NatsConnection,
  jsm: JetStreamManager,
  spec: KvBucketSpec,
  replicas: number,
): Promise<ProvisionAction> {
  const streamName = `KV_${spec.name}`;
  const existed = await jsm.streams.info(streamName).then(
    () => true,
    (err: unknown) => {
      if (isNotFound(err)) return false;
      throw err;
    },
  );
  // `Kvm.create` is idempotent: it opens the bucket when it exists, without changing it. Two
  // processes creating it at the same instant can still lose the server-side race (the loser
  // sees 10058 or, on nats-server 2.9, 10065 "subjects overlap" from the winner's half-made
  // stream); by the retry the bucket exists and `create` opens it.
  for (let attempt = 0; ; attempt++) {
    try {
      await new Kvm(nc).create(spec.name, {
        history: spec.history,
        ttl: spec.ttlMs,
        storage: StorageType.File,
        replicas,
      });
      break;
    } catch (err) {
      const raced =
        err instanceof JetStreamApiError &&
        (err.code === STREAM_NAME_IN_USE || err.code === SUBJECTS_OVERLAP);
      if (!raced || attempt >= 2) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
    }
  }
  const have = (await jsm.streams.info(streamName)).config;
  if (
    have.max_age === nanos(spec.ttlMs) &&
    have.max_msgs_per_subject === spec.history &&
    have.num_replicas === replicas
  ) {
    return existed ? 'unchanged' : 'created';
  }
  await jsm.streams.update(streamName, {
    max_age: nanos(spec.ttlMs),
    max_msgs_per_subject: spec.history,
    num_replicas: replicas,
  });
  return 'updated';
}

/**
 * Creates or updates the streams `names.streams.calls`, `.callRequests`, `.campaigns` (file
 * storage; retention, `max_age` and `duplicate_window` from the specs) and every KV bucket of
 * `names.kv` (`call-owners`, `openai-webhook-ids`: bucket-level TTL and history). Idempotent, and safe to run from several
 * processes at once.
 *
 * @param opts.replicas - Replicas of every stream and bucket (NATS_STREAM_REPLICAS); more than 1
 *   needs a clustered server. @defaultValue 1
 *
 * @throws SystemError `JETSTREAM_STREAM_INCOMPATIBLE` when a stream exists with another retention
 *   or storage, which JetStream cannot change in place.
 */
export async function provisionJetStream(
  nc: NatsConnection,
  names: Names,
  log?: Logger,
  opts: { replicas?: number } = {},
): Promise<ProvisionResult> {
  const replicas = opts.replicas ?? 1;
  const jsm = await jetstreamManager(nc);
  const result: ProvisionResult = {};
  const { calls, callRequests, campaigns } = names.streams;
  for (const spec of [calls, callRequests, campaigns]) {
    result[spec.name] = await ensureStream(jsm, spec, replicas);
  }
  for (const bucket of Object.values(names.kv)) {
    result[bucket.name] = await ensureKvBucket(nc, jsm, bucket, replicas);
  }
  log?.info({ jetstream: result }, 'jetstream provisioned');
  return result;
}

/** Options of {@link natsHealthCheck}. */
export interface NatsHealthCheckOptions {
  /** Longest acceptable round trip to the server, in ms. @defaultValue `500` */
  timeoutMs?: number;
}

/**
 * A readiness check that passes while `nc` is connected and a round trip to the server
 * (`nc.rtt()`) completes within `timeoutMs`.
 */
export function natsHealthCheck(
  nc: NatsConnection,
  opts: NatsHealthCheckOptions = {},
): HealthCheck {
  const timeoutMs = opts.timeoutMs ?? 500;
  return async (): Promise<CheckResult> => {
    if (nc.isClosed()) return { ok: false, detail: 'connection closed' };
    if (nc.isDraining()) return { ok: false, detail: 'connection draining' };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CheckResult>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, detail: `no answer within ${timeoutMs}ms` }),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([
        nc.rtt().then((ms): CheckResult => ({ ok: true, detail: `rtt ${Math.round(ms)}ms` })),
        timeout,
      ]);
    } catch (err) {
      return { ok: false, detail: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  };
}
