/**
 * The soak (issue 10, "100 concurrent simulated calls held for several minutes with every call
 * completing, no frame lost, memory flat"): N calls live at once through the real gateway and
 * one call-bridge for `holdMs`. Each call talks for `callMs` and hangs up; an ended call is
 * replaced at once, so the bridge sets up and tears down calls all along (where a leak would
 * come from) while N stay live. Afterwards every call is checked in PostgreSQL and its frames
 * counted on all three sides (frame-ledger.ts); the bridge's memory is sampled all along and
 * after forced full collections (inspector-gc.ts), its event-loop delay per scrape interval.
 */
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import { z } from 'zod';

import { SIM_DEFAULTS, startSimulators, type CallRecording, type Simulators } from '@app/sim';

import { bridgeLoopDelay, scrape, type Scrape } from '../load/bridge-metrics.js';
import { warmUp } from '../load/load-run.js';
import { benchScenario } from '../load/scenario.js';
import { LoopDelayProbe, type LoopDelay } from '../probes/loop-delay.js';
import { readProcSample, type ProcSample } from '../probes/proc-stats.js';
import type { BenchStack, BridgeProcess } from '../stack/stack.js';
import { summarize, type Percentiles } from '../stats/percentiles.js';
import {
  countCallFrames,
  type BridgeSide,
  type CallFrames,
  type ModelSide,
} from './frame-ledger.js';
import { InspectorGc, type HeapAfterGc } from './inspector-gc.js';
import { slopePerMinute, type Point } from './trend.js';

export interface SoakOptions {
  /** Calls live at once. */
  calls: number;
  /** How long N calls are held, ms (from the last call of the ramp being placed). */
  holdMs: number;
  /** Talk time of each call before the caller hangs up, ms. */
  callMs: number;
  /** Calls placed per second while ramping up. @defaultValue 20 */
  rampPerSec?: number;
  /** Share of agent answers the caller talks over. @defaultValue 0.25 */
  bargeInRate?: number;
  /** Short calls on the fresh bridge before the baseline. @defaultValue 3 */
  warmupCalls?: number;
  /** Bridge memory and metrics sampling interval, ms. @defaultValue 2 000 */
  sampleEveryMs?: number;
  /** Forced full collection in the bridge every so often during the hold, ms. @defaultValue 20 000 */
  gcEveryMs?: number;
  onProgress?: (message: string) => void;
}

/**
 * Memory sampled over the hold is judged from this point, s since the first call was placed:
 * once the first call ended (every slot live and the first generation turning over), but not
 * later than a third into the hold.
 */
export function warmUpSec(o: {
  rampSec: number;
  holdSec: number;
  firstEndSec: number | null;
}): number {
  const latest = o.rampSec + o.holdSec / 3;
  return Math.min(latest, Math.max(o.rampSec, o.firstEndSec ?? latest));
}

/** The caller hangs up after this much agent silence (see frame-ledger.ts on hang-ups). */
const HANGUP_QUIET_MS = 2_000;

/** RSS slope (KiB/min) after warm-up at most this, and post-GC heap slope at most half, is flat. */
export const FLAT_RSS_KIB_PER_MIN = 1_024;
export const FLAT_HEAP_KIB_PER_MIN = 512;

export interface MemorySample {
  /** Seconds since the hold began. */
  atSec: number;
  live: number;
  rssKiB: number;
  /** V8 heap in use (prom-client `nodejs_heap_size_used_bytes`), no collection forced. */
  heapUsedKiB: number | null;
}

export interface GcSample {
  atSec: number;
  live: number;
  heapUsedKiB: number;
  rssKiB: number;
}

export interface SoakResult {
  settings: Required<Omit<SoakOptions, 'onProgress'>>;
  /** From the first call placed to the last call's record written, ms. */
  durationMs: number;
  calls: {
    placed: number;
    /** Ended at the simulator as `completed/caller-hangup` and recorded with an end reason. */
    completed: number;
    failed: number;
    /** Calls the simulator saw end, by `status/reason`. */
    simulatorEnds: Record<string, number>;
    /** Call records, by `status/end_reason` (`missing` without a row). */
    records: Record<string, number>;
    /** How long calls lasted at the simulated caller, s (first entry to the hang-up's `stop`). */
    durationSec: Percentiles | null;
    /** Fewest and mean calls live during the hold (the generator's count at each sample). */
    liveDuringHold: { min: number; mean: number };
    /** First few failures, for the report. */
    failures: string[];
  };
  frames: {
    /** Calls whose frames all three sides reported. */
    accountedCalls: number;
    callerToModel: CallFrames['callerToModel'];
    modelToCaller: CallFrames['modelToCaller'];
    droppedByBridge: number;
    /**
     * Calls whose caller hung up while agent audio was still coming: it heard a silence of its
     * whole patience (2 s) mid-answer, a stall. Their shortfall is `cutByHangUp`, not loss.
     */
    callsHungUpDuringAgentAudio: number;
    /** Calls with any frame lost, duplicated or dropped. */
    callsWithLoss: number;
    /** The first few of them, with their counts. */
    lossyCalls: Array<CallFrames & { index: number; callSid: string }>;
  };
  memory: {
    /** Idle, after warm-up, after a forced full collection. */
    start: GcSample;
    /** Idle again after every call ended, after a forced full collection. */
    end: GcSample;
    warmUpSec: number;
    /** Least-squares slopes over the hold after warm-up (every call live). */
    rssSlopeKiBPerMin: number | null;
    heapSlopeKiBPerMin: number | null;
    heapAfterGcSlopeKiBPerMin: number | null;
    /** RSS at the first and last sample after warm-up. */
    rssAfterWarmUpKiB: { first: number; last: number } | null;
    samples: MemorySample[];
    gcSamples: GcSample[];
    flat: boolean;
  };
  /**
   * CPU over the hold as a share of one core (1 = a whole core), from `/proc`: whether the bridge
   * had CPU to spare, and whether the machine was quiet (other work disturbs every figure here).
   */
  cpu: {
    /** The bridge over the whole hold, and per sampling interval (p50, p95, max). */
    bridge: number;
    bridgeInterval: Percentiles | null;
    gateway: number;
    /** This process: the simulators and the load generator. */
    generator: number;
    /** The machine's 1-minute load average at the start and the end of the hold. */
    loadAverage: { start: number; end: number };
  };
  loopDelayMs: {
    /** The bridge's per-interval (`sampleEveryMs`) p99s during the hold, intervals with a forced collection left out. */
    bridgeIntervalP99: Percentiles | null;
    /** The bridge's worst interval p99 and max, forced collections included. */
    bridgeWorstP99: number | null;
    bridgeMax: number | null;
    /** The load generator (this process) over the hold. */
    generator: LoopDelay;
  };
  pass: boolean;
  failedChecks: string[];
}

interface SoakCall {
  index: number;
  callSid: string;
  recording: CallRecording;
  end: { status: string; reason: string } | null;
  model: ModelSide | null;
}

const kib = (bytes: number) => bytes / 1_024;

function runIdOf(recording: CallRecording): number | undefined {
  const tag = recording.entries.find((e) => e.kind === 'caller.tag' && e.data?.kind === 'run');
  return typeof tag?.data?.value === 'number' ? tag.data.value : undefined;
}

/** Keeps each ended call's model side once its session closed (the simulator forgets old ones). */
function captureSessions(sims: Simulators, calls: readonly SoakCall[]): void {
  const wanted = new Map<number, SoakCall>();
  for (const c of calls) {
    if (c.model !== null || c.end === null) continue;
    const runId = runIdOf(c.recording);
    if (runId !== undefined) wanted.set(runId, c);
  }
  if (wanted.size === 0) return;
  for (const s of sims.openai.sessions()) {
    const call = s.runId === undefined ? undefined : wanted.get(s.runId);
    if (call && s.closed) call.model = { inputAudioMs: s.inputAudioMs, said: s.said, sent: s.sent };
  }
}

function heapUsedKiB(m: Scrape): number | null {
  const v = m.find((s) => s.name === 'nodejs_heap_size_used_bytes')?.value;
  return v === undefined ? null : kib(v);
}

async function gcSample(
  gc: InspectorGc,
  pid: number,
  atSec: number,
  live: number,
): Promise<GcSample> {
  const heap: HeapAfterGc = await gc.collect();
  return {
    atSec,
    live,
    heapUsedKiB: kib(heap.usedBytes),
    rssKiB: kib(readProcSample(pid).rssBytes),
  };
}

/** This process's CPU so far, in the shape of a `/proc` sample. */
function ownCpu(): ProcSample {
  const u = process.cpuUsage();
  return {
    atMs: performance.now(),
    cpuSec: (u.user + u.system) / 1e6,
    rssBytes: process.memoryUsage.rss(),
  };
}

/** CPU used between two samples as a share of one core. */
function coreShare(from: ProcSample, to: ProcSample): number {
  const wallSec = (to.atMs - from.atMs) / 1_000;
  return wallSec > 0 ? (to.cpuSec - from.cpuSec) / wallSec : 0;
}

const bridgeSide = z.object({
  framesIn: z.number(),
  framesOut: z.number(),
  framesDropped: z.number(),
});

export async function runSoak(stack: BenchStack, opts: SoakOptions): Promise<SoakResult> {
  const settings = {
    calls: opts.calls,
    holdMs: opts.holdMs,
    callMs: opts.callMs,
    rampPerSec: opts.rampPerSec ?? 20,
    bargeInRate: opts.bargeInRate ?? 0.25,
    warmupCalls: opts.warmupCalls ?? 3,
    sampleEveryMs: opts.sampleEveryMs ?? 2_000,
    gcEveryMs: opts.gcEveryMs ?? 20_000,
  };
  if (!Number.isInteger(settings.calls) || settings.calls < 1)
    throw new RangeError(`soak: calls must be a positive integer, got ${settings.calls}`);
  if (!(settings.holdMs > 0) || !(settings.callMs >= 5_000))
    throw new RangeError('soak: holdMs must be positive and callMs at least 5 000');
  const say = opts.onProgress ?? (() => undefined);
  const sims = await startSimulators({ pacing: 'realtime', voiceUrl: stack.voiceUrl });
  let bridge: BridgeProcess | undefined;
  let gc: InspectorGc | undefined;
  const loop = new LoopDelayProbe();
  try {
    bridge = await stack.startBridge(sims, settings.calls * 2);
    const { pid } = bridge.proc;
    gc = await InspectorGc.attach(bridge.proc);
    if (settings.warmupCalls > 0) {
      say(`warm-up: ${settings.warmupCalls} short calls`);
      await warmUp(sims, settings.warmupCalls);
    }
    await sleep(1_000);
    const start = await gcSample(gc, pid, 0, 0);
    await scrape(bridge.url); // resets the bridge's loop-delay histogram

    const calls: SoakCall[] = [];
    let live = 0;
    let holding = true;
    let placeErrors = 0;
    const failures: string[] = [];
    let nextIndex = 0;
    let firstEndSec: number | null = null;
    let t0 = performance.now();
    const sinceStart = () => (performance.now() - t0) / 1_000;
    const placing = new Set<Promise<void>>();
    const place = () => {
      const index = nextIndex++;
      live += 1;
      const p = (async () => {
        try {
          const r = await sims.twilio.ringInbound({
            to: SIM_DEFAULTS.numbers.mediaStreams,
            from: SIM_DEFAULTS.numbers.caller,
            scenario: benchScenario({
              index,
              talkMs: settings.callMs,
              bargeInRate: settings.bargeInRate,
              hangupQuietMs: HANGUP_QUIET_MS,
            }),
          });
          const call: SoakCall = {
            index,
            callSid: r.callSid,
            recording: r.recording,
            end: null,
            model: null,
          };
          calls.push(call);
          void r.ended.then((e) => {
            call.end = e;
            firstEndSec ??= sinceStart();
            live -= 1;
            if (holding) place();
          });
        } catch (err) {
          live -= 1;
          placeErrors += 1;
          if (failures.length < 10) failures.push(`placing call ${index}: ${String(err)}`);
        }
      })();
      placing.add(p);
      void p.finally(() => placing.delete(p));
    };

    say(`placing ${settings.calls} calls at ${settings.rampPerSec}/s`);
    t0 = performance.now();
    for (let i = 0; i < settings.calls; i += 1) {
      const wait = t0 + (i * 1_000) / settings.rampPerSec - performance.now();
      if (wait > 0) await sleep(wait);
      place();
    }
    const holdFrom = performance.now();
    const holdUntil = holdFrom + settings.holdMs;
    say(`holding ${settings.calls} calls for ${(settings.holdMs / 1_000).toFixed(0)} s`);
    loop.reset();
    const cpuFrom = {
      bridge: readProcSample(pid),
      gateway: readProcSample(stack.gateway.pid),
      generator: ownCpu(),
      load: loadavg()[0]!,
    };
    let lastBridgeCpu = cpuFrom.bridge;
    const bridgeIntervalCpu: number[] = [];

    const samples: MemorySample[] = [];
    const gcSamples: GcSample[] = [];
    const liveSeen: number[] = [];
    const intervalP99: number[] = [];
    const intervalP99WithGc: number[] = [];
    const intervalMax: number[] = [];
    let nextGc = holdFrom + settings.gcEveryMs;
    let nextSay = holdFrom + 30_000;
    let lastIntervalHadGc = false;
    while (performance.now() < holdUntil) {
      await sleep(Math.min(settings.sampleEveryMs, holdUntil - performance.now()));
      liveSeen.push(live);
      captureSessions(sims, calls);
      const atSec = sinceStart();
      const m = await scrape(bridge.url);
      const d = bridgeLoopDelay(m);
      let forced = false;
      if (performance.now() >= nextGc && performance.now() < holdUntil) {
        gcSamples.push(await gcSample(gc, pid, sinceStart(), live));
        nextGc += settings.gcEveryMs;
        forced = true;
      }
      const proc = readProcSample(pid);
      bridgeIntervalCpu.push(coreShare(lastBridgeCpu, proc));
      lastBridgeCpu = proc;
      samples.push({
        atSec,
        live,
        rssKiB: kib(proc.rssBytes),
        heapUsedKiB: heapUsedKiB(m),
      });
      if (d) {
        intervalP99WithGc.push(d.p99);
        intervalMax.push(d.max);
      }
      // This interval's figures were read before the collection; the next one contains it.
      if (d && !lastIntervalHadGc) intervalP99.push(d.p99);
      lastIntervalHadGc = forced;
      if (performance.now() >= nextSay) {
        say(
          `${Math.round((performance.now() - holdFrom) / 1_000)} s: ${live} live, ${calls.length} placed, RSS ${(samples.at(-1)!.rssKiB / 1_024).toFixed(0)} MiB`,
        );
        nextSay += 30_000;
      }
    }
    holding = false;
    const generator = loop.read();
    const cpu: SoakResult['cpu'] = {
      bridge: coreShare(cpuFrom.bridge, readProcSample(pid)),
      bridgeInterval: summarize(bridgeIntervalCpu),
      gateway: coreShare(cpuFrom.gateway, readProcSample(stack.gateway.pid)),
      generator: coreShare(cpuFrom.generator, ownCpu()),
      loadAverage: { start: cpuFrom.load, end: loadavg()[0]! },
    };

    say(`hold over; waiting for ${live} calls to end`);
    await Promise.all(placing);
    const endBy = performance.now() + settings.callMs + 60_000;
    while (calls.some((c) => c.end === null) && performance.now() < endBy) {
      await sleep(1_000);
      captureSessions(sims, calls);
    }
    // Sessions close a moment after the caller's hang-up.
    const sessionsBy = performance.now() + 10_000;
    while (
      calls.some((c) => c.end !== null && c.model === null) &&
      performance.now() < sessionsBy
    ) {
      await sleep(250);
      captureSessions(sims, calls);
    }
    await sleep(1_000);
    const end = await gcSample(gc, pid, sinceStart(), live);

    say('reading call records');
    const sids = calls.map((c) => c.callSid);
    type Row = {
      sid: string;
      status: string;
      end_reason: string | null;
      ended: boolean;
      metrics: unknown;
    };
    let rows: Row[] = [];
    const rowsBy = performance.now() + 30_000;
    while (performance.now() < rowsBy) {
      const r = await stack.db.query<Row>(
        `SELECT twilio_call_sid AS sid, status, end_reason, ended_at IS NOT NULL AS ended, metrics
           FROM calls WHERE twilio_call_sid = ANY($1)`,
        [sids],
      );
      rows = r.rows;
      if (rows.length === calls.length && rows.every((x) => x.ended && x.end_reason !== null))
        break;
      await sleep(500);
    }
    const durationMs = performance.now() - t0;

    return judge({
      settings,
      durationMs,
      calls,
      rows: new Map(rows.map((r) => [r.sid, r])),
      placeErrors,
      failures,
      liveSeen,
      start,
      end,
      samples,
      gcSamples,
      warmUpSec: warmUpSec({
        rampSec: (holdFrom - t0) / 1_000,
        holdSec: settings.holdMs / 1_000,
        firstEndSec,
      }),
      intervalP99,
      intervalP99WithGc,
      intervalMax,
      generator,
      cpu,
    });
  } finally {
    loop.stop();
    gc?.close();
    await bridge?.proc.stop();
    await sims.close();
  }
}

/** Call-record end reasons that mean the call failed rather than ended. */
const FAILED_END_REASONS = new Set(['error', 'bridge_lost']);

interface Collected {
  settings: SoakResult['settings'];
  durationMs: number;
  calls: SoakCall[];
  rows: Map<
    string,
    { status: string; end_reason: string | null; ended: boolean; metrics: unknown }
  >;
  placeErrors: number;
  failures: string[];
  liveSeen: number[];
  start: GcSample;
  end: GcSample;
  samples: MemorySample[];
  gcSamples: GcSample[];
  warmUpSec: number;
  intervalP99: number[];
  intervalP99WithGc: number[];
  intervalMax: number[];
  generator: LoopDelay;
  cpu: SoakResult['cpu'];
}

const bump = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

/** Every check of the soak, from what the run collected. Exported for its tests. */
export function judge(d: Collected): SoakResult {
  const failures = [...d.failures];
  const simulatorEnds: Record<string, number> = {};
  const records: Record<string, number> = {};
  let completed = 0;
  const ledgers: CallFrames[] = [];
  const lossyCalls: SoakResult['frames']['lossyCalls'] = [];
  const lossy = (l: CallFrames) =>
    l.callerToModel.lost +
      l.callerToModel.duplicated +
      l.modelToCaller.lost +
      l.modelToCaller.duplicated +
      l.dropped >
    0;
  for (const c of d.calls) {
    const simEnd = c.end ? `${c.end.status}/${c.end.reason}` : 'not-ended';
    bump(simulatorEnds, simEnd);
    const row = d.rows.get(c.callSid);
    const rec = row ? `${row.status}/${row.end_reason ?? 'none'}` : 'missing';
    bump(records, rec);
    const ok =
      simEnd === 'completed/caller-hangup' &&
      row !== undefined &&
      row.ended &&
      row.status === 'completed' &&
      row.end_reason !== null &&
      !FAILED_END_REASONS.has(row.end_reason);
    if (ok) completed += 1;
    else if (failures.length < 10)
      failures.push(`call ${c.index} ${c.callSid}: simulator ${simEnd}, record ${rec}`);
    const bridge = bridgeSide.safeParse(row?.metrics);
    const ledger = countCallFrames({
      recording: c.recording.entries,
      bridge: bridge.success ? (bridge.data satisfies BridgeSide) : null,
      model: c.model,
    });
    ledgers.push(ledger);
    if (lossy(ledger) && lossyCalls.length < 10)
      lossyCalls.push({ index: c.index, callSid: c.callSid, ...ledger });
  }
  const durations = d.calls.flatMap((c) => {
    const first = c.recording.entries[0];
    const stop = c.recording.entries.find((e) => e.kind === 'sent.stop');
    return first && stop ? [(stop.atEpochMs - first.atEpochMs) / 1_000] : [];
  });
  const sum = (f: (l: CallFrames) => number) => ledgers.reduce((a, l) => a + f(l), 0);
  const frames: SoakResult['frames'] = {
    accountedCalls: ledgers.filter((l) => l.complete).length,
    callerToModel: {
      sent: sum((l) => l.callerToModel.sent),
      bridged: sum((l) => l.callerToModel.bridged),
      received: sum((l) => l.callerToModel.received),
      lost: sum((l) => l.callerToModel.lost),
      duplicated: sum((l) => l.callerToModel.duplicated),
    },
    modelToCaller: {
      uncutNeeded: sum((l) => l.modelToCaller.uncutNeeded),
      cutAtMost: sum((l) => l.modelToCaller.cutAtMost),
      bridged: sum((l) => l.modelToCaller.bridged),
      received: sum((l) => l.modelToCaller.received),
      lost: sum((l) => l.modelToCaller.lost),
      duplicated: sum((l) => l.modelToCaller.duplicated),
      cutByHangUp: sum((l) => l.modelToCaller.cutByHangUp),
    },
    callsHungUpDuringAgentAudio: ledgers.filter((l) => l.hungUpDuringAgentAudio).length,
    droppedByBridge: sum((l) => l.dropped),
    callsWithLoss: ledgers.filter(lossy).length,
    lossyCalls,
  };

  const steady = d.samples.filter((s) => s.atSec >= d.warmUpSec);
  const slopeOf = (pts: Point[]) => slopePerMinute(pts);
  const rssSlope = slopeOf(steady.map((s) => ({ atSec: s.atSec, value: s.rssKiB })));
  const heapSlope = slopeOf(
    steady.flatMap((s) =>
      s.heapUsedKiB === null ? [] : [{ atSec: s.atSec, value: s.heapUsedKiB }],
    ),
  );
  const gcSteady = d.gcSamples.filter((s) => s.atSec >= d.warmUpSec);
  const gcSlope =
    gcSteady.length >= 3
      ? slopeOf(gcSteady.map((s) => ({ atSec: s.atSec, value: s.heapUsedKiB })))
      : null;
  const flat =
    rssSlope !== null &&
    rssSlope <= FLAT_RSS_KIB_PER_MIN &&
    (gcSlope === null || gcSlope <= FLAT_HEAP_KIB_PER_MIN);

  const failedChecks: string[] = [];
  const failed = d.calls.length - completed;
  if (d.placeErrors > 0) failedChecks.push(`${d.placeErrors} calls could not be placed`);
  if (failed > 0) failedChecks.push(`${failed} of ${d.calls.length} calls did not complete`);
  if (frames.accountedCalls < d.calls.length)
    failedChecks.push(
      `${d.calls.length - frames.accountedCalls} calls lack a side of their frame counts`,
    );
  if (frames.callsWithLoss > 0)
    failedChecks.push(
      `${frames.callsWithLoss} calls lost, duplicated or dropped frames (caller→model lost ${frames.callerToModel.lost}, ` +
        `model→caller lost ${frames.modelToCaller.lost}, dropped ${frames.droppedByBridge})`,
    );
  if (!flat)
    failedChecks.push(
      `memory not flat: RSS slope ${rssSlope?.toFixed(0) ?? 'n/a'} KiB/min (limit ${FLAT_RSS_KIB_PER_MIN}), ` +
        `post-GC heap slope ${gcSlope?.toFixed(0) ?? 'n/a'} KiB/min (limit ${FLAT_HEAP_KIB_PER_MIN})`,
    );
  const max = (xs: number[]) => (xs.length === 0 ? null : Math.max(...xs));
  return {
    settings: d.settings,
    durationMs: d.durationMs,
    calls: {
      placed: d.calls.length,
      completed,
      failed,
      simulatorEnds,
      records,
      durationSec: summarize(durations),
      liveDuringHold: {
        min: d.liveSeen.length ? Math.min(...d.liveSeen) : 0,
        mean: d.liveSeen.length ? d.liveSeen.reduce((a, b) => a + b, 0) / d.liveSeen.length : 0,
      },
      failures,
    },
    frames,
    memory: {
      start: d.start,
      end: d.end,
      warmUpSec: d.warmUpSec,
      rssSlopeKiBPerMin: rssSlope,
      heapSlopeKiBPerMin: heapSlope,
      heapAfterGcSlopeKiBPerMin: gcSlope,
      rssAfterWarmUpKiB: steady.length
        ? { first: steady[0]!.rssKiB, last: steady.at(-1)!.rssKiB }
        : null,
      samples: d.samples,
      gcSamples: d.gcSamples,
      flat,
    },
    cpu: d.cpu,
    loopDelayMs: {
      bridgeIntervalP99: summarize(d.intervalP99),
      bridgeWorstP99: max(d.intervalP99WithGc),
      bridgeMax: max(d.intervalMax),
      generator: d.generator,
    },
    pass: failedChecks.length === 0,
    failedChecks,
  };
}
