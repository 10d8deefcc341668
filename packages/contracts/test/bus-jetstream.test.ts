import { randomBytes, randomUUID } from 'node:crypto';

import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

import { consumeMessages, type MessageHandler, type MessageMeta } from '../src/bus/consume.js';
import { publishCallRequest, publishEvent } from '../src/bus/publish.js';
import { callEvent, type CallEvent } from '../src/messages/call-events.js';
import { callRequest } from '../src/messages/call-requests.js';
import { campaignEvent } from '../src/messages/campaign-events.js';
import { type Names, type SubjectKind } from '../src/subjects.js';
import {
  addConsumer,
  addStream,
  connectNats,
  RecordingLogger,
  uniqueNames,
  waitFor,
} from './support/nats.js';
import { activeTraceId, installTracing, withSpan } from './support/otel.js';

const created = (callId: string) =>
  callEvent('created', callId, {
    direction: 'inbound',
    transport: 'media-streams',
    from: '+14155550100',
    to: '+14155550101',
    agentId: 'agent-1',
  });

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

describe('bus - JetStream publish and consume against nats-server', { timeout: 15_000 }, () => {
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let names: Names;
  let uninstallTracing: () => void;

  beforeAll(async () => {
    uninstallTracing = installTracing();
    names = uniqueNames();
    nc = await connectNats('bus-jetstream');
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    for (const spec of Object.values(names.streams)) await addStream(jsm, spec);
  });

  afterAll(async () => {
    if (jsm) {
      for (const spec of Object.values(names.streams)) await jsm.streams.delete(spec.name);
    }
    await nc?.close();
    uninstallTracing?.();
  });

  /** A durable consumer on one call's events, consumed until the test ends. */
  async function consumeCall(
    callId: string,
    handler: MessageHandler<'call-event'>,
    options: { ackWaitMs?: number; retryDelayMs?: number } = {},
  ) {
    const durable = `test-${callId.toLowerCase()}`;
    const stream = names.streams.calls.name;
    await addConsumer(jsm, stream, durable, names.subjects.callEventsOf(callId), options.ackWaitMs);
    const logger = new RecordingLogger();
    const running = await consumeMessages({
      js,
      names,
      stream,
      consumer: durable,
      kinds: 'call-event',
      logger,
      handler,
      ...(options.retryDelayMs === undefined ? {} : { retryDelayMs: options.retryDelayMs }),
    });
    onTestFinished(() => running.stop());
    const info = () => jsm.consumers.info(stream, durable);
    return { logger, running, info };
  }

  function recorder<K extends SubjectKind>() {
    const seen: Array<{ message: unknown; meta: MessageMeta; traceId: string | undefined }> = [];
    const handler: MessageHandler<K> = (message, meta) => {
      seen.push({ message, meta, traceId: activeTraceId() });
    };
    return { seen, handler };
  }

  it('delivers a valid event to the handler and acks it', async () => {
    const callId = `CA${hex(8)}`;
    const { seen, handler } = recorder<'call-event'>();
    const { logger, info } = await consumeCall(callId, handler);
    const event = created(callId);

    const ack = await publishEvent(js, names, event);

    expect(ack).toMatchObject({ stream: names.streams.calls.name, duplicate: false });
    await waitFor(() => seen.length === 1, 'delivery');
    expect(seen[0]?.message).toEqual(event);
    expect(seen[0]?.meta).toMatchObject({
      subject: names.subjects.callEvent(callId, 'created'),
      seq: ack.seq,
      deliveryCount: 1,
      redelivered: false,
    });
    await waitFor(async () => {
      const state = await info();
      return state.ack_floor.stream_seq >= ack.seq && state.num_ack_pending === 0;
    }, 'ack');
    expect(logger.records).toEqual([]);
  });

  it('logs and terminates malformed and schema-invalid messages, then keeps consuming', async () => {
    const callId = `CA${hex(8)}`;
    const { seen, handler } = recorder<'call-event'>();
    const { logger, info } = await consumeCall(callId, handler, { ackWaitMs: 300 });
    const subject = names.subjects.callEvent(callId, 'created');
    const unknownEvent = `${names.subjects.callEventsOf(callId).slice(0, -1)}exploded`;

    await js.publish(subject, '{"v":1,"id":', { msgID: randomUUID() });
    await js.publish(subject, JSON.stringify({ ...created(callId), v: 2 }), {
      msgID: randomUUID(),
    });
    await js.publish(unknownEvent, JSON.stringify(created(callId)), { msgID: randomUUID() });
    const valid = created(callId);
    await publishEvent(js, names, valid);

    await waitFor(() => seen.length === 1, 'the valid message after the bad ones');
    expect(seen[0]?.message).toEqual(valid);
    const warnings = logger.at('warn');
    expect(warnings.map((r) => [r.msg, r.fields.subject, r.fields.reason])).toEqual([
      ['invalid message terminated', subject, 'payload is not valid JSON'],
      [
        'invalid message terminated',
        subject,
        expect.stringMatching(/^v: expected envelope version 1/),
      ],
      ['invalid message terminated', unknownEvent, 'unknown call event type "exploded"'],
    ]);
    expect(warnings[0]?.fields).toMatchObject({ stream: names.streams.calls.name });

    // Terminated, not NAKed: past the ack wait, nothing comes back.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(logger.at('warn')).toHaveLength(3);
    expect(seen).toHaveLength(1);
    const state = await info();
    expect(state.num_ack_pending).toBe(0);
    expect(state.num_redelivered).toBe(0);
    expect(state.num_pending).toBe(0);
  });

  it('stores a duplicate Nats-Msg-Id once', async () => {
    const callId = `CA${hex(8)}`;
    const event = created(callId);

    const first = await publishEvent(js, names, event);
    const second = await publishEvent(js, names, event);

    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);
    const info = await jsm.streams.info(names.streams.calls.name, {
      subjects_filter: names.subjects.callEventsOf(callId),
    });
    expect(info.state.subjects).toEqual({ [names.subjects.callEvent(callId, 'created')]: 1 });
  });

  it('drops a re-sent call request with the same idempotency key', async () => {
    const key = `order-${hex(4)}`;
    const first = await publishCallRequest(
      js,
      names,
      'api',
      callRequest({ to: '+14155550123', agentId: 'a', idempotencyKey: key }),
    );
    const again = await publishCallRequest(
      js,
      names,
      'api',
      callRequest({ to: '+14155550123', agentId: 'a', idempotencyKey: key }),
    );
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ duplicate: true, seq: first.seq });
  });

  it('NAKs with a delay when the handler throws, and the message is redelivered', async () => {
    const callId = `CA${hex(8)}`;
    const deliveries: MessageMeta[] = [];
    const at: number[] = [];
    const { logger, info } = await consumeCall(
      callId,
      (_message, meta) => {
        deliveries.push(meta);
        at.push(performance.now());
        if (meta.deliveryCount === 1) throw new Error('database down');
      },
      { retryDelayMs: 200 },
    );

    const ack = await publishEvent(js, names, created(callId));

    await waitFor(() => deliveries.length === 2, 'redelivery');
    expect(deliveries.map((d) => [d.deliveryCount, d.redelivered])).toEqual([
      [1, false],
      [2, true],
    ]);
    // The NAK carried the delay: the server held the message back before redelivering it.
    expect((at[1] ?? 0) - (at[0] ?? 0)).toBeGreaterThanOrEqual(150);
    const [failure] = logger.at('error');
    expect(failure?.msg).toBe('message handler failed; will retry');
    expect(failure?.fields).toMatchObject({ callId, seq: ack.seq, retryInMs: 200 });
    expect((failure?.fields.err as Error).message).toBe('database down');
    await waitFor(async () => (await info()).num_ack_pending === 0, 'ack after retry');
  });

  it('terminates instead of retrying when the error says it is not retryable', async () => {
    const callId = `CA${hex(8)}`;
    let calls = 0;
    const { logger } = await consumeCall(
      callId,
      () => {
        calls += 1;
        throw Object.assign(new Error('bad state'), { retryable: false });
      },
      { ackWaitMs: 300, retryDelayMs: 50 },
    );

    await publishEvent(js, names, created(callId));

    await waitFor(() => logger.at('error').length === 1, 'the failure');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(calls).toBe(1);
    expect(logger.at('error')[0]?.msg).toBe('message handler failed permanently; terminated');
  });

  it('sets traceparent on publish and runs the handler in the sender trace context', async () => {
    const callId = `CA${hex(8)}`;
    const { seen, handler } = recorder<'call-event'>();
    await consumeCall(callId, handler);
    const [traceId, spanId] = [hex(16), hex(8)];
    const event = created(callId);

    const ack = await withSpan(traceId, spanId, () => publishEvent(js, names, event));

    const stored = await jsm.streams.getMessage(names.streams.calls.name, { seq: ack.seq });
    expect(stored?.header.get('traceparent')).toBe(`00-${traceId}-${spanId}-01`);
    expect(stored?.header.get('Nats-Msg-Id')).toBe(event.id);
    // The only NATS-reserved header is the dedupe id; nothing invented under `Nats-*`.
    const natsHeaders = stored?.header.keys().filter((k) => /^nats-/i.test(k));
    expect(natsHeaders).toEqual(['Nats-Msg-Id']);
    await waitFor(() => seen.length === 1, 'delivery');
    expect(seen[0]?.traceId).toBe(traceId);
  });

  it('rejects an invalid event with a TypeError before publishing anything', async () => {
    const callId = `CA${hex(8)}`;
    const bad = {
      ...callEvent('ended', callId, { reason: 'completed' }),
      data: { reason: 'exploded' },
    } as unknown as CallEvent;

    await expect(publishEvent(js, names, bad)).rejects.toThrow(
      /^invalid call\.ended message: data\.reason: /,
    );
    await expect(
      publishEvent(js, names, { ...created(callId), v: 2 } as unknown as CallEvent),
    ).rejects.toBeInstanceOf(TypeError);
    const info = await jsm.streams.info(names.streams.calls.name, {
      subjects_filter: names.subjects.callEventsOf(callId),
    });
    expect(info.state.subjects ?? {}).toEqual({});
  });

  it('publishes campaign events on their subject and consumes them by kind', async () => {
    const campaignId = `cmp-${hex(4)}`;
    const durable = `test-${campaignId}`;
    const stream = names.streams.campaigns.name;
    await addConsumer(jsm, stream, durable, names.subjects.campaignEventsOf(campaignId));
    const { seen, handler } = recorder<'campaign-event'>();
    const logger = new RecordingLogger();
    const running = await consumeMessages({
      js,
      names,
      stream,
      consumer: durable,
      kinds: ['campaign-event'],
      logger,
      handler,
    });
    onTestFinished(() => running.stop());
    const event = campaignEvent('progress', {
      campaignId,
      counts: { total: 3, dialed: 1, completed: 1, failed: 0, remaining: 2 },
    });

    await publishEvent(js, names, event);

    await waitFor(() => seen.length === 1, 'campaign event');
    expect(seen[0]?.message).toEqual(event);
    expect(seen[0]?.meta.subject).toBe(names.subjects.campaignEvent(campaignId, 'progress'));
    await running.stop();
    await expect(running.done).resolves.toBeUndefined();
    expect(logger.records).toEqual([]);
  });
});
