/**
 * Span helpers, so services create spans in one line instead of repeating the tracer, status
 * and exception boilerplate of `@opentelemetry/api`.
 *
 * Each service gets its spans from {@link serviceSpans} with its own name as the instrumentation
 * scope: in production `service.name` (the resource) already says which process made a span, and
 * the scope says the same in a test that runs several services in one process.
 *
 * The tracer is looked up on every span rather than cached: `trace.getTracer` hands out a proxy
 * that binds to the first provider it sees, and tests start telemetry more than once.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';

/** Where a span starts. */
export interface SpanOptions {
  /** The parent; @defaultValue the active context */
  parent?: Context;
  /** @defaultValue `SpanKind.INTERNAL` */
  kind?: SpanKind;
}

/** A service's span helpers (see {@link serviceSpans}). */
export interface ServiceSpans {
  /**
   * Runs `fn` inside a new active span, so NATS messages it sends carry the span as their
   * parent. The span ends when `fn` settles; a throw is recorded on it (status ERROR) and
   * rethrown.
   */
  withSpan<T>(
    name: string,
    attributes: Attributes,
    fn: (span: Span) => T | Promise<T>,
    options?: SpanOptions,
  ): Promise<T>;
  /**
   * Starts a span the caller ends, for work that outlives one function (a call). Use
   * {@link contextWithSpan} to run code under it.
   */
  startSpan(name: string, attributes: Attributes, options?: SpanOptions): Span;
}

/** Span helpers whose instrumentation scope is `scope` (the service's name). */
export function serviceSpans(scope: string): ServiceSpans {
  const tracer = () => trace.getTracer(scope);
  const startSpan = (name: string, attributes: Attributes, options: SpanOptions = {}) =>
    tracer().startSpan(
      name,
      { attributes, kind: options.kind ?? SpanKind.INTERNAL },
      options.parent ?? context.active(),
    );
  return {
    startSpan,
    async withSpan(name, attributes, fn, options = {}) {
      const span = startSpan(name, attributes, options);
      try {
        return await context.with(contextWithSpan(span, options.parent), () => fn(span));
      } catch (err) {
        failSpan(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  };
}

/** `parent` (default: the active context) with `span` as its active span. */
export function contextWithSpan(span: Span, parent: Context = context.active()): Context {
  return trace.setSpan(parent, span);
}

/** Marks `span` failed: status ERROR with the message, and the exception as an event. */
export function failSpan(span: Span, err: unknown): void {
  if (err instanceof Error) span.recordException(err);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: err instanceof Error ? err.message : String(err),
  });
}

/**
 * The W3C `traceparent` of `ctx`'s span, for carriers that are not headers (a TwiML
 * `<Parameter>`); `undefined` when there is no valid span or no propagator.
 *
 * @param ctx - @defaultValue the active context
 */
export function traceparentOf(ctx: Context = context.active()): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent;
}

/**
 * The context whose remote parent is `traceparent`; {@link ROOT_CONTEXT} (a new trace) when it
 * is missing or malformed. Deliberately not the active context: a value from outside the process
 * is the only parent its work may have.
 */
export function contextFromTraceparent(traceparent: string | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

export { SpanKind, SpanStatusCode, type Attributes, type Context, type Span };
