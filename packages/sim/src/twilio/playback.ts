/**
 * Twilio's side of outbound audio on a bidirectional stream: a buffer played to the caller at
 * one 20 ms frame per frame interval, with marks that are echoed once everything queued before
 * them has finished playing, and `clear` that drops what has not played (twilio.md §4.3).
 */
import { FRAME_BYTES, MULAW_SILENCE } from '../audio/index.js';

/** Twilio discards outbound audio buffered beyond 10 minutes (warning 31931, §4.3). */
export const MAX_BUFFERED_FRAMES = (10 * 60 * 1000) / 20;

type Item = { kind: 'audio'; frame: Buffer } | { kind: 'mark'; name: string };

export interface PlaybackEvents {
  /** A frame starts playing (the caller hears it). */
  played(frame: Buffer): void;
  /** A mark's audio has played (or was cleared): echo it now. */
  markDone(name: string, cleared: boolean): void;
  /** Audio was dropped because the buffer was full. */
  overflow(droppedFrames: number): void;
  /** The buffer ran dry after playing `frames` frames. */
  idle(frames: number): void;
}

export class Playback {
  readonly #frameIntervalMs: number;
  readonly #events: PlaybackEvents;
  readonly #queue: Item[] = [];
  /** Bytes of a payload that did not fill a whole frame; completed by the next payload. */
  #partial: Buffer = Buffer.alloc(0);
  #bufferedFrames = 0;
  #timer: NodeJS.Timeout | undefined;
  #playing = false;
  #runStartedAt = 0;
  #runFrames = 0;
  #stopped = false;

  /** @param frameIntervalMs - wall-clock ms per 20 ms frame: 20 in realtime, less when fast. */
  constructor(frameIntervalMs: number, events: PlaybackEvents) {
    this.#frameIntervalMs = frameIntervalMs;
    this.#events = events;
  }

  /** Frames queued and not yet played. */
  get bufferedFrames(): number {
    return this.#bufferedFrames;
  }

  /** Queues µ-law bytes of any length; whole frames become playable at once. */
  enqueueAudio(bytes: Buffer): void {
    if (this.#stopped) return;
    let data = this.#partial.length > 0 ? Buffer.concat([this.#partial, bytes]) : bytes;
    let dropped = 0;
    while (data.length >= FRAME_BYTES) {
      const frame = Buffer.from(data.subarray(0, FRAME_BYTES));
      data = data.subarray(FRAME_BYTES);
      if (this.#bufferedFrames >= MAX_BUFFERED_FRAMES) {
        dropped += 1;
        continue;
      }
      this.#queue.push({ kind: 'audio', frame });
      this.#bufferedFrames += 1;
    }
    this.#partial = Buffer.from(data);
    if (dropped > 0) this.#events.overflow(dropped);
    this.#kick();
  }

  /** Queues a mark behind the audio queued so far (a partial frame is padded and played first). */
  enqueueMark(name: string): void {
    if (this.#stopped) return;
    this.#flushPartial();
    this.#queue.push({ kind: 'mark', name });
    this.#kick();
  }

  /** Drops unplayed audio; pending marks are echoed at once (Fonoster-documented, §4.3). */
  clear(): number {
    const droppedFrames = this.#bufferedFrames;
    const marks = this.#queue.filter((i) => i.kind === 'mark');
    this.#queue.length = 0;
    this.#partial = Buffer.alloc(0);
    this.#bufferedFrames = 0;
    for (const m of marks) this.#events.markDone(m.name, true);
    return droppedFrames;
  }

  /** Stops playing for good (stream ended); nothing more is echoed. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#queue.length = 0;
  }

  #flushPartial(): void {
    if (this.#partial.length === 0) return;
    const frame = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE);
    this.#partial.copy(frame);
    this.#partial = Buffer.alloc(0);
    this.#queue.push({ kind: 'audio', frame });
    this.#bufferedFrames += 1;
  }

  #kick(): void {
    if (this.#playing || this.#stopped) return;
    this.#playing = true;
    this.#runStartedAt = performance.now();
    this.#runFrames = 0;
    this.#tick();
  }

  /**
   * Called when the previous frame has finished playing (or at once when idle): echoes the
   * marks now at the head, then starts the next frame.
   */
  #tick = (): void => {
    if (this.#stopped) return;
    while (this.#queue[0]?.kind === 'mark') {
      const mark = this.#queue.shift() as { name: string };
      this.#events.markDone(mark.name, false);
    }
    const next = this.#queue.shift();
    if (next === undefined) {
      this.#playing = false;
      if (this.#runFrames > 0) this.#events.idle(this.#runFrames);
      return;
    }
    if (next.kind !== 'audio') return; // unreachable: marks were drained above
    this.#bufferedFrames -= 1;
    this.#runFrames += 1;
    this.#events.played(next.frame);
    // Drift-free schedule: frame n ends at start + n * interval.
    const due = this.#runStartedAt + this.#runFrames * this.#frameIntervalMs;
    this.#timer = setTimeout(this.#tick, Math.max(0, due - performance.now()));
  };
}
