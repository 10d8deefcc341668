import { headers } from '@nats-io/transport-node';
import { context, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  contextFromTraceparent,
  serviceSpans,
  SpanStatusCode,
  traceparentOf,
} from '../src/spans.js';
import { extractTraceContext, injectTraceHeaders } from '../src/telemetry.js';
import { captureSpans, type CapturedSpans } from '../src/testing.js';

let captured: CapturedSpans;

beforeAll(async () => {
  captured = await captureSpans();
});

afterAll(async () => {
  await captured?.stop();
});

const finished = (name: string) => {
  const span = captured.spans().find((s) => s.name === name);
  if (!span) throw new Error(`no span ${name}`);
  return span;
};

describe('span helpers', () => {
  const spans = serviceSpans('svc-a');

  it('withSpan runs fn in its active span, under the scope given, and ends it', async () => {
    const value = await spans.withSpan('outer', { k: 'v' }, async (outer) =>
      spans.withSpan('inner', {}, async () => {
        // The active span is what NATS headers carry.
        const h = injectTraceHeaders(headers());
        expect(trace.getSpan(extractTraceContext(h))?.spanContext().traceId).toBe(
          outer.spanContext().traceId,
        );
        return 42;
      }),
    );
    expect(value).toBe(42);
    const outer = finished('outer');
    const inner = finished('inner');
    expect(outer.instrumentationScope.name).toBe('svc-a');
    expect(outer.attributes).toEqual({ k: 'v' });
    expect(inner.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
  });

  it('withSpan records a throw on the span and rethrows it', async () => {
    await expect(
      spans.withSpan('fails', {}, () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const span = finished('fails');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' });
    expect(span.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('carries a span through a traceparent string (a TwiML parameter) into another scope', async () => {
    let carried: string | undefined;
    await spans.withSpan('webhook', {}, () => {
      carried = traceparentOf();
    });
    const webhook = finished('webhook');
    expect(carried).toBe(`00-${webhook.spanContext().traceId}-${webhook.spanContext().spanId}-01`);
    const other = serviceSpans('svc-b');
    other.startSpan('continued', {}, { parent: contextFromTraceparent(carried) }).end();
    const continued = finished('continued');
    expect(continued.spanContext().traceId).toBe(webhook.spanContext().traceId);
    expect(continued.parentSpanContext?.spanId).toBe(webhook.spanContext().spanId);
    expect(continued.instrumentationScope.name).toBe('svc-b');
  });

  it('starts a new trace from a missing or malformed traceparent, never from the active span', async () => {
    await spans.withSpan('active', {}, () => {
      for (const bad of [undefined, '', 'not-a-traceparent']) {
        const root = serviceSpans('svc-b').startSpan(
          'fresh',
          {},
          {
            parent: contextFromTraceparent(bad),
          },
        );
        expect(trace.getSpan(context.active())?.spanContext().traceId).not.toBe(
          root.spanContext().traceId,
        );
        root.end();
      }
    });
    const fresh = captured.spans().filter((s) => s.name === 'fresh');
    expect(fresh).toHaveLength(3);
    for (const s of fresh) expect(s.parentSpanContext).toBeUndefined();
  });
});
