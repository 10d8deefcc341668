/**
 * W3C trace context (`traceparent`, `tracestate`) carried in NATS message headers, through the
 * globally registered OpenTelemetry propagator. Without one registered (no SDK started), inject
 * and extract are no-ops, as OpenTelemetry intends.
 */
import { headers as createHeaders, Match, type MsgHdrs } from '@nats-io/transport-node';
import {
  context,
  propagation,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';

const setter: TextMapSetter<MsgHdrs> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys(carrier) {
    return carrier ? carrier.keys() : [];
  },
  get(carrier, key) {
    // Header names are case-insensitive on the wire of HTTP-born propagators; be lenient.
    const value = carrier?.get(key, Match.IgnoreCase);
    return value ? value : undefined;
  },
};

/**
 * Writes the active trace context into `headers` (created when absent). Returns the headers, or
 * `undefined` when there was nothing to write and none were given.
 */
export function injectTraceContext(
  headers?: MsgHdrs,
  ctx: Context = context.active(),
): MsgHdrs | undefined {
  const carrier = headers ?? createHeaders();
  propagation.inject(ctx, carrier, setter);
  return headers !== undefined || carrier.keys().length > 0 ? carrier : undefined;
}

/** The context to run a message's handler in: the active one plus the sender's trace context. */
export function extractTraceContext(headers: MsgHdrs | undefined, ctx: Context = context.active()) {
  return propagation.extract(ctx, headers, getter);
}
