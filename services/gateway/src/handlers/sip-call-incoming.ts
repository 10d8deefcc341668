/**
 * One incoming OpenAI SIP call (ARCHITECTURE.md "SIP"), after its webhook was verified and
 * claimed: route it to an agent, record it, offer it to the call-bridges, and reject it at
 * OpenAI when nobody takes it.
 *
 * - No phone number in From or To, or no agent for it: the call is rejected (SIP 433 for a
 *   caller without a number, 404 for a number that is not ours) and nothing is recorded.
 * - Otherwise `calls.<id>.created` is published (transport `sip`, with the OpenAI call id) and
 *   the call is offered on `call-bridge.sip-offer` (domain/sip-offerer.ts).
 * - No bridge took it (none running, all full or draining, no reply in time): rejected 486
 *   Busy Here, `error` (code `no_bridge_capacity`) and `ended` (reason `busy`) are published.
 * - A bridge took it and failed (e.g. `accept-failed`): rejected 500, `error` (code
 *   `sip_offer_failed`) and `ended` (reason `failed`) are published. A reject that fails (the
 *   call is already gone, 404) is logged; the events are published all the same.
 *
 * Our call id and every event id are derived from the OpenAI call id, so a redelivered webhook
 * that gets this far again (after a failure released its claims) records nothing twice.
 */
import { RequestError, TimeoutError } from '@nats-io/transport-node';
import type { FastifyBaseLogger } from 'fastify';

import {
  callEvent,
  sipOfferRequest,
  uuidV5,
  type CallEndReason,
  type CallEvent,
  type SipOfferReply,
  type SipOfferRequest,
} from '@app/contracts';

import type { CallDirectory } from '../adapters/call-directory.js';
import { parseSipHeaders, type SipHeader } from '../domain/sip-headers.js';
import { offerSipCall, type OfferAttempt, type OfferOutcome } from '../domain/sip-offerer.js';

/** Namespace of the ids derived from OpenAI call ids (a fixed random UUID). */
const OPENAI_CALL_NAMESPACE = '9b2e6f4a-3c71-4d8e-a5b0-7e1f2c9d4a68';

/** Our call id for an OpenAI SIP call, and the ids of the events the gateway publishes for it. */
export function callIdForOpenAICall(openaiCallId: string): {
  callId: string;
  eventId: (event: 'created' | 'error' | 'ended') => string;
} {
  return {
    callId: uuidV5(`openai:${openaiCallId}`, OPENAI_CALL_NAMESPACE),
    eventId: (event) => uuidV5(`openai:${openaiCallId}:${event}`, OPENAI_CALL_NAMESPACE),
  };
}

/** SIP statuses the gateway rejects calls with (RFC 3261 §21, RFC 5079). */
export const SipStatus = {
  /** The dialled number is not one of ours, or no agent answers it. */
  NotFound: 404,
  /** The caller sent no phone number we can record. */
  AnonymityDisallowed: 433,
  /** No bridge had room for the call. */
  BusyHere: 486,
  /** A bridge took the call and could not set it up. */
  ServerInternalError: 500,
} as const;

export interface SipCallIncomingDeps {
  directory: CallDirectory;
  /** Publishes a call event to JetStream (resolves once stored). */
  publish(event: CallEvent): Promise<void>;
  /**
   * Sends the offer once and returns the validated reply (contracts `request`). Throws NATS
   * errors (no responders, timeout) and a TypeError for an invalid reply.
   */
  sendOffer(offer: SipOfferRequest, timeoutMs: number): Promise<SipOfferReply>;
  /** Rejects the pending call at OpenAI with a SIP status (the SDK's `realtime.calls.reject`). */
  reject(openaiCallId: string, sipStatus: number): Promise<void>;
  /** SIP_OFFER_DEADLINE_MS. */
  offerDeadlineMs: number;
  /** Pause between offers a full pod turned down, in ms. @defaultValue the offerer's */
  offerRetryPauseMs?: number;
}

/** What the webhook answers (always with 200: the call was handled, whatever became of it). */
export type SipCallIncomingResult =
  { status: 'accepted'; callId: string } | { status: 'rejected'; reason: string; callId?: string };

/** One offer attempt, with the transport's failures as outcomes instead of throws. */
async function attempt(
  deps: SipCallIncomingDeps,
  offer: SipOfferRequest,
  timeoutMs: number,
): Promise<OfferAttempt> {
  try {
    return (await deps.sendOffer(offer, timeoutMs)).data;
  } catch (err) {
    if (err instanceof TimeoutError) return { status: 'timeout' };
    if (err instanceof RequestError && err.isNoResponders()) return { status: 'no-responders' };
    // A reply that fails its schema came from a bridge that handled the offer somehow: as a
    // failure, not retried (another pod might accept a call this one already took).
    if (err instanceof TypeError) return { status: 'rejected', reason: 'invalid-reply' };
    throw err;
  }
}

/** The `error` event text of an offer nobody took. */
function whyNotTaken(outcome: Exclude<OfferOutcome, { outcome: 'accepted' }>, ms: number) {
  if (outcome.outcome === 'failed') return `a call-bridge failed the SIP offer: ${outcome.reason}`;
  switch (outcome.reason) {
    case 'no-bridge':
      return 'no call-bridge serves SIP offers';
    case 'timeout':
      return `no call-bridge answered the SIP offer within ${ms} ms`;
    default:
      return `every call-bridge asked was ${outcome.reason === 'draining' ? 'draining' : 'at capacity'} for ${ms} ms (${outcome.attempts} offers)`;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function handleSipCallIncoming(
  deps: SipCallIncomingDeps,
  call: { openaiCallId: string; sipHeaders: readonly SipHeader[] },
  log: FastifyBaseLogger,
): Promise<SipCallIncomingResult> {
  const { openaiCallId } = call;
  const sip = parseSipHeaders(call.sipHeaders);

  const reject = async (sipStatus: number) => {
    try {
      await deps.reject(openaiCallId, sipStatus);
    } catch (err) {
      // Most often the call is gone already (404): what we record does not depend on it.
      log.warn({ openaiCallId, sipStatus, err }, 'rejecting the sip call at openai failed');
    }
  };
  const refuse = async (reason: string, sipStatus: number): Promise<SipCallIncomingResult> => {
    log.warn(
      { openaiCallId, reason, sipStatus, pii: { from: sip.from, to: sip.to } },
      'inbound sip call refused',
    );
    await reject(sipStatus);
    return { status: 'rejected', reason };
  };

  if (!sip.to) return refuse('callee-not-e164', SipStatus.NotFound);
  if (!sip.from) return refuse('caller-id-not-e164', SipStatus.AnonymityDisallowed);
  // A trunk may name the agent (X-Agent-Id); one that does not exist falls back to the number's.
  const agentId =
    sip.agentId !== null && (await deps.directory.agentExists(sip.agentId))
      ? sip.agentId
      : (await deps.directory.agentForNumber(sip.to))?.agentId;
  if (!agentId) return refuse('unknown-number', SipStatus.NotFound);

  const derived = callIdForOpenAICall(openaiCallId);
  const { eventId } = derived;
  // An outbound call our dialer placed to OpenAI's SIP endpoint: it comes from one of our
  // numbers and carries our call id (X-Call-Id). It is that call, not a new inbound one; its
  // `created` is published again with the OpenAI call id (a new event id; the projector fills
  // the id in). A caller cannot claim it: PSTN callers do not set the trunk's X- headers, and
  // the From must be ours.
  const outbound =
    sip.ourCallId !== null &&
    UUID.test(sip.ourCallId) &&
    (await deps.directory.agentForNumber(sip.from)) !== null;
  const callId = outbound ? (sip.ourCallId as string) : derived.callId;
  const callLog = log.child({ callId, openaiCallId });
  await deps.publish(
    callEvent(
      'created',
      callId,
      {
        direction: outbound ? 'outbound' : 'inbound',
        transport: 'sip',
        from: sip.from,
        to: sip.to,
        agentId,
        openaiCallId,
      },
      { id: eventId('created') },
    ) as CallEvent,
  );

  const offer = sipOfferRequest(callId, {
    openaiCallId,
    from: sip.from,
    to: sip.to,
    sipHeaders: sip.custom,
    agentId,
    direction: outbound ? 'outbound' : 'inbound',
  });
  const outcome = await offerSipCall({
    request: (timeoutMs) => attempt(deps, offer, timeoutMs),
    deadlineMs: deps.offerDeadlineMs,
    ...(deps.offerRetryPauseMs !== undefined ? { retryPauseMs: deps.offerRetryPauseMs } : {}),
  });
  if (outcome.outcome === 'accepted') {
    callLog.info({ pod: outcome.pod, attempts: outcome.attempts }, 'sip call taken by a bridge');
    return { status: 'accepted', callId };
  }

  const busy = outcome.outcome === 'busy';
  const message = whyNotTaken(outcome, deps.offerDeadlineMs);
  callLog.warn(
    { outcome: outcome.outcome, reason: outcome.reason, attempts: outcome.attempts, why: message },
    'sip call taken by no bridge',
  );
  await reject(busy ? SipStatus.BusyHere : SipStatus.ServerInternalError);
  await deps.publish(
    callEvent(
      'error',
      callId,
      {
        code: busy ? 'no_bridge_capacity' : 'sip_offer_failed',
        message,
        source: 'gateway',
        // Capacity comes back: the same caller may get through a moment later.
        retryable: busy,
      },
      { id: eventId('error') },
    ) as CallEvent,
  );
  const reason: CallEndReason = busy ? 'busy' : 'failed';
  await deps.publish(callEvent('ended', callId, { reason }, { id: eventId('ended') }) as CallEvent);
  return { status: 'rejected', reason: outcome.reason, callId };
}
