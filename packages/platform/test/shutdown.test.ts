import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';

import { installShutdown, type InstallShutdownOptions } from '../src/shutdown.js';
import { captureLogs } from '../src/testing.js';

function setup(opts: Partial<InstallShutdownOptions> & Pick<InstallShutdownOptions, 'steps'>) {
  const { log, lines } = captureLogs();
  const exit = vi.fn<(code: number) => void>();
  const handle = installShutdown({ log, deadlineMs: 1_000, signals: [], exit, ...opts });
  onTestFinished(() => handle.dispose());
  return { handle, exit, lines };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('shutdown', () => {
  it('runs the steps in order, logs each with its duration, then exits 0', async () => {
    const order: string[] = [];
    const step = (name: string) => ({
      name,
      run: async () => {
        order.push(name);
      },
    });
    const { handle, exit, lines } = setup({
      steps: [step('readiness'), step('http'), step('nats')],
    });
    expect(handle.isShuttingDown()).toBe(false);
    await handle.shutdown('test');
    expect(handle.isShuttingDown()).toBe(true);
    expect(order).toEqual(['readiness', 'http', 'nats']);
    expect(exit.mock.calls).toEqual([[0]]);
    const finished = lines.filter((l) => l.msg === 'shutdown step finished');
    expect(finished.map((l) => l.step)).toEqual(['readiness', 'http', 'nats']);
    for (const l of finished) expect(typeof l.durationMs).toBe('number');
    expect(lines.at(-1)).toMatchObject({ msg: 'shutdown complete', reason: 'test' });
  });

  it('logs a failing step and still runs the rest', async () => {
    const ran: string[] = [];
    const { handle, exit, lines } = setup({
      steps: [
        {
          name: 'http',
          run: async () => {
            throw new Error('close failed');
          },
        },
        { name: 'nats', run: async () => void ran.push('nats') },
      ],
    });
    await handle.shutdown('test');
    expect(ran).toEqual(['nats']);
    expect(exit.mock.calls).toEqual([[0]]);
    const failed = lines.find((l) => l.msg === 'shutdown step failed');
    expect(failed).toMatchObject({ level: 50, step: 'http', err: { message: 'close failed' } });
  });

  it('logs at error and exits 1 when the deadline passes', async () => {
    vi.useFakeTimers();
    const { handle, exit, lines } = setup({
      deadlineMs: 5_000,
      steps: [
        { name: 'drain', run: () => new Promise<void>(() => {}) },
        { name: 'nats', run: async () => {} },
      ],
    });
    const done = handle.shutdown('test');
    await vi.advanceTimersByTimeAsync(4_999);
    expect(exit).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await done;
    expect(exit.mock.calls).toEqual([[1]]);
    expect(lines.find((l) => l.msg === 'shutdown deadline exceeded')).toMatchObject({
      level: 50,
      deadlineMs: 5_000,
      pendingStep: 'drain',
    });
  });

  it('returns the same run when shutdown() is called twice', async () => {
    let runs = 0;
    const { handle, exit } = setup({ steps: [{ name: 's', run: async () => void (runs += 1) }] });
    const a = handle.shutdown('first');
    const b = handle.shutdown('second');
    expect(a).toBe(b);
    await a;
    expect(runs).toBe(1);
    expect(exit).toHaveBeenCalledTimes(1);
  });

  it('starts on a signal and ignores a second one while shutting down', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let runs = 0;
    const before = process.listenerCount('SIGUSR2');
    const { handle, exit, lines } = setup({
      signals: ['SIGUSR2'],
      steps: [{ name: 'drain', run: () => ((runs += 1), gate) }],
    });
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
    process.emit('SIGUSR2');
    expect(handle.isShuttingDown()).toBe(true);
    process.emit('SIGUSR2');
    expect(
      lines.find((l) => l.msg === 'shutdown already in progress, signal ignored'),
    ).toMatchObject({ level: 40, signal: 'SIGUSR2' });
    release();
    await handle.shutdown('ignored');
    expect(runs).toBe(1);
    expect(exit.mock.calls).toEqual([[0]]);
    expect(lines.find((l) => l.msg === 'shutting down')).toMatchObject({
      reason: 'signal SIGUSR2',
    });
    handle.dispose();
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });

  it('listens to SIGTERM and SIGINT by default and removes the listeners on dispose', () => {
    const term = process.listenerCount('SIGTERM');
    const int = process.listenerCount('SIGINT');
    const { handle } = setup({ steps: [], signals: undefined });
    expect(process.listenerCount('SIGTERM')).toBe(term + 1);
    expect(process.listenerCount('SIGINT')).toBe(int + 1);
    handle.dispose();
    expect(process.listenerCount('SIGTERM')).toBe(term);
    expect(process.listenerCount('SIGINT')).toBe(int);
  });

  it('rejects a negative deadline', () => {
    expect(() => setup({ steps: [], deadlineMs: -1 })).toThrow(RangeError);
  });
});
