/**
 * Integration-test helpers for the real nats-server (never mocked): a connection, a unique
 * namespace per test file, its streams, and a logger that records what the bus logs.
 */
import { randomBytes } from 'node:crypto';

import {
  AckPolicy,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';

import { type BusLogger } from '../../src/bus/logger.js';
import { createNames, type Names, type StreamSpec } from '../../src/subjects.js';

/** The nats-server (with JetStream) that runs on every machine here and in CI. */
export const NATS_URL = 'nats://127.0.0.1:4222';

/** A namespace no other test file uses: `t<hex>`. */
export function uniqueNames(): Names {
  return createNames(`t${randomBytes(6).toString('hex')}`);
}

export function connectNats(name: string): Promise<NatsConnection> {
  return connect({ servers: NATS_URL, name: `contracts-test@${name}` });
}

/** Creates a stream from its spec (memory storage: tests need no disk). */
export async function addStream(jsm: JetStreamManager, spec: StreamSpec): Promise<void> {
  await jsm.streams.add({
    name: spec.name,
    subjects: [...spec.subjects],
    retention: spec.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: StorageType.Memory,
    max_age: nanos(spec.maxAgeMs),
    duplicate_window: nanos(spec.duplicateWindowMs),
  });
}

/** Creates a durable pull consumer with explicit acks. */
export async function addConsumer(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  filterSubject: string,
  ackWaitMs = 2_000,
): Promise<void> {
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    filter_subject: filterSubject,
    ack_wait: nanos(ackWaitMs),
  });
}

export async function manager(nc: NatsConnection): Promise<JetStreamManager> {
  return jetstreamManager(nc);
}

export interface LogRecord {
  readonly level: 'warn' | 'error' | 'debug';
  readonly fields: Record<string, unknown>;
  readonly msg: string;
}

/** A {@link BusLogger} that keeps every line for assertions. */
export class RecordingLogger implements BusLogger {
  readonly records: LogRecord[] = [];
  warn(fields: Record<string, unknown>, msg: string): void {
    this.records.push({ level: 'warn', fields, msg });
  }
  error(fields: Record<string, unknown>, msg: string): void {
    this.records.push({ level: 'error', fields, msg });
  }
  debug(fields: Record<string, unknown>, msg: string): void {
    this.records.push({ level: 'debug', fields, msg });
  }
  at(level: LogRecord['level']): LogRecord[] {
    return this.records.filter((r) => r.level === level);
  }
}

/** Polls `check` until it returns true, failing after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 4_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
