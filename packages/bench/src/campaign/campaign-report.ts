/**
 * The campaign bench's files: `<date>-<host>-campaign[-<contacts>].{json,md}` (no suffix at the
 * full 10 000), formatted with the repository's prettier settings like the suite's.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { format, resolveConfig } from 'prettier';

import type { Percentiles } from '../stats/percentiles.js';
import type { CampaignBenchResult } from './campaign-bench.js';

/** The size the issue asks the benchmark to run at. */
export const FULL_SIZE = 10_000;

export const CAMPAIGN_DEFINITIONS: Record<string, string> = {
  'achieved pace':
    "calls started per minute at the Twilio simulator (its own clock, ms): (calls - 1) / (last start - first start). Pass: the span of the starts no shorter than the configured pace allows (less 500 ms for one call's lateness) and the pace at least 90 % of the configured one.",
  'busiest second / minute':
    "the most calls the simulator saw started within any 1 s / 60 s window. The runner catches up at most 500 ms of missed pacing slots (CATCH_UP_MS), so a second (or a minute) holds at most the pace plus that, give or take the dialer's jitter (each request waits a few ms more or less for its dial).",
  'max live (simulator)':
    "the most calls live at the same instant by the simulator's own start and end timestamps: every call, not a sample. Pass: at most the campaign's cap.",
  'max dialing (sampled)':
    "the most campaign contacts in status `dialing` (the runner's count against the cap: from its claim until its call request is final) in samples every 100 ms.",
  'max live (sampled at the simulator)':
    "the most calls in a non-final status in the simulator's REST list (`Status=queued|initiated|ringing|in-progress`), sampled every 500 ms.",
  'intake to call created / call end to request final':
    "per contact: its call request's `created_at` (recorded by the dialer's intake) to the call's creation at the simulator, and the call's end at the simulator to the request's final `updated_at`. With the call itself they make up the time a contact holds a place under the cap.",
  'dialed twice / lost':
    "contacts the simulator's call log shows more than one call to / none (each contact has its own number).",
};

const n = (v: number | null | undefined, digits = 0) =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);

function pct(p: Percentiles | null): string {
  return p ? `${n(p.p50)} / ${n(p.p95)} / ${n(p.max)} ms` : '–';
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function renderCampaignMarkdown(r: CampaignBenchResult): string {
  const s = r.settings;
  const m = r.machine;
  return [
    `# Campaign benchmark: ${s.contacts} contacts at ${s.callsPerMinute} calls/min, cap ${s.cap}`,
    '',
    `**${r.verdict.pass ? 'pass' : 'fail'}**${r.verdict.failures.length ? `: ${r.verdict.failures.join('; ')}` : ''}`,
    '',
    `Run ${r.startedAt} on ${m.host}: ${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node.js ${m.node}, load average ${m.loadAverage1m.toFixed(2)} at the start. ` +
      `${s.replicas} campaign-scheduler replica(s) as processes (from source), the machine's NATS and PostgreSQL, ` +
      `the Twilio simulator (fast pacing: ${s.ringMs} simulated ms of ringing, then a one-line <Say> and a hang-up) and a stand-in for the gateway's ` +
      `TwiML and status-callback endpoints (a final status becomes the call's \`ended\` event; no call records) in the bench process. ${s.fromNumbers} from-numbers in rotation. ` +
      `Dialer settings: ${Object.entries(s.dialerEnv)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}.`,
    '',
    '## Result',
    '',
    table(
      ['measure', 'value'],
      [
        ['campaign start to completed', `${n(r.durationMs / 1_000, 1)} s`],
        ['calls started (simulator)', String(r.pace.calls)],
        [
          'achieved pace',
          `${n(r.pace.perMinute, 1)} calls/min (${n((r.pace.ratio ?? Number.NaN) * 100, 1)} % of ${r.pace.configuredPerMinute}); mean gap ${n(r.pace.meanGapMs, 1)} ms`,
        ],
        ['busiest second / minute', `${r.pace.busiestSecond} / ${r.pace.busiestMinute}`],
        [
          'max live (simulator, exact)',
          `${r.concurrency.maxOverlapAtTwilio} (cap ${r.concurrency.cap})`,
        ],
        [
          'max dialing (sampled)',
          `${r.concurrency.maxSampledDialing} over ${r.concurrency.dbSamples} samples`,
        ],
        [
          'max live (sampled at the simulator)',
          `${r.concurrency.maxSampledLiveAtTwilio} over ${r.concurrency.twilioSamples} samples`,
        ],
        ['requests recorded (dialer intake)', `${n(r.latencyMs.requestsPerMinute, 1)} /min`],
        ['intake to call created, p50 / p95 / max', pct(r.latencyMs.intakeToDial)],
        ['call end to request final, p50 / p95 / max', pct(r.latencyMs.endToFinal)],
        [
          'most unacknowledged messages per consumer',
          Object.entries(r.latencyMs.maxConsumerBacklog)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ],
        ['contacts dialed once', `${r.dials.dialedOnce} of ${r.dials.contacts}`],
        [
          'dialed twice or more',
          `${r.dials.dialedTwiceOrMore} (${r.dials.extraCalls} extra calls)`,
        ],
        ['lost (never dialed)', String(r.dials.lost)],
        [
          'contacts by status',
          Object.entries(r.contactStatuses)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ],
        [
          'calls by status',
          Object.entries(r.callStatuses)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ],
      ],
    ),
    '',
    '## Definitions',
    '',
    ...Object.entries(CAMPAIGN_DEFINITIONS).map(([k, v]) => `- **${k}**: ${v}`),
    '',
  ].join('\n');
}

async function pretty(text: string, filepath: string): Promise<string> {
  const config = (await resolveConfig(filepath)) ?? {};
  return format(text, { ...config, filepath });
}

export function campaignBaseName(r: CampaignBenchResult): string {
  const host = r.machine.host.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  const size = r.settings.contacts === FULL_SIZE ? '' : `-${r.settings.contacts}`;
  return `${r.startedAt.slice(0, 10)}-${host}-campaign${size}`;
}

export async function writeCampaignResults(
  r: CampaignBenchResult,
  dir: string,
): Promise<{ json: string; markdown: string }> {
  await mkdir(dir, { recursive: true });
  const base = campaignBaseName(r);
  const files = { json: join(dir, `${base}.json`), markdown: join(dir, `${base}.md`) };
  await writeFile(
    files.json,
    await pretty(JSON.stringify({ ...r, definitions: CAMPAIGN_DEFINITIONS }), files.json),
  );
  await writeFile(files.markdown, await pretty(renderCampaignMarkdown(r), files.markdown));
  return files;
}
