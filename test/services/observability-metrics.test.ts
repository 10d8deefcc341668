/**
 * The metrics the alerts of k8s/base/monitoring read, on the /metrics of the real service
 * processes: refused webhook signatures (gateway), each pod's MAX_CALLS and owner heartbeat age
 * (call-bridge), and the lag of every durable consumer, sampled from JetStream by the service
 * that owns it (gateway, campaign-scheduler, handoff). test/deploy/monitoring.test.ts checks the
 * rules name these metrics; this checks running services export them.
 */
import { randomBytes } from 'node:crypto';

import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNames } from '@app/contracts';
import { createTestDatabase } from '@app/db/testing';

import { freePort, spawnService, waitForOk } from './service-process.js';

const NATS_URL = 'nats://127.0.0.1:4222';
const prefix = `t${randomBytes(4).toString('hex')}`;
const names = createNames(prefix);
let db: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  const nc = await connect({ servers: NATS_URL });
  const jsm = await jetstreamManager(nc);
  for (const stream of [
    ...Object.values(names.streams).map((s) => s.name),
    ...Object.values(names.kv).map((b) => `KV_${b.name}`),
  ]) {
    await jsm.streams.delete(stream).catch(() => undefined);
  }
  await nc.close();
  await db?.drop();
});

/** The sample lines of a Prometheus text body whose name is `metric`, labels and value. */
function samplesOf(body: string, metric: string): string[] {
  return body.split('\n').filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `));
}

/** Starts `service`, scrapes /metrics once it is ready, stops it. */
async function scrape(service: string, env: Record<string, string> = {}): Promise<string> {
  const port = await freePort();
  const proc = spawnService(service, {
    DATABASE_URL: db.databaseUrl,
    NATS_URL,
    NATS_PREFIX: prefix,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(port),
    LOG_LEVEL: 'warn',
    POD_NAME: `${service}-metrics`,
    SHUTDOWN_TIMEOUT_MS: '10000',
    ...env,
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForOk(`${base}/readyz`, proc, 30_000);
    return await (await fetch(`${base}/metrics`)).text();
  } finally {
    proc.child.kill('SIGTERM');
    await proc.exited;
  }
}

const lag = (metric: string, stream: string, consumer: string) =>
  expect.stringMatching(
    new RegExp(`^${metric}\\{.*stream="${stream}",consumer="${consumer}".*\\} \\d+$`),
  );

describe('services - the metrics the alerts read', { timeout: 60_000 }, () => {
  it('gateway: signature failures by source, and the call-record projector lag on CALLS', async () => {
    const body = await scrape('gateway');
    const failures = samplesOf(body, 'gateway_webhook_signature_failures_total');
    expect(failures).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/source="twilio".* 0$/),
        expect.stringMatching(/source="openai".* 0$/),
      ]),
    );
    for (const metric of ['nats_consumer_pending_messages', 'nats_consumer_ack_pending_messages']) {
      expect(samplesOf(body, metric)).toEqual([
        lag(metric, names.streams.calls.name, names.consumers.callRecords),
      ]);
    }
  });

  it('call-bridge: its MAX_CALLS and the owner heartbeat age (0 without calls)', async () => {
    const body = await scrape('call-bridge', { MAX_CALLS: '37', DRAIN_TIMEOUT_MS: '1000' });
    expect(samplesOf(body, 'call_bridge_max_calls')).toEqual([expect.stringMatching(/ 37$/)]);
    expect(samplesOf(body, 'call_bridge_owner_heartbeat_age_seconds')).toEqual([
      expect.stringMatching(/ 0$/),
    ]);
  });

  it('campaign-scheduler: the CALL_REQUESTS work queue and its call-end consumer on CALLS', async () => {
    const body = await scrape('campaign-scheduler');
    expect(samplesOf(body, 'nats_consumer_pending_messages')).toEqual(
      expect.arrayContaining([
        lag(
          'nats_consumer_pending_messages',
          names.streams.callRequests.name,
          names.consumers.callRequests,
        ),
        lag(
          'nats_consumer_pending_messages',
          names.streams.calls.name,
          names.consumers.schedulerOnCallEnded,
        ),
      ]),
    );
  });

  it('handoff: its call-end consumer on CALLS', async () => {
    const body = await scrape('handoff');
    expect(samplesOf(body, 'nats_consumer_pending_messages')).toEqual([
      lag(
        'nats_consumer_pending_messages',
        names.streams.calls.name,
        names.consumers.handoffOnCallEnded,
      ),
    ]);
  });
});
