/** The bridge's Prometheus metrics, registered on the service's registry. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

import type { Direction, SessionObserver } from './domain/call-session.js';

export interface BridgeMetrics {
  liveCalls: Gauge;
  frames: Counter<'direction'>;
  framesDropped: Counter<'direction'>;
  forwardLatency: Histogram<'direction'>;
  badFrames: Counter<'kind'>;
  callSetup: Histogram;
  setupStage: Histogram<'stage'>;
  bargeInReaction: Histogram;
  bargeInTruncate: Histogram;
  truncationError: Histogram;
  providerErrors: Counter<'code'>;
  providerRecoveries: Counter;
  toolCalls: Counter<'outcome'>;
  toolCallLatency: Histogram;
  toolFillers: Counter;
  handoffAsks: Counter<'trigger' | 'outcome'>;
}

/**
 * Sub-millisecond to 100 ms: forwarding and barge-in reaction are in-process work, and a slow
 * frame is a problem. Fine around 1-20 ms so that percentiles interpolated within buckets
 * (packages/bench) can be read against the 5 ms and 20 ms budgets.
 */
const FAST_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075,
  0.01, 0.015, 0.02, 0.03, 0.05, 0.1,
];

export function createBridgeMetrics(registry: Registry): BridgeMetrics {
  return {
    liveCalls: new Gauge({
      name: 'call_bridge_live_calls',
      help: 'Media Streams calls bridged by this pod right now',
      registers: [registry],
    }),
    frames: new Counter({
      name: 'call_bridge_media_frames_total',
      help: 'Audio frames forwarded, by direction',
      labelNames: ['direction'],
      registers: [registry],
    }),
    framesDropped: new Counter({
      name: 'call_bridge_media_frames_dropped_total',
      help: 'Audio frames dropped instead of queued behind a slow socket (back-pressure), by direction',
      labelNames: ['direction'],
      registers: [registry],
    }),
    forwardLatency: new Histogram({
      name: 'call_bridge_forward_latency_seconds',
      help: 'From a frame arriving at the bridge to it being written to the other socket',
      labelNames: ['direction'],
      buckets: FAST_BUCKETS,
      registers: [registry],
    }),
    badFrames: new Counter({
      name: 'call_bridge_bad_frames_total',
      help: 'Media Streams frames ignored as malformed, oversized, binary or out of order, by kind',
      labelNames: ['kind'],
      registers: [registry],
    }),
    callSetup: new Histogram({
      name: 'call_bridge_call_setup_seconds',
      help: 'From the voice webhook arriving at the gateway to the first session.update sent',
      // Fine below 50 ms: the set-up overhead budget.
      buckets: [0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2, 5],
      registers: [registry],
    }),
    setupStage: new Histogram({
      name: 'call_bridge_setup_stage_seconds',
      help:
        'Parts of call set-up: stream (voice webhook to the stream start reaching the bridge), ' +
        'agent (agent settings loaded), provider (OpenAI socket opened)',
      labelNames: ['stage'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2, 5],
      registers: [registry],
    }),
    bargeInReaction: new Histogram({
      name: 'call_bridge_barge_in_reaction_seconds',
      help: 'From the speech_started handler starting to Twilio clear sent',
      buckets: FAST_BUCKETS,
      registers: [registry],
    }),
    bargeInTruncate: new Histogram({
      name: 'call_bridge_barge_in_truncate_seconds',
      help: 'From the speech_started handler starting to conversation.item.truncate sent (after the clear)',
      buckets: FAST_BUCKETS,
      registers: [registry],
    }),
    truncationError: new Histogram({
      name: 'call_bridge_truncation_error_ms',
      help: 'Possible error of a barge-in truncation point: audio counted as heard from the time since the last mark echo, not confirmed by one',
      buckets: [5, 10, 20, 40, 80, 160, 320],
      registers: [registry],
    }),
    providerErrors: new Counter({
      name: 'call_bridge_provider_errors_total',
      help: 'Errors from the voice provider (error events, malformed events, dropped connections), by code',
      labelNames: ['code'],
      registers: [registry],
    }),
    providerRecoveries: new Counter({
      name: 'call_bridge_provider_recoveries_total',
      help: 'Dropped provider connections restored mid-call',
      registers: [registry],
    }),
    toolCalls: new Counter({
      name: 'call_bridge_tool_calls_total',
      help: "The model's function calls, by outcome: ok, or the error code the model was given",
      labelNames: ['outcome'],
      registers: [registry],
    }),
    toolCallLatency: new Histogram({
      name: 'call_bridge_tool_call_seconds',
      help: 'From function_call_arguments.done to the tool-runner answer (or the bridge giving up)',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    toolFillers: new Counter({
      name: 'call_bridge_tool_fillers_total',
      help: 'Filler lines asked for because a tool was slow',
      registers: [registry],
    }),
    handoffAsks: new Counter({
      name: 'call_bridge_handoff_asks_total',
      help: 'Humans asked for by the bridge (key press, rule), by trigger and outcome',
      labelNames: ['trigger', 'outcome'],
      registers: [registry],
    }),
  };
}

/** What {@link registerBridgeGauges} reads. */
export interface BridgeGaugeSources {
  /** MAX_CALLS: the calls this pod takes at most. */
  maxCalls: number;
  /** Seconds since the least recently written owner entry of this pod's calls; 0 with none. */
  ownerHeartbeatAgeSeconds: () => number;
}

/**
 * Capacity and ownership gauges: `call_bridge_max_calls`, so capacity alerts compare live calls
 * with each pod's own limit instead of a number copied from the Deployment, and
 * `call_bridge_owner_heartbeat_age_seconds`, which grows when heartbeats to the call-owners
 * bucket stop succeeding (past the bucket's 30 s TTL other pods' sweepers end the calls).
 */
export function registerBridgeGauges(registry: Registry, sources: BridgeGaugeSources): void {
  new Gauge({
    name: 'call_bridge_max_calls',
    help: 'Calls this pod takes at most (MAX_CALLS)',
    registers: [registry],
  }).set(sources.maxCalls);
  new Gauge({
    name: 'call_bridge_owner_heartbeat_age_seconds',
    help: "Seconds since the stalest of this pod's live calls last had its owner entry written (0 without calls)",
    registers: [registry],
    collect() {
      this.set(sources.ownerHeartbeatAgeSeconds());
    },
  });
}

/** The session observer that feeds these metrics. */
export function metricsObserver(m: BridgeMetrics): SessionObserver {
  // Per-frame observations go to label children resolved once: prom-client hashes the labels
  // on every call otherwise, twice per frame.
  const child = (direction: Direction) => ({
    frames: m.frames.labels({ direction }),
    latency: m.forwardLatency.labels({ direction }),
  });
  const perDirection = {
    'caller-to-openai': child('caller-to-openai'),
    'openai-to-caller': child('openai-to-caller'),
  };
  return {
    frameForwarded: (direction, latencyMs) => {
      const d = perDirection[direction];
      d.frames.inc();
      d.latency.observe(latencyMs / 1_000);
    },
    frameDropped: (direction) => m.framesDropped.inc({ direction }),
    bargeIn: (reactionMs, truncationErrorMs, truncateMs) => {
      m.bargeInReaction.observe(reactionMs / 1_000);
      m.truncationError.observe(truncationErrorMs);
      if (truncateMs !== undefined) m.bargeInTruncate.observe(truncateMs / 1_000);
    },
    providerError: (code) => m.providerErrors.inc({ code }),
    setup: (ms) => m.callSetup.observe(ms / 1_000),
    providerConnected: (ms) => m.setupStage.observe({ stage: 'provider' }, ms / 1_000),
    recovered: () => m.providerRecoveries.inc(),
    toolCalled: (outcome, latencyMs) => {
      m.toolCalls.inc({ outcome });
      m.toolCallLatency.observe(latencyMs / 1_000);
    },
    toolFiller: () => m.toolFillers.inc(),
    handoffAsked: (trigger, outcome) => m.handoffAsks.inc({ trigger, outcome }),
  };
}
