/**
 * How one attempt is placed through Twilio's Calls API (twilio.md §5.1, the issue-7 plan):
 *
 * - Media Streams numbers: Twilio fetches the call's TwiML from the gateway's
 *   `/twilio/outbound?callId=&agentId=` once the callee answers; the gateway connects the
 *   stream as for an inbound call. Answering-machine detection follows the agent's `amd_mode`
 *   (`Enable` to hang up on machines, `DetectMessageEnd` to leave a voicemail after the beep);
 *   the gateway acts on `AnsweredBy`.
 * - SIP numbers: the TwiML is inline, a `<Dial><Sip>` to OpenAI's SIP endpoint carrying the
 *   agent and our call id in `X-` headers (twilio.md §3.2). No detection: the TwiML is fixed
 *   before anyone answers, so nothing could act on it.
 *
 * Status callbacks for every progress event go to the gateway's `/twilio/status`, which turns
 * them into `status` and (for calls no bridge answered) `ended` events. Pure: no I/O.
 */
import twilio from 'twilio';

/** `agents.amd_mode`. */
export type AmdMode = 'off' | 'hangup' | 'voicemail';

export type Transport = 'media-streams' | 'sip';

/** The `calls.create` parameters we use (a subset of the SDK's CallListInstanceCreateOptions). */
export interface CreateCallParams {
  to: string;
  from: string;
  url?: string;
  method?: 'POST';
  twiml?: string;
  statusCallback: string;
  statusCallbackMethod: 'POST';
  statusCallbackEvent: string[];
  /** Ring timeout, s. */
  timeout: number;
  machineDetection?: 'Enable' | 'DetectMessageEnd';
}

export interface PlacementConfig {
  /** The gateway's public base URL (GATEWAY_PUBLIC_URL). */
  gatewayUrl: string;
  /** OpenAI's SIP URI (OPENAI_SIP_URI); undefined: SIP calls cannot be placed. */
  openaiSipUri: string | undefined;
  ringTimeoutSec: number;
}

export interface AttemptToPlace {
  callId: string;
  to: string;
  from: string;
  agentId: string;
  transport: Transport;
  amdMode: AmdMode;
}

/** Thrown when an attempt cannot be placed with this configuration (final for the request). */
export class PlacementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The status events we subscribe to (twilio.md §1.4). */
export const STATUS_EVENTS = ['initiated', 'ringing', 'answered', 'completed'];

function joinUrl(base: string, path: string): URL {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  return url;
}

/** The TwiML of a SIP attempt: `<Dial><Sip>` with `X-Agent-Id` and `X-Call-Id` URI headers. */
export function sipTwiml(sipUri: string, agentId: string, callId: string): string {
  const headers = new URLSearchParams({ 'X-Agent-Id': agentId, 'X-Call-Id': callId });
  const response = new twilio.twiml.VoiceResponse();
  response.dial().sip(`${sipUri}?${headers.toString()}`);
  return response.toString();
}

/** The `calls.create` parameters of one attempt. @throws PlacementError */
export function createCallParams(
  attempt: AttemptToPlace,
  config: PlacementConfig,
): CreateCallParams {
  const common = {
    to: attempt.to,
    from: attempt.from,
    statusCallback: joinUrl(config.gatewayUrl, '/twilio/status').toString(),
    statusCallbackMethod: 'POST' as const,
    statusCallbackEvent: [...STATUS_EVENTS],
    timeout: config.ringTimeoutSec,
  };
  if (attempt.transport === 'sip') {
    if (!config.openaiSipUri) {
      throw new PlacementError('the caller id is a SIP number but OPENAI_SIP_URI is not set');
    }
    return { ...common, twiml: sipTwiml(config.openaiSipUri, attempt.agentId, attempt.callId) };
  }
  const url = joinUrl(config.gatewayUrl, '/twilio/outbound');
  url.searchParams.set('callId', attempt.callId);
  url.searchParams.set('agentId', attempt.agentId);
  const amd =
    attempt.amdMode === 'hangup'
      ? { machineDetection: 'Enable' as const }
      : attempt.amdMode === 'voicemail'
        ? { machineDetection: 'DetectMessageEnd' as const }
        : {};
  return { ...common, url: url.toString(), method: 'POST', ...amd };
}
