/**
 * Per-call and per-tool rate limits held across replicas: the counters live in the NATS KV
 * bucket, so a replica that takes over sees what the first one counted.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureLogs } from '@app/platform/testing';

import { startToolRunner, type RunningToolRunner } from '../../src/tool-runner.js';
import { NOW, startHarness, type Harness } from './harness.js';

const LIMITS = {
  perCall: { max: 3, windowMs: 60_000 },
  perTool: { max: 5, windowMs: 60_000 },
};

let h: Harness;
let replica: RunningToolRunner | undefined;

beforeAll(async () => {
  h = await startHarness(LIMITS);
}, 60_000);

afterAll(async () => {
  await replica?.stop();
  await h?.close();
}, 60_000);

const code = (r: Awaited<ReturnType<Harness['invoke']>>) => (r.ok ? 'ok' : r.error.code);

describe('rate limits', { timeout: 30_000 }, () => {
  it('refuse the 4th invocation of a call and the 6th of a tool, across replicas', async () => {
    const [a, b, c] = [await h.newCall(), await h.newCall(), await h.newCall()];

    const firstReplica = [];
    for (let i = 0; i < 4; i++) firstReplica.push(await h.invoke(a, 'end_call', {}));
    expect(firstReplica.map(code)).toEqual(['ok', 'ok', 'ok', 'RATE_LIMITED']);
    expect(firstReplica[3]).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('this call'), retryable: true },
    });

    // The first replica goes away; another one takes over the counts from the KV bucket.
    await h.runner.stop();
    replica = await startToolRunner({
      nc: h.ns.nc,
      names: h.names,
      prisma: h.prisma,
      registry: new Registry(),
      log: captureLogs().log,
      now: () => NOW,
      settings: LIMITS,
    });

    expect(code(await h.invoke(a, 'end_call', {}))).toBe('RATE_LIMITED');
    // end_call has 3 counted (the refused one was refused by its call's limit): 2 more fit.
    expect(code(await h.invoke(b, 'end_call', {}))).toBe('ok');
    expect(code(await h.invoke(b, 'end_call', {}))).toBe('ok');
    const overTool = await h.invoke(c, 'end_call', {});
    expect(overTool).toMatchObject({
      ok: false,
      error: { code: 'RATE_LIMITED', message: expect.stringContaining('the tool "end_call"') },
    });
    // Other tools of that call are unaffected.
    expect(code(await h.invoke(c, 'get_time', {}))).toBe('ok');
  });
});
