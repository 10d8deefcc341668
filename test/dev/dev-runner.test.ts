import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { NatsServerMissingError, startDevNats } from '../../scripts/dev/nats.js';
import { freePort, ROOT_DIR } from '../services/service-process.js';

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
    'with no DATABASE_URL or NATS_URL: embedded PostgreSQL, nats-server, migrations, five healthy services, clean stop',
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
            LOG_LEVEL: 'warn',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
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
