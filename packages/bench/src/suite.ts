/**
 * The whole bench: the system under test is started once, then the sweep over N (a fresh bridge
 * per run), the gateway webhook bench and the event-path bench, and everything is torn down.
 */
import { DEFINITIONS } from './definitions.js';
import { runEventPathBench, type EventPathOptions } from './events/event-path-bench.js';
import { runSweep, type SweepOptions } from './load/sweep.js';
import { describeMachine } from './probes/machine.js';
import { procAvailable } from './probes/proc-stats.js';
import type { SuiteResult } from './results.js';
import { pinProcess } from './stack/service-process.js';
import { startStack } from './stack/stack.js';
import { runWebhookBench, type WebhookBenchOptions } from './webhook/webhook-bench.js';

export type Mode = SuiteResult['mode'];

export interface SuitePlan {
  sweep: Omit<SweepOptions, 'onProgress'>;
  webhook: Omit<WebhookBenchOptions, 'pin' | 'onProgress'> | null;
  eventPath: EventPathOptions | null;
}

const RUN = { rampPerSec: 20, bargeInRate: 0.25, lateFrameMs: 20, settleMs: 2_000, tailMs: 3_000 };

export const PLANS: Record<Mode, SuitePlan> = {
  /** Minutes: the sweep up to 1000 calls, stopping where the bridge or the machine gives out. */
  full: {
    sweep: {
      ...RUN,
      levels: [10, 50, 100, 150, 250, 500, 1000],
      windowMs: 20_000,
      warmupCalls: 5,
    },
    webhook: { levels: [1, 4, 16, 64], durationPerLevelMs: 5_000 },
    eventPath: { events: 200, burst: 1_000 },
  },
  /** Under two minutes: two small runs and short webhook and event-path benches. */
  quick: {
    sweep: { ...RUN, levels: [10, 50], windowMs: 6_000, warmupCalls: 2 },
    webhook: { levels: [4, 32], durationPerLevelMs: 2_000 },
    eventPath: { events: 40, burst: 200 },
  },
  /** Seconds: the harness itself, for CI (two greeting-only calls). */
  smoke: {
    sweep: {
      ...RUN,
      levels: [2],
      windowMs: 1_000,
      settleMs: 1_000,
      tailMs: 0,
      warmupCalls: 0,
      turns: 0,
    },
    webhook: { levels: [2], durationPerLevelMs: 500 },
    eventPath: { events: 4, burst: 10 },
  },
};

export interface SuiteOptions {
  mode: Mode;
  /** Pin the bridge to CPU 0 and this process and the gateway to CPU 1 when possible. */
  pin: boolean;
  /** Overrides the plan's sweep levels. */
  levels?: number[];
  /** Write a V8 CPU profile of each call-bridge into this directory. */
  profileDir?: string;
  onProgress?: (message: string) => void;
}

export async function runSuite(opts: SuiteOptions): Promise<SuiteResult> {
  const plan = PLANS[opts.mode];
  const say = opts.onProgress ?? (() => undefined);
  const machine = describeMachine();
  if (!procAvailable())
    throw new Error('the bench needs Linux /proc to read the bridge’s CPU and memory');
  const pin = opts.pin && machine.taskset && machine.cores >= 2 && pinProcess(process.pid, '1');
  const startedAt = new Date().toISOString();
  say(`starting gateway${pin ? ' (pinned: bridge CPU 0, generator and gateway CPU 1)' : ''}`);
  const stack = await startStack({
    pin,
    ...(opts.profileDir ? { bridgeProfileDir: opts.profileDir } : {}),
  });
  try {
    const sweep = await runSweep(stack, {
      ...plan.sweep,
      ...(opts.levels ? { levels: opts.levels } : {}),
      ...(opts.profileDir ? { profileDir: opts.profileDir } : {}),
      onProgress: say,
    });
    const eventPath = plan.eventPath ? await runEventPathBench(stack, plan.eventPath) : null;
    const webhook = plan.webhook
      ? await runWebhookBench(stack, { ...plan.webhook, pin, onProgress: say })
      : null;
    return {
      version: 1,
      mode: opts.mode,
      startedAt,
      machine,
      pinned: { bridge: pin ? '0' : null, generatorAndGateway: pin ? '1' : null },
      sweep,
      webhook,
      eventPath,
      definitions: DEFINITIONS,
    };
  } finally {
    await stack.close();
  }
}
