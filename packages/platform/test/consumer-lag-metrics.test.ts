import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { registerConsumerLagMetrics } from '../src/consumer-lag-metrics.js';
import { natsTestNamespace, type NatsTestNamespace } from '../src/testing.js';

let ns: NatsTestNamespace;
let registry: Registry;
let stream: string;
const CONSUMER = 'lag-test';

/** The samples of one metric after a scrape, as `stream/consumer` → value. */
function samples(body: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of body.split('\n')) {
    const m = new RegExp(`^${name}\\{stream="([^"]+)",consumer="([^"]+)"\\} (\\S+)$`).exec(line);
    if (m) out[`${m[1]}/${m[2]}`] = Number(m[3]);
  }
  return out;
}

beforeAll(async () => {
  ns = await natsTestNamespace();
  stream = ns.names.streams.calls.name;
  const jsm = await jetstreamManager(ns.nc);
  await jsm.consumers.add(stream, {
    durable_name: CONSUMER,
    ack_policy: AckPolicy.Explicit,
    filter_subject: ns.names.subjects.allCallEvents,
  });
  const js = jetstream(ns.nc);
  for (let i = 0; i < 5; i++) {
    await js.publish(ns.names.subjects.callEvent(`call-${i}`, 'created'), '{}');
  }
  registry = new Registry();
  registerConsumerLagMetrics(registry, ns.nc, [
    { stream, consumer: CONSUMER },
    // Never created: it must have no sample rather than a made-up 0.
    { stream, consumer: 'missing' },
  ]);
});

afterAll(async () => {
  await ns?.close();
});

describe('consumer lag metrics - read from JetStream at scrape time', { timeout: 20_000 }, () => {
  it('reports the backlog and nothing in flight before the consumer takes anything', async () => {
    const body = await registry.metrics();
    expect(samples(body, 'nats_consumer_pending_messages')).toEqual({
      [`${stream}/${CONSUMER}`]: 5,
    });
    expect(samples(body, 'nats_consumer_ack_pending_messages')).toEqual({
      [`${stream}/${CONSUMER}`]: 0,
    });
  });

  it('moves messages from pending to ack-pending as they are delivered, and off when acked', async () => {
    const consumer = await jetstream(ns.nc).consumers.get(stream, CONSUMER);
    const batch = await consumer.fetch({ max_messages: 2, expires: 2_000 });
    const taken = [];
    for await (const msg of batch) taken.push(msg);
    expect(taken).toHaveLength(2);
    let body = await registry.metrics();
    expect(samples(body, 'nats_consumer_pending_messages')[`${stream}/${CONSUMER}`]).toBe(3);
    expect(samples(body, 'nats_consumer_ack_pending_messages')[`${stream}/${CONSUMER}`]).toBe(2);
    for (const msg of taken) await msg.ackAck();
    body = await registry.metrics();
    expect(samples(body, 'nats_consumer_ack_pending_messages')[`${stream}/${CONSUMER}`]).toBe(0);
  });
});
