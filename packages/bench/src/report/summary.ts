/**
 * The headline figures and the targets, derived from a suite result: shared by the
 * markdown report and the CLI's closing lines, so both say the same thing.
 */
import { offered } from '../load/sweep.js';
import type { LoadRunResult, SuiteResult } from '../results.js';

export { offered };

/** The run the headline figures come from: the largest N whose load was fully offered. */
export function headlineRun(result: SuiteResult): LoadRunResult | null {
  const runs = result.sweep.runs.filter(offered);
  return runs.length ? (runs[runs.length - 1] as LoadRunResult) : null;
}

/** Least-squares slope of bridge RSS against live calls across runs, KiB per call. */
export function rssSlopeKiB(runs: readonly LoadRunResult[]): number | null {
  const pts = runs.flatMap((r) =>
    r.bridge.rssWindowMiB === null ? [] : [[r.liveInWindow.mean, r.bridge.rssWindowMiB * 1_024]],
  ) as Array<[number, number]>;
  if (pts.length < 2) return null;
  const mx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
  const my = pts.reduce((a, p) => a + p[1], 0) / pts.length;
  const sxx = pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  if (sxx === 0) return null;
  return pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) / sxx;
}

export type TargetState = 'met' | 'not met' | 'not shown';

export interface TargetRow {
  target: string;
  measured: string;
  state: TargetState;
}

const fmt = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits);

const worst = (vals: Array<number | null | undefined>) => {
  const xs = vals.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return xs.length ? Math.max(...xs) : null;
};

/** Runs whose latencies are the system's, not the generator's. */
function keptPace(runs: readonly LoadRunResult[]): LoadRunResult[] {
  const kept = runs.filter((r) => offered(r) && !r.generator.limited);
  return kept.length ? kept : runs.filter(offered);
}

const levelsOf = (runs: readonly LoadRunResult[]) =>
  runs.map((r) => r.settings.calls).join(', ') || 'none';

export function targetRows(result: SuiteResult): TargetRow[] {
  const runs = result.sweep.runs;
  const good = runs.filter(
    (r) =>
      offered(r) &&
      (r.forwardLatencyMs.callerToModel?.p99 ?? Infinity) < 5 &&
      (r.forwardLatencyMs.modelToCaller?.p99 ?? Infinity) < 5 &&
      (r.bridge.loopDelayMs?.p99 ?? Infinity) < 5 &&
      r.frames.late === 0 &&
      r.frames.droppedCallerToModel + r.frames.droppedModelToCaller === 0,
  );
  const bestN = good.length ? Math.max(...good.map((r) => r.settings.calls)) : null;
  const largest = runs.length ? Math.max(...runs.map((r) => r.settings.calls)) : 0;
  const head = headlineRun(result);
  const perCore = head?.bridge.callsPerCoreAtFullCpu ?? null;
  const firstLimited = runs.find((r) => r.generator.limited);
  const limitedNote = firstLimited
    ? `; the load generator was limited from N=${firstLimited.settings.calls}`
    : '';
  const clean = keptPace(runs);
  const bargeP99 = worst(runs.filter(offered).map((r) => r.bargeIn.toClearMs?.p99));
  const truncP99 = worst(runs.filter(offered).map((r) => r.bargeIn.toTruncateMs?.p99));
  const bargeE2e = worst(clean.map((r) => r.bargeIn.endToEndClearMs?.p99));
  const setupP99 = worst(clean.map((r) => r.setup.toSessionUpdateMs?.p99));
  const firstAudioP99 = worst(clean.map((r) => r.setup.firstAudioOverheadMs?.p99));
  const slope = rssSlopeKiB(runs);
  return [
    {
      target: '≥ 500 concurrent calls on one core, p99 added forwarding < 5 ms, zero late frames',
      measured:
        `largest N meeting it (forwarding and bridge loop-delay p99 < 5 ms): ${bestN ?? 'none'} ` +
        `(largest N run: ${largest})${limitedNote}; the bridge's CPU cost extrapolates to ` +
        `~${fmt(perCore, 0)} calls per core at 100 % CPU`,
      state:
        bestN !== null && bestN >= 500 ? 'met' : (perCore ?? 0) < 500 ? 'not met' : 'not shown',
    },
    {
      target: 'barge-in reaction p99 < 5 ms',
      measured:
        `bridge: to clear ${fmt(bargeP99, 2)} ms, to truncate ${fmt(truncP99, 2)} ms (worst run); ` +
        `end to end, model's speech_started to caller's clear: ${fmt(bargeE2e, 2)} ms (N = ${levelsOf(clean)})`,
      state:
        bargeP99 === null ? 'not shown' : bargeP99 < 5 && (truncP99 ?? 0) < 5 ? 'met' : 'not met',
    },
    {
      target: 'call set-up overhead p99 < 50 ms',
      measured:
        `voice webhook to first session.update: ${fmt(setupP99, 0)} ms; to first audio less the ` +
        `model's own time: ${fmt(firstAudioP99, 0)} ms (worst of N = ${levelsOf(clean)})`,
      state: setupP99 === null ? 'not shown' : setupP99 < 50 ? 'met' : 'not met',
    },
    {
      target: 'memory < 1 MiB per live call',
      measured: `bridge RSS grows ${fmt(slope, 0)} KiB per live call (slope across runs); at N=${head?.settings.calls ?? 'n/a'}: ${fmt(head?.bridge.rssPerCallKiB, 0)} KiB per call over idle`,
      state: slope === null ? 'not shown' : slope < 1_024 ? 'met' : 'not met',
    },
  ];
}
