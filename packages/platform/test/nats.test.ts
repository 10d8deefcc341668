import { randomBytes } from 'node:crypto';

import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { createNames, type Names } from '@app/contracts';

import { connectNats, natsHealthCheck, provisionJetStream } from '../src/nats.js';
import { captureLogs } from '../src/testing.js';

// Real nats-server (never mocked); each namespace is unique to this file and deleted afterwards.
const SERVER = 'nats://127.0.0.1:4222';
const DAY_NS = nanos(24 * 60 * 60 * 1000);

const { log, lines } = captureLogs({ level: 'debug' });

const namespaces: Names[] = [];
function freshNames(): Names {
  const names = createNames(`t${randomBytes(4).toString('hex')}`);
  namespaces.push(names);
  return names;
}

let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  nc = await connectNats({ servers: [SERVER], name: 'platform-test@vitest', log });
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  for (const names of namespaces) {
    const streams = [
      ...Object.values(names.streams).map((s) => s.name),
      ...Object.values(names.kv).map((b) => `KV_${b.name}`),
    ];
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
  }
  if (!nc.isClosed()) await nc.close();
});

describe('nats', { timeout: 20_000 }, () => {
  it('connects and logs the connection', () => {
    expect(nc.isClosed()).toBe(false);
    expect(lines.find((l) => l.msg === 'nats connected')).toMatchObject({
      name: 'platform-test@vitest',
    });
  });

  it('provisions streams and the KV bucket, and a second run changes nothing', async () => {
    const names = freshNames();
    const first = await provisionJetStream(nc, names, log);
    expect(first).toEqual({
      [names.streams.calls.name]: 'created',
      [names.streams.callRequests.name]: 'created',
      [names.streams.campaigns.name]: 'created',
      [names.kv.callOwners.name]: 'created',
      [names.kv.openaiWebhookIds.name]: 'created',
      [names.kv.twilioWebhookClaims.name]: 'created',
      [names.kv.gatewayRateLimits.name]: 'created',
      [names.kv.dialerRateLimits.name]: 'created',
      [names.kv.toolRateLimits.name]: 'created',
    });
    const second = await provisionJetStream(nc, names);
    expect(new Set(Object.values(second))).toEqual(new Set(['unchanged']));

    const calls = (await jsm.streams.info(names.streams.calls.name)).config;
    expect(calls).toMatchObject({
      subjects: [names.subjects.allCallEvents],
      retention: 'limits',
      storage: 'file',
      max_age: 7 * DAY_NS,
      duplicate_window: nanos(2 * 60 * 1000),
    });
    const requests = (await jsm.streams.info(names.streams.callRequests.name)).config;
    expect(requests).toMatchObject({
      subjects: [names.subjects.allCallRequests],
      retention: 'workqueue',
      storage: 'file',
      max_age: 30 * DAY_NS,
      duplicate_window: DAY_NS,
    });
    const campaigns = (await jsm.streams.info(names.streams.campaigns.name)).config;
    expect(campaigns).toMatchObject({
      subjects: [names.subjects.allCampaignEvents],
      retention: 'limits',
    });

    const kv = await new Kvm(nc).open(names.kv.callOwners.name);
    const status = await kv.status();
    expect(status.ttl).toBe(names.kv.callOwners.ttlMs);
    expect(status.history).toBe(names.kv.callOwners.history);
    const ids = await (await new Kvm(nc).open(names.kv.openaiWebhookIds.name)).status();
    expect(ids.ttl).toBe(names.kv.openaiWebhookIds.ttlMs);
  });

  it('provisions the same namespace from two connections at once', async () => {
    const names = freshNames();
    const other = await connectNats({ servers: SERVER, name: 'platform-test-2@vitest', log });
    try {
      const results = await Promise.all([
        provisionJetStream(nc, names),
        provisionJetStream(other, names),
        provisionJetStream(nc, names),
      ]);
      const expected = Object.keys(names.streams).length + Object.keys(names.kv).length;
      for (const r of results) expect(Object.keys(r)).toHaveLength(expected);
      const info = await jsm.streams.info(names.streams.callRequests.name);
      expect(info.config.retention).toBe('workqueue');
    } finally {
      await other.close();
    }
  });

  it('updates a stream and the bucket whose limits drifted from the specs', async () => {
    const names = freshNames();
    await provisionJetStream(nc, names);
    await jsm.streams.update(names.streams.calls.name, { max_age: DAY_NS });
    await jsm.streams.update(`KV_${names.kv.callOwners.name}`, { max_age: nanos(10 * 60_000) });
    const result = await provisionJetStream(nc, names);
    expect(result[names.streams.calls.name]).toBe('updated');
    expect(result[names.kv.callOwners.name]).toBe('updated');
    expect((await jsm.streams.info(names.streams.calls.name)).config.max_age).toBe(7 * DAY_NS);
    const kvStream = await jsm.streams.info(`KV_${names.kv.callOwners.name}`);
    expect(kvStream.config.max_age).toBe(nanos(names.kv.callOwners.ttlMs));
  });

  it('creates streams and the bucket with the requested replicas (one on a single server)', async () => {
    const names = freshNames();
    await provisionJetStream(nc, names, undefined, { replicas: 1 });
    expect((await jsm.streams.info(names.streams.calls.name)).config.num_replicas).toBe(1);
    expect((await jsm.streams.info(`KV_${names.kv.callOwners.name}`)).config.num_replicas).toBe(1);
    // A single server cannot hold 3 replicas: the request reaches the server and is refused,
    // rather than being silently downgraded.
    await expect(provisionJetStream(nc, freshNames(), undefined, { replicas: 3 })).rejects.toThrow(
      /replicas/i,
    );
  });

  it('logs status events as log lines', async () => {
    await nc.reconnect();
    await vi.waitFor(() => expect(lines.some((l) => l.msg === 'nats reconnected')).toBe(true), {
      timeout: 5_000,
    });
    expect(lines.find((l) => l.msg === 'nats disconnected')).toMatchObject({ level: 40 });
    expect(lines.find((l) => l.msg === 'nats reconnected')).toMatchObject({ level: 30 });
  });

  it('health check passes while connected and fails after close', async () => {
    const conn = await connectNats({ servers: SERVER, name: 'platform-test-3@vitest', log });
    const check = natsHealthCheck(conn);
    const healthy = await check();
    expect(healthy.ok).toBe(true);
    expect(healthy.detail).toMatch(/^rtt \d+ms$/);
    await conn.close();
    expect(await check()).toEqual({ ok: false, detail: 'connection closed' });
  });
});
