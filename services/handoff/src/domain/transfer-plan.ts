/**
 * What a handoff does, decided without I/O: where a human is reached on each transport, the
 * TwiML that moves a Media Streams call (cold: `<Dial>` the human; warm: both into a
 * conference, the human first with a spoken whisper), and the words used.
 */
import twilio from 'twilio';

/** How a human can be reached (HumanAgent columns). */
export interface HumanContact {
  phoneNumber: string | null;
  sipUri: string | null;
  twilioClientIdentity: string | null;
}

export type Transport = 'media-streams' | 'sip';

/** The Handoff row's `trigger` column (schema.prisma documents these values). */
export const TRIGGER_COLUMN = {
  tool: 'agent_tool',
  dtmf: 'caller_dtmf',
  rule: 'policy',
  operator: 'operator',
} as const;
export type Trigger = keyof typeof TRIGGER_COLUMN;

/**
 * Where the call goes: Media Streams calls are redirected by Twilio, which dials a number, a
 * `client:` identity (the dashboard softphone) or a SIP URI; SIP calls are REFERred by OpenAI,
 * which takes a SIP URI or a number (`tel:`), never a Twilio Client. Null: not reachable.
 */
export function targetFor(human: HumanContact, transport: Transport): string | null {
  if (transport === 'sip') return human.sipUri ?? human.phoneNumber;
  if (human.phoneNumber) return human.phoneNumber;
  if (human.twilioClientIdentity) return `client:${human.twilioClientIdentity}`;
  return human.sipUri;
}

/** The conference a warm handoff meets in: one per handoff, never reused. */
export function conferenceName(handoffId: string): string {
  return `handoff-${handoffId}`;
}

/** `<Say>` text is capped well below Twilio's 4,096 characters; a whisper must stay short. */
const MAX_WHISPER_CHARS = 600;

/** What the human hears before joining the caller. */
export function whisperText(reason: string, summary: string | undefined): string {
  const text = summary
    ? `Incoming transfer. Reason: ${reason}. Summary: ${summary}`
    : `Incoming transfer. Reason: ${reason}.`;
  return text.length > MAX_WHISPER_CHARS ? `${text.slice(0, MAX_WHISPER_CHARS - 3)}...` : text;
}

/**
 * Said after a cold `<Dial>` ends, whether nobody answered or the human hung up first (without
 * a public `action` URL the two cannot be told apart): true in both cases.
 */
export const COLD_FALLBACK =
  'Thank you for calling. If no one answered, please call again later. Goodbye.';

type VoiceResponse = InstanceType<typeof twilio.twiml.VoiceResponse>;
type Dial = ReturnType<VoiceResponse['dial']>;

function dialTarget(dial: Dial, target: string): void {
  if (target.startsWith('client:')) dial.client(target.slice('client:'.length));
  else if (/^sips?:/i.test(target)) dial.sip(target);
  else dial.number(target);
}

/**
 * Cold: the caller hears one line and the human's phone rings; the AI's stream is gone. Twilio
 * runs the verb after `<Dial>` only when the human did not answer (or once they hang up): the
 * caller is not left in silence either way.
 */
export function coldTransferTwiml(target: string, callerId: string, timeoutSec: number): string {
  const r = new twilio.twiml.VoiceResponse();
  r.say('Transferring you to a person now.');
  dialTarget(r.dial({ callerId, timeout: timeoutSec }), target);
  r.say(COLD_FALLBACK);
  return r.toString();
}

/** Warm, the human's leg: the whisper, then the room (the human starts and ends it). */
export function humanLegTwiml(whisper: string, room: string): string {
  const r = new twilio.twiml.VoiceResponse();
  r.say(whisper);
  r.dial().conference(
    { startConferenceOnEnter: true, endConferenceOnExit: true, beep: 'false' },
    room,
  );
  return r.toString();
}

/** Warm, the caller's leg once the human is in: leaving the stream drops the AI. */
export function callerLegTwiml(room: string): string {
  const r = new twilio.twiml.VoiceResponse();
  r.say('Connecting you now.');
  r.dial().conference(
    { startConferenceOnEnter: true, endConferenceOnExit: true, beep: 'false' },
    room,
  );
  return r.toString();
}

/** The rejection the model reads (tool output or the bridge's note) when nobody can take it. */
export function noHumanReason(skill: string | undefined): string {
  const who = skill ? `no human with skill "${skill}" is available` : 'no human is available';
  return `no-human-available: ${who}; offer the caller a callback (schedule_callback) or take a message`;
}
