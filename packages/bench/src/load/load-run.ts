/**
 * One load run: N simulated callers ring our voice webhook at a steady rate, each talks with
 * the simulated model over Media Streams through the one call-bridge (real-time 20 ms frames
 * both ways, paced model audio, barge-ins at the set rate), and once every call is live a
 * steady-state window measures what the bridge costs. Then every call ends and its timing is
 * read from both simulators (call-timing.ts) and the bridge's metrics.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  parseScenario,
  SIM_DEFAULTS,
  startSimulators,
  type CallRecording,
  type SentEvent,
  type Simulators,
} from '@app/sim';

import { LoopDelayProbe } from '../probes/loop-delay.js';
import { readProcSample, type ProcSample } from '../probes/proc-stats.js';
import { startSelfProfile } from '../probes/self-profile.js';
import { StallTimeline } from '../probes/stall-timeline.js';
import type { LoadRunResult, LoadRunSettings } from '../results.js';
import type { BenchStack, BridgeProcess } from '../stack/stack.js';
import { summarize } from '../stats/percentiles.js';
import {
  bridgeLoopDelay,
  counterBetween,
  histogramBetween,
  scrape,
  TO_CALLER,
  TO_MODEL,
  type Scrape,
} from './bridge-metrics.js';
import { analyseCall, type TimedSample } from './call-timing.js';
import { benchScenario } from './scenario.js';

export interface LoadRunOptions extends LoadRunSettings {
  /** After the last call is placed, before the window opens. */
  settleMs: number;
  /** Talk time each call has beyond the window, so none ends inside it. */
  tailMs: number;
  /** Short calls made first on a fresh bridge (JIT, connection pools), not measured. */
  warmupCalls: number;
  /** Turns per call after the greeting. @defaultValue enough to outlast the window */
  turns?: number;
  onProgress?: (message: string) => void;
  /** Write a CPU profile of the load generator over the window into this directory. */
  profileDir?: string;
}

const SETUP_STAGES = 'call_bridge_setup_stage_seconds';

/** A generator event loop later than this at p99 cannot keep 20 ms pacing honestly. */
const GENERATOR_LAG_LIMIT_MS = 10;
/** Below this share of the frames its callers should send, the run did not run at real time. */
const MIN_FRAME_RATE = 0.97;

interface PlacedCall {
  placedAtEpochMs: number;
  callSid: string;
  recording: CallRecording;
  end: { status: string; reason: string } | null;
  sent: readonly SentEvent[] | null;
}

const nowEpoch = () => performance.timeOrigin + performance.now();

function runIdOf(recording: CallRecording): number | undefined {
  const tag = recording.entries.find((e) => e.kind === 'caller.tag' && e.data?.kind === 'run');
  return typeof tag?.data?.value === 'number' ? tag.data.value : undefined;
}

/** Keeps each ended call's OpenAI events before the simulator forgets closed sessions. */
function captureSessions(sims: Simulators, calls: PlacedCall[]): void {
  const wanted = new Map<number, PlacedCall>();
  for (const c of calls) {
    if (c.sent !== null || c.end === null) continue;
    const runId = runIdOf(c.recording);
    if (runId !== undefined) wanted.set(runId, c);
  }
  if (wanted.size === 0) return;
  for (const s of sims.openai.sessions()) {
    const call = s.runId === undefined ? undefined : wanted.get(s.runId);
    if (call && s.closed) call.sent = s.sent;
  }
}

/** Short greeting-only calls on a fresh bridge (JIT, connection pools); also the soak's. */
export async function warmUp(sims: Simulators, count: number): Promise<void> {
  const scenario = parseScenario({
    name: 'bench-warm-up',
    caller: { steps: [{ waitForAgent: { quietMs: 300, timeoutMs: 10_000 } }, { hangup: true }] },
    model: { greeting: 'Hello.' },
  });
  const placed = await Promise.all(
    Array.from({ length: count }, () =>
      sims.twilio.ringInbound({
        to: SIM_DEFAULTS.numbers.mediaStreams,
        from: SIM_DEFAULTS.numbers.caller,
        scenario,
      }),
    ),
  );
  await Promise.all(placed.map((p) => p.ended));
}

function procSample(pid: number): ProcSample | null {
  try {
    return readProcSample(pid);
  } catch {
    return null;
  }
}

const mean = (xs: readonly number[]) =>
  xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);

export async function runLoad(stack: BenchStack, opts: LoadRunOptions): Promise<LoadRunResult> {
  const say = opts.onProgress ?? (() => undefined);
  const sims = await startSimulators({ pacing: 'realtime', voiceUrl: stack.voiceUrl });
  let bridge: BridgeProcess | undefined;
  const loop = new LoopDelayProbe();
  const stalls = new StallTimeline();
  try {
    bridge = await stack.startBridge(sims, Math.max(100, opts.calls * 2));
    const { pid } = bridge.proc;
    if (opts.warmupCalls > 0) await warmUp(sims, opts.warmupCalls);

    // Idle baseline of the bridge's memory, after warm-up.
    await sleep(1_000);
    const idle: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const s = procSample(pid);
      if (s) idle.push(s.rssBytes);
      await sleep(300);
    }
    const m0 = await scrape(bridge.url);
    loop.reset();
    stalls.start();

    const rampMs = (opts.calls / opts.rampPerSec) * 1_000;
    const talkMs = rampMs + opts.settleMs + opts.windowMs + opts.tailMs;
    const calls: PlacedCall[] = [];
    let ended = 0;
    say(`placing ${opts.calls} calls over ${(rampMs / 1_000).toFixed(1)} s`);
    const startedAt = performance.now();
    for (let i = 0; i < opts.calls; i += 1) {
      const wait = startedAt + (i * 1_000) / opts.rampPerSec - performance.now();
      if (wait > 0) await sleep(wait);
      const placedAtEpochMs = nowEpoch();
      const r = await sims.twilio.ringInbound({
        to: SIM_DEFAULTS.numbers.mediaStreams,
        from: SIM_DEFAULTS.numbers.caller,
        scenario: benchScenario({
          index: i,
          talkMs,
          bargeInRate: opts.bargeInRate,
          ...(opts.turns === undefined ? {} : { turns: opts.turns }),
        }),
      });
      const call: PlacedCall = {
        placedAtEpochMs,
        callSid: r.callSid,
        recording: r.recording,
        end: null,
        sent: null,
      };
      void r.ended.then((e) => {
        call.end = e;
        ended += 1;
      });
      calls.push(call);
    }
    await sleep(opts.settleMs);

    // The steady-state window: every call live and talking.
    say(`window: ${(opts.windowMs / 1_000).toFixed(0)} s with ${calls.length - ended} calls live`);
    const m1 = await scrape(bridge.url);
    const windowFrom = nowEpoch();
    const generatorRampLoop = loop.read();
    loop.reset();
    const profile = opts.profileDir ? await startSelfProfile() : null;
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    const first = procSample(pid);
    const samples: ProcSample[] = [];
    const live: number[] = [];
    while (performance.now() - wall0 < opts.windowMs) {
      await sleep(Math.min(1_000, opts.windowMs - (performance.now() - wall0)));
      const s = procSample(pid);
      if (s) samples.push(s);
      live.push(calls.length - ended);
    }
    const last = samples.at(-1) ?? null;
    const m2 = await scrape(bridge.url);
    const windowTo = nowEpoch();
    const generatorLoop = loop.read();
    const cpu = process.cpuUsage(cpu0);
    const windowSec = (performance.now() - wall0) / 1_000;
    if (profile && opts.profileDir) {
      await profile.stop(
        join(opts.profileDir, `generator-N${opts.calls}-${Date.now()}.cpuprofile`),
      );
    }

    // Wind-down: every call ends by itself; the projector writes its record.
    say('waiting for the calls to end');
    const endBy = performance.now() + talkMs + 60_000;
    while (ended < calls.length && performance.now() < endBy) {
      await sleep(1_000);
      captureSessions(sims, calls);
    }
    const durationMs = performance.now() - startedAt;
    const sids = calls.map((c) => c.callSid);
    const rowsBy = performance.now() + 30_000;
    let rows: Array<{ setup_ms: number | null }> = [];
    while (performance.now() < rowsBy) {
      const r = await stack.db.query<{ setup_ms: number | null; ended: boolean }>(
        'SELECT setup_ms, ended_at IS NOT NULL AS ended FROM calls WHERE twilio_call_sid = ANY($1)',
        [sids],
      );
      rows = r.rows;
      if (r.rows.length === calls.length && r.rows.every((x) => x.ended)) break;
      await sleep(500);
    }
    const m3: Scrape = await scrape(bridge.url);
    stalls.stop();
    captureSessions(sims, calls);
    say('analysing');
    const { calls: n, rampPerSec, windowMs, bargeInRate, lateFrameMs } = opts;
    return summariseRun(
      { calls: n, rampPerSec, windowMs, bargeInRate, lateFrameMs },
      {
        calls,
        idleRss: idle,
        first,
        last,
        samples,
        live,
        window: [windowFrom, windowTo],
        windowSec,
        generatorCpuSec: (cpu.user + cpu.system) / 1e6,
        generatorLoop,
        generatorRampLoop,
        scrapes: { m0, m1, m2, m3 },
        stalls,
        setupMs: rows.flatMap((r) => (r.setup_ms === null ? [] : [r.setup_ms])),
        durationMs,
      },
    );
  } finally {
    stalls.stop();
    loop.stop();
    await bridge?.proc.stop();
    await sims.close();
  }
}

interface RunData {
  calls: PlacedCall[];
  idleRss: number[];
  first: ProcSample | null;
  last: ProcSample | null;
  samples: ProcSample[];
  live: number[];
  /** The steady-state window, epoch ms. */
  window: [number, number];
  windowSec: number;
  generatorCpuSec: number;
  generatorLoop: ReturnType<LoopDelayProbe['read']>;
  generatorRampLoop: ReturnType<LoopDelayProbe['read']>;
  scrapes: { m0: Scrape; m1: Scrape; m2: Scrape; m3: Scrape };
  stalls: StallTimeline;
  setupMs: number[];
  durationMs: number;
}

function summariseRun(settings: LoadRunSettings, d: RunData): LoadRunResult {
  const { m0, m1, m2, m3 } = d.scrapes;
  const samples: TimedSample[] = [];
  const onsets: TimedSample[] = [];
  const clears: number[] = [];
  const truncates: number[] = [];
  const firstAudio: number[] = [];
  const overhead: number[] = [];
  let unmatched = 0;
  let protocolErrors = 0;
  let bridged = 0;
  const endReasons: Record<string, number> = {};
  for (const c of d.calls) {
    const key = c.end ? `${c.end.status}/${c.end.reason}` : 'not-ended';
    endReasons[key] = (endReasons[key] ?? 0) + 1;
    if (c.recording.entries.some((e) => e.kind === 'stream.started')) bridged += 1;
    const t = analyseCall({
      placedAtEpochMs: c.placedAtEpochMs,
      recording: c.recording.entries,
      sent: c.sent ?? [],
      lateFrameMs: settings.lateFrameMs,
      generatorStall: (from, to) => d.stalls.overlap(from, to),
    });
    for (const f of t.frames) samples.push(f);
    onsets.push(...t.onsets);
    clears.push(...t.clearMs);
    truncates.push(...t.truncateMs);
    if (t.firstAudioMs !== null) firstAudio.push(t.firstAudioMs);
    if (t.firstAudioOverheadMs !== null) overhead.push(t.firstAudioOverheadMs);
    unmatched += t.unmatchedFrames;
    protocolErrors += t.protocolErrors;
  }
  const [w0, w1] = d.window;
  const inWindow = (x: TimedSample) => x.atEpochMs >= w0 && x.atEpochMs <= w1;
  const count = (xs: TimedSample[], f: (x: TimedSample) => boolean) =>
    xs.reduce((n, x) => n + (f(x) ? 1 : 0), 0);
  const all = [...samples, ...onsets];
  const lateCounts = {
    late: count(all, (x) => x.late && inWindow(x)),
    lateRaw: count(all, (x) => x.lateRaw && inWindow(x)),
    lateRun: count(all, (x) => x.late),
    lateRunRaw: count(all, (x) => x.lateRaw),
  };
  const latencies = (xs: TimedSample[]) => xs.map((x) => x.latencyMs);

  const liveMean = mean(d.live);
  const cpuSec = d.first && d.last ? d.last.cpuSec - d.first.cpuSec : Number.NaN;
  const spanSec = d.first && d.last ? (d.last.atMs - d.first.atMs) / 1_000 : Number.NaN;
  const coreShare = cpuSec / spanSec;
  const perCallMinute = cpuSec / (liveMean * (spanSec / 60));
  const rssIdle = mean(d.idleRss);
  const rssWindow = mean(d.samples.map((s) => s.rssBytes));
  const framesInWindow = counterBetween(m1, m2, 'call_bridge_media_frames_total', {
    direction: TO_MODEL,
  });
  const callerFrameRate = framesInWindow / (liveMean * d.windowSec * 50);
  const generatorShare = d.generatorCpuSec / d.windowSec;

  const forward = {
    callerToModel: histogramBetween(m0, m3, 'call_bridge_forward_latency_seconds', {
      direction: TO_MODEL,
    }),
    modelToCaller: histogramBetween(m0, m3, 'call_bridge_forward_latency_seconds', {
      direction: TO_CALLER,
    }),
  };
  const frames = {
    callerToModel: counterBetween(m0, m3, 'call_bridge_media_frames_total', {
      direction: TO_MODEL,
    }),
    modelToCaller: counterBetween(m0, m3, 'call_bridge_media_frames_total', {
      direction: TO_CALLER,
    }),
    droppedCallerToModel: counterBetween(m0, m3, 'call_bridge_media_frames_dropped_total', {
      direction: TO_MODEL,
    }),
    droppedModelToCaller: counterBetween(m0, m3, 'call_bridge_media_frames_dropped_total', {
      direction: TO_CALLER,
    }),
    ...lateCounts,
    unmatched,
  };
  const reasons: string[] = [];
  if (d.generatorLoop.p99 > GENERATOR_LAG_LIMIT_MS) {
    reasons.push(
      `generator event-loop delay p99 ${d.generatorLoop.p99.toFixed(1)} ms > ${GENERATOR_LAG_LIMIT_MS} ms`,
    );
  }
  if (callerFrameRate < MIN_FRAME_RATE && generatorShare > 0.9) {
    reasons.push(
      `callers sent ${(callerFrameRate * 100).toFixed(1)} % of real-time frames with the generator at ${(generatorShare * 100).toFixed(0)} % of a core`,
    );
  }
  const excused = lateCounts.lateRaw - lateCounts.late;
  if (excused > 0) {
    reasons.push(
      `its own event-loop stalls made ${excused} frames late in the window (not counted against the bridge)`,
    );
  }

  const p99Under20 =
    forward.callerToModel !== null &&
    forward.modelToCaller !== null &&
    forward.callerToModel.p99 < 20 &&
    forward.modelToCaller.p99 < 20;
  const noLate = lateCounts.late === 0;
  const bridgeLoop = bridgeLoopDelay(m2);
  // A frame that arrives while the bridge's loop is busy waits before the histogram's clock starts.
  const loopUnder20 = bridgeLoop !== null && bridgeLoop.p99 < 20;
  return {
    settings: { ...settings },
    durationMs: d.durationMs,
    calls: {
      placed: d.calls.length,
      bridged,
      ended: d.calls.filter((c) => c.end !== null).length,
      endReasons,
    },
    liveInWindow: {
      mean: liveMean,
      min: d.live.length ? Math.min(...d.live) : 0,
      bridgeGaugeAtEnd: counterBetween([], m2, 'call_bridge_live_calls'),
    },
    bridge: {
      cpuSecPerCallMinute: finiteOrNull(perCallMinute),
      coreShare: finiteOrNull(coreShare),
      callsPerCoreAtFullCpu: finiteOrNull(liveMean / coreShare),
      rssIdleMiB: finiteOrNull(rssIdle / 1_048_576),
      rssWindowMiB: finiteOrNull(rssWindow / 1_048_576),
      rssPerCallKiB: finiteOrNull((rssWindow - rssIdle) / liveMean / 1_024),
      loopDelayMs: bridgeLoop,
      rampLoopDelayMs: bridgeLoopDelay(m1),
    },
    generator: {
      loopDelayMs: d.generatorLoop,
      rampLoopDelayMs: d.generatorRampLoop,
      coreShare: generatorShare,
      callerFrameRate: finiteOrNull(callerFrameRate),
      limited: reasons.length > 0,
      reasons,
    },
    forwardLatencyMs: forward,
    endToEndMs: {
      modelToCaller: summarize(latencies(samples.filter(inWindow))),
      callerToModelOnset: summarize(latencies(onsets.filter(inWindow))),
      modelToCallerRun: summarize(latencies(samples)),
      callerToModelOnsetRun: summarize(latencies(onsets)),
    },
    frames,
    bargeIn: {
      count: counterBetween(m0, m3, 'call_bridge_barge_in_reaction_seconds_count'),
      toClearMs: histogramBetween(m0, m3, 'call_bridge_barge_in_reaction_seconds'),
      toTruncateMs: histogramBetween(m0, m3, 'call_bridge_barge_in_truncate_seconds'),
      endToEndClearMs: summarize(clears),
      endToEndTruncateMs: summarize(truncates),
    },
    setup: {
      toSessionUpdateMs: summarize(d.setupMs),
      toSessionUpdateHistogramMs: histogramBetween(m0, m3, 'call_bridge_call_setup_seconds'),
      stagesMs: {
        stream: histogramBetween(m0, m3, SETUP_STAGES, { stage: 'stream' }),
        agent: histogramBetween(m0, m3, SETUP_STAGES, { stage: 'agent' }),
        provider: histogramBetween(m0, m3, SETUP_STAGES, { stage: 'provider' }),
      },
      toFirstAudioMs: summarize(firstAudio),
      firstAudioOverheadMs: summarize(overhead),
    },
    protocolErrors,
    criteria: {
      p99ForwardUnder20Ms: p99Under20,
      bridgeLoopP99Under20Ms: loopUnder20,
      noLateFrames: noLate,
      pass:
        p99Under20 &&
        loopUnder20 &&
        noLate &&
        frames.droppedCallerToModel + frames.droppedModelToCaller === 0,
    },
  };
}
