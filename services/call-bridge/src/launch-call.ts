/**
 * Starts a live call's {@link CallSession}, whichever way its audio travels (Media Streams
 * route, SIP offer handler), and wires what every call has: its events published on
 * `calls.<callId>.*`, metrics, ownership and control (`onCallLive`), and cleanup at the end.
 * One place, so the two inbound paths cannot drift apart.
 */
import type { CallControlResult, CallEndReason } from '@app/contracts';
import type { Context } from '@app/platform';

import type { HandoffClient } from './adapters/handoff-client.js';
import type { AgentSession } from './adapters/openai-realtime.js';
import type { ToolRunnerClient } from './adapters/tool-runner-client.js';
import { startCallTrace } from './call-trace.js';
import {
  CallSession,
  type CallMedia,
  type RecoveryPolicy,
  type SessionEvent,
  type SessionObserver,
} from './domain/call-session.js';
import type { RealtimeHandlers, RealtimeLeg } from './domain/realtime-leg.js';
import type { ToolPolicy } from './domain/tool-calls.js';
import { metricsObserver, type BridgeMetrics } from './metrics.js';

/** The call's logger (pino or Fastify's). */
export interface CallLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What the rest of the bridge may do to a live call (call-control). */
export interface LiveCallControl {
  callId: string;
  transport: 'media-streams' | 'sip';
  hangup(reason: CallEndReason): void;
  inject(text: string, role: 'system' | 'user'): boolean;
  /** Hands the caller to `target` (E.164 or SIP URI); absent where transfers are not built. */
  transfer?(target: string, mode: 'cold' | 'warm'): Promise<CallControlResult>;
}

/** The same for every call of a pod (from the service's wiring). */
export interface CallWiring {
  /** POD_NAME: recorded with each call's `answered` as its owner. */
  pod?: string | undefined;
  /** Publishes one call event (`calls.<callId>.<event>`); failures are logged here. */
  publish: (callId: string, event: SessionEvent) => Promise<void>;
  metrics?: BridgeMetrics | undefined;
  recovery?: Partial<RecoveryPolicy> | undefined;
  /**
   * Called when a call is live, with what others may do to it; returns the cleanup run when the
   * call ends (ownership release, control subscription).
   */
  onCallLive?: ((call: LiveCallControl) => () => void) | undefined;
  /** Runs the model's function calls (tool-runner.execute); absent: they fail as unavailable. */
  runTool?: ToolRunnerClient | undefined;
  toolPolicy?: Partial<ToolPolicy> | undefined;
  /** Asks for a human (handoff.transfer) on a key press or a rule; absent: nobody is asked. */
  handOff?: HandoffClient | undefined;
  /** The key that asks for a human (HANDOFF_DTMF_DIGIT); null: none. @defaultValue `'0'` */
  handoffDigit?: string | null | undefined;
  /**
   * Records that the agent's disclosure was said on call `callId` (issue 10); failures are
   * logged here. Absent: the disclosure is still said, and only logged.
   */
  disclosureSaid?: ((callId: string) => Promise<void>) | undefined;
}

/** One call's own parts. */
export interface LaunchSpec {
  callId: string;
  transport: LiveCallControl['transport'];
  /** Inbound or outbound, when this path knows it (tracing only). */
  direction?: 'inbound' | 'outbound' | undefined;
  /**
   * The trace the call continues: the gateway's webhook span as it reached this pod.
   * @defaultValue the active context (a SIP offer's handler runs in its request's context)
   */
  traceContext?: Context | undefined;
  /** The agent's id: tools run as this agent's (tool-runner checks they are enabled for it). */
  agentId: string;
  agent: AgentSession;
  media: CallMedia;
  openRealtime: (handlers: RealtimeHandlers) => RealtimeLeg;
  /** Tells the caller the call cannot go on (Twilio `<Say>`); null: just end it. */
  apologize: (() => Promise<void>) | null;
  /** Epoch ms when the call's first webhook arrived, for the set-up time. */
  setupStartMs?: number | undefined;
  transfer?: LiveCallControl['transfer'];
  log: CallLog;
  /** Transport cleanup (capacity, socket state), once, when the call ended. */
  onEnded: (reason: CallEndReason) => void;
}

export function launchCall(wiring: CallWiring, spec: LaunchSpec): CallSession {
  const { callId, log } = spec;
  const emit = (event: SessionEvent) => {
    wiring.publish(callId, event).catch((err: unknown) => {
      log.error({ err, event: event.event }, 'call event not published');
    });
  };
  let cleanup: (() => void) | null = null;
  const { runTool, handOff } = wiring;
  const trace = startCallTrace({
    callId,
    transport: spec.transport,
    direction: spec.direction,
    agentId: spec.agentId,
    parent: spec.traceContext,
  });
  const observers: SessionObserver[] = [{ providerConnected: () => trace.connected() }];
  if (wiring.metrics) observers.push(metricsObserver(wiring.metrics));
  const session = new CallSession({
    callId,
    ...(wiring.pod ? { pod: wiring.pod } : {}),
    media: spec.media,
    emit,
    openRealtime: (handlers) => {
      trace.connecting();
      return spec.openRealtime(handlers);
    },
    greeting: { first: spec.agent.greetFirst ?? true, instructions: spec.agent.greeting ?? null },
    disclosure: spec.agent.disclosure
      ? {
          text: spec.agent.disclosure,
          said: () => {
            log.info({}, 'disclosure said');
            wiring.disclosureSaid?.(callId).catch((err: unknown) => {
              log.error({ err }, 'disclosure not recorded');
            });
          },
        }
      : null,
    apologize: spec.apologize,
    ...(wiring.recovery ? { recovery: wiring.recovery } : {}),
    ...(spec.setupStartMs !== undefined ? { setupStartMs: spec.setupStartMs } : {}),
    observer: combineObservers(observers),
    runTool: runTool ? (call) => trace.tool(call, () => runTool(callId, spec.agentId, call)) : null,
    ...(wiring.toolPolicy ? { toolPolicy: wiring.toolPolicy } : {}),
    handOff: handOff ? (ask) => trace.handoff(ask.trigger, () => handOff(callId, ask)) : null,
    ...(wiring.handoffDigit !== undefined ? { handoffDigit: wiring.handoffDigit } : {}),
    onEnded: (reason) => {
      spec.onEnded(reason);
      cleanup?.();
      trace.end(reason);
      log.info({ reason }, 'call ended');
    },
  });
  session.start();
  cleanup =
    wiring.onCallLive?.({
      callId,
      transport: spec.transport,
      hangup: (reason) => session.end(reason),
      inject: (text, role) => session.inject(text, role),
      ...(spec.transfer ? { transfer: spec.transfer } : {}),
    }) ?? null;
  // Ended while starting (the provider refused at once): release what onCallLive took.
  if (session.ended) cleanup?.();
  return session;
}

/**
 * One observer that tells each of `observers` everything. A hook only one of them has is that
 * one's own function, so the per-frame hooks cost no more than before.
 */
function combineObservers(observers: readonly SessionObserver[]): SessionObserver {
  const combined: Record<string, (...args: never[]) => void> = {};
  const hooks = new Map<string, Array<(...args: never[]) => void>>();
  for (const o of observers) {
    for (const [key, fn] of Object.entries(o) as Array<[string, (...args: never[]) => void]>) {
      hooks.set(key, [...(hooks.get(key) ?? []), fn.bind(o)]);
    }
  }
  for (const [key, fns] of hooks) {
    combined[key] =
      fns.length === 1
        ? (fns[0] as (...args: never[]) => void)
        : (...args) => {
            for (const fn of fns) fn(...args);
          };
  }
  return combined as SessionObserver;
}
