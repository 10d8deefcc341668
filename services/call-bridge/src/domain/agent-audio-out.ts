/**
 * The agent's audio on its way to Twilio: provider deltas of any size are re-cut into whole
 * 20 ms µ-law frames (Twilio plays 160-byte frames; a remainder waits for the next delta), each
 * followed by a mark, so the {@link PlaybackClock} knows to the frame what the caller heard.
 * A frame the Twilio socket cannot take (back-pressure) is dropped, never queued, and gets no
 * mark: only audio that left counts as sent. Pure: the socket is injected.
 */
import { PlaybackClock } from './playback-clock.js';

/** 20 ms of µ-law at 8 kHz. */
export const FRAME_BYTES = 160;
/** µ-law code of silence. */
const MULAW_SILENCE = 0xff;

/** Messages the bridge sends to Twilio (twilio.md 4.3). */
export type TwilioOutbound =
  | { event: 'media'; streamSid: string; media: { payload: string } }
  | { event: 'mark'; streamSid: string; mark: { name: string } }
  | { event: 'clear'; streamSid: string };

export interface TwilioLeg {
  /** Sends one message; false when the socket's buffer is full and it was dropped. */
  send(message: TwilioOutbound): boolean;
  close(code: number, reason: string): void;
}

export interface FrameSink {
  /** A frame left for Twilio, `receivedAt` ms (performance.now) after its delta arrived. */
  sent(receivedAt: number): void;
  dropped(): void;
}

export class AgentAudioOut {
  readonly clock = new PlaybackClock();
  readonly #twilio: TwilioLeg;
  readonly #streamSid: string;
  readonly #sink: FrameSink;
  /** The item whose audio went out last; null after a clear. */
  #item: string | null = null;
  /** Audio of {@link #item} short of a whole frame. */
  #remainder: Buffer = Buffer.alloc(0);
  /** Items cut off by a clear: their late deltas are dropped. */
  readonly #cut = new Set<string>();

  constructor(twilio: TwilioLeg, streamSid: string, sink: FrameSink) {
    this.#twilio = twilio;
    this.#streamSid = streamSid;
    this.#sink = sink;
  }

  /** The item being played, if any. */
  get item(): string | null {
    return this.#item;
  }

  /** One provider delta of `itemId`. */
  delta(itemId: string, payload: string, receivedAt: number): void {
    if (this.#cut.has(itemId)) return;
    if (this.#item !== itemId) {
      if (this.#item !== null) this.done(this.#item, receivedAt);
      this.#item = itemId;
    }
    const bytes = Buffer.from(payload, 'base64');
    const audio = this.#remainder.length > 0 ? Buffer.concat([this.#remainder, bytes]) : bytes;
    const whole = audio.length - (audio.length % FRAME_BYTES);
    for (let at = 0; at < whole; at += FRAME_BYTES) {
      this.#frame(itemId, audio.subarray(at, at + FRAME_BYTES), FRAME_BYTES, receivedAt);
    }
    this.#remainder = Buffer.from(audio.subarray(whole));
  }

  /** The item's audio is complete: the last part frame goes out, padded with µ-law silence. */
  done(itemId: string, receivedAt: number = performance.now()): void {
    if (itemId !== this.#item || this.#remainder.length === 0) return;
    const real = this.#remainder.length;
    const frame = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE);
    this.#remainder.copy(frame);
    this.#remainder = Buffer.alloc(0);
    this.#frame(itemId, frame, real, receivedAt);
  }

  /**
   * Flushes Twilio's playback buffer (barge-in, provider loss) and forgets the current item.
   * @param nowMs - The time of the flush, on the clock mark echoes were stamped with.
   * @returns The cut item, how much of it the caller heard (estimated from the last echo) and
   *   how much of that a mark confirmed, or null when nothing played.
   */
  clear(
    nowMs: number,
  ): { itemId: string; heardMs: number; confirmedMs: number; sentMs: number } | null {
    const itemId = this.#item;
    const playing = this.clock.playing;
    if (playing) this.#twilio.send({ event: 'clear', streamSid: this.#streamSid });
    this.#remainder = Buffer.alloc(0);
    this.#item = null;
    if (itemId === null || !playing) return null;
    const cut = {
      itemId,
      heardMs: this.clock.estimateHeardMs(itemId, nowMs),
      confirmedMs: this.clock.heardMs(itemId),
      sentMs: this.clock.sentMs(itemId),
    };
    this.clock.cleared();
    this.#cut.add(itemId);
    return cut;
  }

  #frame(itemId: string, frame: Buffer, realBytes: number, receivedAt: number): void {
    const streamSid = this.#streamSid;
    const ok = this.#twilio.send({
      event: 'media',
      streamSid,
      media: { payload: frame.toString('base64') },
    });
    if (!ok) {
      this.#sink.dropped();
      return;
    }
    const name = this.clock.sent(itemId, realBytes);
    this.#twilio.send({ event: 'mark', streamSid, mark: { name } });
    this.#sink.sent(receivedAt);
  }
}
