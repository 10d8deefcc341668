/**
 * POST /twilio/outbound?callId=<uuid>&agentId=<uuid>: the TwiML URL of a call the dialer
 * (campaign-scheduler) placed over Media Streams. Twilio requests it when the callee answers,
 * with `AnsweredBy` when answering-machine detection ran (twilio.md §1.5, §5.2).
 *
 * - Checked against X-Twilio-Signature over PUBLIC_BASE_URL + path + query (./twilio-signature.ts),
 *   so the call and agent ids in the query are the dialer's: only our account's calls carry a
 *   URL Twilio signs with our auth token.
 * - A person (or AMD `unknown`, or no AMD, or an agent with `amd_mode` off): the same
 *   `<Connect><Stream>` and stream token as an inbound call, so the call-bridge takes it like
 *   one. Nothing is published here: the dialer published `created`, the bridge publishes
 *   `answered` when the stream starts.
 * - A machine or a fax, agent `hangup`: `<Hangup/>`; agent `voicemail`: `<Say>` the agent's
 *   `voicemail_message`, then `<Hangup/>` (rules in ../domain/answering-machine.ts). Either
 *   way `calls.<callId>.answered` with `answeredBy: machine` is published, its id derived from
 *   the call id so a retried request publishes once. Twilio's final status callback (on
 *   /twilio/status) then ends the call `completed`.
 * - An agent that does not exist (deleted since the call was placed): the polite goodbye.
 * - A call a bridge already answered, or that ended: `<Hangup/>` and nothing published. Twilio
 *   had its TwiML then, so the request is a replay (Twilio signs no timestamp) and must not get
 *   a fresh stream token (./twilio-webhooks.ts, replay protection).
 */
import formBody from '@fastify/formbody';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import { callEvent, publishEvent, uuidV5, type CallEvent, type Names } from '@app/contracts';
import { SpanKind, traceparentOf, type Span } from '@app/platform';

import type { CallDirectory } from '../adapters/call-directory.js';
import { outboundAnswer } from '../domain/answering-machine.js';
import { isUuid } from '../domain/call-record.js';
import {
  connectStreamTwiml,
  hangupTwiml,
  sorryTwiml,
  voicemailTwiml,
  type StreamTwimlOptions,
} from '../domain/twiml.js';
import { spans } from '../spans.js';
import { twilioSignatureCheck, type TwilioSignatureOptions } from './twilio-signature.js';

export interface TwilioOutboundOptions extends TwilioSignatureOptions, StreamTwimlOptions {
  js: JetStreamClient;
  names: Names;
  directory: CallDirectory;
}

/** Namespace of the ids of the events this route publishes (a fixed random UUID). */
const OUTBOUND_NAMESPACE = '28d2295d-bf48-4701-a0c5-01df45ec7ef5';

/**
 * The id of the `answered` event of a call a machine answered: one per call, however often
 * Twilio requests the TwiML (JetStream drops the repeat by Nats-Msg-Id, the projector by id).
 */
export function machineAnsweredEventId(callId: string): string {
  return uuidV5(`twilio-outbound:${callId}:answered-machine`, OUTBOUND_NAMESPACE);
}

const uuid = z.string().refine(isUuid, 'must be a UUID');
const outboundQuery = z.object({ callId: uuid, agentId: uuid });
const outboundParams = z.object({
  CallSid: z.string().min(1),
  From: z.string(),
  To: z.string(),
  AnsweredBy: z.string().min(1).optional(),
});

const ROUTE = { 'http.route': '/twilio/outbound' };
const SERVER = { kind: SpanKind.SERVER };

export async function twilioOutboundRoutes(
  app: FastifyInstance,
  opts: TwilioOutboundOptions,
): Promise<void> {
  await app.register(formBody, { bodyLimit: 64 * 1024 });
  const verified = twilioSignatureCheck(opts);

  // The root span of the answered call's trace (Twilio carries no trace context from the
  // dialer's `calls.create`); the bridge continues it through the TwiML's `traceparent`.
  app.post('/twilio/outbound', (request, reply) =>
    spans.withSpan('twilio.outbound', ROUTE, (span) => answer(request, reply, span), SERVER),
  );

  async function answer(request: FastifyRequest, reply: FastifyReply, span: Span) {
    // When the request arrived (before body parsing and the checks below): setup starts here.
    const setupStartMs = Math.round(Date.now() - reply.elapsedTime);
    if (!verified(request, reply)) {
      span.setAttribute('webhook.outcome', 'signature-refused');
      return reply;
    }
    const query = outboundQuery.safeParse(request.query);
    if (!query.success) {
      return reply.code(400).send({ error: 'callId and agentId must be UUIDs in the query' });
    }
    const params = outboundParams.safeParse(request.body);
    if (!params.success) return reply.code(400).send({ error: 'missing CallSid, From or To' });
    const { callId, agentId } = query.data;
    const { CallSid: callSid, AnsweredBy: answeredBy } = params.data;
    const log = request.log.child({ callId, callSid, agentId });
    span.setAttributes({
      'call.id': callId,
      'call.direction': 'outbound',
      'call.transport': 'media-streams',
      'twilio.call_sid': callSid,
      ...(answeredBy ? { 'twilio.answered_by': answeredBy } : {}),
    });

    const known = await opts.directory.callForSid(callSid);
    if (known && (known.answeredAt || known.endedAt)) {
      log.warn('outbound TwiML request for a call already answered or ended refused as a replay');
      span.setAttribute('webhook.outcome', 'replay-refused');
      return reply.type('text/xml').send(hangupTwiml());
    }
    const agent = await opts.directory.answeringMachineOf(agentId);
    if (!agent) {
      log.warn({ reason: 'unknown-agent' }, 'outbound call refused');
      span.setAttribute('webhook.outcome', 'refused');
      return reply.type('text/xml').send(sorryTwiml());
    }
    const answer = outboundAnswer(answeredBy, agent);
    span.setAttribute('webhook.outcome', answer.kind);
    if (answer.kind === 'connect') {
      log.info({ answeredBy }, 'outbound call connected to the bridge');
      const twiml = connectStreamTwiml(
        { callId, agentId, setupStartMs, direction: 'outbound', traceparent: traceparentOf() },
        opts,
      );
      return reply.type('text/xml').send(twiml);
    }
    await publishEvent(
      opts.js,
      opts.names,
      callEvent(
        'answered',
        callId,
        { answeredBy: 'machine' },
        { id: machineAnsweredEventId(callId) },
      ) as CallEvent,
    );
    if (answer.kind === 'voicemail') {
      log.info({ answeredBy }, 'answering machine: leaving the voicemail');
      return reply.type('text/xml').send(voicemailTwiml(answer.message));
    }
    // `greeting-not-over` and `no-voicemail-message` mean a voicemail agent left none: say why.
    const level = answer.reason === 'amd-hangup' || answer.reason === 'fax' ? 'info' : 'warn';
    log[level]({ answeredBy, reason: answer.reason }, 'answering machine: hung up');
    return reply.type('text/xml').send(hangupTwiml());
  }
}
