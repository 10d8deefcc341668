/**
 * One of our services as a real child process, started from its TypeScript sources as
 * `pnpm dev` does, optionally pinned to CPUs with `taskset`, so the bench measures exactly what
 * would run in a pod. Only the tail of its output is kept: a long run must not grow the bench.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** The repository root (packages/bench/src/stack → ../../../..). */
export const ROOT_DIR = join(import.meta.dirname, '..', '..', '..', '..');

const TAIL_LINES = 200;

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Last lines of stdout and stderr, oldest first. */
  tail: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  /** `taskset -c` CPU list, e.g. `'0'`; absent: not pinned. */
  cpus?: string;
  /** Extra Node.js flags, e.g. `--cpu-prof` to profile the service. */
  nodeArgs?: readonly string[];
}

/** Pins every thread of `pid` to `cpus` (a `taskset -c` list); false when that failed. */
export function pinProcess(pid: number, cpus: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function spawnService(
  name: string,
  env: Record<string, string>,
  opts: SpawnOptions = {},
): ServiceProcess {
  const node = [
    process.execPath,
    ...(opts.nodeArgs ?? []),
    '--import',
    'tsx',
    '--conditions=source',
    join('services', name, 'src', 'main.ts'),
  ];
  // taskset execs node in place: the pid we get is the service's own.
  const argv = opts.cpus === undefined ? node : ['taskset', '-c', opts.cpus, ...node];
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: ROOT_DIR,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const collect = () => {
    let partial = '';
    return (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.length > 0) tail.push(line);
      if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
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
  return {
    name,
    child,
    pid: child.pid ?? -1,
    tail,
    exited,
    async stop(graceMs = 10_000) {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `url` until it answers 200; throws with the output tail when the process exits first. */
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
    if (exited) throw new Error(`${proc.name} exited early:\n${proc.tail.slice(-30).join('\n')}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms:\n${proc.tail.slice(-30).join('\n')}`);
}
