/**
 * `pnpm --filter @app/bench profile-summary FILE.cpuprofile [TOP]`: prints where a profiled
 * service spent its CPU, by origin and by function (self time). A CLI: output goes to stdout.
 */
import { readFileSync } from 'node:fs';

import {
  formatProfileSummary,
  parseCpuProfile,
  summarizeCpuProfile,
} from '../report/cpu-profile.js';

const [file, top] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary FILE.cpuprofile [TOP]\n');
  process.exit(2);
}
const profile = parseCpuProfile(JSON.parse(readFileSync(file, 'utf8')));
process.stdout.write(`${formatProfileSummary(summarizeCpuProfile(profile, Number(top ?? 40)))}\n`);
