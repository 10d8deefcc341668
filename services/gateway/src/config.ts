import { z } from 'zod';

import {
  baseServiceEnv,
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
  })
  .superRefine(refuseDevStreamTokenSecret);

export type Config = z.output<typeof configSchema>;

/** Parses and freezes the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseConfig(configSchema, env);
}
