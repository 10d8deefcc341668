/**
 * Starts one service as a real child process (from its TypeScript sources, as `pnpm dev`
 * does) and collects its output, so tests see exactly what an operator would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export { freePort } from '@app/platform/testing';

export const ROOT_DIR = join(import.meta.dirname, '..', '..');

export interface ServiceProcess {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnService(name: string, env: Record<string, string>): ServiceProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=source', join('services', name, 'src', 'main.ts')],
    {
      cwd: ROOT_DIR,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const stdout: string[] = [];
  const stderr: string[] = [];
  const collect = (into: string[]) => {
    let partial = '';
    return (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      into.push(...lines.filter((l) => l.length > 0));
    };
  };
  child.stdout?.on('data', collect(stdout));
  child.stderr?.on('data', collect(stderr));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout, stderr, exited };
}

/** Polls a URL until it answers 200 or the process exits or the time runs out. */
export async function waitForOk(
  url: string,
  proc: ServiceProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited)
      throw new Error(
        `service exited early:\n${proc.stderr.join('\n')}\n${proc.stdout.join('\n')}`,
      );
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms:\n${proc.stdout.slice(-20).join('\n')}`);
}

/**
 * Polls `check` every 100 ms until it returns a value.
 *
 * @param state - What to print when the time runs out (what was seen, the services' last log
 *   lines), so a failure in CI can be understood without re-running it.
 */
export async function until<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  state?: () => Promise<string> | string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const seen = state ? `:\n${await state()}` : '';
      throw new Error(`timed out waiting after ${timeoutMs} ms${seen}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
