/**
 * Removes calls' events from the CALLS JetStream stream (issue 10: a caller's erasure). The
 * stream keeps a copy of every call event for its max age (7 days, `@app/contracts`), so
 * deleting the database rows alone leaves the caller's number and words there until then.
 *
 * One filtered purge per call (`calls.<callId>.>`, nats-server 2.9+): other calls' messages
 * stay. Call ids are checked as subject tokens before the first request, so an id holding
 * `.`, `*` or `>` can never widen the filter to other calls.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

import type { Names } from '@app/contracts';
import { SystemError } from '@app/platform';

/** The purge stopped at a call it could not purge; the messages removed until then. */
export class CallEventPurgeError extends SystemError {
  constructor(
    message: string,
    /** Messages removed before the failure. */
    readonly purged: number,
    options: ErrorOptions = {},
  ) {
    super(message, { ...options, code: 'CALL_EVENT_PURGE_FAILED', retryable: true });
  }
}

export interface CallEventPurge {
  /**
   * How long the stream keeps a message (its max age), in ms: the events of a call that ended
   * longer ago than this are gone from it already, and need no purge.
   */
  readonly maxAgeMs: number;
  /**
   * Removes every stored event of each call; resolves with the messages removed (0 for a call
   * with none left, so a repeat is harmless). Throws a `TypeError` for an id that is not a
   * subject token (nothing purged), and a {@link CallEventPurgeError} at the first call it
   * could not purge (NATS unreachable, no stream).
   */
  purge(callIds: readonly string[]): Promise<number>;
}

export interface JetStreamCallEventPurgeOptions {
  /** Longest wait for one purge request, in ms. @defaultValue 5000 */
  timeoutMs?: number;
}

export class JetStreamCallEventPurge implements CallEventPurge {
  readonly maxAgeMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: Names,
    opts: JetStreamCallEventPurgeOptions = {},
  ) {
    const timeoutMs = opts.timeoutMs ?? 5_000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
      throw new RangeError(`timeoutMs must be a whole number of ms ≥ 1, got ${timeoutMs}`);
    }
    this.timeoutMs = timeoutMs;
    this.maxAgeMs = names.streams.calls.maxAgeMs;
  }

  async purge(callIds: readonly string[]): Promise<number> {
    // Validates every id first (callEventsOf throws a TypeError): all or nothing on bad input.
    const filters = [...new Set(callIds)].map((id) => this.names.subjects.callEventsOf(id));
    if (filters.length === 0) return 0;
    const stream = this.names.streams.calls.name;
    let purged = 0;
    try {
      // No account check: the purge itself is the first request, and its failure says enough.
      const jsm = await jetstreamManager(this.nc, { checkAPI: false, timeout: this.timeoutMs });
      // One at a time: an erasure has a handful of calls, and an unreachable server then
      // costs one timeout, not one per call.
      for (const filter of filters) {
        purged += (await jsm.streams.purge(stream, { filter })).purged;
      }
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new CallEventPurgeError(`could not purge call events from ${stream}: ${why}`, purged, {
        cause: err,
      });
    }
    return purged;
  }
}
