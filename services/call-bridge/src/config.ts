import { z } from 'zod';

import { baseServiceEnv, parseConfig } from '@app/platform';

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
  })
  .superRefine((cfg, ctx) => {
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
