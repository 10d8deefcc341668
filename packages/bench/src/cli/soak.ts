/**
 * `pnpm bench soak`: N concurrent calls held for minutes (issue 10); writes
 * packages/bench/results/<date>-soak-<N>.{json,md}. Progress goes to stdout.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { runSoakBench } from '../soak/soak-bench.js';
import { writeSoakResults } from '../soak/soak-report.js';

export const SOAK_HELP = `pnpm bench soak [--calls 100] [--minutes 3] [--call-seconds 60] [--out DIR] [--no-pin]

  --calls N          calls live at once (ended calls are replaced while the hold lasts)
  --minutes M        how long they are held (decimals allowed)
  --call-seconds S   talk time of each call before the caller hangs up (at least 5)
  --out DIR          where results go (default packages/bench/results)
  --no-pin           do not pin the bridge to CPU 0 and the generator to CPU 1
`;

const positive = (name: string, value: string, min = 0): number => {
  const v = Number(value);
  if (!Number.isFinite(v) || v <= min) {
    process.stderr.write(`bench soak: --${name} must be a number above ${min}, got ${value}\n`);
    process.exit(2);
  }
  return v;
};

/** @returns whether the soak passed. */
export async function soakCli(args: string[]): Promise<boolean> {
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const { values } = parseArgs({
    args,
    options: {
      calls: { type: 'string', default: '100' },
      minutes: { type: 'string', default: '3' },
      'call-seconds': { type: 'string', default: '60' },
      out: { type: 'string', default: join(import.meta.dirname, '..', '..', 'results') },
      'no-pin': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    print(SOAK_HELP);
    return true;
  }
  const calls = positive('calls', values.calls);
  if (!Number.isInteger(calls)) {
    process.stderr.write(`bench soak: --calls must be a whole number, got ${values.calls}\n`);
    process.exit(2);
  }
  const callSeconds = positive('call-seconds', values['call-seconds'], 4.999);
  const t0 = performance.now();
  const report = await runSoakBench({
    calls,
    holdMs: positive('minutes', values.minutes) * 60_000,
    callMs: callSeconds * 1_000,
    pin: !values['no-pin'],
    command: `pnpm bench soak ${args.join(' ')}`.trim(),
    onProgress: (m) =>
      print(`[${((performance.now() - t0) / 1_000).toFixed(0).padStart(4)} s] ${m}`),
  });
  const files = await writeSoakResults(report, values.out);
  const r = report.result;
  print('');
  print(`${r.pass ? 'pass' : 'FAIL'} ${r.failedChecks.join('; ')}`);
  print(
    `calls ${r.calls.placed} placed, ${r.calls.completed} completed, ${r.calls.failed} failed; ` +
      `frames lost caller→model ${r.frames.callerToModel.lost}, model→caller ${r.frames.modelToCaller.lost}, dropped ${r.frames.droppedByBridge}; ` +
      `RSS slope ${r.memory.rssSlopeKiBPerMin?.toFixed(0)} KiB/min, post-GC heap slope ${r.memory.heapAfterGcSlopeKiBPerMin?.toFixed(0) ?? 'n/a'} KiB/min; ` +
      `bridge loop p99 median ${r.loopDelayMs.bridgeIntervalP99?.p50.toFixed(1)} ms, worst ${r.loopDelayMs.bridgeWorstP99?.toFixed(1)} ms`,
  );
  print(`\nresults: ${files.markdown}\n         ${files.json}`);
  return r.pass;
}
