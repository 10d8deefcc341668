/**
 * Call progress callbacks of one call (twilio.md §1.4, §5.2): only the subscribed events, a
 * 0-based `SequenceNumber` counting the callbacks actually sent, RFC 2822 `Timestamp`,
 * `CallbackSource=call-progress-events`, delivered in order.
 */
import type { Logger } from '@app/platform';

import type { CallRecording } from '../recording.js';
import { rfc2822 } from './call-store.js';
import { prepareWebhook, sendWebhook, type HttpMethod } from './webhook-client.js';

export const STATUS_EVENTS = ['initiated', 'ringing', 'answered', 'completed'] as const;
export type StatusEvent = (typeof STATUS_EVENTS)[number];

/**
 * Parses `StatusCallbackEvent`: the SDK repeats the form key, Twilio prose also shows
 * space-separated values; accept both (§1.4). None given: only `completed`.
 */
export function parseStatusEvents(raw: string | string[] | undefined): Set<StatusEvent> {
  const values = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw])
    .flatMap((v) => v.split(/[\s,]+/))
    .filter((v) => v !== '');
  const out = new Set<StatusEvent>();
  for (const v of values) {
    if ((STATUS_EVENTS as readonly string[]).includes(v)) out.add(v as StatusEvent);
  }
  if (out.size === 0) out.add('completed');
  return out;
}

export interface StatusCallbackOptions {
  url: string | undefined;
  method: HttpMethod;
  events: ReadonlySet<StatusEvent>;
  authToken: string;
  recording: CallRecording;
  log: Logger;
  timeoutMs: number;
}

export class StatusCallbacks {
  readonly #opts: StatusCallbackOptions;
  #sequence = 0;
  #chain: Promise<void> = Promise.resolve();

  constructor(opts: StatusCallbackOptions) {
    this.#opts = opts;
  }

  /**
   * Queues the callback for `event` if subscribed. `params` carries the call's standard
   * parameters and `CallStatus`; terminal extras (`CallDuration`, `SipResponseCode`) too.
   */
  emit(event: StatusEvent, params: Record<string, string>): void {
    const { url, events } = this.#opts;
    if (url === undefined || !events.has(event)) return;
    const full: Record<string, string> = {
      ...params,
      CallbackSource: 'call-progress-events',
      SequenceNumber: String(this.#sequence++),
      Timestamp: rfc2822(new Date()),
    };
    this.#chain = this.#chain.then(() => this.#send(url, event, full));
  }

  /** Resolves when every queued callback has been delivered (or failed). */
  flush(): Promise<void> {
    return this.#chain;
  }

  async #send(url: string, event: StatusEvent, params: Record<string, string>): Promise<void> {
    const { method, authToken, recording, log, timeoutMs } = this.#opts;
    const req = prepareWebhook(authToken, method, url, params);
    try {
      const res = await sendWebhook(req, { timeoutMs });
      recording.add('webhook.status-callback', {
        event,
        callStatus: params.CallStatus,
        sequenceNumber: params.SequenceNumber,
        httpStatus: res.status,
      });
    } catch (err) {
      // Twilio does not retry status callbacks by default; it logs a debugger warning.
      recording.add('webhook.status-callback', { event, error: String(err) });
      log.warn({ err, event }, 'status callback failed');
    }
  }
}
