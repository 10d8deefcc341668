/**
 * `<Dial>`: who the call reaches and how that leg ends (twilio.md §3.2, §3.3, §1.6). Numbers
 * follow the behaviour table; a `<Sip>` to OpenAI's SIP endpoint is handed to the SIP trunk
 * target (the OpenAI simulator); a `<Conference>` puts the call in that room (conference.ts)
 * until it leaves; other targets (`<Client>`, `<Queue>`, other SIP URIs) are recorded and
 * "talk" for `bridgeMs`.
 */
import type { CallRecording } from '../recording.js';
import type { Scenario } from '../scenario.js';
import type { SipTrunkTarget } from '../sip.js';
import { newSid } from './call-store.js';
import {
  DEFAULT_PARTICIPANT,
  flag,
  type LeaveReason,
  type ParticipantOptions,
} from './conference.js';
import { isE164, type NumberRegistry } from './numbers.js';
import { settleSipOffer } from './sip-outcome.js';
import type { TwimlNode } from './twiml-parse.js';
import type { DialOutcome } from './twiml-runner.js';

export interface DialDeps {
  callSid: string;
  from: string;
  to: string;
  numbers: NumberRegistry;
  sipTrunk: SipTrunkTarget | undefined;
  /** Hosts whose SIP URIs go to {@link sipTrunk}. */
  sipTrunkHosts: readonly string[];
  scenario: Scenario | undefined;
  recording: CallRecording;
  signal: AbortSignal;
  sleep(ms: number): Promise<void>;
  ringMs: number;
  bridgeMs: number;
  /** Puts this call in the named conference; resolves when it leaves (conference.ts). */
  joinConference(name: string, opts: ParticipantOptions): Promise<LeaveReason>;
}

interface Target {
  type: 'number' | 'sip' | 'client' | 'conference' | 'queue';
  target: string;
  /** The noun's attributes (`<Conference startConferenceOnEnter=…>`). */
  attrs: Record<string, string>;
}

const NOUNS: Record<string, Target['type']> = {
  Number: 'number',
  Sip: 'sip',
  Client: 'client',
  Conference: 'conference',
  Queue: 'queue',
};

function targetsOf(dial: TwimlNode): Target[] {
  const out: Target[] = [];
  for (const c of dial.children) {
    const type = NOUNS[c.name];
    if (type !== undefined) out.push({ type, target: c.text, attrs: c.attrs });
  }
  if (out.length === 0 && dial.text !== '') {
    out.push({ type: 'number', target: dial.text, attrs: {} });
  }
  return out;
}

/** `sip:user@host;params?x-a=1&x-b=2` → host and the URI headers (§3.2). */
export function parseSipUri(uri: string): { host: string; headers: Record<string, string> } {
  const [addr = '', query = ''] = uri.split('?', 2);
  const host = (/^sips?:(?:[^@]*@)?([^;:>]+)/i.exec(addr)?.[1] ?? '').toLowerCase();
  const headers: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(query)) headers[k] = v;
  return { host, headers };
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

async function dialSip(t: Target, dial: TwimlNode, deps: DialDeps): Promise<DialOutcome> {
  const dialCallSid = newSid('CA');
  const { host, headers } = parseSipUri(t.target);
  if (deps.sipTrunk === undefined || !deps.sipTrunkHosts.includes(host)) {
    await deps.sleep(deps.ringMs);
    await deps.sleep(deps.bridgeMs);
    return {
      status: 'completed',
      dialCallSid,
      durationSec: Math.round(deps.bridgeMs / 1000),
      bridged: true,
    };
  }
  const startedAt = Date.now();
  const offer = await Promise.race([
    deps.sipTrunk.incomingCall({
      callSid: deps.callSid,
      from: dial.attrs.callerId ?? deps.from,
      to: deps.to,
      headers,
      ...(deps.scenario ? { scenario: deps.scenario } : {}),
      recording: deps.recording,
    }),
    untilAborted(deps.signal),
  ]);
  const status = settleSipOffer(offer, deps.recording);
  if (status !== null) {
    return { status, dialCallSid, durationSec: 0, bridged: false };
  }
  const end = await Promise.race([offer.ended, untilAborted(deps.signal)]);
  deps.recording.add('sip.ended', { reason: end.reason });
  const durationSec = Math.round((Date.now() - startedAt) / 1000);
  return { status: 'completed', dialCallSid, durationSec, bridged: true };
}

async function dialNumber(t: Target, timeoutMs: number, deps: DialDeps): Promise<DialOutcome> {
  const dialCallSid = newSid('CA');
  if (!isE164(t.target)) {
    // 13224: `<Dial>` target is not a valid phone number (§5.4).
    deps.recording.add('twiml.dial-error', { code: 13224, target: t.target });
    return { status: 'failed', dialCallSid, durationSec: 0, bridged: false };
  }
  const b = deps.numbers.behaviour(t.target);
  const ringMs = Math.min(b.ringMs ?? deps.ringMs, timeoutMs);
  switch (b.answer) {
    case 'busy':
      await deps.sleep(ringMs);
      return { status: 'busy', dialCallSid, durationSec: 0, bridged: false };
    case 'fail':
      return { status: 'failed', dialCallSid, durationSec: 0, bridged: false };
    case 'no-answer':
      await deps.sleep(timeoutMs);
      return { status: 'no-answer', dialCallSid, durationSec: 0, bridged: false };
    default:
      await deps.sleep(ringMs);
      await deps.sleep(deps.bridgeMs);
      return {
        status: 'completed',
        dialCallSid,
        durationSec: Math.round(deps.bridgeMs / 1000),
        bridged: true,
      };
  }
}

/** `<Dial><Conference>`: in the room until the conference ends, a kick, or the call leaves. */
async function dialConference(t: Target, deps: DialDeps): Promise<DialOutcome> {
  const startedAt = Date.now();
  const a = t.attrs;
  const reason = await deps.joinConference(t.target, {
    ...DEFAULT_PARTICIPANT,
    startConferenceOnEnter: flag(a.startConferenceOnEnter, true),
    endConferenceOnExit: flag(a.endConferenceOnExit, false),
    muted: flag(a.muted, false),
    coaching: flag(a.coach !== undefined ? 'true' : undefined, false),
    callSidToCoach: a.coach ?? null,
    label: a.participantLabel ?? null,
  });
  // Moved to other TwiML or hung up: the interruption, not the dial's end, decides what follows.
  deps.signal.throwIfAborted();
  deps.recording.add('twiml.conference-left', { reason });
  return {
    status: 'completed',
    dialCallSid: newSid('CA'),
    durationSec: Math.round((Date.now() - startedAt) / 1000),
    bridged: true,
  };
}

/** Runs a `<Dial>`: the first target decides (simultaneous ringing is not simulated). */
export async function performDial(dial: TwimlNode, deps: DialDeps): Promise<DialOutcome> {
  const targets = targetsOf(dial);
  const timeoutSec = Number.parseInt(dial.attrs.timeout ?? '30', 10);
  const timeoutMs = (Number.isFinite(timeoutSec) ? timeoutSec : 30) * 1000;
  deps.recording.add('twiml.dial', {
    targets: targets.map(({ type, target }) => ({ type, target })),
    callerId: dial.attrs.callerId,
    timeoutSec: timeoutMs / 1000,
    action: dial.attrs.action,
  });
  const first = targets[0];
  let outcome: DialOutcome;
  if (first === undefined) {
    outcome = { status: 'failed', dialCallSid: newSid('CA'), durationSec: 0, bridged: false };
  } else if (first.type === 'number') {
    outcome = await dialNumber(first, timeoutMs, deps);
  } else if (first.type === 'sip') {
    outcome = await dialSip(first, dial, deps);
  } else if (first.type === 'conference') {
    outcome = await dialConference(first, deps);
  } else {
    await deps.sleep(deps.ringMs);
    await deps.sleep(deps.bridgeMs);
    outcome = {
      status: 'completed',
      dialCallSid: newSid('CA'),
      durationSec: Math.round(deps.bridgeMs / 1000),
      bridged: true,
    };
  }
  deps.recording.add('twiml.dial-result', {
    ...outcome,
    target: first ? { type: first.type, target: first.target } : undefined,
  });
  return outcome;
}
