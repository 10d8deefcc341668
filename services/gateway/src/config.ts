import { z } from 'zod';

import {
  baseServiceEnv,
  boolEnv,
  intEnv,
  listEnv,
  parseConfig,
  refuseDevStreamTokenSecret,
  streamTokenSecretEnv,
} from '@app/platform';

/**
 * Environment of the gateway: the shared variables (packages/platform README) plus the public
 * edge's own.
 */
export const configSchema = baseServiceEnv({ httpPort: 3000 })
  .extend({
    /**
     * The URL Twilio uses to reach this gateway (scheme, host, optional path prefix), e.g.
     * `https://voice.example.com`. Twilio signs the URL it called, so behind a proxy or ingress
     * this, not the socket address, is what signatures are checked against.
     */
    PUBLIC_BASE_URL: z.url().default('http://127.0.0.1:3000'),
    /** Twilio auth token, to verify X-Twilio-Signature. Unset: every Twilio webhook gets 503. */
    TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
    /** Where Twilio opens the media WebSocket: the call-bridge's public `/media` URL. */
    CALL_BRIDGE_MEDIA_URL: z.url().default('ws://127.0.0.1:3001/media'),
    /** Signs the short-lived stream token checked by call-bridge; at least 32 characters. */
    STREAM_TOKEN_SECRET: streamTokenSecretEnv,
    /** Lifetime of a stream token, in seconds: Twilio opens the stream within a second or two. */
    STREAM_TOKEN_TTL_SEC: z.coerce.number().int().min(5).max(3_600).default(60),
    /**
     * Signing secret of the OpenAI project webhook (`whsec_…`), to verify `POST /openai/webhook`.
     * Unset: every OpenAI webhook gets 503.
     */
    OPENAI_WEBHOOK_SECRET: z
      .string()
      .startsWith('whsec_', 'must be the webhook signing secret, starting with whsec_')
      .optional(),
    /** OpenAI API key, to reject SIP calls no agent or bridge takes. Unset: OpenAI webhooks get 503. */
    OPENAI_API_KEY: z.string().min(1).optional(),
    /** OpenAI REST base URL, e.g. `https://api.openai.com/v1` (the SDK default when unset). */
    OPENAI_BASE_URL: z.url().optional(),
    /**
     * How far a webhook's timestamp may be from now, in seconds, either way. At most 300: the
     * `openai-webhook-ids` bucket keeps claims for 2 × 300 s plus a minute, the whole window
     * in which a captured webhook would still verify.
     */
    OPENAI_WEBHOOK_TOLERANCE_SEC: intEnv({ min: 1, max: 300, default: 300 }),
    /**
     * How long an incoming SIP call is offered to the bridges (retrying while each is full or
     * draining) before it is rejected busy, in ms. OpenAI expects the webhook answered within a
     * few seconds.
     */
    SIP_OFFER_DEADLINE_MS: intEnv({ min: 100, max: 10_000, default: 2_000 }),
    /**
     * How far ahead `POST /v1/calls` accepts a `scheduledAt`, in days. At most 30: the
     * CALL_REQUESTS stream keeps a request 30 days, so a later one could expire before its time.
     */
    CALL_MAX_SCHEDULE_AHEAD_DAYS: intEnv({ min: 1, max: 30, default: 30 }),
    /**
     * The built dashboard (index.html and assets/) served at `/`. Unset: packages/dashboard/dist
     * of this checkout (the container image sets it to the copy inside the image).
     */
    DASHBOARD_DIR: z.string().min(1).optional(),
    /**
     * Whether the dashboard's session cookie is Secure (sent over HTTPS only) and named
     * `__Host-vp_session`; false names it `vp_session`. Unset: true when NODE_ENV is
     * `production`, false otherwise, so `pnpm dev` on http://127.0.0.1 can sign in while a
     * deployment cannot leak the cookie over plain HTTP by default. Read it through
     * {@link sessionCookieSecure}.
     */
    SESSION_COOKIE_SECURE: boolEnv.optional(),
    /**
     * How long a dashboard sign-in lasts, in hours, from sign-in (the cookie's Max-Age and the
     * session's `expiresAt`); then the user signs in again.
     */
    SESSION_TTL_HOURS: intEnv({ min: 1, max: 720, default: 12 }),
    // [edge] rate limits, body size, CORS (routes/edge-security.ts)
    /** Sign-in attempts (`POST /v1/session`) per client IP per minute, across all replicas. */
    RATE_LIMIT_SIGN_IN_PER_MIN: intEnv({ min: 1, max: 10_000, default: 10 }),
    /** Reads (GET: API, dashboard, docs) per API key, session or anonymous IP per minute. */
    RATE_LIMIT_READ_PER_MIN: intEnv({ min: 1, max: 1_000_000, default: 600 }),
    /** Writes (POST, PUT, PATCH, DELETE) per API key, session or anonymous IP per minute. */
    RATE_LIMIT_WRITE_PER_MIN: intEnv({ min: 1, max: 1_000_000, default: 120 }),
    /**
     * Twilio and OpenAI webhooks per source IP per minute: far above real traffic (a 429 fails a
     * live call), only a flood stops here.
     */
    RATE_LIMIT_WEBHOOK_PER_MIN: intEnv({ min: 1, max: 1_000_000, default: 6_000 }),
    /**
     * Proxies in front of the gateway that append to X-Forwarded-For (ingress, load balancer):
     * the client IP of the IP-keyed limits is the entry this many from the right. 0: the socket.
     */
    TRUSTED_PROXY_HOPS: intEnv({ min: 0, max: 5, default: 0 }),
    /** Largest request body of a route that sets no smaller limit of its own, in bytes. */
    BODY_LIMIT_BYTES: intEnv({ min: 1_024, max: 100 * 1024 * 1024, default: 1024 * 1024 }),
    /**
     * Origins allowed to call the API from a browser (CORS), comma-separated, e.g.
     * `https://admin.example.com`. Unset: none; the dashboard is same-origin and needs none.
     */
    CORS_ORIGINS: listEnv({
      check: (origin) => {
        let parsed: URL | undefined;
        try {
          parsed = new URL(origin);
        } catch {
          parsed = undefined;
        }
        return parsed?.origin === origin
          ? null
          : `"${origin}" is not an origin: use scheme://host[:port], no path or trailing slash`;
      },
    }),
    // [/edge]
  })
  .superRefine(refuseDevStreamTokenSecret);

export type Config = z.output<typeof configSchema>;

/** The session cookie's Secure flag: `SESSION_COOKIE_SECURE`, else whether NODE_ENV is production. */
export function sessionCookieSecure(
  config: Pick<Config, 'SESSION_COOKIE_SECURE' | 'NODE_ENV'>,
): boolean {
  return config.SESSION_COOKIE_SECURE ?? config.NODE_ENV === 'production';
}

/** Parses and freezes the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseConfig(configSchema, env);
}
