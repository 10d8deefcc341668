/**
 * The input audio buffer of a session (openai-realtime.md §3, §4.1): decodes appended audio,
 * reads the caller's in-band tags (audio/tags.ts) and runs the energy VAD that stands in for
 * `server_vad`. Times are ms of audio since the session's first appended byte, as
 * `audio_start_ms`/`audio_end_ms` are (§4).
 */
import { EnergyVad, TagDetector, type Tag, type VadEvent } from '../audio/index.js';
import { bytesPerMs, decodeAudio } from './audio-codec.js';
import type { AudioFormat, TurnDetection } from './session-config.js';

/** Energy threshold for `threshold` 0.5 (the API default) is the VAD's own default, -35 dBFS. */
const BASE_DBFS = -35;
/** Silence before a turn ends for semantic_vad, by eagerness (a rough stand-in for §2.1). */
const SEMANTIC_SILENCE_MS = { low: 900, medium: 600, auto: 600, high: 350 } as const;

export class InputAudio {
  readonly #tags = new TagDetector();
  #vad: EnergyVad | null = null;
  /** All audio written this session, ms. */
  cursorMs = 0;
  /** Audio appended since the last commit/clear, ms. */
  bufferMs = 0;

  /** Re-arms the VAD for a new `turn_detection` (null: no VAD, the client commits). */
  configure(turnDetection: TurnDetection | null): void {
    if (turnDetection === null) {
      this.#vad = null;
      return;
    }
    if (turnDetection.type === 'semantic_vad') {
      this.#vad = new EnergyVad({
        silenceDurationMs: SEMANTIC_SILENCE_MS[turnDetection.eagerness],
      });
      return;
    }
    this.#vad = new EnergyVad({
      thresholdDbfs: BASE_DBFS + (turnDetection.threshold - 0.5) * 40,
      prefixPaddingMs: turnDetection.prefix_padding_ms,
      silenceDurationMs: turnDetection.silence_duration_ms,
    });
  }

  get vadEnabled(): boolean {
    return this.#vad !== null;
  }

  /** Feeds appended bytes; returns the tags and VAD events they contained, in stream order. */
  push(format: AudioFormat, bytes: Buffer): { tags: Tag[]; vad: VadEvent[] } {
    const pcm = decodeAudio(format, bytes);
    const startMs = this.cursorMs;
    const ms = bytes.length / bytesPerMs(format);
    this.cursorMs += ms;
    this.bufferMs += ms;
    const tags = this.#tags.push(pcm);
    const vad = this.#vad?.push(pcm, startMs) ?? [];
    return { tags, vad };
  }

  /** Empties the buffer (commit or clear); the VAD keeps its clock. */
  reset(): void {
    this.bufferMs = 0;
  }
}
