/**
 * POST /openai/webhook: OpenAI's project webhooks (openai-realtime.md §6, §6.1). Only
 * `realtime.call.incoming` (an inbound SIP call) is acted on; handlers/sip-call-incoming.ts
 * does the work.
 *
 * - The signature covers the raw bytes, so this plugin reads every body as the exact string
 *   received (at most 64 KiB) and verifies it with the openai SDK's `webhooks.unwrap` (Standard
 *   Webhooks: HMAC over `id.timestamp.body`, timestamp within OPENAI_WEBHOOK_TOLERANCE_SEC).
 *   Missing headers, a bad signature, a stale or future timestamp: 400, nothing recorded.
 * - Replays: the `webhook-id` is claimed in the `openai-webhook-ids` bucket before anything is
 *   done; a second delivery of it gets 200 `duplicate` and nothing is done. Not a 4xx: OpenAI
 *   retries any non-2xx for days, so a redelivery after a lost answer would be retried until
 *   the claim expired and then handled twice. The call id is claimed too, so the same call
 *   under another webhook id is handled once (200 `duplicate`).
 * - Other event types: 200 `ignored` (OpenAI sends every subscribed type to the same URL).
 * - A call: 200 with what became of it (`accepted` or `rejected` and why), since we handled it.
 *   An unexpected failure (NATS, PostgreSQL) releases both claims and answers 500, so OpenAI's
 *   redelivery handles the call again.
 *
 * Without OPENAI_WEBHOOK_SECRET nothing can be verified, and without OPENAI_API_KEY a call
 * could not be rejected: either way every webhook gets 503.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type OpenAI from 'openai';
import { InvalidWebhookSignatureError } from 'openai';
import { z } from 'zod';

import { publishEvent, request as requestReply, type CallEvent, type Names } from '@app/contracts';
import { SpanKind, type Span } from '@app/platform';

import type { CallDirectory } from '../adapters/call-directory.js';
import type { ClaimKind, WebhookClaims } from '../adapters/webhook-claims.js';
import { handleSipCallIncoming, type SipCallIncomingDeps } from '../handlers/sip-call-incoming.js';
import type { WebhookMetrics } from '../metrics.js';
import { spans } from '../spans.js';

export interface OpenAIWebhookOptions {
  /** OPENAI_WEBHOOK_SECRET (`whsec_…`); unset: every webhook answers 503. */
  webhookSecret: string | undefined;
  /** The SDK client (OPENAI_API_KEY, OPENAI_BASE_URL), to reject calls; unset: 503. */
  openai: OpenAI | undefined;
  /** OPENAI_WEBHOOK_TOLERANCE_SEC: how far the webhook timestamp may be from now, in s. */
  toleranceSec: number;
  claims: WebhookClaims;
  directory: CallDirectory;
  nc: NatsConnection;
  js: JetStreamClient;
  names: Names;
  /** SIP_OFFER_DEADLINE_MS. */
  offerDeadlineMs: number;
  /** Pause between offers a full bridge turned down, in ms. @defaultValue 100 */
  offerRetryPauseMs?: number;
  /** Counts refused signatures (`source="openai"`); absent: not counted. */
  metrics?: WebhookMetrics | undefined;
}

/** OpenAI's events are small; a SIP INVITE's headers fit many times over. */
const BODY_LIMIT = 64 * 1024;

/** The Standard Webhooks headers; checked here so a missing one is a clear 400. */
const webhookHeaders = z.object({
  'webhook-id': z.string().min(1),
  'webhook-timestamp': z.string().min(1),
  'webhook-signature': z.string().min(1),
});

/** What every event has (OpenAI SPEC: `object`, `id`, `type`, `created_at`, `data`). */
const webhookEvent = z.object({ id: z.string().min(1), type: z.string().min(1) });

/** `data` of `realtime.call.incoming` (SPEC `WebhookRealtimeCallIncoming`). */
const callIncomingData = z.object({
  call_id: z.string().min(1).max(256),
  sip_headers: z.array(z.object({ name: z.string(), value: z.string() })).max(500),
});

const ROUTE = { 'http.route': '/openai/webhook' };
const SERVER = { kind: SpanKind.SERVER };

export async function openAIWebhookRoutes(
  app: FastifyInstance,
  opts: OpenAIWebhookOptions,
): Promise<void> {
  // This plugin's own parsers (encapsulated: other routes keep theirs): the body stays the
  // string that was signed, whatever its content type says.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) =>
    done(null, body),
  );

  const deps = (openai: OpenAI): SipCallIncomingDeps => ({
    directory: opts.directory,
    publish: async (event: CallEvent) => {
      await publishEvent(opts.js, opts.names, event);
    },
    sendOffer: (offer, timeoutMs) =>
      requestReply(opts.nc, opts.names, 'sip-offer', offer, { timeoutMs }),
    reject: async (openaiCallId, sipStatus) => {
      await openai.realtime.calls.reject(openaiCallId, { status_code: sipStatus });
    },
    offerDeadlineMs: opts.offerDeadlineMs,
    ...(opts.offerRetryPauseMs !== undefined ? { offerRetryPauseMs: opts.offerRetryPauseMs } : {}),
  });

  // The root span of a SIP call's trace: the offer to the bridges carries it in its NATS headers.
  app.post('/openai/webhook', { bodyLimit: BODY_LIMIT }, (request, reply) =>
    spans.withSpan('openai.webhook', ROUTE, (span) => webhook(request, reply, span), SERVER),
  );

  async function webhook(request: FastifyRequest, reply: FastifyReply, span: Span) {
    const { webhookSecret, openai } = opts;
    if (!webhookSecret || !openai) {
      request.log.error(
        { route: request.url, secret: Boolean(webhookSecret), apiKey: Boolean(openai) },
        'openai webhook refused: OPENAI_WEBHOOK_SECRET or OPENAI_API_KEY is not set',
      );
      return reply.code(503).send({ error: 'openai webhooks are not configured' });
    }
    const headers = webhookHeaders.safeParse(request.headers);
    if (!headers.success) {
      opts.metrics?.signatureFailures.inc({ source: 'openai' });
      span.setAttribute('webhook.outcome', 'signature-refused');
      request.log.warn({ route: request.url }, 'openai webhook without signature headers');
      return reply
        .code(400)
        .send({ error: 'missing webhook-id, webhook-timestamp or webhook-signature header' });
    }

    // No parsable body at all (no content type): the signature check refuses the empty string.
    const body = typeof request.body === 'string' ? request.body : '';
    let event: unknown;
    try {
      event = await openai.webhooks.unwrap(body, headers.data, webhookSecret, opts.toleranceSec);
    } catch (err) {
      // Too old, too new, no matching signature, or signed but not JSON.
      if (!(err instanceof InvalidWebhookSignatureError || err instanceof SyntaxError)) throw err;
      // A SyntaxError comes after a good signature: the sender is ours, its body is not.
      if (err instanceof InvalidWebhookSignatureError) {
        opts.metrics?.signatureFailures.inc({ source: 'openai' });
        span.setAttribute('webhook.outcome', 'signature-refused');
      }
      const error =
        err instanceof SyntaxError ? 'webhook body is not JSON' : `invalid webhook: ${err.message}`;
      request.log.warn(
        { route: request.url, webhookId: headers.data['webhook-id'], reason: err.message },
        'openai webhook signature invalid',
      );
      return reply.code(400).send({ error });
    }

    const envelope = webhookEvent.safeParse(event);
    const incoming =
      envelope.success && envelope.data.type === 'realtime.call.incoming'
        ? callIncomingData.safeParse((event as { data?: unknown }).data)
        : undefined;
    if (!envelope.success || incoming?.success === false) {
      request.log.warn(
        { route: request.url, webhookId: headers.data['webhook-id'] },
        'openai webhook with an unexpected body',
      );
      return reply.code(400).send({ error: 'unexpected webhook body' });
    }

    const webhookId = headers.data['webhook-id'];
    span.setAttributes({ 'webhook.id': webhookId, 'webhook.event_type': envelope.data.type });
    const log = request.log.child({ webhookId, eventType: envelope.data.type });
    if (!(await opts.claims.claim('webhook', webhookId))) {
      log.warn({}, 'openai webhook delivered again; already handled');
      return reply.send({ status: 'duplicate' });
    }
    if (!incoming) {
      log.debug({}, 'openai webhook ignored');
      return reply.send({ status: 'ignored' });
    }

    const { call_id: openaiCallId, sip_headers: sipHeaders } = incoming.data;
    const claimed: Array<[ClaimKind, string]> = [['webhook', webhookId]];
    try {
      if (!(await opts.claims.claim('call', openaiCallId))) {
        log.info({ openaiCallId }, 'sip call already handled under another webhook id');
        return await reply.send({ status: 'duplicate' });
      }
      claimed.push(['call', openaiCallId]);
      span.setAttributes({ 'openai.call_id': openaiCallId, 'call.transport': 'sip' });
      const result = await handleSipCallIncoming(deps(openai), { openaiCallId, sipHeaders }, log);
      span.setAttributes({
        'webhook.outcome': result.status,
        ...(result.callId ? { 'call.id': result.callId } : {}),
      });
      return await reply.send(result);
    } catch (err) {
      // Let OpenAI's redelivery (same webhook id) handle the call from the start.
      await Promise.all(
        claimed.map(([kind, id]) => opts.claims.release(kind, id).catch(() => undefined)),
      );
      throw err;
    }
  }
}
