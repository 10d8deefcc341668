/**
 * OpenTelemetry for one process: traces that cross NATS, and OTLP export when a collector is set.
 *
 * A W3C TraceContext propagator, an AsyncLocalStorage context manager and a tracer provider are
 * always installed, so spans get real ids and `traceparent` headers flow between services even
 * when nothing is exported; exporting is switched on by `OTEL_EXPORTER_OTLP_ENDPOINT` alone.
 * `@app/contracts` injects and extracts trace context for JetStream through the global
 * propagator; {@link injectTraceHeaders} and {@link extractTraceContext} do the same for core NATS
 * request/reply.
 */
import { Match, type MsgHdrs } from '@nats-io/transport-node';
import {
  context,
  diag,
  DiagLogLevel,
  metrics,
  propagation,
  trace,
  type Context,
  type DiagLogger,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  NoopSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from '@opentelemetry/semantic-conventions';

import type { Logger } from './logger.js';

/** Options of {@link startTelemetry}. */
export interface TelemetryOptions {
  /** `service.name` of every span and metric, e.g. `'call-bridge'`. */
  serviceName: string;
  /** `service.version`. */
  serviceVersion: string;
  /** `service.instance.id`, usually the pod name. @defaultValue omitted */
  instanceId?: string;
  /**
   * OTLP/HTTP collector base URL (`http://otel-collector:4318`); traces go to `/v1/traces` and
   * metrics to `/v1/metrics`. @defaultValue `undefined`: nothing is exported
   */
  otlpEndpoint?: string;
  /** Receives OpenTelemetry's own warnings and errors (export failures). */
  log: Logger;
  /** Extra span processors (tests pass one with an in-memory exporter). @defaultValue `[]` */
  spanProcessors?: SpanProcessor[];
  /** An exporter fed synchronously by a `SimpleSpanProcessor`; for tests. @defaultValue none */
  traceExporter?: SpanExporter;
  /** How often metrics are pushed when exporting, in ms. @defaultValue `30000` */
  metricExportIntervalMs?: number;
  /**
   * Longest one export (with its retries) and {@link Telemetry.shutdown} may take, in ms, so a
   * collector outage cannot eat the shutdown deadline. @defaultValue `3000`
   */
  exportTimeoutMs?: number;
}

/** Handle of the running telemetry. */
export interface Telemetry {
  /** Flushes pending spans and metrics, then removes the global providers. Idempotent. */
  shutdown(): Promise<void>;
}

/** The telemetry started last in this process; a new start replaces it (tests start several). */
let active: Telemetry | undefined;

function diagLogger(log: Logger): DiagLogger {
  const child = log.child({ component: 'opentelemetry' });
  return {
    error: (message, ...args) => child.error({ args }, message),
    warn: (message, ...args) => child.warn({ args }, message),
    info: (message, ...args) => child.debug({ args }, message),
    debug: (message, ...args) => child.trace({ args }, message),
    verbose: (message, ...args) => child.trace({ args }, message),
  };
}

/** Removes every global OpenTelemetry registration, so the next `start` can register its own. */
function disableGlobals(): void {
  trace.disable();
  context.disable();
  propagation.disable();
  metrics.disable();
  diag.disable();
}

/**
 * Starts OpenTelemetry for this process and registers it globally. Starting again (tests) first
 * shuts down the previous instance and removes its globals.
 */
export async function startTelemetry(opts: TelemetryOptions): Promise<Telemetry> {
  if (active) {
    opts.log.warn('telemetry started twice; shutting down the previous instance');
    await active.shutdown();
  }
  disableGlobals();

  const endpoint = opts.otlpEndpoint?.replace(/\/+$/, '');
  const exportTimeoutMs = opts.exportTimeoutMs ?? 3_000;
  const spanProcessors: SpanProcessor[] = [...(opts.spanProcessors ?? [])];
  if (opts.traceExporter) spanProcessors.push(new SimpleSpanProcessor(opts.traceExporter));
  if (endpoint) {
    const exporter = new OTLPTraceExporter({
      url: `${endpoint}/v1/traces`,
      timeoutMillis: exportTimeoutMs,
    });
    spanProcessors.push(new BatchSpanProcessor(exporter, { exportTimeoutMillis: exportTimeoutMs }));
  }
  // The SDK registers no tracer provider without a processor; spans would then have no ids and
  // nothing would propagate. A no-op processor keeps ids and propagation without exporting.
  if (spanProcessors.length === 0) spanProcessors.push(new NoopSpanProcessor());

  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: opts.serviceName,
      [ATTR_SERVICE_VERSION]: opts.serviceVersion,
      ...(opts.instanceId ? { [ATTR_SERVICE_INSTANCE_ID]: opts.instanceId } : {}),
    }),
    autoDetectResources: false,
    // Explicit components everywhere: left unset, the SDK would configure OTLP exporters from
    // OTEL_* variables behind the validated config's back.
    textMapPropagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanProcessors,
    metricReaders: endpoint
      ? [
          new PeriodicExportingMetricReader({
            exporter: new OTLPMetricExporter({
              url: `${endpoint}/v1/metrics`,
              timeoutMillis: exportTimeoutMs,
            }),
            exportIntervalMillis: opts.metricExportIntervalMs ?? 30_000,
            exportTimeoutMillis: exportTimeoutMs,
          }),
        ]
      : [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  // After the constructor, which installs a console logger when OTEL_LOG_LEVEL is set.
  diag.setLogger(diagLogger(opts.log), DiagLogLevel.WARN);
  sdk.start();
  opts.log.info(
    { otlpEndpoint: endpoint ?? null, exporting: endpoint !== undefined },
    'telemetry started',
  );

  let stopped: Promise<void> | undefined;
  const telemetry: Telemetry = {
    shutdown: () => {
      stopped ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), exportTimeoutMs);
        });
        try {
          const outcome = await Promise.race([sdk.shutdown(), timeout]);
          if (outcome === 'timeout') {
            opts.log.warn({ exportTimeoutMs }, 'telemetry flush timed out; some spans are lost');
          }
        } catch (err) {
          opts.log.warn({ err }, 'telemetry shutdown failed; some spans may be lost');
        } finally {
          clearTimeout(timer);
          if (active === telemetry) {
            active = undefined;
            disableGlobals();
          }
        }
      })();
      return stopped;
    },
  };
  active = telemetry;
  return telemetry;
}

const headerSetter: TextMapSetter<MsgHdrs> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

// Other clients may canonicalise header names (`Traceparent`), so lookups ignore case.
const headerGetter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (carrier) => carrier?.keys() ?? [],
  get: (carrier, key) => {
    if (!carrier?.has(key, Match.IgnoreCase)) return undefined;
    const values = carrier.values(key, Match.IgnoreCase);
    return values.length === 1 ? values[0] : values;
  },
};

/**
 * Writes the trace context of `ctx` (`traceparent`, `tracestate`, `baggage`) into NATS headers,
 * for a core NATS publish or request.
 *
 * @param ctx - @defaultValue the active context
 */
export function injectTraceHeaders(headers: MsgHdrs, ctx: Context = context.active()): MsgHdrs {
  propagation.inject(ctx, headers, headerSetter);
  return headers;
}

/**
 * Reads the trace context from a message's headers; use it as the parent of the handler's span:
 * `tracer.startActiveSpan('handle', {}, extractTraceContext(msg.headers), fn)`.
 *
 * @param headers - The message's headers; `undefined` yields `ctx` unchanged.
 * @param ctx - Context to extend. @defaultValue the active context
 */
export function extractTraceContext(headers?: MsgHdrs, ctx: Context = context.active()): Context {
  return propagation.extract(ctx, headers, headerGetter);
}
