/**
 * The one start-up and shutdown sequence every service shares, so each `main.ts` only wires:
 *
 *   loadConfig → logger → telemetry → NATS (connect + provision) → service setup → listen
 *   SIGTERM/SIGINT → readiness false → service drain steps → HTTP close → service resources
 *   → NATS drain → telemetry flush, all within SHUTDOWN_TIMEOUT_MS.
 *
 * A bad configuration never gets past the first step: the process prints one line naming the
 * variables and exits 1, before anything is opened.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { Registry } from 'prom-client';

import { createNames, type Names } from '@app/contracts';

import { secretValues, type BaseServiceConfig } from './config.js';
import { startErrorTracking, type ErrorTracking } from './error-tracking.js';
import { ConfigError } from './errors.js';
import {
  createMetricsRegistry,
  registerHealthRoutes,
  type Capacity,
  type HealthCheck,
} from './health.js';
import { createLogger, type Logger } from './logger.js';
import { connectNats, natsHealthCheck, provisionJetStream } from './nats.js';
import { registerNatsMetrics, registerPoolMetrics, type PoolStats } from './platform-metrics.js';
import { installShutdown } from './shutdown.js';
import { startTelemetry } from './telemetry.js';

/** What a service's setup receives: everything already connected, plus hooks to extend. */
export interface ServiceContext<C extends BaseServiceConfig> {
  readonly config: C;
  readonly log: Logger;
  /** The service's HTTP server (not yet listening); health routes are already registered. */
  readonly app: FastifyInstance;
  readonly nc: NatsConnection;
  /** Subjects, streams and buckets of this deployment's namespace (`NATS_PREFIX`). */
  readonly names: Names;
  readonly registry: Registry;
  /** Adds a dependency to /readyz. */
  addCheck(name: string, check: HealthCheck): void;
  /** Reports capacity on /readyz (call-bridge: live calls vs MAX_CALLS). */
  setCapacity(capacity: () => Capacity): void;
  /**
   * Runs first on shutdown, while HTTP and NATS are still up: stop taking work, let work in
   * flight finish (a bridge drains its calls here).
   */
  onDrain(name: string, run: () => Promise<void>): void;
  /** Runs after the HTTP server closed and before NATS drains: close the service's own clients. */
  onClose(name: string, run: () => Promise<void>): void;
  /**
   * Exposes a connection pool's counters on /metrics (`db_pool_*{pool="<name>"}`); `attachDatabase`
   * calls it with the service's pg Pool.
   */
  observePool(name: string, pool: PoolStats): void;
  /** Reports an error to error tracking (Sentry when `SENTRY_DSN` is set; otherwise a no-op). */
  reportError(err: unknown, context?: { tags?: Record<string, string> }): void;
}

/** A service's description, passed to {@link runService} from its `main.ts`. */
export interface ServiceDefinition<C extends BaseServiceConfig> {
  /** Service name: folder name, NATS connection name prefix, log `service` field. */
  name: string;
  version: string;
  /** Parses and validates the environment; throws ConfigError on a bad value. */
  loadConfig: () => C;
  /** Registers the service's routes, consumers and resources. */
  setup: (ctx: ServiceContext<C>) => Promise<void>;
  /**
   * Installs SIGTERM/SIGINT handlers that end the process.
   * @defaultValue true; tests running a service in-process pass false and call `close()`.
   */
  handleSignals?: boolean;
  /** Where logs go. @defaultValue stdout */
  logDestination?: DestinationStream;
}

/** A started service. */
export interface RunningService<C extends BaseServiceConfig> {
  readonly config: C;
  readonly app: FastifyInstance;
  /** `http://host:port` the service listens on. */
  readonly url: string;
  /** Runs the whole shutdown sequence (same as SIGTERM, without exiting the process). */
  close(): Promise<void>;
}

/**
 * Loads the configuration or ends the process with a one-line message naming the bad variables.
 * Kept separate from {@link runService} so it runs before any resource exists.
 */
export function loadConfigOrExit<C>(service: string, loadConfig: () => C): C {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      // No logger exists yet (its level is itself configuration): one plain line on stderr.
      process.stderr.write(`${service}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** Starts a service: connects everything, runs its setup, listens, and owns its shutdown. */
export async function runService<C extends BaseServiceConfig>(
  def: ServiceDefinition<C>,
): Promise<RunningService<C>> {
  const config = loadConfigOrExit(def.name, def.loadConfig);
  // Bound once error tracking started; fatal lines logged before that are only logged.
  const fatalSink: { errors?: ErrorTracking } = {};
  const log = createLogger({
    onFatal: (err) => fatalSink.errors?.capture(err, { level: 'fatal' }),
    service: def.name,
    version: def.version,
    level: config.LOG_LEVEL,
    pod: config.POD_NAME,
    ...(def.logDestination ? { destination: def.logDestination } : {}),
  });
  const errorTracking = await startErrorTracking({
    dsn: config.SENTRY_DSN,
    serviceName: def.name,
    serviceVersion: def.version,
    environment: config.NODE_ENV,
    pod: config.POD_NAME,
    log,
    secrets: secretValues(config),
  });
  fatalSink.errors = errorTracking;
  const telemetry = await startTelemetry({
    serviceName: def.name,
    serviceVersion: def.version,
    log,
    ...(config.OTEL_EXPORTER_OTLP_ENDPOINT
      ? { otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT }
      : {}),
  });

  const names = createNames(config.NATS_PREFIX);
  const nc = await connectNats({
    servers: config.NATS_URL,
    name: `${def.name}@${config.POD_NAME}`,
    log,
    // Unset (pnpm dev, a server without authorization): none are sent.
    user: config.NATS_USER,
    pass: config.NATS_PASSWORD,
    token: config.NATS_TOKEN,
  }).catch((err: unknown) => {
    // One JSON line to find in the logs, before the error ends the process from main.ts.
    log.fatal({ err }, 'cannot connect to NATS');
    throw err;
  });
  await provisionJetStream(nc, names, log, { replicas: config.NATS_STREAM_REPLICAS });

  const registry = createMetricsRegistry({ service: def.name, pod: config.POD_NAME });
  registerNatsMetrics(registry, nc);
  const checks: Record<string, HealthCheck> = { nats: natsHealthCheck(nc) };
  let capacity: (() => Capacity) | undefined;
  const drainSteps: Array<{ name: string; run: () => Promise<void> }> = [];
  const closeSteps: Array<{ name: string; run: () => Promise<void> }> = [];
  let shuttingDown = false;

  // The cast keeps the app typed as the plain FastifyInstance every plugin and test expects.
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger });
  registerHealthRoutes(app, {
    checks,
    capacity: () => capacity?.() ?? { used: 0, limit: Number.POSITIVE_INFINITY },
    isShuttingDown: () => shuttingDown,
    registry,
  });
  // 5xx answers report the error that caused them: `onError` keeps it, `onResponse` sees the
  // final status (a service's error handler may still turn it into a 4xx).
  const requestErrors = new WeakMap<object, Error>();
  app.addHook('onError', async (request, _reply, error) => {
    requestErrors.set(request, error);
  });
  app.addHook('onResponse', async (request, reply) => {
    const error = requestErrors.get(request);
    if (error === undefined || reply.statusCode < 500) return;
    errorTracking.capture(error, {
      tags: {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
    });
  });

  await def.setup({
    config,
    log,
    app,
    nc,
    names,
    registry,
    addCheck: (name, check) => {
      checks[name] = check;
    },
    setCapacity: (fn) => {
      capacity = fn;
    },
    onDrain: (name, run) => drainSteps.push({ name, run }),
    onClose: (name, run) => closeSteps.push({ name, run }),
    observePool: (name, pool) => registerPoolMetrics(registry, name, pool),
    reportError: (err, context) => errorTracking.capture(err, context ?? {}),
  });

  const address = await app.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  log.info({ url: address, natsPrefix: names.prefix || undefined }, 'service ready');

  const steps = [
    {
      name: 'readiness-off',
      // Load balancers see /readyz fail first, so no new work arrives while we drain.
      run: async () => {
        shuttingDown = true;
      },
    },
    ...drainSteps,
    { name: 'http', run: () => app.close() },
    // Resources close in reverse order of registration, like a stack of acquisitions.
    ...closeSteps.slice().reverse(),
    { name: 'nats', run: () => nc.drain() },
    { name: 'telemetry', run: () => telemetry.shutdown() },
    ...(errorTracking.enabled
      ? [{ name: 'error-tracking', run: () => errorTracking.close() }]
      : []),
  ];

  const handleSignals = def.handleSignals ?? true;
  const shutdown = installShutdown({
    log,
    deadlineMs: config.SHUTDOWN_TIMEOUT_MS,
    steps,
    ...(handleSignals ? {} : { signals: [], exit: () => undefined }),
  });

  // nats.js reconnects forever, and gives up only on what retrying cannot fix: the server
  // refusing our credentials (rotated in the Secret while we ran). Alive but unready, the pod
  // would never get the new ones: shut down and exit 1, so the orchestrator restarts it.
  void nc.closed().then((err) => {
    if (shutdown.isShuttingDown()) return;
    log.fatal({ err }, 'NATS connection closed for good: shutting down to be restarted');
    void shutdown.shutdown('nats connection closed', { failed: true });
  });

  return {
    config,
    app,
    url: address,
    close: () => shutdown.shutdown('close() called'),
  };
}
