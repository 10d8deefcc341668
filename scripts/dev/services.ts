/**
 * Runs the five services as child processes from their TypeScript sources, each line of their
 * JSON logs made readable (pino-pretty) and prefixed with the service name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { prettyFactory } from 'pino-pretty';

export interface DevService {
  name: string;
  port: number;
}

/** The services in start order, on consecutive ports from `portBase` (their own defaults at 3000). */
export function devServices(portBase: number): DevService[] {
  return ['gateway', 'call-bridge', 'campaign-scheduler', 'tool-runner', 'handoff'].map(
    (name, index) => ({ name, port: portBase + index }),
  );
}

const COLORS = [36, 35, 33, 32, 34];

export interface RunningChild {
  service: DevService;
  child: ChildProcess;
}

export function startServices(opts: {
  services: readonly DevService[];
  rootDir: string;
  env: NodeJS.ProcessEnv;
  write: (line: string) => void;
  pretty: boolean;
}): RunningChild[] {
  const format = prettyFactory({
    colorize: opts.pretty,
    translateTime: 'HH:MM:ss.l',
    ignore: 'pid,hostname,service,version,pod',
    // One line per event keeps five interleaved services readable.
    singleLine: true,
  });
  const width = Math.max(...opts.services.map((s) => s.name.length));
  return opts.services.map((service, index) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', join('services', service.name, 'src', 'main.ts')],
      {
        cwd: opts.rootDir,
        env: { ...opts.env, HTTP_PORT: String(service.port), POD_NAME: `${service.name}-dev` },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const label = service.name.padEnd(width);
    const prefix = opts.pretty
      ? `\u001b[${COLORS[index % COLORS.length]}m${label}\u001b[0m |`
      : `${label} |`;
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        const text = line.startsWith('{') ? format(line).trimEnd() : line;
        for (const part of text.split('\n')) opts.write(`${prefix} ${part}`);
      });
    }
    return { service, child };
  });
}

/** Polls /readyz until every service answers 200, or throws naming the ones that did not. */
export async function waitUntilReady(
  services: readonly DevService[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(services);
  while (pending.size > 0) {
    for (const service of [...pending]) {
      try {
        const res = await fetch(`http://127.0.0.1:${service.port}/readyz`);
        if (res.ok) pending.delete(service);
      } catch {
        // not listening yet
      }
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `not ready after ${timeoutMs} ms: ${[...pending].map((s) => s.name).join(', ')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** SIGTERM to every child, then waits for all of them to exit. */
export async function stopServices(children: readonly RunningChild[]): Promise<void> {
  await Promise.all(
    children.map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}
