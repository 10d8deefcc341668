/**
 * `GET /v1/live/events`: the dashboard's live view, as server-sent events.
 *
 * - `event: snapshot` first, `{ calls: CallSummary[] }`: the calls under way (database).
 * - then `event: call` per event on the CALLS stream, `{ id, callId, type, ts, data }` (`type`
 *   is the event name, `transcript`, `ended`…, as the call detail's `events` list it),
 * - and `event: human-agent` per human agent notification (`human-agents.*.notify`),
 *   `{ humanAgentId, callId, ts, data: { kind, handoffId, summary? } }`.
 * - A comment every 15 s keeps proxies from timing the stream out.
 *
 * The live sources are opened before the snapshot is read, and what they deliver meanwhile is
 * sent after it: an event never falls between the two (one may repeat what the snapshot shows,
 * which the client applies harmlessly). Each client has its own ephemeral ordered consumer
 * (deliver policy `new`: no history) and core subscription, both removed when it leaves. No
 * `Last-Event-ID` resume: a reconnecting client gets a fresh snapshot, which is what it needs.
 *
 * Any role may read (`api-key-auth.ts`); the response never carries secrets beyond what
 * `GET /v1/calls` shows the same roles.
 */
import {
  DeliverPolicy,
  type ConsumerMessages,
  type JetStreamClient,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { FastifyInstance, FastifyRequest } from 'fastify';

import { decodeMessage, subscribeMessages, type Names } from '@app/contracts';
import type { PrismaClient } from '@app/db';

import type { ApiKeyStore } from '../adapters/api-keys.js';
import { PrismaLiveCalls } from '../adapters/live-calls.js';
import { adminResourceAuth } from './api-key-auth.js';
import { describeRoute } from './route-docs.js';
import { SseStream } from './sse-stream.js';

export interface LiveEventsOptions {
  apiKeys: ApiKeyStore;
  prisma: PrismaClient;
  nc: NatsConnection;
  js: JetStreamClient;
  names: Names;
  /** Heartbeat comment interval, ms. @defaultValue 15 000 */
  heartbeatMs?: number;
  /**
   * Bytes a client may leave unread in its socket buffer before it is dropped.
   * @defaultValue 1 MiB (thousands of events: a real client is never near it)
   */
  maxBufferedBytes?: number;
}

type Send = (event: string, data: unknown) => void;

/** Events that arrive before the snapshot is sent; more than this and the client starts over. */
const MAX_PENDING = 10_000;

/** The client's own CALLS consumer and notification subscription, with one `close`. */
async function openSources(
  opts: LiveEventsOptions,
  request: FastifyRequest,
  send: Send,
  onFailure: () => void,
): Promise<{ close: () => Promise<void> }> {
  const { names, js } = opts;
  const log = request.log;
  const sub: Subscription = subscribeMessages({
    nc: opts.nc,
    names,
    subject: names.subjects.allHumanAgentNotifies,
    kinds: 'human-agent-notify',
    logger: log,
    handler: (message, meta) => {
      const parsed = names.subjects.parse(meta.subject);
      send('human-agent', {
        humanAgentId: parsed?.kind === 'human-agent-notify' ? parsed.agentId : null,
        callId: message.callId,
        ts: message.ts,
        data: message.data,
      });
    },
  });
  let messages: ConsumerMessages | undefined;
  let consumer: Awaited<ReturnType<JetStreamClient['consumers']['get']>> | undefined;
  const close = async () => {
    sub.unsubscribe();
    await messages?.close().catch(() => undefined);
    // An ordered consumer is ephemeral but outlives its client by its inactive threshold;
    // deleting it now leaves nothing behind on the server.
    await consumer?.delete().catch(() => undefined);
  };
  try {
    // The whole stream (it holds call events only); no filter, which nats-server 2.9 lacks
    // for ordered consumers.
    consumer = await js.consumers.get(names.streams.calls.name, {
      deliver_policy: DeliverPolicy.New,
    });
    messages = await consumer.consume();
    // The subscription is on the server once this returns: no notification slips past.
    await opts.nc.flush();
  } catch (err) {
    await close();
    throw err;
  }
  const stream = messages;
  void (async () => {
    try {
      for await (const msg of stream) forwardCallEvent(msg, names, log, send);
    } catch (err) {
      log.warn({ err }, 'live events: CALLS consumer ended');
    }
    // The loop ends on close (client gone) or when NATS drops the consumer: either way the
    // client must not sit on a stream that stays silent; it reconnects and starts over.
    onFailure();
  })();
  return { close };
}

function forwardCallEvent(msg: JsMsg, names: Names, log: FastifyRequest['log'], send: Send): void {
  const decoded = decodeMessage(names, msg.subject, msg.data, 'call-event');
  if (!decoded.ok) {
    log.warn({ subject: msg.subject, reason: decoded.reason }, 'live events: invalid call event');
    return;
  }
  const event = decoded.message;
  send('call', {
    id: event.id,
    callId: event.callId,
    type: event.type.slice('call.'.length),
    ts: event.ts,
    data: event.data,
  });
}

export async function liveEventsRoutes(
  app: FastifyInstance,
  opts: LiveEventsOptions,
): Promise<void> {
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const maxBufferedBytes = opts.maxBufferedBytes ?? 1024 * 1024;
  const liveCalls = new PrismaLiveCalls(opts.prisma);
  adminResourceAuth(app, {
    apiKeys: opts.apiKeys,
    actionFor: () => 'read live events',
    failureLog: 'live events request failed',
  });

  // Open streams never finish on their own: shutting down ends them, or HTTP would wait.
  const open = new Set<SseStream>();
  app.addHook('preClose', async () => {
    for (const stream of open) stream.close();
  });

  app.get(
    '/v1/live/events',
    {
      // A HEAD would open the stream too and never end.
      exposeHeadRoute: false,
      ...describeRoute({
        tags: ['Live'],
        summary: 'Stream live calls and their events (server-sent events)',
        description:
          'text/event-stream. First `event: snapshot` `{ calls: CallSummary[] }` (the calls under way), ' +
          'then `event: call` `{ id, callId, type, ts, data }` for each call event (transcript included) ' +
          'and `event: human-agent` `{ humanAgentId, callId, ts, data }` for each handoff notification; ' +
          'a comment every 15 s. No resume: a reconnecting client gets a fresh snapshot. ' +
          'A client that falls too far behind is disconnected and reconnects.',
        response: {
          200: { description: 'text/event-stream of snapshot, call and human-agent events' },
          401: { description: 'no or an invalid credential' },
          503: { description: 'the event bus is unavailable; retry' },
        },
      }),
    },
    async (request, reply) => {
      // The stream once the snapshot is out; until then, events wait in `pending`.
      const out: { stream?: SseStream } = {};
      const pending: Array<[string, unknown]> = [];
      let dropped = false;
      const send: Send = (event, data) => {
        if (out.stream) {
          out.stream.send(event, data);
        } else if (pending.length < MAX_PENDING) {
          pending.push([event, data]);
        } else {
          dropped = true;
        }
      };

      let sources: { close: () => Promise<void> };
      try {
        sources = await openSources(opts, request, send, () => out.stream?.close());
      } catch (err) {
        request.log.error({ err }, 'live events: event bus unavailable');
        return reply
          .code(503)
          .header('retry-after', '1')
          .send({ error: 'live events are unavailable, retry later' });
      }
      let calls;
      try {
        calls = await liveCalls.list();
      } catch (err) {
        await sources.close();
        throw err;
      }

      // From here the response is ours, not fastify's: headers now, then events as they come.
      reply.hijack();
      if (request.raw.socket.destroyed) {
        // Gone while the snapshot was read: its 'close' has passed, nobody would clean up.
        await sources.close();
        return reply;
      }
      const sse = new SseStream(reply.raw, {
        maxBufferedBytes,
        retryMs: 2_000,
        heartbeatMs,
        onEnd: (why) => {
          open.delete(sse);
          if (why === 'too_slow') request.log.warn('live events: client too slow, dropped');
          void sources.close();
        },
      });
      open.add(sse);
      sse.send('snapshot', { calls });
      for (const [event, data] of pending) sse.send(event, data);
      pending.length = 0;
      out.stream = sse;
      if (dropped) sse.close();
      return reply;
    },
  );
}
