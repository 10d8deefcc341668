/**
 * Liveness, readiness and Prometheus metrics on every service (ARCHITECTURE.md "Observability").
 *
 * - `GET /healthz`: the process is alive (the event loop answers). Never checks dependencies, so
 *   a NATS outage does not make Kubernetes restart every pod.
 * - `GET /readyz`: dependencies answer within `checkTimeoutMs`, the pod is not shutting down and
 *   has capacity left; otherwise 503 and Kubernetes stops routing new work here.
 * - `GET /metrics`: the Prometheus text format of the service's registry.
 */
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyTypeProvider,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerBase,
} from 'fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** Outcome of one dependency check. */
export interface CheckResult {
  ok: boolean;
  /** Short, non-secret explanation (`'rtt 1ms'`, `'connection closed'`). */
  detail?: string;
}

/** A dependency check; it may throw, which counts as a failure with the error's message. */
export type HealthCheck = () => Promise<CheckResult> | CheckResult;

/** Options of {@link createMetricsRegistry}. */
export interface MetricsRegistryOptions {
  /** Service name; a default label on every metric. */
  service: string;
  /** Pod name; a default label on every metric. */
  pod: string;
}

/**
 * A Prometheus registry with the Node.js default metrics (CPU, memory, event loop lag, GC) and
 * the default labels `service` and `pod`. Create one per process and register the service's
 * own metrics on it.
 */
export function createMetricsRegistry({ service, pod }: MetricsRegistryOptions): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service, pod });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Load of a service with a hard limit (live calls of a bridge). */
export interface Capacity {
  used: number;
  limit: number;
}

/** Options of {@link registerHealthRoutes}. */
export interface HealthRoutesOptions {
  /** Dependency checks by name (`nats`, `postgres`); all must pass for readiness. */
  checks: Record<string, HealthCheck>;
  /**
   * Current load; the pod is not ready when `used >= limit`. An infinite `limit` means no limit
   * and is left out of the body. @defaultValue no capacity limit
   */
  capacity?: () => Capacity;
  /** Shutdown state; not ready once it returns `true`. @defaultValue never shutting down */
  isShuttingDown?: () => boolean;
  /** Registry served on `/metrics`; the HTTP metrics are registered on it. */
  registry: Registry;
  /**
   * Time each check may take before it counts as failed, in ms. Kept below Kubernetes' default
   * probe `timeoutSeconds: 1`. @defaultValue `800`
   */
  checkTimeoutMs?: number;
}

/** One check's entry in the `/readyz` body. */
export interface CheckReport extends CheckResult {
  /** How long the check took (or the timeout), in ms. */
  latencyMs: number;
}

/** Body of `/readyz`. */
export interface ReadinessReport {
  status: 'ready' | 'not-ready';
  /** Why the pod is not ready: `shutting-down`, `check-failed`, `capacity-exhausted`. */
  reasons: string[];
  checks: Record<string, CheckReport>;
  capacity?: Capacity & { available: number };
}

/** Routes that are probed or scraped all the time: no info logs, no HTTP metrics. */
const PROBE_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

async function runCheck(check: HealthCheck, timeoutMs: number): Promise<CheckReport> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, detail: `timed out after ${timeoutMs}ms` }),
      timeoutMs,
    );
  });
  try {
    const result = await Promise.race([Promise.resolve().then(check), timeout]);
    return { ...result, latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return { ok: false, detail, latencyMs: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

/** Builds the `/readyz` report (exported for services that expose readiness elsewhere, e.g. NATS). */
export async function checkReadiness(
  opts: Pick<HealthRoutesOptions, 'checks' | 'capacity' | 'isShuttingDown' | 'checkTimeoutMs'>,
): Promise<ReadinessReport> {
  const reasons: string[] = [];
  const checks: Record<string, CheckReport> = {};
  if (opts.isShuttingDown?.()) {
    // Dependencies are being closed on purpose; checking them would only add noise.
    reasons.push('shutting-down');
  } else {
    const timeoutMs = opts.checkTimeoutMs ?? 800;
    const entries = Object.entries(opts.checks);
    const reports = await Promise.all(entries.map(([, check]) => runCheck(check, timeoutMs)));
    entries.forEach(([name], i) => (checks[name] = reports[i] as CheckReport));
    if (reports.some((r) => !r.ok)) reasons.push('check-failed');
  }
  const report: ReadinessReport = { status: 'ready', reasons, checks };
  if (opts.capacity) {
    const { used, limit } = opts.capacity();
    // An infinite limit means "no limit": nothing to report (JSON has no Infinity).
    if (Number.isFinite(limit)) {
      report.capacity = { used, limit, available: Math.max(0, limit - used) };
    }
    if (used >= limit) reasons.push('capacity-exhausted');
  }
  if (reasons.length > 0) report.status = 'not-ready';
  return report;
}

function httpMetrics(registry: Registry) {
  const labelNames = ['method', 'route', 'status', 'status_class'] as const;
  const requests =
    (registry.getSingleMetric('http_requests_total') as Counter<(typeof labelNames)[number]>) ??
    new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template, status code and class (2xx).',
      labelNames,
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric('http_request_duration_seconds') as Histogram<
      (typeof labelNames)[number]
    >) ??
    new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer an HTTP request, in seconds, by method, route template and status.',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  return { requests, duration };
}

/**
 * Adds `/healthz`, `/readyz` and `/metrics` to `app`, and an `onResponse` hook that records
 * `http_requests_total` and `http_request_duration_seconds` (labels `method`, `route`, `status`, `status_class` such as `5xx`;
 * `route` is the route template, `unmatched` for 404s) for every other route of `app`.
 *
 * Call it on the root instance, before `app.ready()`. The probe routes log at `warn` only, so
 * probes do not flood the logs.
 */
export function registerHealthRoutes<
  Server extends RawServerBase,
  Request extends RawRequestDefaultExpression<Server>,
  Reply extends RawReplyDefaultExpression<Server>,
  Log extends FastifyBaseLogger,
  TypeProvider extends FastifyTypeProvider,
>(
  // Generic so an app built with a pino `loggerInstance` (or any server/type provider) fits.
  app: FastifyInstance<Server, Request, Reply, Log, TypeProvider>,
  opts: HealthRoutesOptions,
): void {
  const { requests, duration } = httpMetrics(opts.registry);

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route !== undefined && PROBE_ROUTES.has(route)) return;
    const labels = {
      method: request.method,
      route: route ?? 'unmatched',
      status: reply.statusCode,
      status_class: `${Math.floor(reply.statusCode / 100)}xx`,
    };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });

  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    const report = await checkReadiness(opts);
    return reply
      .code(report.status === 'ready' ? 200 : 503)
      .header('cache-control', 'no-store')
      .send(report);
  });

  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    const body = await opts.registry.metrics();
    return reply.header('content-type', opts.registry.contentType).send(body);
  });
}
