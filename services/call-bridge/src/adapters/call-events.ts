/**
 * Publishes a session's call events to JetStream `calls.<callId>.<event>`.
 *
 * A call outlives a NATS restart (its media never crosses NATS), so its events must too: each
 * publish is retried until the stream acks it, and a call's events go out one after another, so
 * the projector (which numbers transcript turns in stream order) sees them in the order they
 * happened. Retries re-send the same event id (`Nats-Msg-Id`), so a publish whose ack was lost
 * is stored once; they stop within the stream's duplicate window, after which a re-send could
 * be stored twice.
 */
import type { JetStreamClient } from '@nats-io/jetstream';

import { callEvent, publishEvent, type CallEvent, type Names } from '@app/contracts';

import type { SessionEvent } from '../domain/call-session.js';

/** How a failed publish is retried. */
export interface PublishRetryPolicy {
  /** Give up (the returned promise rejects) this long after the first attempt, in ms. */
  giveUpAfterMs: number;
  /** First delay between attempts, in ms; doubles per attempt up to {@link maxDelayMs}. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** 90 s: well inside the CALLS stream's 2-minute duplicate window. */
export const DEFAULT_PUBLISH_RETRY: PublishRetryPolicy = {
  giveUpAfterMs: 90_000,
  baseDelayMs: 250,
  maxDelayMs: 2_000,
};

/** Errors no retry can fix: the event fails its schema, or the connection was closed for good. */
function isFinal(err: unknown): boolean {
  return err instanceof TypeError || (err instanceof Error && err.name === 'ClosedConnectionError');
}

export function callEventPublisher(
  js: JetStreamClient,
  names: Names,
  retry: PublishRetryPolicy = DEFAULT_PUBLISH_RETRY,
): (callId: string, event: SessionEvent) => Promise<void> {
  /** Per call, the last publish queued: the next one starts after it settles. */
  const tails = new Map<string, Promise<void>>();

  const publishWithRetry = async (event: CallEvent): Promise<void> => {
    const giveUpAt = Date.now() + retry.giveUpAfterMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await publishEvent(js, names, event);
        return;
      } catch (err) {
        const delay = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** Math.min(attempt, 10));
        if (isFinal(err) || Date.now() + delay > giveUpAt) throw err;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };

  return (callId, e) => {
    // Built now, once: its time is when it happened, and every attempt carries the same id.
    let event: CallEvent;
    try {
      event = callEvent(e.event, callId, e.data as never);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const previous = tails.get(callId) ?? Promise.resolve();
    // The previous event's failure is its own caller's to log; this one goes out regardless.
    const result = previous.catch(() => undefined).then(() => publishWithRetry(event));
    const tail = result.catch(() => undefined);
    tails.set(callId, tail);
    void tail.then(() => {
      if (tails.get(callId) === tail) tails.delete(callId);
    });
    return result;
  };
}
