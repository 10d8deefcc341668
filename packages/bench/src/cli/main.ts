/**
 * `pnpm bench`: runs the benchmark suite against real gateway and call-bridge processes and
 * writes packages/bench/results/<date>-<host>.{json,md,png}. `--quick` finishes in under two
 * minutes. A CLI: progress goes to stdout.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { targetRows } from '../report/summary.js';
import { writeResults } from '../report/write-results.js';
import { runSuite } from '../suite.js';
import { CAMPAIGN_HELP, campaignCli } from './campaign.js';
import { SOAK_HELP, soakCli } from './soak.js';

const HELP = `pnpm bench [--quick] [--levels 10,50,100] [--out DIR] [--no-pin]
pnpm bench campaign [options]   the campaign benchmark (below)
pnpm bench soak [options]       N calls held for minutes (below)

  --quick        two small runs and short webhook/event benches (under 2 minutes)
  --levels LIST  concurrent-call levels of the sweep, comma-separated
  --out DIR      where results go (default packages/bench/results)
  --no-pin       do not pin the bridge to CPU 0 and the generator to CPU 1
  --profile DIR  write V8 CPU profiles into DIR: each call-bridge (node --cpu-prof, whole run)
                 and the load generator (steady-state window); summarise one with
                 pnpm --filter @app/bench profile-summary FILE

${CAMPAIGN_HELP}
${SOAK_HELP}`;

const print = (line: string) => process.stdout.write(`${line}\n`);

if (process.argv[2] === 'soak') {
  // Its own command and flags; exits non-zero when a check failed.
  const passed = await soakCli(process.argv.slice(3));
  process.exit(passed ? 0 : 1);
}

if (process.argv[2] === 'campaign') {
  // Its own command and flags; nothing below runs.
  await campaignCli(process.argv.slice(3));
  // Clients of the stopped services may hold timers a moment longer; the work is done.
  process.exit(0);
}

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    levels: { type: 'string' },
    out: { type: 'string', default: join(import.meta.dirname, '..', '..', 'results') },
    'no-pin': { type: 'boolean', default: false },
    profile: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  print(HELP);
  process.exit(0);
}
const levels = values.levels?.split(',').map((v) => Number(v.trim()));
if (levels?.some((n) => !Number.isInteger(n) || n < 1)) {
  process.stderr.write(`bench: --levels must be positive integers, got ${values.levels}\n`);
  process.exit(2);
}

const profileDir = values.profile ? resolve(values.profile) : undefined;
if (profileDir) mkdirSync(profileDir, { recursive: true });

const t0 = performance.now();
const result = await runSuite({
  mode: values.quick ? 'quick' : 'full',
  pin: !values['no-pin'],
  ...(levels ? { levels } : {}),
  ...(profileDir ? { profileDir } : {}),
  onProgress: (m) => print(`[${((performance.now() - t0) / 1_000).toFixed(0).padStart(4)} s] ${m}`),
});
const files = await writeResults(result, values.out);
print('');
for (const t of targetRows(result))
  print(`${t.state.padEnd(9)} ${t.target}\n          ${t.measured}`);
print(`\nresults: ${files.markdown}\n         ${files.json}\n         ${files.chart}`);
print(`took ${((performance.now() - t0) / 1_000).toFixed(0)} s`);
// Clients of the stopped services may hold timers a moment longer; the work is done.
process.exit(0);
