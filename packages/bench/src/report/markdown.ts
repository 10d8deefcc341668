/** The human-readable report of a suite result (the JSON beside it has every figure). */
import type { LoadRunResult, SuiteResult } from '../results.js';
import type { HistogramSummary } from '../stats/histogram.js';
import type { Percentiles } from '../stats/percentiles.js';
import { headlineRun, offered, rssSlopeKiB, targetRows } from './summary.js';

const num = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);

/**
 * A run's verdict. Without its full offered load (the generator sent too few frames) a run
 * says nothing about N calls, whatever it measured; a pass under a limited generator is
 * flagged, because its latencies include the generator's.
 */
export function verdict(r: LoadRunResult): string {
  if (!offered(r)) return 'inconclusive (load not offered)';
  if (!r.criteria.pass) return 'fail';
  return r.generator.limited ? 'pass (generator-limited)' : 'pass';
}

/** `p50 / p95 / p99 / max` of exact samples or a histogram (max as `≤ bound`). */
function pct(p: Percentiles | HistogramSummary | null, digits = 2): string {
  if (p === null) return '–';
  const max =
    'max' in p ? num(p.max, digits) : p.maxAtMost === null ? '> 100' : `≤ ${num(p.maxAtMost, 2)}`;
  return `${num(p.p50, digits)} / ${num(p.p95, digits)} / ${num(p.p99, digits)} / ${max}`;
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function sweepTable(runs: readonly LoadRunResult[]): string {
  return table(
    [
      'N',
      'live (mean)',
      'bridge CPU',
      'CPU s per call-min',
      'RSS / call (KiB)',
      'fwd p99 in / out (ms)',
      'e2e p99 out (ms)',
      'e2e onset p99 in (ms)',
      'late: window (raw) / run (raw)',
      'dropped',
      'bridge loop p99 (ms)',
      'generator loop p99 (ms)',
      'generator',
      'criteria',
    ],
    runs.map((r) => [
      String(r.settings.calls),
      num(r.liveInWindow.mean, 0),
      `${num((r.bridge.coreShare ?? Number.NaN) * 100, 0)} %`,
      num(r.bridge.cpuSecPerCallMinute, 3),
      num(r.bridge.rssPerCallKiB, 0),
      `${num(r.forwardLatencyMs.callerToModel?.p99, 2)} / ${num(r.forwardLatencyMs.modelToCaller?.p99, 2)}`,
      num(r.endToEndMs.modelToCaller?.p99, 1),
      num(r.endToEndMs.callerToModelOnset?.p99, 1),
      `${r.frames.late} (${r.frames.lateRaw}) / ${r.frames.lateRun} (${r.frames.lateRunRaw})`,
      String(r.frames.droppedCallerToModel + r.frames.droppedModelToCaller),
      num(r.bridge.loopDelayMs?.p99, 1),
      num(r.generator.loopDelayMs.p99, 1),
      r.generator.limited
        ? `limited (${num((r.generator.callerFrameRate ?? Number.NaN) * 100, 0)} % of frames)`
        : 'kept pace',
      verdict(r),
    ]),
  );
}

function latencyTable(runs: readonly LoadRunResult[]): string {
  return table(
    ['N', 'measure', 'p50 / p95 / p99 / max (ms)', 'count'],
    runs.flatMap((r) => {
      const n = String(r.settings.calls);
      const rows: Array<[string, Percentiles | HistogramSummary | null]> = [
        ['forward caller→model (bridge)', r.forwardLatencyMs.callerToModel],
        ['forward model→caller (bridge)', r.forwardLatencyMs.modelToCaller],
        ['end to end model→caller, per frame (window)', r.endToEndMs.modelToCaller],
        ['end to end model→caller, per frame (run)', r.endToEndMs.modelToCallerRun],
        ['end to end caller→model, onset (window)', r.endToEndMs.callerToModelOnset],
        ['end to end caller→model, onset (run)', r.endToEndMs.callerToModelOnsetRun],
        ['barge-in: to clear (bridge)', r.bargeIn.toClearMs],
        ['barge-in: to truncate (bridge)', r.bargeIn.toTruncateMs],
        ['barge-in: end to end to clear', r.bargeIn.endToEndClearMs],
        ['barge-in: end to end to truncate', r.bargeIn.endToEndTruncateMs],
        ['set-up: webhook → session.update', r.setup.toSessionUpdateMs],
        ['set-up part: webhook → stream at bridge', r.setup.stagesMs?.stream ?? null],
        ['set-up part: agent settings loaded', r.setup.stagesMs?.agent ?? null],
        ['set-up part: OpenAI socket opened', r.setup.stagesMs?.provider ?? null],
        ['set-up: webhook → first audio', r.setup.toFirstAudioMs],
        ['set-up: first-audio overhead', r.setup.firstAudioOverheadMs],
      ];
      return rows.map(([name, p]) => [n, name, pct(p), p === null ? '0' : String(p.count)]);
    }),
  );
}

export function renderMarkdown(result: SuiteResult, chartFile: string): string {
  const m = result.machine;
  const runs = result.sweep.runs;
  const head = headlineRun(result);
  const slope = rssSlopeKiB(runs);
  const parts: string[] = [];
  parts.push(`# Call-path benchmark: ${result.startedAt.slice(0, 10)} on ${m.host}`);
  parts.push(
    `Mode \`${result.mode}\`, started ${result.startedAt}. Produced by \`pnpm bench${result.mode === 'quick' ? ' --quick' : ''}\` ` +
      '(packages/bench); every figure is also in the JSON file of the same name.',
  );
  parts.push('## Machine');
  parts.push(
    table(
      ['CPU', 'cores', 'memory', 'Node.js', 'kernel', 'pinning'],
      [
        [
          m.cpuModel,
          String(m.cores),
          `${m.memoryGiB} GiB`,
          m.node,
          m.kernel,
          result.pinned.bridge === null
            ? 'none (taskset or a second core missing)'
            : `bridge on CPU ${result.pinned.bridge}; generator, gateway on CPU ${result.pinned.generatorAndGateway}`,
        ],
      ],
    ),
  );
  parts.push('## Headline');
  parts.push(
    head === null
      ? 'No run offered its full real-time load: no headline figure.'
      : [
          `- **Bridge CPU: ${num(head.bridge.cpuSecPerCallMinute, 3)} CPU-seconds per call-minute** ` +
            `(N=${head.settings.calls}: ${num((head.bridge.coreShare ?? 0) * 100, 0)} % of one core), ` +
            `i.e. ~${num(head.bridge.callsPerCoreAtFullCpu, 0)} calls per core at 100 % CPU if cost stays linear.`,
          `- Memory: ${num(slope, 0)} KiB of bridge RSS per live call (slope across runs).`,
          '- The bridge’s forwarding histogram starts when its handler runs: read it with the bridge’s ' +
            'event-loop delay beside it (a frame arriving while the loop is busy waits that long first).',
          `- Largest N meeting the criteria (p99 forwarding and bridge loop delay < 20 ms, no late or dropped frame): ` +
            `${result.sweep.maxPassingCalls ?? 'none'}.` +
            (result.sweep.stoppedBecause
              ? ` The sweep stopped: ${result.sweep.stoppedBecause}.`
              : ''),
        ].join('\n'),
  );
  parts.push('## Against the targets of issue 5');
  parts.push(
    table(
      ['target', 'measured', 'state'],
      targetRows(result).map((t) => [t.target, t.measured, t.state]),
    ),
  );
  parts.push(`![latency and CPU against concurrency](${chartFile})`);
  parts.push('## Sweep');
  parts.push(sweepTable(runs));
  parts.push('## Latency, barge-in and set-up per run');
  parts.push(latencyTable(runs));
  if (result.webhook) {
    parts.push('## Gateway voice webhook');
    parts.push(
      `Signed \`POST /twilio/voice\`, each a new call, ${result.webhook.durationPerLevelMs / 1_000} s per level` +
        `${result.webhook.pinned ? ', gateway pinned to CPU 0' : ''}. ` +
        `**${num(result.webhook.maxPerSecUnder50MsP99, 0)} webhooks/s with p99 under 50 ms.**`,
    );
    parts.push(
      table(
        ['clients', 'requests', 'errors', 'per second', 'p50 / p95 / p99 / max (ms)'],
        result.webhook.levels.map((l) => [
          String(l.concurrency),
          String(l.requests),
          String(l.errors),
          num(l.perSec, 0),
          pct(l.latencyMs),
        ]),
      ),
    );
  }
  if (result.eventPath) {
    const e = result.eventPath;
    parts.push('## NATS event path (published to row in PostgreSQL)');
    parts.push(
      table(
        ['measure', 'p50 / p95 / p99 / max (ms)'],
        [
          ['JetStream publish (ack)', pct(e.publishAckMs)],
          ['publish to row (projector)', pct(e.toRowMs)],
        ],
      ),
    );
    parts.push(
      `${e.events} sequential events (half \`created\`, half \`transcript\`); the row check polls back to back ` +
        `(${num(e.pollMs, 2)} ms a query, the resolution). A burst of ${e.burst.events} events was projected at ` +
        `${num(e.burst.rowsPerSec, 0)} rows/s.`,
    );
  }
  parts.push('## Definitions');
  parts.push(
    Object.entries(result.definitions)
      .map(([k, v]) => `- **${k}**: ${v}`)
      .join('\n'),
  );
  return `${parts.join('\n\n')}\n`;
}
