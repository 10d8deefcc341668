/**
 * `pnpm bench campaign`: one campaign at full size (10 000 contacts at 1 200 calls/min, cap 30,
 * two scheduler replicas) through the dialer into the Twilio simulator; writes
 * packages/bench/results/<date>-<host>-campaign.{json,md}. Progress goes to stdout.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { runCampaignBench } from '../campaign/campaign-bench.js';
import { FULL_SIZE, writeCampaignResults } from '../campaign/campaign-report.js';

export const CAMPAIGN_HELP = `pnpm bench campaign [--contacts 10000] [--pace 1200] [--cap 30] [--replicas 2] [--ring-ms 5000] [--out DIR]

  --contacts N   contacts in the campaign (at most 10000; the default is the full size)
  --pace N       the campaign's callsPerMinute
  --cap N        the campaign's maxConcurrentCalls
  --replicas N   campaign-scheduler processes
  --ring-ms N    simulated ringing before each callee answers (the simulator runs 10x fast)
  --out DIR      where results go (default packages/bench/results)
`;

const positive = (name: string, value: string): number => {
  const v = Number(value);
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`bench campaign: --${name} must be a positive integer, got ${value}\n`);
    process.exit(2);
  }
  return v;
};

export async function campaignCli(args: string[]): Promise<void> {
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const { values } = parseArgs({
    args,
    options: {
      contacts: { type: 'string', default: String(FULL_SIZE) },
      pace: { type: 'string', default: '1200' },
      cap: { type: 'string', default: '30' },
      replicas: { type: 'string', default: '2' },
      'ring-ms': { type: 'string', default: '5000' },
      out: { type: 'string', default: join(import.meta.dirname, '..', '..', 'results') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    print(CAMPAIGN_HELP);
    return;
  }
  const t0 = performance.now();
  const result = await runCampaignBench({
    contacts: positive('contacts', values.contacts),
    callsPerMinute: positive('pace', values.pace),
    cap: positive('cap', values.cap),
    replicas: positive('replicas', values.replicas),
    ringMs: positive('ring-ms', values['ring-ms']),
    onProgress: (m) =>
      print(`[${((performance.now() - t0) / 1_000).toFixed(0).padStart(4)} s] ${m}`),
  });
  const files = await writeCampaignResults(result, values.out);
  const p = result.pace;
  const c = result.concurrency;
  print('');
  print(`${result.verdict.pass ? 'pass' : 'FAIL'} ${result.verdict.failures.join('; ')}`);
  print(
    `pace ${p.perMinute?.toFixed(1)}/min of ${p.configuredPerMinute} (busiest second ${p.busiestSecond}); ` +
      `max live ${c.maxOverlapAtTwilio} (sampled ${c.maxSampledDialing} dialing, ${c.maxSampledLiveAtTwilio} at twilio) of cap ${c.cap}; ` +
      `dialed twice ${result.dials.dialedTwiceOrMore}, lost ${result.dials.lost}`,
  );
  print(`\nresults: ${files.markdown}\n         ${files.json}`);
}
