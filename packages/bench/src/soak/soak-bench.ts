/**
 * The soak end to end: the system under test started for it (its bridge with the inspector open
 * for forced collections), the soak run, everything torn down, and the report's envelope.
 */
import { describeMachine } from '../probes/machine.js';
import { procAvailable } from '../probes/proc-stats.js';
import { pinProcess } from '../stack/service-process.js';
import { startStack } from '../stack/stack.js';
import { INSPECT_FLAG } from './inspector-gc.js';
import { SOAK_DEFINITIONS, type SoakReport } from './soak-report.js';
import { runSoak, type SoakOptions } from './soak-run.js';

export interface SoakBenchOptions extends SoakOptions {
  /** Pin the bridge to CPU 0 and this process and the gateway to CPU 1 when possible. */
  pin: boolean;
  /** The command line, for the report. */
  command: string;
}

export async function runSoakBench(opts: SoakBenchOptions): Promise<SoakReport> {
  const { pin: wantPin, command, ...soak } = opts;
  const machine = describeMachine();
  if (!procAvailable()) throw new Error('the soak needs Linux /proc to read the bridge’s memory');
  const pin = wantPin && machine.taskset && machine.cores >= 2 && pinProcess(process.pid, '1');
  const startedAt = new Date().toISOString();
  opts.onProgress?.(
    `starting gateway${pin ? ' (pinned: bridge CPU 0, generator and gateway CPU 1)' : ''}`,
  );
  const stack = await startStack({ pin, bridgeNodeArgs: [INSPECT_FLAG] });
  try {
    const result = await runSoak(stack, soak);
    return {
      kind: 'soak',
      version: 1,
      startedAt,
      command,
      machine,
      pinned: { bridge: pin ? '0' : null, generatorAndGateway: pin ? '1' : null },
      result,
      definitions: SOAK_DEFINITIONS,
    };
  } finally {
    await stack.close();
  }
}
