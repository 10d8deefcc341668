/**
 * What one side of a simulated call sent and received, with timestamps, so tests assert on
 * what the caller heard and when (and on the bad input the system under test produced).
 */

export interface RecordingEntry {
  /** Milliseconds since the recording started. */
  readonly atMs: number;
  /** Dotted kind, e.g. `caller.say`, `received.clear`, `protocol.error`. */
  readonly kind: string;
  readonly data?: Record<string, unknown>;
}

export class CallRecording {
  readonly #clock: () => number;
  readonly #startedAt: number;
  readonly #entries: RecordingEntry[] = [];

  /** @param clock - ms clock. @defaultValue `performance.now` */
  constructor(clock: () => number = () => performance.now()) {
    this.#clock = clock;
    this.#startedAt = clock();
  }

  /** Milliseconds since the recording started. */
  now(): number {
    return Math.round((this.#clock() - this.#startedAt) * 10) / 10;
  }

  add(kind: string, data?: Record<string, unknown>): void {
    this.#entries.push(
      data === undefined ? { atMs: this.now(), kind } : { atMs: this.now(), kind, data },
    );
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
