/**
 * Servers a fault test may break without touching the machine's shared NATS and PostgreSQL,
 * which other test files use at the same time:
 *
 * - a private `nats-server` with JetStream on its own port and store directory, that can be
 *   killed and started again on the same port with the same store (a real restart: streams,
 *   consumers and KV survive on disk);
 * - a TCP proxy in front of the shared PostgreSQL that can be cut: open connections are
 *   dropped and new ones refused (the listening socket is closed), as a database that went
 *   away looks to the `pg` driver; restoring it listens again on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort } from '@app/platform/testing';

/** Where the NATS server binary is (Debian's package; override with `NATS_SERVER_BIN`). */
const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

export interface PrivateNats {
  url: string;
  port: number;
  /** Stops the server: SIGTERM (a clean shutdown) or SIGKILL (a crash). Resolves on exit. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /**
   * Starts it again on the same port and store; resolves once it accepts connections. `args`
   * replace the extra server arguments given at creation (e.g. a rotated password).
   */
  start(args?: readonly string[]): Promise<void>;
  /** Stops it and deletes its store. */
  close(): Promise<void>;
}

/** Resolves once something accepts TCP connections on `port`, or rejects after `timeoutMs`. */
async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode})`);
    const open = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nats-server not listening on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Options of {@link startPrivateNats}. */
export interface PrivateNatsOptions {
  /**
   * More server arguments, e.g. `['--user', 'u', '--pass', 'p']` or `['-c', file]` to require
   * authentication. @defaultValue none
   */
  args?: readonly string[];
  /** Variables added to the server's environment (a config's `$VAR`s). @defaultValue none */
  env?: Record<string, string>;
}

export async function startPrivateNats(opts: PrivateNatsOptions = {}): Promise<PrivateNats> {
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'fault-nats-'));
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const output: string[] = [];

  const start = async (args: readonly string[] = opts.args ?? []) => {
    if (child) throw new Error('nats-server is already running');
    const c = spawn(
      NATS_SERVER_BIN,
      ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, ...args],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, ...opts.env },
      },
    );
    c.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    child = c;
    try {
      await waitForPort(port, c, 10_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}:\n${output.join('').slice(-2_000)}`);
    }
  };
  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    const c = child;
    if (!c) return;
    child = null;
    c.kill(signal);
    await exited;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop,
    start,
    close: async () => {
      await stop('SIGKILL');
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

export interface CuttableProxy {
  port: number;
  /** Drops every open connection and refuses new ones until {@link CuttableProxy.restore}. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /** Connections accepted since start (to show the services did reconnect). */
  readonly accepted: number;
  close(): Promise<void>;
}

/** A byte-for-byte TCP proxy to `127.0.0.1:targetPort` (e.g. the shared PostgreSQL). */
export async function startCuttableProxy(targetPort: number): Promise<CuttableProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let accepted = 0;
  let server: Server | null = null;

  const listen = async () => {
    const s = createServer((client) => {
      accepted += 1;
      const upstream = tcpConnect(targetPort, '127.0.0.1');
      for (const sock of [client, upstream]) {
        sockets.add(sock);
        sock.once('close', () => sockets.delete(sock));
        sock.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    server = s;
  };
  const cut = async () => {
    const s = server;
    server = null;
    // Reset, not end: a database that went away does not say goodbye.
    for (const sock of sockets) sock.resetAndDestroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    port,
    cut,
    restore: listen,
    get accepted() {
      return accepted;
    },
    close: cut,
  };
}
