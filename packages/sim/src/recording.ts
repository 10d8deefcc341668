/**
 * What one side of a simulated call sent and received, with timestamps, so tests assert on
 * what the caller heard and when (and on the bad input the system under test produced).
 */
import { epochNowMs } from './clock.js';

export interface RecordingEntry {
  /** Milliseconds since the recording started (from the recording's clock, 0.1 ms steps). */
  readonly atMs: number;
  /**
   * When the entry was made, in fractional ms since the Unix epoch
   * (`performance.timeOrigin + performance.now()`): the clock of the OpenAI simulator's
   * `sent[].atEpochMs`, so cross-side timing can be asserted. Always real time, even when the
   * recording was given another clock.
   */
  readonly atEpochMs: number;
  /** Dotted kind, e.g. `caller.say`, `received.clear`, `protocol.error`. */
  readonly kind: string;
  readonly data?: Record<string, unknown>;
}

export class CallRecording {
  readonly #clock: () => number;
  /** Whether `#clock` is `performance.now`, so one reading gives `atMs` and `atEpochMs`. */
  readonly #performanceClock: boolean;
  readonly #startedAt: number;
  readonly #entries: RecordingEntry[] = [];

  /** @param clock - ms clock. @defaultValue `performance.now` */
  constructor(clock?: () => number) {
    this.#clock = clock ?? (() => performance.now());
    this.#performanceClock = clock === undefined;
    this.#startedAt = this.#clock();
  }

  /** Milliseconds since the recording started. */
  now(): number {
    return Math.round((this.#clock() - this.#startedAt) * 10) / 10;
  }

  add(kind: string, data?: Record<string, unknown>): void {
    const t = this.#clock();
    const at = {
      atMs: Math.round((t - this.#startedAt) * 10) / 10,
      // One reading for both, so the two never disagree (a GC pause between reads would).
      atEpochMs: this.#performanceClock ? performance.timeOrigin + t : epochNowMs(),
    };
    this.#entries.push(data === undefined ? { ...at, kind } : { ...at, kind, data });
  }

  get entries(): ReadonlyArray<RecordingEntry> {
    return this.#entries;
  }

  ofKind(kind: string): RecordingEntry[] {
    return this.#entries.filter((e) => e.kind === kind);
  }

  toJSON(): { entries: ReadonlyArray<RecordingEntry> } {
    return { entries: this.#entries };
  }
}
