import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { callerUtterances, parseScenario } from '@app/sim';

import { NatsServerMissingError, startDevNats } from '../../scripts/dev/nats.js';
import { freePort, ROOT_DIR } from '../services/service-process.js';

const SERVICE_NAMES = ['gateway', 'call-bridge', 'campaign-scheduler', 'tool-runner', 'handoff'];

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** `count` consecutive ports that are free now. */
async function freePortRange(count: number): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const busy = await Promise.all(ports.map(listening));
    if (!busy.some(Boolean)) return base;
  }
}

/** Runs a command to its end, whatever its exit code; the output is what a user would read. */
function run(
  file: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: ROOT_DIR, env: { PATH: process.env.PATH ?? '' }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * The `pnpm sim call …` command the runner prints, run the way `pnpm sim` runs it (package.json:
 * tsx with the source condition), so the test follows the printed instruction to the letter.
 */
async function placePrintedCall(out: string) {
  const printed = /place a call\s+pnpm sim (call .+)$/m.exec(out)?.[1];
  expect(printed, 'the runner prints how to place a call').toBeDefined();
  const args = (printed ?? '').trim().split(/\s+/);
  const option = (name: string) => args[args.indexOf(`--${name}`) + 1];
  const sim = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=source',
      'packages/sim/src/cli/main.ts',
      ...args,
      '--timeout-ms',
      '60000',
    ],
    90_000,
  );
  return { ...sim, scenario: option('scenario'), to: option('to') };
}

describe('pnpm dev - local runner', () => {
  it('says how to install nats-server when it is not on PATH', async () => {
    await expect(
      startDevNats({
        dataDir: '/nonexistent',
        natsUrl: undefined,
        port: 1,
        pathEnv: '/nonexistent',
        log: () => undefined,
      }),
    ).rejects.toBeInstanceOf(NatsServerMissingError);
    await expect(
      startDevNats({
        dataDir: '/nonexistent',
        natsUrl: undefined,
        port: 1,
        pathEnv: '',
        log: () => undefined,
      }),
    ).rejects.toThrow(/apt-get install nats-server.*NATS_URL/);
  });

  it(
    'with no DATABASE_URL or NATS_URL: embedded PostgreSQL, nats-server, migrations, five healthy services, the printed sim call completes, clean stop',
    { timeout: 180_000 },
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'dev-runner-'));
      // The embedded PostgreSQL runs as the `postgres` user when we are root: it must reach the folder.
      chmodSync(dataDir, 0o755);
      const [pgPort, natsPort, portBase] = [
        await freePort(),
        await freePort(),
        await freePortRange(9),
      ];
      // Services take the first five ports of the range, the simulators the next four.
      const simBase = portBase + 5;
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--conditions=source', 'scripts/dev.ts'],
        {
          cwd: ROOT_DIR,
          env: {
            PATH: process.env.PATH ?? '',
            DEV_DATA_DIR: dataDir,
            DEV_POSTGRES_PORT: String(pgPort),
            DEV_NATS_PORT: String(natsPort),
            DEV_HTTP_PORT_BASE: String(portBase),
            DEV_SIM_PORT_BASE: String(simBase),
            // info, so each service's lifecycle lines show (and their prefixes can be checked).
            LOG_LEVEL: 'info',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        stdout += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise<number | null>((resolve) =>
        child.once('exit', (code) => resolve(code)),
      );
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setInterval(() => {
            if (out.includes('all services ready')) {
              clearInterval(timer);
              resolve();
            }
          }, 200);
          void exited.then((code) => {
            clearInterval(timer);
            reject(new Error(`pnpm dev exited (${code}):\n${out}`));
          });
        });
        expect(out).toContain('embedded PostgreSQL');
        expect(out).toContain('nats-server with JetStream');
        expect(out).toMatch(/applied migrations: \d+_init/);
        // No credentials in the environment: the simulators run and answer as Twilio would.
        expect(out).toContain(`twilio simulator     http://127.0.0.1:${simBase}`);
        const twilioRes = await fetch(
          `http://127.0.0.1:${simBase}/2010-04-01/Accounts/AC00000000000000000000000000000000/Calls.json`,
        );
        expect(twilioRes.status).toBe(401);
        for (let i = 0; i < 5; i += 1) {
          const res = await fetch(`http://127.0.0.1:${portBase + i}/readyz`);
          expect(res.status).toBe(200);
          expect(out).toContain(`http://127.0.0.1:${portBase + i}`);
        }

        // What the runner's own log looks like: every line names who wrote it, and each service
        // has said it is ready under its own name.
        const width = Math.max(...SERVICE_NAMES.map((n) => n.length));
        const prefixes = ['dev | ', ...SERVICE_NAMES.map((n) => `${n.padEnd(width)} | `)];
        const unprefixed = stdout
          .split('\n')
          .filter((line) => line !== '' && !prefixes.some((p) => line.startsWith(p)));
        expect(unprefixed).toEqual([]);
        for (const name of SERVICE_NAMES) {
          expect(stdout).toMatch(new RegExp(`^${name.padEnd(width)} \\| .*service ready`, 'm'));
        }

        // A new user's first call: the command the runner printed, through the simulated
        // Twilio, our gateway and call-bridge (Media Streams) and the simulated OpenAI.
        const logBeforeCall = stdout.length;
        const sim = await placePrintedCall(out);
        const report = `sim call exited ${sim.code}:\n${sim.stdout}${sim.stderr}`;
        expect(sim.to, 'the demo Media Streams number').toBe('+15555550100');
        expect(sim.code, report).toBe(0);
        const scenario = parseScenario(
          JSON.parse(
            readFileSync(join(ROOT_DIR, 'packages/sim/scenarios', `${sim.scenario}.json`), 'utf8'),
          ),
        );
        const said = (role: 'agent ' | 'caller') =>
          [...sim.stdout.matchAll(new RegExp(`^\\s*[\\d.]+s  ${role}: (.+)$`, 'gm'))].map(
            (m) => m[1] ?? '',
          );
        // The OpenAI simulator transcribes the caller's turns as the scenario's text.
        expect(said('caller'), report).toEqual(callerUtterances(scenario));
        // The agent spoke the scenario's answers (a barged-in one is cut short).
        const answers = scenario.model.turns.flatMap((t) => (t.say ? [t.say] : []));
        expect(said('agent '), report).not.toEqual([]);
        expect(
          said('agent ').some((line) => answers.includes(line)),
          report,
        ).toBe(true);
        expect(sim.stdout, report).toMatch(/ 0 protocol errors/);
        const callSid = /^call (CA[0-9a-f]{32}): completed\b/m.exec(sim.stdout)?.[1];
        expect(callSid, report).toBeDefined();
        // The call went through our services: the gateway logged its SID, the bridge logged
        // while it was up, both under their own prefixes.
        const callLog = stdout.slice(logBeforeCall);
        expect(callLog).toMatch(
          new RegExp(`^${'gateway'.padEnd(width)} \\| .*${callSid ?? 'no call'}`, 'm'),
        );
        expect(callLog).toMatch(new RegExp(`^${'call-bridge'.padEnd(width)} \\| `, 'm'));
      } finally {
        child.kill('SIGINT');
      }
      expect(await exited).toBe(0);
      expect(await listening(pgPort)).toBe(false);
      expect(await listening(natsPort)).toBe(false);
      expect(await listening(simBase)).toBe(false);
      rmSync(dataDir, { recursive: true, force: true });
    },
  );
});
