import { randomBytes } from 'node:crypto';

import { connect, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { isSpanContextValid, propagation, trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../src/logger.js';
import {
  extractTraceContext,
  injectTraceHeaders,
  startTelemetry,
  type Telemetry,
} from '../src/telemetry.js';

const log = createLogger({ service: 'test', version: '0.0.0', level: 'silent' });
const subject = `t${randomBytes(4).toString('hex')}.telemetry.test`;

let nc: NatsConnection;
let telemetry: Telemetry | undefined;

beforeAll(async () => {
  nc = await connect({ servers: 'nats://127.0.0.1:4222', name: 'platform-telemetry-test' });
});

afterAll(async () => {
  await telemetry?.shutdown();
  await nc.close();
});

describe('telemetry', { timeout: 10_000 }, () => {
  it('gives spans real ids and propagates them with no exporter configured', async () => {
    telemetry = await startTelemetry({ serviceName: 'test', serviceVersion: '0.0.0', log });
    const span = trace.getTracer('test').startSpan('op');
    expect(isSpanContextValid(span.spanContext())).toBe(true);
    const h = headers();
    trace.getTracer('test').startActiveSpan('publish', (s) => {
      injectTraceHeaders(h);
      s.end();
    });
    expect(h.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    span.end();
  });

  it('shares one trace id between a NATS publish span and the handler span', async () => {
    const exporter = new InMemorySpanExporter();
    // Starting again replaces the previous instance and its globals.
    telemetry = await startTelemetry({
      serviceName: 'test',
      serviceVersion: '0.0.0',
      log,
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = trace.getTracer('platform-test');

    const handled = new Promise<void>((resolve, reject) => {
      nc.subscribe(subject, {
        max: 1,
        callback: (err: Error | null, msg: Msg) => {
          if (err) return reject(err);
          tracer.startActiveSpan('handle', {}, extractTraceContext(msg.headers), (span) => {
            span.end();
            resolve();
          });
        },
      });
    });
    await nc.flush();
    tracer.startActiveSpan('publish', (span) => {
      const h = headers();
      injectTraceHeaders(h);
      nc.publish(subject, 'hello', { headers: h });
      span.end();
    });
    await handled;

    const spans = exporter.getFinishedSpans();
    const byName = new Map<string, ReadableSpan>(spans.map((s) => [s.name, s]));
    const publish = byName.get('publish');
    const handle = byName.get('handle');
    expect(publish).toBeDefined();
    expect(handle).toBeDefined();
    expect(handle?.spanContext().traceId).toBe(publish?.spanContext().traceId);
    expect(handle?.parentSpanContext?.spanId).toBe(publish?.spanContext().spanId);
  });

  it('reads trace headers whatever their case, and tolerates missing headers', () => {
    const h = headers();
    h.set('Traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    const ctx = extractTraceContext(h);
    expect(trace.getSpanContext(ctx)?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(trace.getSpanContext(extractTraceContext(undefined))).toBeUndefined();
  });

  it('exports over OTLP/HTTP when an endpoint is set, and shuts down when the collector is down', async () => {
    const t = await startTelemetry({
      serviceName: 'test',
      serviceVersion: '0.0.0',
      log,
      // Nothing listens on port 9: the export fails fast and is reported to the (silent) logger.
      otlpEndpoint: 'http://127.0.0.1:9/',
      exportTimeoutMs: 300,
    });
    trace.getTracer('test').startSpan('exported').end();
    const started = performance.now();
    await t.shutdown();
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('removes its globals on shutdown', async () => {
    await telemetry?.shutdown();
    telemetry = undefined;
    const h = headers();
    trace.getTracer('test').startActiveSpan('after', (s) => {
      injectTraceHeaders(h);
      s.end();
    });
    expect(h.has('traceparent')).toBe(false);
    expect(propagation.fields()).toEqual([]);
  });
});
