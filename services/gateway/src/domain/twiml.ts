/**
 * The TwiML documents the gateway answers Twilio with (twilio.md §3), built with the official
 * SDK's `VoiceResponse`. One builder per answer, shared by `/twilio/voice` (inbound) and
 * `/twilio/outbound` (calls the dialer placed), so both kinds of call reach the call-bridge in
 * exactly the same way.
 */
import twilio from 'twilio';

import { signStreamToken } from '@app/platform';

/** Where the media stream goes and how its token is signed (gateway config). */
export interface StreamTwimlOptions {
  /** CALL_BRIDGE_MEDIA_URL: the call-bridge's public `/media` WebSocket. */
  mediaUrl: string;
  /** STREAM_TOKEN_SECRET (at least 32 characters). */
  streamTokenSecret: string;
  /** STREAM_TOKEN_TTL_SEC: lifetime of the token, in seconds. */
  streamTokenTtlSec: number;
}

/**
 * `<Connect><Stream>` to the call-bridge with `<Parameter>`s `callId`, `agentId` and `token`,
 * a short-lived stream token for this call and agent (the stream URL carries no query string:
 * twilio.md §3.1). The bridge checks the token before it takes the stream.
 *
 * Two more parameters are for tracing only, so they are not in the token: `traceparent`, the
 * webhook's span, which the bridge's call span continues (Twilio hands custom parameters back
 * in the stream's `start` message), and `direction`. A forged value can only mislabel a trace.
 *
 * @param call.setupStartMs - When Twilio's TwiML request for this call arrived, epoch ms: the
 *   start of call setup time, carried in the token.
 */
export function connectStreamTwiml(
  call: {
    callId: string;
    agentId: string;
    setupStartMs: number;
    direction?: 'inbound' | 'outbound';
    traceparent?: string | undefined;
  },
  opts: StreamTwimlOptions,
): string {
  const token = signStreamToken({
    callId: call.callId,
    agentId: call.agentId,
    secret: opts.streamTokenSecret,
    ttlSec: opts.streamTokenTtlSec,
    setupStartMs: call.setupStartMs,
  });
  const response = new twilio.twiml.VoiceResponse();
  const stream = response.connect().stream({ url: opts.mediaUrl });
  stream.parameter({ name: 'callId', value: call.callId });
  stream.parameter({ name: 'agentId', value: call.agentId });
  stream.parameter({ name: 'token', value: token });
  if (call.direction) stream.parameter({ name: 'direction', value: call.direction });
  if (call.traceparent) stream.parameter({ name: 'traceparent', value: call.traceparent });
  return response.toString();
}

/** A polite end for a call we cannot take (twilio.md §3: Say then Hangup). */
export function sorryTwiml(): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say('Sorry, this number cannot take your call right now. Goodbye.');
  response.hangup();
  return response.toString();
}

/**
 * `<Say>` that the call cannot be taken now, then `<Hangup/>`: the platform cannot answer for
 * a while (its database is unreachable), so the caller is asked to try again.
 */
export function unavailableTwiml(): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say('Sorry, we cannot take your call right now. Please try again in a few minutes.');
  response.hangup();
  return response.toString();
}

/** `<Hangup/>` alone: the call ends at once, `completed`. */
export function hangupTwiml(): string {
  const response = new twilio.twiml.VoiceResponse();
  response.hangup();
  return response.toString();
}

/**
 * `<Say>message</Say><Hangup/>`: a voicemail left after the greeting (the SDK escapes the text
 * as XML).
 */
export function voicemailTwiml(message: string): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say(message);
  response.hangup();
  return response.toString();
}
