import { z } from 'zod';

import {
  baseServiceEnv,
  intEnv,
  parseConfig,
  requireTwilioCredentialPair,
  twilioRestEnv,
} from '@app/platform';

/** A calls-per-second limit: at least one call per 20 s (the rate-limit bucket TTL is 60 s). */
const cpsEnv = (fallback: number) =>
  z.coerce
    .number({ error: 'expected a number of calls per second' })
    .min(0.05, 'expected at least 0.05 (one call per 20 s)')
    .max(1_000)
    .default(fallback);

function isSipUri(value: string): boolean {
  return /^sips?:[^\s?]+@[^\s?]+$/i.test(value);
}

/**
 * Environment of the campaign-scheduler: the shared variables (packages/platform README) plus
 * the Twilio account it dials with, where Twilio fetches the call's TwiML, and the dialer's
 * limits, retry policy and timing.
 */
export const configSchema = baseServiceEnv({ httpPort: 3002 })
  .extend({
    // The Twilio account that places the calls. Unset: call requests are still validated and
    // recorded, but nothing is dialed until it is set.
    ...twilioRestEnv,
    /** Longest a Twilio REST request may take (ms); the reclaim delay must be twice as long. */
    TWILIO_REQUEST_TIMEOUT_MS: intEnv({ min: 100, max: 60_000, default: 10_000 }),
    /**
     * The gateway's public URL, as Twilio reaches it (the gateway's PUBLIC_BASE_URL): outbound
     * Media Streams calls fetch `<url>/twilio/outbound`, status callbacks go to `<url>/twilio/status`.
     */
    GATEWAY_PUBLIC_URL: z
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must be an http:// or https:// URL')
      .default('http://127.0.0.1:3000'),
    /**
     * OpenAI's SIP endpoint for calls from `sip` numbers, e.g.
     * `sip:proj_123@sip.api.openai.com;transport=tls` (no `?` headers: the dialer adds them).
     * Unset: requests from SIP numbers fail with an error naming this variable.
     */
    OPENAI_SIP_URI: z
      .string()
      .refine(isSipUri, 'expected sip:<project>@<host>[;params] without ?headers')
      .optional(),
    /** Calls started per second across every replica (Twilio's account CPS; its default is 1). */
    DIAL_MAX_CPS: cpsEnv(1),
    /** Calls started per second from one caller id across every replica (Twilio's is 1). */
    DIAL_MAX_CPS_PER_NUMBER: cpsEnv(1),
    /** Outbound calls live at once (from dial until `ended`) across every replica. */
    DIAL_MAX_CONCURRENT: intEnv({ min: 1, max: 100_000, default: 20 }),
    /** Attempts per request, the first included; busy, no-answer and failed calls are retried. */
    DIAL_MAX_ATTEMPTS: intEnv({ min: 1, max: 20, default: 3 }),
    /** Wait before the second attempt (ms); doubled for each later one. */
    DIAL_RETRY_BACKOFF_MS: intEnv({ min: 0, max: 7 * 24 * 3_600_000, default: 60_000 }),
    /**
     * Wait after a Twilio 429, 5xx or network error (ms), doubled per error in a row up to
     * 5 minutes. Such errors are not attempts.
     */
    DIAL_TRANSIENT_BACKOFF_MS: intEnv({ min: 0, max: 300_000, default: 2_000 }),
    /** Twilio 429, 5xx or network errors in a row after which a request fails. */
    DIAL_MAX_TRANSIENT_FAILURES: intEnv({ min: 1, max: 1_000, default: 20 }),
    /** How long Twilio lets a call ring before it ends as no-answer (Twilio `Timeout`), s. */
    DIAL_RING_TIMEOUT_SEC: intEnv({ min: 1, max: 600, default: 30 }),
    /** Calls this replica places at the same time (each waits for its rate slot). */
    DIAL_PARALLELISM: intEnv({ min: 1, max: 100, default: 4 }),
    /** How often an idle dialer looks for due requests (ms); new requests wake it sooner. */
    DIAL_POLL_INTERVAL_MS: intEnv({ min: 10, max: 60_000, default: 1_000 }),
    /**
     * A request claimed this long ago and still `dialing` lost its dialer (ms): it is checked
     * against Twilio's call list and then adopted or dialed again. At least twice
     * TWILIO_REQUEST_TIMEOUT_MS, so a live dialer's request is never taken from it.
     */
    DIAL_RECLAIM_AFTER_MS: intEnv({ min: 200, max: 3_600_000, default: 60_000 }),
    /**
     * A dialed call with no `ended` after this long is looked up at Twilio (ms); an ended one is
     * closed with Twilio's final status, a live one is checked again after the same time.
     */
    DIAL_LIVE_CHECK_AFTER_MS: intEnv({ min: 200, max: 86_400_000, default: 600_000 }),
    /**
     * How often the campaign runner looks at running campaigns when no call is due sooner (ms);
     * an ended call wakes it sooner. Also the longest a resumed or started campaign waits.
     */
    CAMPAIGN_POLL_INTERVAL_MS: intEnv({ min: 10, max: 60_000, default: 500 }),
    /** Least time between two `campaigns.<id>.progress` events of a campaign (ms). */
    CAMPAIGN_PROGRESS_INTERVAL_MS: intEnv({ min: 100, max: 3_600_000, default: 2_000 }),
    /**
     * A contact `dialing` with no call request recorded after this long (ms) is published again
     * (its runner died between claiming and publishing). Safe: the same idempotency key.
     */
    CAMPAIGN_REPUBLISH_AFTER_MS: intEnv({ min: 100, max: 3_600_000, default: 30_000 }),
  })
  .superRefine((cfg, ctx) => {
    requireTwilioCredentialPair(cfg, ctx);
    if (cfg.DIAL_RECLAIM_AFTER_MS < 2 * cfg.TWILIO_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['DIAL_RECLAIM_AFTER_MS'],
        message: `must be at least 2 × TWILIO_REQUEST_TIMEOUT_MS (${2 * cfg.TWILIO_REQUEST_TIMEOUT_MS}) so a request a live dialer is placing is never dialed again`,
      });
    }
  });

export type Config = z.output<typeof configSchema>;

/** Parses and freezes the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseConfig(configSchema, env);
}
