/**
 * The shape of a bench result file (packages/bench/results/<date>-<host>.json). All times are
 * ms, memory KiB/MiB as named, CPU in seconds. Percentiles of exact samples are `Percentiles`;
 * those read from the bridge's histograms are `HistogramSummary` (interpolated within buckets,
 * max only bounded).
 */
import type { LoopDelay } from './probes/loop-delay.js';
import type { MachineInfo } from './probes/machine.js';
import type { HistogramSummary } from './stats/histogram.js';
import type { Percentiles } from './stats/percentiles.js';

export type { HistogramSummary, LoopDelay, MachineInfo, Percentiles };

export interface LoadRunSettings {
  calls: number;
  /** Calls placed per second while ramping up. */
  rampPerSec: number;
  /** Steady-state window (every call live) over which CPU, memory and loop delay are read. */
  windowMs: number;
  /** Share of agent answers the caller interrupts. */
  bargeInRate: number;
  /** A frame later than this end to end is late. */
  lateFrameMs: number;
}

export interface LoadRunResult {
  settings: LoadRunSettings;
  /** Wall time of the run, placing the first call to the last call's end. */
  durationMs: number;
  calls: { placed: number; bridged: number; ended: number; endReasons: Record<string, number> };
  /** Calls live during the window, from the generator (mean of 1 s samples) and the bridge. */
  liveInWindow: { mean: number; min: number; bridgeGaugeAtEnd: number };
  bridge: {
    /** CPU seconds the bridge process used per call per minute of call (the headline). */
    cpuSecPerCallMinute: number | null;
    /** Share of one core the bridge used during the window. */
    coreShare: number | null;
    /** Calls one core would carry at 100 % CPU at this cost (linear; latency not considered). */
    callsPerCoreAtFullCpu: number | null;
    rssIdleMiB: number | null;
    rssWindowMiB: number | null;
    /** (RSS in the window − idle RSS) / live calls. */
    rssPerCallKiB: number | null;
    /** Event-loop delay beyond the 10 ms sampling interval, during the window. */
    loopDelayMs: LoopDelay | null;
    /** The same while calls were being placed (set-up work competes with forwarding). */
    rampLoopDelayMs: LoopDelay | null;
  };
  generator: {
    loopDelayMs: LoopDelay;
    rampLoopDelayMs: LoopDelay;
    /** Share of one core the generator process used during the window. */
    coreShare: number;
    /** Caller frames the bridge received in the window / frames the live calls should send. */
    callerFrameRate: number | null;
    /** The generator could not keep real-time pace: this run's latencies are not the bridge's. */
    limited: boolean;
    reasons: string[];
  };
  /** The bridge's `call_bridge_forward_latency_seconds`: handler start to written, per frame. */
  forwardLatencyMs: {
    callerToModel: HistogramSummary | null;
    modelToCaller: HistogramSummary | null;
  };
  /** Measured by the simulators across both sockets (call-timing.ts). */
  endToEndMs: {
    /** In the steady-state window (every call live, none being set up). */
    modelToCaller: Percentiles | null;
    callerToModelOnset: Percentiles | null;
    /** Over the whole run, call set-up included. */
    modelToCallerRun: Percentiles | null;
    callerToModelOnsetRun: Percentiles | null;
  };
  frames: {
    callerToModel: number;
    modelToCaller: number;
    droppedCallerToModel: number;
    droppedModelToCaller: number;
    /**
     * Late agent frames and utterance onsets (end to end over `lateFrameMs`) in the steady-state
     * window, the generator's own stalls discounted: the sweep's criterion.
     */
    late: number;
    /** The same without discounting the generator's stalls. */
    lateRaw: number;
    /** Over the whole run (set-up included), discounted and raw. */
    lateRun: number;
    lateRunRaw: number;
    /** Agent frames received that could not be paired with their delta. */
    unmatched: number;
  };
  bargeIn: {
    count: number;
    /** `call_bridge_barge_in_reaction_seconds`: speech_started handler to clear sent. */
    toClearMs: HistogramSummary | null;
    /** `call_bridge_barge_in_truncate_seconds`: speech_started handler to truncate sent. */
    toTruncateMs: HistogramSummary | null;
    /** speech_started written by the model to clear received by the caller. */
    endToEndClearMs: Percentiles | null;
    /** speech_started written to the model's truncated event (truncate received). */
    endToEndTruncateMs: Percentiles | null;
  };
  setup: {
    /** Voice webhook to first session.update (calls.setup_ms, exact per call). */
    toSessionUpdateMs: Percentiles | null;
    /** The same from `call_bridge_call_setup_seconds`. */
    toSessionUpdateHistogramMs: HistogramSummary | null;
    /**
     * Its parts, from `call_bridge_setup_stage_seconds`: webhook to the stream's start at the
     * bridge, agent settings loaded, OpenAI socket opened. Absent in older results.
     */
    stagesMs?: {
      stream: HistogramSummary | null;
      agent: HistogramSummary | null;
      provider: HistogramSummary | null;
    };
    /** Webhook rung to the caller's first agent audio (includes the simulated model's time). */
    toFirstAudioMs: Percentiles | null;
    /** The same less the simulated model's own time to first audio. */
    firstAudioOverheadMs: Percentiles | null;
  };
  protocolErrors: number;
  criteria: {
    p99ForwardUnder20Ms: boolean;
    /** Frames also wait for the bridge's event loop before its histogram's clock starts. */
    bridgeLoopP99Under20Ms: boolean;
    noLateFrames: boolean;
    /** All three, and no frame dropped. */
    pass: boolean;
  };
}

export interface WebhookLevel {
  concurrency: number;
  requests: number;
  errors: number;
  perSec: number;
  latencyMs: Percentiles | null;
}

export interface WebhookResult {
  durationPerLevelMs: number;
  pinned: boolean;
  levels: WebhookLevel[];
  /** Highest throughput among levels with p99 under 50 ms and no error. */
  maxPerSecUnder50MsP99: number | null;
}

export interface EventPathResult {
  /** Sequential events: publish (JetStream ack) and publish-to-row latency. */
  events: number;
  publishAckMs: Percentiles | null;
  toRowMs: Percentiles | null;
  /** A burst published at once: rows written per second by the projector. */
  burst: { events: number; rowsPerSec: number | null };
  /** Polling interval of the row check: the resolution of `toRowMs`. */
  pollMs: number;
}

export interface SweepResult {
  runs: LoadRunResult[];
  /** Largest N that passed (p99 forward and loop delay < 20 ms, no late or dropped frame). */
  maxPassingCalls: number | null;
  /** Why the sweep stopped before its last N, if it did. */
  stoppedBecause: string | null;
}

export interface SuiteResult {
  version: 1;
  mode: 'quick' | 'full' | 'smoke';
  startedAt: string;
  machine: MachineInfo;
  pinned: { bridge: string | null; generatorAndGateway: string | null };
  sweep: SweepResult;
  webhook: WebhookResult | null;
  eventPath: EventPathResult | null;
  definitions: Record<string, string>;
}
