/**
 * The dialer's Prometheus metrics, registered on the service's registry (served on `/metrics`
 * by `@app/platform`). Counters are this replica's; `live_calls` is read from the database on
 * each scrape, so every replica reports the same fleet-wide figure the cap applies to.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * What became of an attempt the dial loop or the reconciler handled:
 * - `placed`: Twilio created the call; `adopted`: a call Twilio had made anyway was found;
 * - `rejected`: do-not-call found at dial time; `failed`: refused by Twilio (4xx), or cannot be
 *   placed (configuration, agent deleted, empty pool), or too many provider errors in a row;
 * - `retry_later`: a 429/5xx/network error that is not an attempt; `unknown`: timed out, the
 *   reconciler decides; `released`: given back (shutdown, or a stale claim with no call).
 */
export type AttemptOutcome =
  'placed' | 'adopted' | 'rejected' | 'failed' | 'retry_later' | 'unknown' | 'released';

export interface DialerMetrics {
  attempts: Counter<'outcome'>;
  /** Call ends applied to requests, by end reason and what the retry policy decided. */
  callEnds: Counter<'reason' | 'decision'>;
  /** `calls.create` errors, by kind (dial-errors.ts). */
  providerErrors: Counter<'kind'>;
  /** Times a call had to wait for a rate limit, by limit (`global`, `number`). */
  rateLimitWaits: Counter<'limit'>;
  /** How long each such wait was. */
  rateLimitWaitSeconds: Histogram<'limit'>;
  /** `calls.create` round trips, successful or not. */
  dialLatency: Histogram<'result'>;
  /** Requests taken off the work queue, by result (`accepted`, `rejected`, `duplicate`). */
  requests: Counter<'result'>;
  /** Validation refusals, by issue code (`consent_missing`, `unknown_pool`, ...). */
  rejections: Counter<'code'>;
}

/**
 * Registers the metrics on `registry`.
 *
 * @param liveCalls - Counts the calls live now (`dialing` or `dialed` requests), read on scrape.
 */
export function createDialerMetrics(
  registry: Registry,
  liveCalls?: () => Promise<number>,
): DialerMetrics {
  if (liveCalls) {
    new Gauge({
      name: 'campaign_scheduler_live_calls',
      help: 'Outbound calls live now (dialing or dialed) across every replica: the DIAL_MAX_CONCURRENT count',
      registers: [registry],
      async collect() {
        // A failed read leaves the last value rather than failing the whole scrape.
        try {
          this.set(await liveCalls());
        } catch {
          /* the database is down: /readyz says so */
        }
      },
    });
  }
  return {
    attempts: new Counter({
      name: 'campaign_scheduler_dial_attempts_total',
      help: 'Call attempts handled by this replica, by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    callEnds: new Counter({
      name: 'campaign_scheduler_call_ends_total',
      help: 'Ends of our outbound calls applied to their requests, by end reason and decision (retry, failed, completed, canceled)',
      labelNames: ['reason', 'decision'],
      registers: [registry],
    }),
    providerErrors: new Counter({
      name: 'campaign_scheduler_provider_errors_total',
      help: 'Twilio calls.create errors, by kind (rate-limited, not-sent, unknown-outcome, timed-out, refused)',
      labelNames: ['kind'],
      registers: [registry],
    }),
    rateLimitWaits: new Counter({
      name: 'campaign_scheduler_rate_limit_waits_total',
      help: 'Times a call waited for a calls-per-second limit, by limit (global, number)',
      labelNames: ['limit'],
      registers: [registry],
    }),
    rateLimitWaitSeconds: new Histogram({
      name: 'campaign_scheduler_rate_limit_wait_seconds',
      help: 'How long a call was told to wait for a calls-per-second limit, by limit',
      labelNames: ['limit'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 20],
      registers: [registry],
    }),
    dialLatency: new Histogram({
      name: 'campaign_scheduler_dial_latency_seconds',
      help: 'Twilio calls.create round trip, by result (ok, error)',
      labelNames: ['result'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    requests: new Counter({
      name: 'campaign_scheduler_call_requests_total',
      help: 'Call requests taken off the CALL_REQUESTS work queue, by result',
      labelNames: ['result'],
      registers: [registry],
    }),
    rejections: new Counter({
      name: 'campaign_scheduler_call_request_rejections_total',
      help: 'Validation issues of rejected call requests, by code',
      labelNames: ['code'],
      registers: [registry],
    }),
  };
}
