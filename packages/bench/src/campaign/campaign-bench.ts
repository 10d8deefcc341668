/**
 * One campaign at full size through the campaign-scheduler replicas and the real dialer into
 * the Twilio simulator (campaign-stack.ts): its contacts inserted as the gateway's import does,
 * the campaign started, the live calls sampled all along (contacts `dialing` in PostgreSQL,
 * calls not final at the simulator), and at the end the simulator's call log read back: the
 * pace achieved, the most calls live at once against the cap, contacts dialed twice or never.
 */
import { loadavg } from 'node:os';

import { describeMachine } from '../probes/machine.js';
import { summarize, type Percentiles } from '../stats/percentiles.js';
import {
  dialsOf,
  maxOverlap,
  paceOf,
  type DialFigures,
  type PaceFigures,
} from './campaign-analysis.js';
import { FROM_POOL, startCampaignStack } from './campaign-stack.js';

export interface CampaignBenchOptions {
  contacts: number;
  callsPerMinute: number;
  /** The campaign's `maxConcurrentCalls`. */
  cap: number;
  replicas: number;
  /** Simulated ringing before the callee answers (ms; the simulator runs 10× fast). */
  ringMs: number;
  onProgress?: (message: string) => void;
}

/** The replicas' dialer settings: limits above the campaign's pace, as an operator sets them. */
export const BENCH_DIALER_ENV = {
  DIAL_MAX_CPS: '40',
  DIAL_MAX_CPS_PER_NUMBER: '20',
  DIAL_MAX_CONCURRENT: '500',
  DIAL_PARALLELISM: '8',
  DIAL_MAX_ATTEMPTS: '1',
  DIAL_RING_TIMEOUT_SEC: '30',
} as const;

export interface CampaignBenchResult {
  kind: 'campaign';
  startedAt: string;
  machine: ReturnType<typeof describeMachine> & { loadAverage1m: number };
  settings: Omit<CampaignBenchOptions, 'onProgress'> & {
    fromNumbers: number;
    dialerEnv: Record<string, string>;
  };
  /** Campaign start to `completed`, ms. */
  durationMs: number;
  /** At the simulator: the calls' start times. */
  pace: PaceFigures & { configuredPerMinute: number; ratio: number | null };
  concurrency: {
    cap: number;
    /** From the simulator's own call timestamps (exact). */
    maxOverlapAtTwilio: number;
    /** Most contacts `dialing` in any database sample, and the number of samples. */
    maxSampledDialing: number;
    dbSamples: number;
    /** Most calls not final in any sample of the simulator's REST list. */
    maxSampledLiveAtTwilio: number;
    twilioSamples: number;
  };
  dials: DialFigures;
  /**
   * Where a contact's place under the cap goes besides the call itself (ms): its request
   * recorded by the dialer's intake to the call created at the simulator (the dialer's queue,
   * rate slots), and the call's end at the simulator to its request final (status callback,
   * `ended` event, the dialer's end consumer). Also the pace the requests were recorded at.
   */
  latencyMs: {
    intakeToDial: Percentiles | null;
    endToFinal: Percentiles | null;
    requestsPerMinute: number | null;
    /** The most messages each call-path consumer had not acknowledged (1 s samples). */
    maxConsumerBacklog: Record<string, number>;
  };
  /** Contacts by final status (the campaign's view). */
  contactStatuses: Record<string, number>;
  /** Calls by final status (the simulator's view). */
  callStatuses: Record<string, number>;
  verdict: { pass: boolean; failures: string[] };
}

/**
 * Tolerances of the verdict: never faster than configured, give or take one call's lateness
 * (the first call's cold start shortens the measured span; ms over the whole run).
 */
const FASTEST_SLACK_MS = 500;
/** ... and not grossly slower: at least 90 % of the configured pace over the run. */
const SLOWEST_RATIO = 0.9;

/** The callee number of contact `i`: `+1555100iiii`. */
export function contactNumber(i: number): string {
  return `+1555100${String(i).padStart(4, '0')}`;
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

export async function runCampaignBench(opts: CampaignBenchOptions): Promise<CampaignBenchResult> {
  if (opts.contacts > 10_000) throw new RangeError('contacts: at most 10 000 (+1555100iiii)');
  const progress = opts.onProgress ?? (() => undefined);
  const startedAt = new Date().toISOString();
  const machine = { ...describeMachine(), loadAverage1m: loadavg()[0] ?? 0 };
  progress(`starting ${opts.replicas} campaign-scheduler replica(s) and the Twilio simulator`);
  const stack = await startCampaignStack({ replicas: opts.replicas, env: { ...BENCH_DIALER_ENV } });
  try {
    const phones = Array.from({ length: opts.contacts }, (_, i) => contactNumber(i));
    for (const phone of phones)
      stack.sims.twilio.setBehaviour(phone, { answer: 'human', ringMs: opts.ringMs });
    const campaign = await stack.prisma.campaign.create({
      data: {
        name: 'bench campaign',
        agentId: stack.agentId,
        fromNumbers: [...FROM_POOL],
        callsPerMinute: opts.callsPerMinute,
        maxConcurrentCalls: opts.cap,
        status: 'draft',
      },
    });
    for (let i = 0; i < phones.length; i += 1_000) {
      await stack.prisma.campaignContact.createMany({
        data: phones.slice(i, i + 1_000).map((phone, k) => ({
          campaignId: campaign.id,
          phone,
          variables: { ref: `c${i + k}` },
        })),
      });
    }
    progress(`${opts.contacts} contacts at ${opts.callsPerMinute}/min, cap ${opts.cap}: running`);

    let sampling = true;
    const dbSamples: number[] = [];
    const twilioSamples: number[] = [];
    const backlog: Record<string, number> = {};
    const samplers = [
      (async () => {
        while (sampling) {
          for (const [k, v] of Object.entries(await stack.consumerBacklog())) {
            backlog[k] = Math.max(backlog[k] ?? 0, v);
          }
          await new Promise((r) => setTimeout(r, 1_000));
        }
      })(),
      (async () => {
        while (sampling) {
          const r = await stack.db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM campaign_contacts WHERE campaign_id = $1 AND status = 'dialing'`,
            [campaign.id],
          );
          dbSamples.push(r.rows[0]?.n ?? 0);
          await new Promise((r) => setTimeout(r, 100));
        }
      })(),
      (async () => {
        while (sampling) {
          twilioSamples.push(await stack.liveAtTwilio());
          await new Promise((r) => setTimeout(r, 500));
        }
      })(),
    ];

    const t0 = Date.now();
    await stack.prisma.campaign.update({ where: { id: campaign.id }, data: { status: 'running' } });
    const expectedMs = (opts.contacts / opts.callsPerMinute) * 60_000;
    const deadline = t0 + expectedMs * 2 + 120_000;
    let lastReport = t0;
    try {
      for (;;) {
        const c = await stack.prisma.campaign.findUniqueOrThrow({ where: { id: campaign.id } });
        if (c.status === 'completed') break;
        if (Date.now() > deadline)
          throw new Error(`campaign not completed after ${Date.now() - t0} ms`);
        if (Date.now() - lastReport >= 15_000) {
          lastReport = Date.now();
          const done = await stack.prisma.campaignContact.count({
            where: { campaignId: campaign.id, status: { notIn: ['pending', 'dialing'] } },
          });
          progress(
            `${done}/${opts.contacts} contacts done after ${((Date.now() - t0) / 1_000).toFixed(0)} s; dialing now ${dbSamples.at(-1) ?? 0}`,
          );
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      sampling = false;
      await Promise.all(samplers);
    }
    const durationMs = Date.now() - t0;
    progress(`completed in ${(durationMs / 1_000).toFixed(0)} s; reading the call log`);

    const calls = await stack.loggedCalls();
    const pace = paceOf(calls);
    const dials = dialsOf(calls, phones);
    const overlap = maxOverlap(calls);
    const contactRows = await stack.prisma.campaignContact.groupBy({
      by: ['status'],
      where: { campaignId: campaign.id },
      _count: true,
    });
    const requests = await stack.db.query<{ to: string; created: Date; updated: Date }>(
      `SELECT to_number AS to, created_at AS created, updated_at AS updated FROM call_requests
       WHERE campaign_id = $1 ORDER BY created_at`,
      [campaign.id],
    );
    const byNumber = new Map(calls.map((c) => [c.to, c]));
    const intakeToDial: number[] = [];
    const endToFinal: number[] = [];
    for (const r of requests.rows) {
      const call = byNumber.get(r.to);
      if (!call) continue;
      intakeToDial.push(call.createdMs - r.created.getTime());
      if (call.endMs !== null) endToFinal.push(r.updated.getTime() - call.endMs);
    }
    const created = requests.rows.map((r) => r.created.getTime());
    const requestSpan = created.length > 1 ? created.at(-1)! - created[0]! : 0;
    const latencyMs = {
      intakeToDial: summarize(intakeToDial),
      endToFinal: summarize(endToFinal),
      requestsPerMinute: requestSpan > 0 ? ((created.length - 1) / requestSpan) * 60_000 : null,
      maxConsumerBacklog: backlog,
    };
    const concurrency = {
      cap: opts.cap,
      maxOverlapAtTwilio: overlap,
      maxSampledDialing: Math.max(0, ...dbSamples),
      dbSamples: dbSamples.length,
      maxSampledLiveAtTwilio: Math.max(0, ...twilioSamples),
      twilioSamples: twilioSamples.length,
    };
    const ratio = pace.perMinute === null ? null : pace.perMinute / opts.callsPerMinute;
    const failures: string[] = [];
    if (dials.lost > 0) failures.push(`${dials.lost} contacts never dialed`);
    if (dials.dialedTwiceOrMore > 0)
      failures.push(`${dials.dialedTwiceOrMore} contacts dialed twice or more`);
    if (dials.strangers > 0)
      failures.push(`${dials.strangers} calls to numbers not in the campaign`);
    for (const [what, v] of [
      ['live calls at the simulator', overlap],
      ['contacts dialing (sampled)', concurrency.maxSampledDialing],
      ['live calls (sampled at the simulator)', concurrency.maxSampledLiveAtTwilio],
    ] as const) {
      if (v > opts.cap) failures.push(`${what}: ${v} > cap ${opts.cap}`);
    }
    const configuredSpanMs = ((pace.calls - 1) * 60_000) / opts.callsPerMinute;
    if (ratio === null || pace.spanMs < configuredSpanMs - FASTEST_SLACK_MS)
      failures.push(`pace ${pace.perMinute}/min is faster than configured`);
    if (ratio !== null && ratio < SLOWEST_RATIO)
      failures.push(`pace ${pace.perMinute?.toFixed(0)}/min is under 90 % of configured`);

    const { onProgress: _, ...settings } = opts;
    return {
      kind: 'campaign',
      startedAt,
      machine,
      settings: { ...settings, fromNumbers: FROM_POOL.length, dialerEnv: { ...BENCH_DIALER_ENV } },
      durationMs,
      pace: { ...pace, configuredPerMinute: opts.callsPerMinute, ratio },
      concurrency,
      dials,
      latencyMs,
      contactStatuses: Object.fromEntries(contactRows.map((r) => [r.status, r._count])),
      callStatuses: countBy(calls, (c) => c.status),
      verdict: { pass: failures.length === 0, failures },
    };
  } finally {
    await stack.close();
  }
}
