/**
 * The agent's audio on its way to Twilio: provider deltas of any size are re-cut into whole
 * 20 ms µ-law frames (Twilio plays 160-byte frames; a remainder waits for the next delta). A
 * mark follows each delta's last frame, and every {@link MARK_EVERY_FRAMES} frames of a long
 * one, so the {@link PlaybackClock} knows what the caller heard to within 100 ms and
 * extrapolates between echoes (Twilio plays its buffer in real time). A mark per frame would
 * double what goes out and what Twilio echoes back, for no better truncation point.
 * A frame the Twilio socket cannot take (back-pressure) is dropped, never queued, and no mark
 * counts it: only audio that left counts as sent. Pure: the socket is injected.
 */
import { PlaybackClock } from './playback-clock.js';

/** 20 ms of µ-law at 8 kHz. */
export const FRAME_BYTES = 160;
/** A delta longer than this many frames gets a mark inside it too (100 ms). */
export const MARK_EVERY_FRAMES = 5;
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
  /**
   * Runs `sends` so that the messages it sends leave in one socket write (a delta's frames and
   * marks: one syscall instead of ten). Optional: without it each message is its own write.
   */
  batch?(sends: () => void): void;
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
  /** Audio bytes sent since the last mark. */
  #unmarkedBytes = 0;
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
    this.#remainder = Buffer.from(audio.subarray(whole));
    if (whole === 0) return;
    this.#batch(() => {
      for (let at = 0, n = 1; at < whole; at += FRAME_BYTES, n++) {
        this.#frame(audio.subarray(at, at + FRAME_BYTES), FRAME_BYTES, receivedAt);
        if (n % MARK_EVERY_FRAMES === 0) this.#mark(itemId);
      }
      this.#mark(itemId);
    });
  }

  /** The item's audio is complete: the last part frame goes out, padded with µ-law silence. */
  done(itemId: string, receivedAt: number = performance.now()): void {
    if (itemId !== this.#item || this.#remainder.length === 0) return;
    const real = this.#remainder.length;
    const frame = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE);
    this.#remainder.copy(frame);
    this.#remainder = Buffer.alloc(0);
    this.#batch(() => {
      this.#frame(frame, real, receivedAt);
      this.#mark(itemId);
    });
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
    this.#unmarkedBytes = 0;
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

  #batch(sends: () => void): void {
    if (this.#twilio.batch) this.#twilio.batch(sends);
    else sends();
  }

  #frame(frame: Buffer, realBytes: number, receivedAt: number): void {
    const ok = this.#twilio.send({
      event: 'media',
      streamSid: this.#streamSid,
      media: { payload: frame.toString('base64') },
    });
    if (!ok) {
      this.#sink.dropped();
      return;
    }
    this.#unmarkedBytes += realBytes;
    this.#sink.sent(receivedAt);
  }

  /** A mark after the audio sent since the last one; none when nothing went out. */
  #mark(itemId: string): void {
    if (this.#unmarkedBytes === 0) return;
    const name = this.clock.sent(itemId, this.#unmarkedBytes);
    this.#unmarkedBytes = 0;
    this.#twilio.send({ event: 'mark', streamSid: this.#streamSid, mark: { name } });
  }
}
