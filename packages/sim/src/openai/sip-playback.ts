/**
 * Plays the model's audio to the SIP caller in 20 ms G.711 μ-law frames, at real time (10×
 * faster in `fast` pacing). On SIP the server owns the output buffer and knows what was played,
 * so barge-in truncation uses {@link SipPlayback.clear}'s answer (openai-realtime.md §5).
 */
import { encodeMulaw, FRAME_BYTES, FRAME_MS, MULAW_SILENCE } from '../audio/index.js';
import { decodeAudio } from './audio-codec.js';
import type { AudioOut, RealtimeSession } from './realtime-session.js';
import type { Pacing } from './response-generator.js';

interface QueuedFrame {
  itemId: string;
  responseId: string;
  frame: Buffer;
}

export class SipPlayback implements AudioOut {
  readonly #queue: QueuedFrame[] = [];
  readonly #played = new Map<string, number>();
  #current: { itemId: string; responseId: string } | null = null;
  #playing: string | null = null;
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #framesOut = 0;
  readonly #frameMs: number;

  constructor(
    private readonly session: RealtimeSession,
    private readonly sink: { heard(frame: Buffer): void; cleared(): void },
    private readonly pacing: Pacing,
  ) {
    // 'fast' compresses time 10x like the Twilio side and the caller (2 ms frames), so a
    // barge-in still lands while audio is playing, as it would in real time.
    this.#frameMs = pacing === 'realtime' ? FRAME_MS : FRAME_MS / 10;
    this.#timer = setInterval(() => this.#tick(), this.#frameMs / 2);
    this.#timer.unref();
  }

  play(itemId: string, responseId: string, bytes: Buffer): void {
    // The SIP leg is G.711 μ-law whatever the session's output format (§11: UNCONFIRMED).
    const mulaw = encodeMulaw(decodeAudio(this.session.config.audio.output.format, bytes));
    for (let i = 0; i < mulaw.length; i += FRAME_BYTES) {
      const frame = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE);
      mulaw.copy(frame, 0, i, Math.min(i + FRAME_BYTES, mulaw.length));
      this.#queue.push({ itemId, responseId, frame });
    }
  }

  #out(q: QueuedFrame): void {
    if (this.#playing !== q.responseId) {
      this.#playing = q.responseId;
      this.session.emit({ type: 'output_audio_buffer.started', response_id: q.responseId });
    }
    this.#current = { itemId: q.itemId, responseId: q.responseId };
    this.#played.set(q.itemId, (this.#played.get(q.itemId) ?? 0) + FRAME_MS);
    this.sink.heard(q.frame);
  }

  #maybeStopped(): void {
    if (this.#queue.length > 0 || this.#playing === null) return;
    if (this.session.active?.id === this.#playing) return;
    this.session.emit({ type: 'output_audio_buffer.stopped', response_id: this.#playing });
    this.#playing = null;
  }

  #tick(): void {
    if (this.#queue.length === 0) {
      // Idle: restart the clock so the next response plays from "now".
      this.#startedAt = performance.now();
      this.#framesOut = 0;
      this.#maybeStopped();
      return;
    }
    const due = Math.floor((performance.now() - this.#startedAt) / this.#frameMs) + 1;
    while (this.#framesOut < due) {
      const q = this.#queue.shift();
      if (!q) break;
      this.#framesOut += 1;
      this.#out(q);
    }
  }

  /**
   * Drops the unplayed audio. `null` when nothing was playing or being generated (then there
   * is nothing to clear and the caller is not told of a clear).
   */
  clear(): { itemId: string; responseId: string; playedMs: number } | null {
    const current = this.#current;
    const hadAudio = this.#queue.length > 0 || this.session.active !== null;
    this.#queue.length = 0;
    if (!hadAudio || !current) return null;
    this.sink.cleared();
    this.#playing = null;
    return {
      itemId: current.itemId,
      responseId: current.responseId,
      playedMs: this.#played.get(current.itemId) ?? 0,
    };
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#queue.length = 0;
  }
}
