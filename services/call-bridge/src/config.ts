import { z } from 'zod';

import {
  baseServiceEnv,
  parseConfig,
  refuseDevStreamTokenSecret,
  streamTokenSecretEnv,
} from '@app/platform';

/**
 * Environment of the call-bridge. The shared variables (packages/platform README) plus the
 * call-capacity and drain settings that only a service holding live calls needs.
 */
export const configSchema = baseServiceEnv({ httpPort: 3001 })
  .extend({
    /** Live calls this pod accepts; at the limit /readyz reports no capacity. */
    MAX_CALLS: z.coerce.number().int().min(1).max(100_000).default(100),
    /**
     * On SIGTERM, how long live calls may go on before they are ended (ms). Kubernetes'
     * terminationGracePeriodSeconds must be longer than this plus the rest of shutdown.
     */
    DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).default(60_000),
    /** Whole-shutdown deadline (ms); must leave room after the drain. */
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(75_000),
    /** Checks the stream token the gateway signed; the gateway's value, at least 32 characters. */
    STREAM_TOKEN_SECRET: streamTokenSecretEnv,
    /** OpenAI API key. Unset: every media stream is refused (closed 1011). */
    OPENAI_API_KEY: z.string().min(1).optional(),
    /** OpenAI REST base URL, e.g. `https://api.openai.com/v1` (the SDK default when unset). */
    OPENAI_BASE_URL: z.url().optional(),
    /**
     * Realtime WebSocket URL (`wss://…/v1/realtime`, without `model`); unset: derived from
     * OPENAI_BASE_URL by the SDK. The SDK accepts only `wss:`.
     */
    OPENAI_REALTIME_URL: z
      .url()
      .refine((u) => u.startsWith('wss://'), 'must be a wss:// URL')
      .optional(),
    /** Extra CA certificate (PEM) trusted for the Realtime WebSocket, e.g. a local simulator's. */
    OPENAI_REALTIME_CA: z.string().min(1).optional(),
  })
  .superRefine((cfg, ctx) => {
    refuseDevStreamTokenSecret(cfg, ctx);
    if (cfg.SHUTDOWN_TIMEOUT_MS < cfg.DRAIN_TIMEOUT_MS + 5_000) {
      ctx.addIssue({
        code: 'custom',
        path: ['SHUTDOWN_TIMEOUT_MS'],
        message: `must be at least DRAIN_TIMEOUT_MS + 5000 (${cfg.DRAIN_TIMEOUT_MS + 5_000}) so calls can drain before the deadline; raise it or lower DRAIN_TIMEOUT_MS`,
      });
    }
  });

export type Config = z.output<typeof configSchema>;

/** Parses and freezes the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseConfig(configSchema, env);
}
