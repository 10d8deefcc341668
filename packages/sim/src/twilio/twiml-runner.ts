/**
 * Executes one TwiML document for a live call, verb by verb (twilio.md §3). Anything that
 * talks to the outside (webhooks, the media stream, `<Dial>` targets) goes through
 * {@link TwimlContext}, which the call session implements.
 */
import { speechDurationMs } from '../audio/index.js';
import type { CallRecording } from '../recording.js';
import type { TwimlNode } from './twiml-parse.js';
import type { HttpMethod } from './webhook-client.js';

/** What a `<Dial>` reached. */
export interface DialOutcome {
  /** `DialCallStatus` (§1.6). */
  status: 'completed' | 'answered' | 'busy' | 'no-answer' | 'failed' | 'canceled';
  dialCallSid: string;
  /** Seconds the bridged leg was up. */
  durationSec: number;
  bridged: boolean;
}

/** The end of one document: fetch the next one, or end the call. */
export type TwimlOutcome =
  | { kind: 'fetch'; url: string; method: HttpMethod; params?: Record<string, string> }
  | { kind: 'end'; status: 'completed' | 'busy' | 'failed' | 'no-answer'; reason: string };

export interface TwimlContext {
  recording: CallRecording;
  /** Aborted when a call update or hang-up interrupts this document. */
  signal: AbortSignal;
  /** Waits `ms` of simulated time (scaled by pacing); rejects when `signal` aborts. */
  sleep(ms: number): Promise<void>;
  /** Runs `<Connect><Stream>` until the stream ends (or the document is interrupted). */
  connectStream(stream: TwimlNode): Promise<void>;
  /** Runs `<Dial>` until the dialled leg ends. */
  dial(dial: TwimlNode): Promise<DialOutcome>;
  /** Resolves a relative `action`/`<Redirect>` URL against the document's URL. */
  resolveUrl(url: string): string;
  /** Simulated ms a `<Play>` lasts (the audio is never fetched). */
  playMs: number;
  /** Longest a call waits in an `<Enqueue>` before the caller gives up. */
  holdMs: number;
}

function method(attr: string | undefined): HttpMethod {
  return attr?.toUpperCase() === 'GET' ? 'GET' : 'POST';
}

/** `loop`: how many times; 0 means "until the call ends" (capped so a fake call still ends). */
function loops(attr: string | undefined): number {
  const n = attr === undefined ? 1 : Number.parseInt(attr, 10);
  if (!Number.isFinite(n) || n < 0) return 1;
  return n === 0 ? 1_000 : n;
}

function seconds(attr: string | undefined, fallback: number): number {
  const n = attr === undefined ? Number.NaN : Number.parseFloat(attr);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

async function runSay(verb: TwimlNode, ctx: TwimlContext): Promise<void> {
  const n = loops(verb.attrs.loop);
  ctx.recording.add('twiml.say', {
    text: verb.text,
    voice: verb.attrs.voice,
    language: verb.attrs.language,
    loop: n,
  });
  await ctx.sleep(speechDurationMs(verb.text) * n);
}

async function runPlay(verb: TwimlNode, ctx: TwimlContext): Promise<void> {
  const n = loops(verb.attrs.loop);
  ctx.recording.add('twiml.play', { url: verb.text, digits: verb.attrs.digits, loop: n });
  await ctx.sleep(verb.attrs.digits !== undefined ? 500 : ctx.playMs * n);
}

async function runPause(verb: TwimlNode, ctx: TwimlContext): Promise<void> {
  const lengthSec = seconds(verb.attrs.length, 1);
  ctx.recording.add('twiml.pause', { lengthSec });
  await ctx.sleep(lengthSec * 1000);
}

/** Runs a document; returns what to do next. Rejects with the abort reason when interrupted. */
export async function runTwiml(doc: TwimlNode, ctx: TwimlContext): Promise<TwimlOutcome> {
  for (const verb of doc.children) {
    ctx.signal.throwIfAborted();
    switch (verb.name) {
      case 'Say':
        await runSay(verb, ctx);
        break;
      case 'Play':
        await runPlay(verb, ctx);
        break;
      case 'Pause':
        await runPause(verb, ctx);
        break;
      case 'Hangup':
        ctx.recording.add('twiml.hangup');
        return { kind: 'end', status: 'completed', reason: 'twiml-hangup' };
      case 'Reject': {
        const reason = verb.attrs.reason === 'busy' ? 'busy' : 'rejected';
        ctx.recording.add('twiml.reject', { reason });
        // A rejected call is never answered; Twilio reports it as busy (or no-answer for
        // `rejected`; UNCONFIRMED, not in twilio.md).
        return {
          kind: 'end',
          status: reason === 'busy' ? 'busy' : 'no-answer',
          reason: `twiml-reject-${reason}`,
        };
      }
      case 'Redirect': {
        const url = ctx.resolveUrl(verb.text);
        ctx.recording.add('twiml.redirect', { url });
        return { kind: 'fetch', url, method: method(verb.attrs.method) };
      }
      case 'Connect': {
        const next = await runConnect(verb, ctx);
        if (next) return next;
        break;
      }
      case 'Dial': {
        const next = await runDial(verb, ctx);
        if (next) return next;
        break;
      }
      case 'Enqueue': {
        ctx.recording.add('twiml.enqueue', {
          queue: verb.text,
          waitUrl: verb.attrs.waitUrl,
          workflowSid: verb.attrs.workflowSid,
          task: verb.children.find((c) => c.name === 'Task')?.text,
        });
        // Nobody dequeues in the simulator: the caller holds until the call is updated (the
        // usual hand-off) or gives up after holdMs.
        await ctx.sleep(ctx.holdMs);
        ctx.recording.add('twiml.enqueue-left', { result: 'hangup' });
        return { kind: 'end', status: 'completed', reason: 'enqueue-hold-timeout' };
      }
      case 'Gather': {
        ctx.recording.add('twiml.gather', { input: verb.attrs.input ?? 'dtmf' });
        for (const child of verb.children) {
          if (child.name === 'Say') await runSay(child, ctx);
          else if (child.name === 'Play') await runPlay(child, ctx);
          else if (child.name === 'Pause') await runPause(child, ctx);
        }
        // No input ever arrives: wait `timeout` and fall through (Twilio's no-input path).
        await ctx.sleep(seconds(verb.attrs.timeout, 5) * 1000);
        break;
      }
      default:
        ctx.recording.add('twiml.unsupported', { verb: verb.name });
    }
  }
  return { kind: 'end', status: 'completed', reason: 'twiml-end' };
}

async function runConnect(verb: TwimlNode, ctx: TwimlContext): Promise<TwimlOutcome | undefined> {
  const stream = verb.children.find((c) => c.name === 'Stream');
  if (stream === undefined) {
    ctx.recording.add('twiml.unsupported', {
      verb: 'Connect',
      children: verb.children.map((c) => c.name),
    });
    return undefined;
  }
  ctx.recording.add('twiml.connect-stream', { url: stream.attrs.url, name: stream.attrs.name });
  await ctx.connectStream(stream);
  // When the server closes the socket Twilio requests `action`, or runs the next verb (§3.1).
  if (verb.attrs.action === undefined) return undefined;
  return {
    kind: 'fetch',
    url: ctx.resolveUrl(verb.attrs.action),
    method: method(verb.attrs.method),
  };
}

async function runDial(verb: TwimlNode, ctx: TwimlContext): Promise<TwimlOutcome | undefined> {
  const outcome = await ctx.dial(verb);
  if (verb.attrs.action === undefined) {
    // Without `action` the call goes on with the next verb after the dialled leg ends.
    return undefined;
  }
  return {
    kind: 'fetch',
    url: ctx.resolveUrl(verb.attrs.action),
    method: method(verb.attrs.method),
    params: {
      DialCallStatus: outcome.status,
      DialCallSid: outcome.dialCallSid,
      DialCallDuration: String(outcome.durationSec),
      DialBridged: String(outcome.bridged),
    },
  };
}
