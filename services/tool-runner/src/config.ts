import type { z } from 'zod';

import { baseServiceEnv, parseConfig } from '@app/platform';

/**
 * Environment of the tool-runner service. Only the shared variables so far (see packages/platform
 * README for each one); later capabilities extend this schema.
 */
export const configSchema = baseServiceEnv({ httpPort: 3003 });

export type Config = z.output<typeof configSchema>;

/** Parses and freezes the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseConfig(configSchema, env);
}
