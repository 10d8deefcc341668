/**
 * NATS for `pnpm dev`: NATS_URL when set, otherwise a nats-server from PATH with JetStream,
 * storing in <DEV_DATA_DIR>/nats. NATS has no npm-shipped binary, so when it is missing we say how to
 * get it instead of failing obscurely.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';

export interface DevNats {
  url: string;
  embedded: boolean;
  stop(): Promise<void>;
}

export class NatsServerMissingError extends Error {
  constructor() {
    super(
      'nats-server was not found on PATH. Install it (Debian/Ubuntu: `apt-get install nats-server`; ' +
        'macOS: `brew install nats-server`; others: https://docs.nats.io/running-a-nats-service/introduction/installation) ' +
        'or point NATS_URL at a running server with JetStream enabled.',
    );
    this.name = 'NatsServerMissingError';
  }
}

/** Finds an executable in the folders of a PATH-style list. */
export function findExecutable(name: string, pathEnv: string | undefined): string | undefined {
  const dirs = (pathEnv ?? '').split(delimiter);
  for (const dir of dirs.filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() - started > timeoutMs)
          reject(new Error(`nats-server did not listen on ${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

export async function startDevNats(opts: {
  dataDir: string;
  natsUrl: string | undefined;
  port: number;
  pathEnv: string | undefined;
  log: (line: string) => void;
}): Promise<DevNats> {
  if (opts.natsUrl) return { url: opts.natsUrl, embedded: false, stop: async () => undefined };
  const binary = findExecutable('nats-server', opts.pathEnv);
  if (!binary) throw new NatsServerMissingError();
  const storeDir = join(opts.dataDir, 'nats');
  mkdirSync(storeDir, { recursive: true });
  const child: ChildProcess = spawn(
    binary,
    ['-a', '127.0.0.1', '-p', String(opts.port), '-js', '-sd', storeDir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) =>
      reject(new Error(`nats-server exited (${code}): ${stderr.trim()}`)),
    ),
  );
  await Promise.race([waitForPort(opts.port, 10_000), exited]);
  exited.catch(() => undefined);
  return {
    url: `nats://127.0.0.1:${opts.port}`,
    embedded: true,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
