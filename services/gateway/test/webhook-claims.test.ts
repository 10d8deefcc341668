import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';

import { KvWebhookClaims } from '../src/adapters/webhook-claims.js';

// Real NATS, this file's own namespace and bucket.
let ns: NatsTestNamespace;

beforeAll(async () => {
  ns = await natsTestNamespace();
});

afterAll(async () => {
  const jsm = await jetstreamManager(ns.nc);
  await jsm.streams.delete(`KV_${ns.names.kv.openaiWebhookIds.name}`).catch(() => undefined);
  await ns.close();
});

describe('gateway - webhook claims (KV openai-webhook-ids)', () => {
  it('creates the bucket with its spec, and opening it again changes nothing', async () => {
    await KvWebhookClaims.open(ns.nc, ns.names);
    await KvWebhookClaims.open(ns.nc, ns.names);
    const status = await (await new Kvm(ns.nc).open(ns.names.kv.openaiWebhookIds.name)).status();
    expect(status.ttl).toBe(ns.names.kv.openaiWebhookIds.ttlMs);
    expect(status.history).toBe(1);
  });

  it('lets one caller claim an id, across instances, until the claim is released', async () => {
    const a = await KvWebhookClaims.open(ns.nc, ns.names);
    const b = await KvWebhookClaims.open(ns.nc, ns.names);
    const claims = await Promise.all([a, b, a, b].map((c) => c.claim('webhook', 'wh_1')));
    expect(claims.filter(Boolean)).toHaveLength(1);
    // Webhook ids and call ids are separate key spaces.
    expect(await a.claim('call', 'wh_1')).toBe(true);
    await b.release('webhook', 'wh_1');
    expect(await a.claim('webhook', 'wh_1')).toBe(true);
    expect(await b.claim('webhook', 'wh_1')).toBe(false);
  });

  it('claims ids that are no valid KV key as they are', async () => {
    const claims = await KvWebhookClaims.open(ns.nc, ns.names);
    for (const id of ['msg 1', 'a.b*>', 'é/ü', 'x'.repeat(300)]) {
      expect(await claims.claim('webhook', id)).toBe(true);
      expect(await claims.claim('webhook', id)).toBe(false);
    }
  });
});
