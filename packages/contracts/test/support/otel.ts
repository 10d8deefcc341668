/**
 * Just enough OpenTelemetry for tests, without an SDK: a W3C `traceparent`/`tracestate`
 * propagator and an AsyncLocalStorage context manager, registered globally as an SDK would.
 * In services, `@app/platform` starts the real SDK, which registers the same two.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

import {
  context,
  createTraceState,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Context,
  type ContextManager,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

class W3CTraceContext implements TextMapPropagator {
  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    const span = trace.getSpanContext(ctx);
    if (!span || !isSpanContextValid(span)) return;
    const flags = (span.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
    setter.set(carrier, 'traceparent', `00-${span.traceId}-${span.spanId}-${flags}`);
    if (span.traceState) setter.set(carrier, 'tracestate', span.traceState.serialize());
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
    const match = TRACEPARENT.exec(first(getter.get(carrier, 'traceparent')) ?? '');
    if (!match) return ctx;
    const state = first(getter.get(carrier, 'tracestate'));
    return trace.setSpanContext(ctx, {
      traceId: match[1] ?? '',
      spanId: match[2] ?? '',
      traceFlags: Number.parseInt(match[3] ?? '0', 16),
      isRemote: true,
      ...(state ? { traceState: createTraceState(state) } : {}),
    });
  }

  fields(): string[] {
    return ['traceparent', 'tracestate'];
  }
}

class AsyncLocalContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(ctx, () => fn.apply(thisArg, args));
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const fn = target as (...args: unknown[]) => unknown;
    return ((...args: unknown[]) => this.with(ctx, () => fn(...args))) as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.storage.disable();
    return this;
  }
}

/** Registers the propagator and context manager globally; returns the function that undoes it. */
export function installTracing(): () => void {
  context.setGlobalContextManager(new AsyncLocalContextManager());
  propagation.setGlobalPropagator(new W3CTraceContext());
  return () => {
    context.disable();
    propagation.disable();
  };
}

/** Runs `fn` as if inside a sampled span with these ids. */
export function withSpan<T>(traceId: string, spanId: string, fn: () => T): T {
  const ctx = trace.setSpanContext(context.active(), {
    traceId,
    spanId,
    traceFlags: TraceFlags.SAMPLED,
  });
  return context.with(ctx, fn);
}

/** The trace id of the active context, if any. */
export function activeTraceId(): string | undefined {
  return trace.getSpanContext(context.active())?.traceId;
}
