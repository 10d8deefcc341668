/**
 * The soak's result files: `<date>-soak-<N>.json` (every figure and sample) and `.md` (the
 * checks, the figures behind them, memory over time, the machine), formatted with the
 * repository's prettier settings so committed files stay clean.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { format, resolveConfig } from 'prettier';

import type { MachineInfo } from '../probes/machine.js';
import {
  FLAT_HEAP_KIB_PER_MIN,
  FLAT_RSS_KIB_PER_MIN,
  type MemorySample,
  type SoakResult,
} from './soak-run.js';

export interface SoakReport {
  kind: 'soak';
  version: 1;
  startedAt: string;
  /** The command line that produced it. */
  command: string;
  machine: MachineInfo;
  pinned: { bridge: string | null; generatorAndGateway: string | null };
  result: SoakResult;
  definitions: Record<string, string>;
}

export const SOAK_DEFINITIONS: Record<string, string> = {
  'completed call':
    'the simulated caller hung up after its conversation (the Twilio simulator ended it `completed/caller-hangup`) and ' +
    'its call record in PostgreSQL has status `completed`, `ended_at` and an end reason other than `error` or `bridge_lost`.',
  'frames, caller → model':
    'frames the simulated caller sent (Twilio simulator, `sent.stop.mediaSent`) against the audio the simulated ' +
    "model's input buffer received (OpenAI simulator, ms / 20), per call; the bridge's own count (`calls.metrics.framesIn`) beside them.",
  'frames, model → caller':
    "frames the bridge wrote to the caller (`calls.metrics.framesOut`) against frames the caller received, per call; and the model's " +
    'answers never cut by a barge-in (each needs ceil(audio bytes / 160) frames) against what the bridge wrote. The rest of an answer ' +
    'the caller talked over is discarded on purpose (`clear`), so cut answers only bound the count (≤ 5 frames per 100 ms delta).',
  'frame lost':
    'a caller frame the model never received, a frame the bridge wrote that the caller never received, an uncut answer frame the ' +
    'bridge never wrote, or a frame the bridge dropped on back-pressure (`framesDropped`). Duplicates are counted apart. ' +
    'A caller hangs up after 2 s of agent silence; one that hangs up while agent audio is still coming (the model wrote a delta ' +
    'less than 1 s before the hang-up) heard a stall: its shortfall is reported as hung up on, not lost.',
  'memory slope':
    "least-squares slope of the bridge's RSS (`/proc`), of its V8 heap in use (prom-client, no collection forced) and of its heap " +
    'right after a forced full collection (inspector `HeapProfiler.collectGarbage`, every 20 s by default), against time, over the hold after ' +
    `warm-up (until the first call ended, at most a third into the hold). Flat: RSS slope ≤ ${FLAT_RSS_KIB_PER_MIN} KiB/min and post-GC ` +
    `heap slope ≤ ${FLAT_HEAP_KIB_PER_MIN} KiB/min. Start and end are idle (no call), after a forced full collection.`,
  cpu: "user + system time of each process from `/proc/<pid>/stat` (this process's from `process.cpuUsage()`) over wall time: 1 = one whole core. Above about 0.8 for the bridge, pinned to one core, its event loop has no slack left.",
  'event-loop delay':
    "the bridge's prom-client `nodejs_eventloop_lag_*` (10 ms resolution, resolution subtracted), reset at every scrape: one p99 " +
    'per sampling interval. Intervals containing a forced collection are left out of the interval p99 distribution, not out of the worst figures.',
};

const mib = (kib: number | null | undefined, digits = 1) =>
  kib === null || kib === undefined ? 'n/a' : (kib / 1_024).toFixed(digits);
const num = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits);
const pct = (share: number | null | undefined) =>
  share === null || share === undefined ? 'n/a' : `${(share * 100).toFixed(0)} %`;
const ok = (b: boolean) => (b ? 'yes' : '**no**');

export function soakBaseName(report: SoakReport): string {
  return `${report.startedAt.slice(0, 10)}-soak-${report.result.settings.calls}`;
}

/** About one memory sample per 30 s of the hold, for the table. */
function everyThirtySeconds(samples: readonly MemorySample[]): MemorySample[] {
  const out: MemorySample[] = [];
  let next = 0;
  for (const s of samples) {
    if (s.atSec >= next) {
      out.push(s);
      next = s.atSec + 29;
    }
  }
  const last = samples.at(-1);
  if (last && out.at(-1) !== last) out.push(last);
  return out;
}

export function renderSoakMarkdown(r: SoakReport): string {
  const s = r.result;
  const set = s.settings;
  const m = s.memory;
  const f = s.frames;
  const lines: string[] = [];
  lines.push(
    `# Soak: ${set.calls} concurrent calls held ${(set.holdMs / 60_000).toFixed(1)} min`,
    '',
    `${r.startedAt} on ${r.machine.host}: ${r.machine.cpuModel}, ${r.machine.cores} logical CPUs, ` +
      `${r.machine.memoryGiB} GiB, Node.js ${r.machine.node}, Linux ${r.machine.kernel}. ` +
      (r.pinned.bridge === null
        ? 'Not pinned.'
        : `Bridge pinned to CPU ${r.pinned.bridge}, load generator and gateway to CPU ${r.pinned.generatorAndGateway}.`),
    '',
    `Command: \`${r.command}\``,
    '',
    `Each call talks for at least ${(set.callMs / 1_000).toFixed(0)} s (greeting, questions and ~5 s answers, ` +
      `${Math.round(set.bargeInRate * 100)} % of answers interrupted; measured p50 ${num(s.calls.durationSec?.p50)} s, ` +
      `max ${num(s.calls.durationSec?.max)} s) and hangs up; an ended call is replaced at once while the hold lasts, so the bridge set up and tore down ` +
      `${s.calls.placed} calls with ${set.calls} live. Real gateway and call-bridge processes, the machine's NATS and PostgreSQL, ` +
      `the Twilio and OpenAI simulators as the load generator. Run took ${(s.durationMs / 1_000).toFixed(0)} s.`,
    '',
    `**Verdict: ${s.pass ? 'pass' : 'FAIL'}**${s.failedChecks.length ? ` — ${s.failedChecks.join('; ')}` : ''}`,
    '',
    '| Check | Measured | Holds |',
    '| --- | --- | --- |',
    `| every call completes | ${s.calls.placed} placed, ${s.calls.completed} completed, ${s.calls.failed} failed; live during the hold min ${s.calls.liveDuringHold.min}, mean ${num(s.calls.liveDuringHold.mean)} | ${ok(s.calls.failed === 0 && s.calls.placed > 0)} |`,
    `| no frame lost, caller → model | sent ${f.callerToModel.sent}, bridged ${f.callerToModel.bridged}, received ${f.callerToModel.received}: lost ${f.callerToModel.lost}, duplicated ${f.callerToModel.duplicated} | ${ok(f.callerToModel.lost + f.callerToModel.duplicated === 0)} |`,
    `| no frame lost, model → caller | uncut answers need ${f.modelToCaller.uncutNeeded} (cut ones ≤ ${f.modelToCaller.cutAtMost}), bridged ${f.modelToCaller.bridged}, received ${f.modelToCaller.received}: lost ${f.modelToCaller.lost}, duplicated ${f.modelToCaller.duplicated} | ${ok(f.modelToCaller.lost + f.modelToCaller.duplicated === 0)} |`,
    `| callers hung up during agent audio (a stall ≥ 2 s, not loss) | ${f.callsHungUpDuringAgentAudio} calls; frames in flight they hung up on ${f.modelToCaller.cutByHangUp} | ${f.callsHungUpDuringAgentAudio === 0 ? 'yes' : 'reported'} |`,
    `| no frame dropped by the bridge | ${f.droppedByBridge}; calls with every side counted ${f.accountedCalls} of ${s.calls.placed} | ${ok(f.droppedByBridge === 0 && f.accountedCalls === s.calls.placed)} |`,
    `| bridge memory flat | RSS slope ${num(m.rssSlopeKiBPerMin, 0)} KiB/min, heap ${num(m.heapSlopeKiBPerMin, 0)} KiB/min, heap after forced GC ${num(m.heapAfterGcSlopeKiBPerMin, 0)} KiB/min (after ${num(m.warmUpSec, 0)} s warm-up) | ${ok(m.flat)} |`,
    '',
    '## Memory of the bridge',
    '',
    '| | RSS MiB | V8 heap used MiB |',
    '| --- | --- | --- |',
    `| idle before, after forced GC | ${mib(m.start.rssKiB)} | ${mib(m.start.heapUsedKiB)} |`,
    `| first sample after warm-up (${set.calls} live) | ${mib(m.rssAfterWarmUpKiB?.first)} | |`,
    `| last sample of the hold | ${mib(m.rssAfterWarmUpKiB?.last)} | |`,
    `| idle after, after forced GC | ${mib(m.end.rssKiB)} | ${mib(m.end.heapUsedKiB)} |`,
    '',
    `Idle heap after forced GC grew ${num(m.end.heapUsedKiB - m.start.heapUsedKiB, 0)} KiB over ${s.calls.placed} calls ` +
      `(${num((m.end.heapUsedKiB - m.start.heapUsedKiB) / Math.max(1, s.calls.placed), 2)} KiB per call).`,
    '',
    'Forced full collections during the hold:',
    '',
    '| s | live | heap used MiB | RSS MiB |',
    '| --- | --- | --- | --- |',
    ...m.gcSamples.map(
      (g) => `| ${g.atSec.toFixed(0)} | ${g.live} | ${mib(g.heapUsedKiB)} | ${mib(g.rssKiB)} |`,
    ),
    '',
    'Samples (about every 30 s; every sample is in the JSON):',
    '',
    '| s | live | RSS MiB | heap used MiB |',
    '| --- | --- | --- | --- |',
    ...everyThirtySeconds(m.samples).map(
      (x) => `| ${x.atSec.toFixed(0)} | ${x.live} | ${mib(x.rssKiB)} | ${mib(x.heapUsedKiB)} |`,
    ),
    '',
    '## Event-loop delay',
    '',
    `Bridge, per ${(set.sampleEveryMs / 1_000).toFixed(0)} s interval over the hold: p99 median ${num(s.loopDelayMs.bridgeIntervalP99?.p50)} ms, ` +
      `p95 of interval p99s ${num(s.loopDelayMs.bridgeIntervalP99?.p95)} ms, worst interval p99 ${num(s.loopDelayMs.bridgeWorstP99)} ms ` +
      `(forced collections included), max ${num(s.loopDelayMs.bridgeMax)} ms. Load generator over the hold: p50 ` +
      `${num(s.loopDelayMs.generator.p50)} ms, p99 ${num(s.loopDelayMs.generator.p99)} ms, max ${num(s.loopDelayMs.generator.max)} ms.`,
    '',
    '## CPU',
    '',
    `Share of one core over the hold: bridge ${pct(s.cpu.bridge)} (per ${(set.sampleEveryMs / 1_000).toFixed(0)} s interval p50 ` +
      `${pct(s.cpu.bridgeInterval?.p50)}, p95 ${pct(s.cpu.bridgeInterval?.p95)}, max ${pct(s.cpu.bridgeInterval?.max)}), gateway ` +
      `${pct(s.cpu.gateway)}, load generator and simulators ${pct(s.cpu.generator)}. Machine load average (1 min) ` +
      `${s.cpu.loadAverage.start.toFixed(2)} at the start of the hold, ${s.cpu.loadAverage.end.toFixed(2)} at its end.`,
    '',
    '## Calls',
    '',
    `Simulator ends: ${Object.entries(s.calls.simulatorEnds)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}. Call records: ${Object.entries(s.calls.records)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    ...(s.calls.failures.length
      ? ['', 'First failures:', '', ...s.calls.failures.map((x) => `- ${x}`)]
      : []),
    '',
    '## Definitions',
    '',
    ...Object.entries(r.definitions).map(([k, v]) => `- **${k}**: ${v}`),
    '',
  );
  return lines.join('\n');
}

async function pretty(text: string, filepath: string): Promise<string> {
  const config = (await resolveConfig(filepath)) ?? {};
  return format(text, { ...config, filepath });
}

export async function writeSoakResults(
  report: SoakReport,
  dir: string,
): Promise<{ json: string; markdown: string }> {
  await mkdir(dir, { recursive: true });
  const base = soakBaseName(report);
  const files = { json: join(dir, `${base}.json`), markdown: join(dir, `${base}.md`) };
  await writeFile(files.json, await pretty(JSON.stringify(report), files.json));
  await writeFile(files.markdown, await pretty(renderSoakMarkdown(report), files.markdown));
  return files;
}
