import { randomBytes } from 'node:crypto';

import { ServiceErrorCodeHeader, ServiceErrorHeader, Svcm } from '@nats-io/services';
import { type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

import { request } from '../src/bus/request-reply.js';
import { serveService, type RunningService } from '../src/bus/service.js';
import { handoffTransferRequest } from '../src/messages/handoff.js';
import { toolExecuteRequest, type ToolExecuteRequest } from '../src/messages/tool-execute.js';
import { type Names } from '../src/subjects.js';
import { connectNats, RecordingLogger, uniqueNames, waitFor } from './support/nats.js';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const invocation = (name = 'get_time') => ({
  invocationId: `call_${hex(4)}`,
  name,
  args: { zone: 'Europe/Paris' },
  agentId: 'agent-1',
});
const decode = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data)) as unknown;

async function collect<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iter) out.push(item);
  return out;
}

describe('bus - endpoints as @nats-io/services services', { timeout: 20_000 }, () => {
  let nc: NatsConnection;
  let names: Names;

  beforeAll(async () => {
    names = uniqueNames();
    nc = await connectNats('bus-service');
  });

  afterAll(async () => {
    await nc?.close();
  });

  const start = async (
    handler: (req: ToolExecuteRequest) => Promise<unknown> | unknown,
    logger = new RecordingLogger(),
  ): Promise<RunningService> => {
    const running = await serveService({
      nc,
      version: '1.2.3',
      description: 'test tools',
      endpoints: [
        {
          names,
          endpoint: 'tool-execute',
          logger,
          handler: async (req) => (await handler(req)) as never,
        },
      ],
    });
    onTestFinished(() => running.stop());
    return running;
  };

  it('answers an unchanged request() caller on the contracts subject, in the queue group', async () => {
    const received: ToolExecuteRequest[] = [];
    const running = await start(async (req) => {
      received.push(req);
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { ok: true, output: { echoed: req.data.name } };
    });
    const req = toolExecuteRequest(`CA${hex(8)}`, invocation());

    const reply = await request(nc, names, 'tool-execute', req, { timeoutMs: 5_000 });

    expect(reply).toMatchObject({
      type: 'tool-execute.reply',
      callId: req.callId,
      data: { ok: true, output: { echoed: 'get_time' } },
    });
    expect(received).toEqual([req]);
    const info = running.service.info();
    expect(info).toMatchObject({
      name: 'tool-runner',
      version: '1.2.3',
      description: 'test tools',
    });
    expect(info.endpoints).toEqual([
      expect.objectContaining({
        name: 'tool-execute',
        subject: names.subjects.toolExecute,
        queue_group: names.services.toolRunner,
      }),
    ]);
    // Our figures include the async handler's 20 ms, which the library's own timing misses.
    const stats = running.runStats('tool-execute');
    expect(stats.completed).toBe(1);
    expect(stats.processingMs).toBeGreaterThanOrEqual(15);
  });

  it('marks server-side failures as service errors and keeps the envelope body', async () => {
    const logger = new RecordingLogger();
    const running = await start((req) => {
      if (req.data.name === 'explode') throw new Error('boom');
      return { ok: true, output: null };
    }, logger);
    const subject = names.subjects.toolExecute;

    const notJson = await nc.request(subject, 'run it', { timeout: 5_000 });
    const thrown = await nc.request(
      subject,
      JSON.stringify(toolExecuteRequest(`CA${hex(8)}`, invocation('explode'))),
      { timeout: 5_000 },
    );
    const good = await request(
      nc,
      names,
      'tool-execute',
      toolExecuteRequest(`CA${hex(8)}`, invocation()),
    );

    expect(decode(notJson.data)).toMatchObject({
      type: 'tool-execute.reply',
      data: { ok: false, error: { code: 'INVALID_REQUEST', retryable: false } },
    });
    expect(notJson.headers?.get(ServiceErrorCodeHeader)).toBe('400');
    expect(notJson.headers?.get(ServiceErrorHeader)).toBe('INVALID_REQUEST');
    expect(decode(thrown.data)).toMatchObject({
      data: { ok: false, error: { code: 'INTERNAL', retryable: true } },
    });
    expect(thrown.headers?.get(ServiceErrorCodeHeader)).toBe('500');
    expect(good.data).toEqual({ ok: true, output: null });
    expect(good.data.ok && good.data.output).toBeNull();
    expect(running.runStats('tool-execute')).toMatchObject({
      completed: 3,
      failures: { INVALID_REQUEST: 1, INTERNAL: 1 },
    });
    expect(logger.records.map((r) => [r.level, r.msg])).toEqual([
      ['warn', 'invalid request rejected'],
      ['error', 'request handler failed'],
    ]);
  });

  it('is discoverable with its stats through the micro protocol', async () => {
    const running = await start(() => ({ ok: true, output: 1 }));
    await request(nc, names, 'tool-execute', toolExecuteRequest(`CA${hex(8)}`, invocation()));
    const client = new Svcm(nc).client({ strategy: 'timer', maxWait: 2_000 });

    const pings = await collect(await client.ping('tool-runner', running.service.info().id));
    const stats = await collect(await client.stats('tool-runner', running.service.info().id));

    expect(pings).toEqual([expect.objectContaining({ name: 'tool-runner', version: '1.2.3' })]);
    expect(stats).toHaveLength(1);
    expect(stats[0]?.endpoints).toEqual([
      expect.objectContaining({
        name: 'tool-execute',
        subject: names.subjects.toolExecute,
        num_requests: 1,
        data: expect.objectContaining({ completed: 1 }),
      }),
    ]);
  });

  it('spreads requests over replicas in the queue group, each answered once', async () => {
    const served: string[] = [];
    const replica = (id: string) =>
      start((req) => {
        served.push(`${id}:${req.data.invocationId}`);
        return { ok: true, output: id };
      });
    await replica('a');
    await replica('b');

    const replies = await Promise.all(
      Array.from({ length: 40 }, () =>
        request(nc, names, 'tool-execute', toolExecuteRequest(`CA${hex(8)}`, invocation())),
      ),
    );

    expect(served).toHaveLength(40);
    const byReplica = replies.map((r) => (r.data.ok ? r.data.output : null));
    // A queue group picks one member at random per message: both serve (2^-39 odds otherwise).
    expect(new Set(byReplica)).toEqual(new Set(['a', 'b']));
  });

  it('serves handoff.transfer under its own name and stops answering after stop()', async () => {
    const running = await serveService({
      nc,
      name: 'combo',
      version: '0.1.0',
      endpoints: [
        {
          names,
          endpoint: 'handoff-transfer',
          logger: new RecordingLogger(),
          handler: () => ({ status: 'rejected', reason: 'no human available' }),
        },
      ],
    });
    const req = handoffTransferRequest(`CA${hex(8)}`, { reason: 'asked', mode: 'cold' });

    const reply = await request(nc, names, 'handoff-transfer', req);
    expect(reply.data).toEqual({ status: 'rejected', reason: 'no human available' });
    expect(running.service.info().endpoints[0]?.queue_group).toBe(names.services.handoff);

    await running.stop();
    await waitFor(() => running.service.isStopped, 'service stopped');
    await expect(
      request(nc, names, 'handoff-transfer', req, { timeoutMs: 1_000 }),
    ).rejects.toThrow();
  });

  it('refuses an endpoint given twice', async () => {
    const endpoint = {
      names,
      endpoint: 'tool-execute' as const,
      logger: new RecordingLogger(),
      handler: () => ({ ok: true as const, output: null }),
    };
    await expect(
      serveService({ nc, version: '1.0.0', endpoints: [endpoint, endpoint] }),
    ).rejects.toThrow(/given twice/);
  });
});
