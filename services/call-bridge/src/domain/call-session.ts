/**
 * One live Media Streams call: Twilio's leg on one side, an OpenAI Realtime session on the other
 * (ARCHITECTURE.md "Media Streams"). Audio passes through as base64 µ-law both ways (no
 * transcoding); on `speech_started` the caller barges in: Twilio `clear` at once, cancel the
 * response, truncate the assistant item at what was heard (marks, see {@link PlaybackClock}).
 * No network imports: both legs and the event sink are injected, so it is tested with fakes.
 */
import type { CallEndReason } from '@app/contracts';

import { PlaybackClock } from './playback-clock.js';

/** 20 ms of µ-law at 8 kHz. */
const FRAME_BYTES = 160;
/** µ-law code of silence. */
const MULAW_SILENCE = 0xff;

/** Messages the bridge sends to Twilio (twilio.md 4.3). */
export type TwilioOutbound =
  | { event: 'media'; streamSid: string; media: { payload: string } }
  | { event: 'mark'; streamSid: string; mark: { name: string } }
  | { event: 'clear'; streamSid: string };

export interface TwilioLeg {
  send(message: TwilioOutbound): void;
  close(code: number, reason: string): void;
}

/** The OpenAI side, as the session uses it (adapters/openai-realtime.ts implements it). */
export interface RealtimeLeg {
  /** `input_audio_buffer.append` with a base64 µ-law payload. */
  sendAudio(payload: string): void;
  /** `conversation.item.truncate` at `audioEndMs` of content 0. */
  truncate(itemId: string, audioEndMs: number): void;
  /** `response.cancel`. */
  cancelResponse(): void;
  /** Adds a message to the conversation and asks for a response (call-control `inject`). */
  inject(text: string, role: 'system' | 'user'): void;
  close(): void;
}

/** Call events the session emits; the wiring publishes them to `calls.<callId>.*`. */
export type SessionEvent =
  | { event: 'answered'; data: Record<string, never> }
  | {
      event: 'transcript';
      data: { role: 'caller' | 'agent'; text: string; itemId?: string; final: boolean };
    }
  | { event: 'barge-in'; data: { itemId: string; audioEndMs: number; reactionMs: number } }
  | {
      event: 'error';
      data: { code: string; message: string; source: 'openai' | 'bridge'; retryable: boolean };
    }
  | {
      event: 'ended';
      data: { reason: CallEndReason; durationMs: number; metrics: Record<string, number> };
    };

export interface CallSessionDeps {
  callId: string;
  streamSid: string;
  twilio: TwilioLeg;
  /** Emits one call event; must not throw (publishing failures are the sink's to log). */
  emit: (event: SessionEvent) => void;
  /** ms clock. @defaultValue performance.now */
  now?: () => number;
  /** Called once when the call ended (both legs closed, `ended` emitted). */
  onEnded?: (reason: CallEndReason) => void;
  /** Frame counters and barge-in reaction, for metrics. */
  onFrame?: (direction: 'caller-to-openai' | 'openai-to-caller') => void;
  onBargeIn?: (reactionMs: number) => void;
}

export class CallSession {
  readonly callId: string;
  readonly #deps: CallSessionDeps;
  readonly #now: () => number;
  readonly #clock = new PlaybackClock();
  readonly #startedAt: number;
  #realtime: RealtimeLeg | null = null;
  /** The assistant item whose audio went out last. */
  #currentItem: string | null = null;
  /** Audio of the current item short of a whole frame. */
  #remainder: Buffer = Buffer.alloc(0);
  #responseActive = false;
  /** Items cut off by a barge-in: their late deltas are dropped. */
  readonly #interrupted = new Set<string>();
  #ended = false;
  #bargeIns = 0;
  #framesIn = 0;
  #framesOut = 0;

  constructor(deps: CallSessionDeps) {
    this.#deps = deps;
    this.callId = deps.callId;
    this.#now = deps.now ?? (() => performance.now());
    this.#startedAt = this.#now();
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Attaches the OpenAI leg and announces the call as answered. */
  start(realtime: RealtimeLeg): void {
    this.#realtime = realtime;
    this.#deps.emit({ event: 'answered', data: {} });
  }

  // --- Twilio → bridge ---

  callerAudio(payload: string): void {
    if (this.#ended || !this.#realtime) return;
    this.#realtime.sendAudio(payload);
    this.#framesIn += 1;
    this.#deps.onFrame?.('caller-to-openai');
  }

  markEchoed(name: string): void {
    this.#clock.echoed(name);
  }

  // --- OpenAI → bridge ---

  responseCreated(): void {
    this.#responseActive = true;
  }

  responseDone(): void {
    this.#responseActive = false;
  }

  /**
   * An audio delta of `itemId`: re-cut into whole 20 ms frames (Twilio plays 160-byte frames;
   * a remainder waits for the next delta), each followed by a mark so playback is known to the
   * frame.
   */
  agentAudio(itemId: string, payload: string): void {
    if (this.#ended || this.#interrupted.has(itemId)) return;
    if (this.#currentItem !== itemId) {
      if (this.#currentItem !== null) this.agentAudioDone(this.#currentItem);
      this.#currentItem = itemId;
    }
    const bytes = Buffer.from(payload, 'base64');
    const audio = this.#remainder.length > 0 ? Buffer.concat([this.#remainder, bytes]) : bytes;
    const whole = audio.length - (audio.length % FRAME_BYTES);
    for (let at = 0; at < whole; at += FRAME_BYTES) {
      this.#sendFrame(itemId, audio.subarray(at, at + FRAME_BYTES), FRAME_BYTES);
    }
    this.#remainder = Buffer.from(audio.subarray(whole));
  }

  /** `response.output_audio.done`: the last part frame goes out, padded with µ-law silence. */
  agentAudioDone(itemId: string): void {
    if (this.#ended || itemId !== this.#currentItem || this.#remainder.length === 0) return;
    const real = this.#remainder.length;
    const frame = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE);
    this.#remainder.copy(frame);
    this.#remainder = Buffer.alloc(0);
    this.#sendFrame(itemId, frame, real);
  }

  #sendFrame(itemId: string, frame: Buffer, realBytes: number): void {
    const { streamSid } = this.#deps;
    this.#deps.twilio.send({
      event: 'media',
      streamSid,
      media: { payload: frame.toString('base64') },
    });
    const name = this.#clock.sent(itemId, realBytes);
    this.#deps.twilio.send({ event: 'mark', streamSid, mark: { name } });
    this.#framesOut += 1;
    this.#deps.onFrame?.('openai-to-caller');
  }

  /** `input_audio_buffer.speech_started`: the caller talks over the agent. */
  speechStarted(): void {
    if (this.#ended) return;
    const t0 = this.#now();
    const itemId = this.#currentItem;
    const playing = this.#clock.playing;
    if (!playing && !this.#responseActive) return;
    if (playing) {
      this.#deps.twilio.send({ event: 'clear', streamSid: this.#deps.streamSid });
    }
    const reactionMs = Math.max(0, Math.round(this.#now() - t0));
    if (this.#responseActive) {
      this.#realtime?.cancelResponse();
      this.#responseActive = false;
    }
    if (itemId === null || !playing) return;
    const audioEndMs = this.#clock.heardMs(itemId);
    this.#clock.cleared();
    this.#remainder = Buffer.alloc(0);
    this.#interrupted.add(itemId);
    this.#currentItem = null;
    this.#realtime?.truncate(itemId, audioEndMs);
    this.#bargeIns += 1;
    this.#deps.onBargeIn?.(reactionMs);
    this.#deps.emit({ event: 'barge-in', data: { itemId, audioEndMs, reactionMs } });
  }

  callerTranscript(itemId: string | undefined, text: string): void {
    this.#deps.emit({
      event: 'transcript',
      data: { role: 'caller', text, final: true, ...(itemId ? { itemId } : {}) },
    });
  }

  agentTranscript(itemId: string | undefined, text: string): void {
    this.#deps.emit({
      event: 'transcript',
      data: { role: 'agent', text, final: true, ...(itemId ? { itemId } : {}) },
    });
  }

  /** An error event from OpenAI; fatal ones end the call. */
  realtimeError(code: string, message: string, fatal: boolean): void {
    if (this.#ended) return;
    this.#deps.emit({
      event: 'error',
      data: { code, message, source: 'openai', retryable: !fatal },
    });
    if (fatal) this.end('error');
  }

  /** Adds an operator's or a system message to the live conversation; false once ended. */
  inject(text: string, role: 'system' | 'user'): boolean {
    if (this.#ended || !this.#realtime) return false;
    this.#realtime.inject(text, role);
    return true;
  }

  /**
   * Ends the call once: closes both legs and emits `ended`. Idempotent.
   * @param reason - `caller-hangup` when Twilio stopped or closed the stream.
   */
  end(reason: CallEndReason): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#realtime?.close();
    this.#deps.twilio.close(
      reason === 'error' ? 1011 : 1000,
      reason === 'error' ? 'bridge error' : 'call ended',
    );
    this.#deps.emit({
      event: 'ended',
      data: {
        reason,
        durationMs: Math.max(0, Math.round(this.#now() - this.#startedAt)),
        metrics: { bargeIns: this.#bargeIns, framesIn: this.#framesIn, framesOut: this.#framesOut },
      },
    });
    this.#deps.onEnded?.(reason);
  }
}
