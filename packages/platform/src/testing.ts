/**
 * Test helpers: a real pino logger whose JSON lines are kept, parsed, so a test asserts on what
 * was logged (STYLE.md 6.7) without writing to the console; and a NATS namespace per test file.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';

import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';

import { createNames, type Names } from '@app/contracts';

import { createLogger, type CreateLoggerOptions, type Logger } from './logger.js';
import { provisionJetStream } from './nats.js';

/** A logger and the lines it wrote so far, each parsed from JSON. */
export interface CapturedLogs {
  log: Logger;
  lines: Record<string, unknown>[];
  /** Messages (`msg`) of the lines so far, in order. */
  messages(): string[];
}

/**
 * Builds a logger exactly as services do, writing into memory.
 * @defaultValue service 'test', version '0.0.0'; any option can be overridden.
 */
export function captureLogs(opts: Partial<CreateLoggerOptions> = {}): CapturedLogs {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const log = createLogger({ service: 'test', version: '0.0.0', destination, ...opts });
  return { log, lines, messages: () => lines.map((l) => String(l.msg)) };
}

/** A NATS namespace of one's own on the real server, with its streams and bucket provisioned. */
export interface NatsTestNamespace {
  nc: NatsConnection;
  names: Names;
  /** Deletes the namespace's streams and bucket, then closes the connection. */
  close(): Promise<void>;
}

/**
 * Isolates a test file on the shared nats-server (STYLE.md 6.9): a random prefix gives it its
 * own subjects, streams and KV bucket, so files run in parallel and leave nothing behind.
 * @defaultValue servers `nats://127.0.0.1:4222`
 */
export async function natsTestNamespace(
  servers = 'nats://127.0.0.1:4222',
): Promise<NatsTestNamespace> {
  const nc = await connect({ servers });
  const names = createNames(`t${randomBytes(4).toString('hex')}`);
  await provisionJetStream(nc, names);
  return {
    nc,
    names,
    async close() {
      const jsm = await jetstreamManager(nc);
      const streams = [
        ...Object.values(names.streams).map((s) => s.name),
        ...Object.values(names.kv).map((b) => `KV_${b.name}`),
      ];
      for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    },
  };
}

/**
 * Ports for servers a test starts later (a spawned service): below Linux's ephemeral range
 * (32768–60999), from which the kernel picks both `listen(0)` ports and the local ports of
 * outgoing connections. A port from that range, free when chosen, can be taken by any outgoing
 * connection before the service binds it (seen in CI as EADDRINUSE).
 */
const PORT_RANGE_START = 20_000;
const PORT_RANGE_END = 32_767;
/** Test workers run in parallel: each draws from its own slice, so two never pick one port. */
const PORT_SLICES = 8;
const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A TCP port on 127.0.0.1 that is free now, outside the kernel's ephemeral range, never handed
 * out twice in this process, and in this test worker's own slice (`VITEST_POOL_ID`).
 */
export async function freePort(): Promise<number> {
  const worker = Number.parseInt(process.env.VITEST_POOL_ID ?? '0', 10) || 0;
  const width = Math.floor((PORT_RANGE_END - PORT_RANGE_START + 1) / PORT_SLICES);
  const base = PORT_RANGE_START + (worker % PORT_SLICES) * width;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = base + randomInt(width);
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${base}-${base + width - 1} after 200 tries`);
}

export { captureSpans, type CapturedSpans, type ReadableSpan } from './span-capture.js';
