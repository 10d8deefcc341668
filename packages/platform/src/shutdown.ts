/**
 * Graceful shutdown on SIGTERM (ARCHITECTURE.md: a bridge stops taking calls, drains, then ends).
 *
 * The first signal runs the steps in order: typically "stop accepting work" (readiness turns
 * false), "drain live calls", `app.close()`, `nc.drain()`, `prisma.$disconnect()`. A step that
 * fails is logged and the next one still runs, because leaving NATS or PostgreSQL connections open
 * is worse than a partial drain. If the steps outlast the deadline, the process exits 1 anyway,
 * before Kubernetes' SIGKILL at the end of the grace period.
 */
import type { Logger } from './logger.js';

/** One shutdown step. */
export interface ShutdownStep {
  /** Logged with the step's duration, e.g. `'http'`, `'nats'`, `'postgres'`. */
  name: string;
  run: () => Promise<void>;
}

/** Options of {@link installShutdown}. */
export interface InstallShutdownOptions {
  log: Logger;
  /**
   * Time all steps together may take, in ms, from the first signal; then the process exits 1.
   * Keep it below the pod's `terminationGracePeriodSeconds`.
   */
  deadlineMs: number;
  /** Run in order, once. */
  steps: ShutdownStep[];
  /** Signals that start the shutdown. @defaultValue `['SIGTERM', 'SIGINT']` */
  signals?: NodeJS.Signals[];
  /** Ends the process; tests inject a recorder. @defaultValue `process.exit` */
  exit?: (code: number) => void;
}

/** Handle returned by {@link installShutdown}. */
export interface ShutdownHandle {
  /**
   * Starts the shutdown (as a signal would) and resolves once `exit` was called, with 0 when
   * every step finished within the deadline, or 1 when the deadline passed or `failed` says the
   * process ends because something broke (so a supervisor counts a failure). A second call
   * returns the same promise.
   */
  shutdown(reason: string, opts?: { failed?: boolean }): Promise<void>;
  /** `true` from the first signal or `shutdown()` call on; wire it to readiness. */
  isShuttingDown(): boolean;
  /** Removes the signal listeners (tests; or handing over to another handler). */
  dispose(): void;
}

/**
 * Installs the signal handlers and returns the shutdown handle.
 *
 * @throws RangeError when `deadlineMs` is not a non-negative finite number.
 */
export function installShutdown(opts: InstallShutdownOptions): ShutdownHandle {
  const { log, deadlineMs, steps } = opts;
  if (!Number.isFinite(deadlineMs) || deadlineMs < 0) {
    throw new RangeError(`deadlineMs must be a finite number >= 0, got ${deadlineMs}`);
  }
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let running: Promise<void> | undefined;

  /** Runs every step; `progress.current` names the running step, for the deadline log. */
  async function runSteps(progress: { current?: string }): Promise<void> {
    for (const step of steps) {
      progress.current = step.name;
      const started = performance.now();
      try {
        await step.run();
        log.info({ step: step.name, durationMs: elapsed(started) }, 'shutdown step finished');
      } catch (err) {
        log.error({ step: step.name, durationMs: elapsed(started), err }, 'shutdown step failed');
      }
    }
    delete progress.current;
  }

  async function run(reason: string, failed: boolean): Promise<void> {
    const started = performance.now();
    log.info({ reason, deadlineMs, steps: steps.map((s) => s.name) }, 'shutting down');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
    });
    const progress: { current?: string } = {};
    const work = runSteps(progress).then(() => 'done' as const);
    const outcome = await Promise.race([work, deadline]);
    clearTimeout(timer);
    if (outcome === 'deadline') {
      log.error(
        { reason, deadlineMs, pendingStep: progress.current },
        'shutdown deadline exceeded',
      );
      exit(1);
      return;
    }
    log.info({ reason, durationMs: elapsed(started) }, 'shutdown complete');
    exit(failed ? 1 : 0);
  }

  function shutdown(reason: string, opts: { failed?: boolean } = {}): Promise<void> {
    running ??= run(reason, opts.failed ?? false);
    return running;
  }

  // One listener per signal, so the log names the signal even when it was emitted by hand.
  const listeners = signals.map((signal) => {
    const listener = () => {
      if (running) {
        log.warn({ signal }, 'shutdown already in progress, signal ignored');
        return;
      }
      void shutdown(`signal ${signal}`);
    };
    process.on(signal, listener);
    return { signal, listener };
  });

  return {
    shutdown,
    isShuttingDown: () => running !== undefined,
    dispose: () => {
      for (const { signal, listener } of listeners) process.off(signal, listener);
    },
  };
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
