/**
 * A live call's spans. The `call` span lasts the whole session, from the bridge taking the call
 * to its end, under the gateway's webhook span (Media Streams: the TwiML's `traceparent`; SIP:
 * the offer's NATS headers). Under it: `realtime.connect` (opening the provider leg), one
 * `tool.call <name>` per function call, and `handoff.ask` when the bridge asks for a human.
 * Tool and handoff requests run with their span active, so the tool-runner's and the handoff
 * service's spans join the same trace through the request's NATS headers.
 *
 * Callbacks reach the call from sockets and timers whose async context is not the call's, so
 * every child names the call's context as its parent explicitly.
 */
import type { CallEndReason } from '@app/contracts';
import {
  contextWithSpan,
  failSpan,
  serviceSpans,
  SpanKind,
  SpanStatusCode,
  type Context,
  type Span,
} from '@app/platform';

/** The bridge's spans (instrumentation scope `call-bridge`). */
export const spans = serviceSpans('call-bridge');

/** What is known of a call when the bridge takes it. */
export interface CallTraceSpec {
  callId: string;
  transport: 'media-streams' | 'sip';
  /** Unknown only for a SIP offer from a gateway of the previous release. */
  direction?: 'inbound' | 'outbound' | undefined;
  agentId: string;
  /** The gateway's span, as carried to this pod. @defaultValue the active context */
  parent?: Context | undefined;
}

export interface CallTrace {
  /** The call span's context: the parent of everything done for the call. */
  readonly context: Context;
  /** The provider leg is being opened. */
  connecting(): void;
  /** The provider leg is open. */
  connected(): void;
  /** Runs one function call under its own `tool.call <name>` span. */
  tool<T extends { ok: boolean; error?: { code: string; message: string } }>(
    call: { name: string; invocationId: string },
    run: () => Promise<T>,
  ): Promise<T>;
  /** Runs a handoff ask under a `handoff.ask` span. */
  handoff<T extends { status: string }>(trigger: string, run: () => Promise<T>): Promise<T>;
  /** Ends the call span (and a connect still open) with the call's end reason. */
  end(reason: CallEndReason): void;
}

export function startCallTrace(spec: CallTraceSpec): CallTrace {
  const call = spans.startSpan(
    'call',
    {
      'call.id': spec.callId,
      'call.transport': spec.transport,
      'call.agent_id': spec.agentId,
      ...(spec.direction ? { 'call.direction': spec.direction } : {}),
    },
    { ...(spec.parent ? { parent: spec.parent } : {}), kind: SpanKind.SERVER },
  );
  const ctx = contextWithSpan(call, spec.parent);
  let connect: Span | null = null;
  const child = { parent: ctx };
  return {
    context: ctx,
    connecting() {
      connect ??= spans.startSpan('realtime.connect', { 'call.id': spec.callId }, child);
    },
    connected() {
      connect?.end();
      connect = null;
    },
    tool: (t, run) =>
      spans.withSpan(
        `tool.call ${t.name}`,
        { 'call.id': spec.callId, 'tool.name': t.name, 'tool.invocation_id': t.invocationId },
        async (span) => {
          const result = await run();
          span.setAttribute('tool.outcome', result.ok ? 'ok' : (result.error?.code ?? 'error'));
          if (!result.ok) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: result.error?.message ?? '' });
          }
          return result;
        },
        { ...child, kind: SpanKind.CLIENT },
      ),
    handoff: (trigger, run) =>
      spans.withSpan(
        'handoff.ask',
        { 'call.id': spec.callId, 'handoff.trigger': trigger },
        async (span) => {
          const outcome = await run();
          span.setAttribute('handoff.outcome', outcome.status);
          return outcome;
        },
        { ...child, kind: SpanKind.CLIENT },
      ),
    end(reason) {
      if (connect) {
        failSpan(connect, new Error(`the call ended (${reason}) before the provider answered`));
        connect.end();
        connect = null;
      }
      call.setAttribute('call.end_reason', reason);
      if (reason === 'error' || reason === 'provider-error') {
        call.setStatus({ code: SpanStatusCode.ERROR, message: reason });
      }
      call.end();
    },
  };
}
