/**
 * The campaign-scheduler as a real OS process (from its TypeScript sources, as `pnpm dev` runs
 * it) wired to a dialer harness: its database, its NATS namespace, its Twilio proxy and its
 * stand-in gateway. For the faults an in-process replica cannot have: SIGKILL mid-campaign.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { freePort } from '@app/platform/testing';

import type { Harness } from './harness.js';

/** The repository root (services/campaign-scheduler/test/integration → ../../../..). */
const ROOT_DIR = join(import.meta.dirname, '..', '..', '..', '..');

export interface SchedulerProcess {
  child: ChildProcess;
  /** Its log lines (JSON, one per line), oldest first. */
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL: no drain, no cleanup, as a crashed pod or an OOM kill. */
  kill(): Promise<void>;
  /** SIGTERM (a clean drain), SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/** Starts a scheduler process and waits for its /readyz. `env` overrides the test timing. */
export async function startSchedulerProcess(
  h: Harness,
  pod: string,
  env: Record<string, string> = {},
): Promise<SchedulerProcess> {
  const port = await freePort();
  const { accountSid, authToken } = h.sims.credentials.twilio;
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=source',
      join('services', 'campaign-scheduler', 'src', 'main.ts'),
    ],
    {
      cwd: ROOT_DIR,
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: h.databaseUrl,
        NATS_URL: 'nats://127.0.0.1:4222',
        NATS_PREFIX: h.names.prefix,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(port),
        POD_NAME: pod,
        LOG_LEVEL: 'info',
        TWILIO_ACCOUNT_SID: accountSid,
        TWILIO_AUTH_TOKEN: authToken,
        TWILIO_API_BASE_URL: h.twilioUrl,
        TWILIO_REQUEST_TIMEOUT_MS: '1000',
        GATEWAY_PUBLIC_URL: h.gatewayUrl,
        DIAL_MAX_CPS: '100',
        DIAL_MAX_CPS_PER_NUMBER: '100',
        DIAL_MAX_CONCURRENT: '50',
        DIAL_MAX_ATTEMPTS: '1',
        DIAL_RING_TIMEOUT_SEC: '1',
        DIAL_PARALLELISM: '8',
        DIAL_POLL_INTERVAL_MS: '50',
        DIAL_RECLAIM_AFTER_MS: '2000',
        DIAL_LIVE_CHECK_AFTER_MS: '3000',
        CAMPAIGN_POLL_INTERVAL_MS: '50',
        CAMPAIGN_PROGRESS_INTERVAL_MS: '500',
        CAMPAIGN_REPUBLISH_AFTER_MS: '1000',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output: string[] = [];
  const collect = () => {
    let partial = '';
    return (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      output.push(...lines.filter((l) => l.length > 0));
    };
  };
  child.stdout?.on('data', collect());
  child.stderr?.on('data', collect());
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );
  const proc: SchedulerProcess = {
    child,
    output,
    exited,
    async kill() {
      if (!done) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (done) throw new Error(`scheduler ${pod} exited early:\n${output.slice(-30).join('\n')}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return proc;
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`scheduler ${pod} not ready after 60 s:\n${output.slice(-30).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
