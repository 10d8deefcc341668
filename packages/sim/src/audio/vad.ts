/**
 * Energy voice-activity detection, the simulator's stand-in for the Realtime API's server VAD
 * (openai-realtime.md, `turn_detection` type `server_vad`: threshold, prefix_padding_ms,
 * silence_duration_ms). Speech starts after `minSpeechMs` of frames above the threshold and
 * stops after `silenceDurationMs` below it. Times are ms of audio since the buffer started.
 */
import { rmsDbfs } from './mulaw.js';

export interface VadOptions {
  /** Level above which a 10 ms block is speech. @defaultValue -35 dBFS */
  thresholdDbfs?: number;
  /** Audio before the detected start included in the turn. @defaultValue 300 */
  prefixPaddingMs?: number;
  /** Silence that ends a turn. @defaultValue 500 */
  silenceDurationMs?: number;
  /** Loud audio needed before speech counts as started. @defaultValue 60 */
  minSpeechMs?: number;
}

export type VadEvent =
  { type: 'speech_started'; audioStartMs: number } | { type: 'speech_stopped'; audioEndMs: number };

const BLOCK_MS = 10;
const SAMPLES_PER_MS = 8;

export class EnergyVad {
  readonly #threshold: number;
  readonly #prefixMs: number;
  readonly #silenceMs: number;
  readonly #minSpeechMs: number;
  #pending = new Int16Array(0);
  #pendingStartMs = 0;
  #speaking = false;
  #loudMs = 0;
  #loudStartMs = 0;
  #quietMs = 0;
  #lastLoudEndMs = 0;

  constructor(opts: VadOptions = {}) {
    this.#threshold = opts.thresholdDbfs ?? -35;
    this.#prefixMs = opts.prefixPaddingMs ?? 300;
    this.#silenceMs = opts.silenceDurationMs ?? 500;
    this.#minSpeechMs = opts.minSpeechMs ?? 60;
  }

  get speaking(): boolean {
    return this.#speaking;
  }

  /** Feeds audio that starts at `startMs` (contiguous with earlier pushes). */
  push(pcm: Int16Array, startMs: number): VadEvent[] {
    if (this.#pending.length === 0) this.#pendingStartMs = startMs;
    const merged = new Int16Array(this.#pending.length + pcm.length);
    merged.set(this.#pending);
    merged.set(pcm, this.#pending.length);
    const events: VadEvent[] = [];
    const block = BLOCK_MS * SAMPLES_PER_MS;
    let offset = 0;
    for (; offset + block <= merged.length; offset += block) {
      const atMs = this.#pendingStartMs + offset / SAMPLES_PER_MS;
      const loud = rmsDbfs(merged.subarray(offset, offset + block)) > this.#threshold;
      this.#step(loud, atMs, events);
    }
    this.#pending = merged.slice(offset);
    this.#pendingStartMs += offset / SAMPLES_PER_MS;
    return events;
  }

  #step(loud: boolean, atMs: number, events: VadEvent[]): void {
    if (loud) {
      if (this.#loudMs === 0) this.#loudStartMs = atMs;
      this.#loudMs += BLOCK_MS;
      this.#quietMs = 0;
      this.#lastLoudEndMs = atMs + BLOCK_MS;
      if (!this.#speaking && this.#loudMs >= this.#minSpeechMs) {
        this.#speaking = true;
        events.push({
          type: 'speech_started',
          audioStartMs: Math.max(0, Math.round(this.#loudStartMs - this.#prefixMs)),
        });
      }
      return;
    }
    this.#quietMs += BLOCK_MS;
    if (!this.#speaking) {
      this.#loudMs = 0;
      return;
    }
    if (this.#quietMs >= this.#silenceMs) {
      this.#speaking = false;
      this.#loudMs = 0;
      events.push({ type: 'speech_stopped', audioEndMs: Math.round(this.#lastLoudEndMs) });
    }
  }
}
