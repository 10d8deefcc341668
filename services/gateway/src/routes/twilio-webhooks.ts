/**
 * Twilio's webhooks (ARCHITECTURE.md "Media Streams"):
 *
 * - POST /twilio/voice: a call arrives. Verified, the agent of the called number is looked up,
 *   `calls.<id>.created` is published, and the TwiML connects the call's audio to the
 *   call-bridge with the call id, agent id and a short-lived signed stream token. The token
 *   carries `setupStartMs`, when this request arrived, so the bridge can measure setup time.
 *   While the database is unreachable a number keeps its last known agent; a number with none
 *   gets a spoken "try again" and `<Hangup/>` (not a 500, which Twilio turns into "an
 *   application error has occurred").
 * - POST /twilio/status: status callbacks become `status` events. Who publishes `ended` on a
 *   final status (completed, busy, no-answer, failed, canceled):
 *   - a Media Streams call a call-bridge answered (its record has `answeredAt`): not the
 *     gateway. The owning bridge publishes `ended` with the true reason (`caller-hangup`,
 *     `agent-hangup`, …), or, if that bridge died, the bridge_lost sweeper does. Only the
 *     `status` event is published here.
 *   - any other call (the media socket never opened, or no bridge answered yet): the gateway
 *     publishes `ended` with the status as reason, so the call does not stay live forever.
 *   The answer is known from the projected record; a call answered moments before its final
 *   callback, with `answered` not yet projected, is closed here as never bridged.
 *
 * Every request is checked against X-Twilio-Signature over PUBLIC_BASE_URL + path (twilio.md
 * §2.1; ./twilio-signature.ts); a bad or missing signature gets 403 and nothing is recorded.
 *
 * Replays (Twilio signs no timestamp, so a captured request verifies forever) and Twilio's own
 * retries (it retries a request whose answer it did not get) are answered without being acted
 * on twice:
 * - /twilio/voice: while the call rings a repeat may be Twilio retrying a lost answer, so it
 *   gets the TwiML again (the `created` event's id is derived, so nothing is recorded twice).
 *   Once a bridge answered the call or it ended, Twilio had its TwiML and retries no more: any
 *   repeat is a replay and gets `<Hangup/>`, with no stream token. The call's state decides,
 *   so this holds however old the replay is.
 * - /twilio/status: the request is claimed once across replicas (../adapters/twilio-replay.ts,
 *   a day's window); a repeat gets 204 and publishes nothing. Past the window, the event ids
 *   derived from the signature (`status`) and the call (`ended`) still keep it out of the
 *   call's record.
 * Calls the dialer placed get their TwiML from ./twilio-outbound.ts and their status callbacks
 * here, like any other call.
 */
import formBody from '@fastify/formbody';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import { callEvent, publishEvent, uuidV5, type CallEvent, type Names } from '@app/contracts';
import { SpanKind, traceparentOf, type Span } from '@app/platform';

import type { CallBySid, CallDirectory } from '../adapters/call-directory.js';
import { signatureOf, type TwilioReplayGuard } from '../adapters/twilio-replay.js';
import { bridgeOwnsEnd, endReasonForStatus } from '../domain/twilio-status.js';
import { connectStreamTwiml, hangupTwiml, sorryTwiml, unavailableTwiml } from '../domain/twiml.js';
import type { WebhookMetrics } from '../metrics.js';
import { spans } from '../spans.js';
import { twilioSignatureCheck } from './twilio-signature.js';

export interface TwilioWebhookOptions {
  /** PUBLIC_BASE_URL: the origin (and path prefix) Twilio called. */
  publicBaseUrl: string;
  /** Unset: the webhooks cannot be verified and answer 503. */
  authToken: string | undefined;
  mediaUrl: string;
  streamTokenSecret: string;
  streamTokenTtlSec: number;
  js: JetStreamClient;
  names: Names;
  directory: CallDirectory;
  /** How long /twilio/status waits for the call's record to appear, in ms. @defaultValue 2000 */
  lookupWaitMs?: number;
  /** Counts refused signatures; absent: not counted. */
  metrics?: WebhookMetrics | undefined;
  /**
   * Claims status callbacks once across replicas (main.ts always passes it). Absent (tests of
   * other concerns): a repeat within JetStream's duplicate window is still dropped there, and
   * the projector drops it for good, but live consumers past that window see it again.
   */
  replay?: TwilioReplayGuard | undefined;
}

const E164 = /^\+[1-9]\d{1,14}$/;

/** Namespace of the ids derived from Twilio CallSids (a fixed random UUID). */
const CALL_SID_NAMESPACE = '5d3f2a8e-6c1b-4f7a-9e0d-2b8c4a6f1e93';

/**
 * Our call id for a Twilio call: derived from its CallSid, so a retried voice webhook (Twilio
 * retries on timeout) is the same call. Its `created` event id is derived too, so the retry's
 * event is dropped by JetStream (Nats-Msg-Id) and by the projector (unique event id).
 */
export function callIdForCallSid(callSid: string): { callId: string; createdEventId: string } {
  return {
    callId: uuidV5(`twilio:${callSid}`, CALL_SID_NAMESPACE),
    createdEventId: uuidV5(`twilio:${callSid}:created`, CALL_SID_NAMESPACE),
  };
}
const voiceParams = z.object({ CallSid: z.string().min(1), From: z.string(), To: z.string() });
const statusParams = z.object({
  CallSid: z.string().min(1),
  CallStatus: z.string().min(1),
  SequenceNumber: z.coerce.number().int().nonnegative().optional(),
});

const ROUTE_VOICE = { 'http.route': '/twilio/voice' };
const SERVER = { kind: SpanKind.SERVER };

export async function twilioWebhookRoutes(
  app: FastifyInstance,
  opts: TwilioWebhookOptions,
): Promise<void> {
  await app.register(formBody, { bodyLimit: 64 * 1024 });
  const verified = twilioSignatureCheck(opts);

  const publish = (event: CallEvent) => publishEvent(opts.js, opts.names, event);

  // The span of this webhook is the root of the call's trace: its `traceparent` goes to the
  // bridge in the TwiML, and the `created` event carries it in its NATS headers.
  app.post('/twilio/voice', (request, reply) =>
    spans.withSpan('twilio.voice', ROUTE_VOICE, (span) => voice(request, reply, span), SERVER),
  );

  async function voice(request: FastifyRequest, reply: FastifyReply, span: Span) {
    // When the request arrived (before body parsing and the checks below): setup starts here.
    const setupStartMs = Math.round(Date.now() - reply.elapsedTime);
    if (!verified(request, reply)) {
      span.setAttribute('webhook.outcome', 'signature-refused');
      return reply;
    }
    const params = voiceParams.safeParse(request.body);
    if (!params.success) return reply.code(400).send({ error: 'missing CallSid, From or To' });
    const { CallSid, From, To } = params.data;
    span.setAttribute('twilio.call_sid', CallSid);
    // The database may be down (a failover): the replay check then relies on the webhook claim
    // alone, and the call goes on with the number's last known agent (call-directory.ts).
    const known = await opts.directory.callForSid(CallSid).catch((err: unknown) => {
      request.log.warn({ err, callSid: CallSid }, 'call lookup failed: replay check skipped');
      return null;
    });
    if (known && (known.answeredAt || known.endedAt)) {
      request.log.warn(
        { callId: known.callId, callSid: CallSid },
        'voice webhook for a call already answered or ended refused as a replay',
      );
      span.setAttribute('webhook.outcome', 'replay-refused');
      return reply.type('text/xml').send(hangupTwiml());
    }
    let agent: { agentId: string } | null;
    try {
      agent = E164.test(To) ? await opts.directory.agentForNumber(To) : null;
    } catch (err) {
      // No agent known for the number and none to ask: the caller hears why, not Twilio's
      // "an application error has occurred", and nothing is recorded half-way.
      request.log.error({ err, callSid: CallSid }, 'inbound call refused: agent lookup failed');
      span.setAttribute('webhook.outcome', 'unavailable');
      return reply.type('text/xml').send(unavailableTwiml());
    }
    if (!agent || !E164.test(From)) {
      request.log.warn(
        {
          callSid: CallSid,
          pii: { to: To, from: From },
          reason: agent ? 'caller-id-not-e164' : 'unknown-number',
        },
        'inbound call refused',
      );
      span.setAttribute('webhook.outcome', 'refused');
      return reply.type('text/xml').send(sorryTwiml());
    }
    const { callId, createdEventId } = callIdForCallSid(CallSid);
    span.setAttributes({
      'call.id': callId,
      'call.direction': 'inbound',
      'call.transport': 'media-streams',
    });
    await publish(
      callEvent(
        'created',
        callId,
        {
          direction: 'inbound',
          transport: 'media-streams',
          from: From,
          to: To,
          agentId: agent.agentId,
          providerCallSid: CallSid,
        },
        { id: createdEventId },
      ) as CallEvent,
    );
    const twiml = connectStreamTwiml(
      {
        callId,
        agentId: agent.agentId,
        setupStartMs,
        direction: 'inbound',
        traceparent: traceparentOf(),
      },
      opts,
    );
    request.log.info({ callId, callSid: CallSid }, 'inbound call connected to the bridge');
    span.setAttribute('webhook.outcome', 'connected');
    return reply.type('text/xml').send(twiml);
  }

  app.post('/twilio/status', async (request, reply) => {
    if (!verified(request, reply)) return reply;
    const params = statusParams.safeParse(request.body);
    if (!params.success) return reply.code(400).send({ error: 'missing CallSid or CallStatus' });
    const { CallSid, CallStatus, SequenceNumber } = params.data;
    if (opts.replay && !(await opts.replay.claim(request))) {
      request.log.warn(
        { callSid: CallSid, status: CallStatus },
        'repeated status callback ignored',
      );
      return reply.code(204).send();
    }
    try {
      return await status(request, reply, { CallSid, CallStatus, SequenceNumber });
    } catch (err) {
      // Nothing (or not all) was recorded: a retry of this callback must be handled.
      await opts.replay?.release(request).catch(() => undefined);
      throw err;
    }
  });

  async function status(
    request: FastifyRequest,
    reply: FastifyReply,
    { CallSid, CallStatus, SequenceNumber }: z.output<typeof statusParams>,
  ) {
    // The `created` event may still be on its way into PostgreSQL: wait briefly for it.
    let call: CallBySid | null = null;
    const deadline = Date.now() + (opts.lookupWaitMs ?? 2_000);
    while (!(call = await opts.directory.callForSid(CallSid)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!call) {
      request.log.warn(
        { callSid: CallSid, status: CallStatus },
        'status callback for an unknown call',
      );
      // Not acted on: a retry, once the call is known, must be.
      await opts.replay?.release(request);
      return reply.code(204).send();
    }
    const { callId } = call;
    const ids = statusEventIds(callId, signatureOf(request));
    await publish(
      callEvent(
        'status',
        callId,
        {
          status: CallStatus,
          ...(SequenceNumber !== undefined ? { sequenceNumber: SequenceNumber } : {}),
        },
        { id: ids.status },
      ) as CallEvent,
    );
    const reason = endReasonForStatus(CallStatus);
    if (reason && !bridgeOwnsEnd(call)) {
      await publish(callEvent('ended', callId, { reason }, { id: ids.ended }) as CallEvent);
    }
    return reply.code(204).send();
  }
}

/**
 * Ids of the events a status callback publishes, derived so that a repeat of the callback, even
 * past the replay window, is dropped by JetStream (Nats-Msg-Id) and by the projector (unique
 * event id): `status` from the callback's signature (one per distinct callback), `ended` from
 * the call (the gateway ends a call once).
 */
export function statusEventIds(
  callId: string,
  signature: string,
): { status: string; ended: string } {
  return {
    status: uuidV5(`twilio-status:${signature}`, CALL_SID_NAMESPACE),
    ended: uuidV5(`twilio-status:${callId}:ended`, CALL_SID_NAMESPACE),
  };
}
