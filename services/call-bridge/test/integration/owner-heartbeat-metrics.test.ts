/**
 * `call_bridge_owner_heartbeat_age_seconds` and `call_bridge_max_calls` as a bridge exports
 * them: the age follows the owner writes `callOwnership` really makes to the call-owners bucket
 * (real NATS). The age clock is a test clock, so nothing depends on how fast a heartbeat lands.
 */
import { connect } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CallOwners } from '@app/contracts';
import { captureLogs, natsTestNamespace, type NatsTestNamespace } from '@app/platform/testing';

import { callOwnership, OwnerHeartbeats } from '../../src/adapters/call-ownership.js';
import type { LiveCallControl } from '../../src/launch-call.js';
import { registerBridgeGauges } from '../../src/metrics.js';
import { waitFor } from './harness.js';

let ns: NatsTestNamespace;
let owners: CallOwners;
let nowMs = 1_000_000;
let heartbeats: OwnerHeartbeats;
let registry: Registry;

const gauge = async (name: string) =>
  (await registry.getSingleMetric(name)?.get())?.values[0]?.value;

const liveCall = (callId: string): LiveCallControl => ({
  callId,
  transport: 'media-streams',
  hangup: () => undefined,
  inject: () => true,
});

beforeAll(async () => {
  ns = await natsTestNamespace();
  owners = await CallOwners.open(ns.nc, ns.names, captureLogs().log);
  heartbeats = new OwnerHeartbeats(() => nowMs);
  registry = new Registry();
  registerBridgeGauges(registry, {
    maxCalls: 42,
    ownerHeartbeatAgeSeconds: () => heartbeats.oldestAgeSeconds(),
  });
});

afterAll(async () => {
  await ns?.close();
});

describe('bridge gauges - MAX_CALLS and owner heartbeat age', { timeout: 20_000 }, () => {
  it('exports MAX_CALLS', async () => {
    expect(await gauge('call_bridge_max_calls')).toBe(42);
  });

  it('is 0 without calls, grows while no owner write lands, and drops back when one does', async () => {
    expect(await gauge('call_bridge_owner_heartbeat_age_seconds')).toBe(0);
    const onCallLive = callOwnership({
      nc: ns.nc,
      names: ns.names,
      owners,
      pod: 'bridge-metrics-0',
      heartbeatMs: 50,
      heartbeats,
      log: captureLogs().log,
    });
    const release = onCallLive(liveCall('call-hb-1'));
    const claimed = await waitFor(() => owners.get('call-hb-1').then((o) => o ?? undefined));
    expect(claimed.pod).toBe('bridge-metrics-0');
    expect(await gauge('call_bridge_owner_heartbeat_age_seconds')).toBe(0);

    // Time passes on the test clock: the age is measured from the last write.
    nowMs += 40_000;
    const revision = (await owners.kv.get('call-hb-1'))?.revision ?? 0;
    // The next heartbeat put (a new revision of the entry) brings the age back to 0.
    await waitFor(async () => {
      const entry = await owners.kv.get('call-hb-1');
      return entry && entry.revision > revision ? entry : undefined;
    });
    await waitFor(async () =>
      (await gauge('call_bridge_owner_heartbeat_age_seconds')) === 0 ? true : undefined,
    );

    release();
    nowMs += 600_000;
    expect(await gauge('call_bridge_owner_heartbeat_age_seconds')).toBe(0);
  });

  it('keeps growing when the writes fail', async () => {
    // A connection of its own, closed below so that every later write fails.
    const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
    const failing = await CallOwners.open(nc, ns.names, captureLogs().log);
    const onCallLive = callOwnership({
      nc,
      names: ns.names,
      owners: failing,
      pod: 'bridge-metrics-1',
      heartbeatMs: 50,
      heartbeats,
      log: captureLogs().log,
    });
    const release = onCallLive(liveCall('call-hb-2'));
    await waitFor(() => owners.get('call-hb-2').then((o) => o ?? undefined));
    // Every write from now on fails: the connection is gone.
    await nc.close();
    nowMs += 45_000;
    expect(await gauge('call_bridge_owner_heartbeat_age_seconds')).toBe(45);
    release();
  });
});
