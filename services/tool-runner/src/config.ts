import { z } from 'zod';

import { baseServiceEnv, intEnv, parseConfig } from '@app/platform';

/**
 * Environment of the tool-runner: the shared variables (packages/platform README) plus the
 * limits every tool runs under, the shared rate limits, and how transfer_to_human hands over.
 */
export const configSchema = baseServiceEnv({ httpPort: 3003 }).extend({
  /** Largest tool output handed back to the model (JSON bytes); larger is OUTPUT_TOO_LARGE. */
  TOOL_MAX_OUTPUT_BYTES: intEnv({ min: 256, max: 1024 * 1024, default: 16 * 1024 }),
  /** Longest any tool may run (ms), whatever its own timeout or retries. */
  TOOL_MAX_TIMEOUT_MS: intEnv({ min: 100, max: 120_000, default: 30_000 }),
  /** Tool invocations per call per minute across every replica; 0 = no limit. */
  TOOL_RATE_LIMIT_PER_CALL_PER_MIN: intEnv({ min: 0, max: 10_000, default: 30 }),
  /** Invocations of one tool per second across every call and replica; 0 = no limit. */
  TOOL_RATE_LIMIT_PER_TOOL_PER_SEC: intEnv({ min: 0, max: 100_000, default: 100 }),
  /** How transfer_to_human hands over: `warm` (the human hears the summary first) or `cold`. */
  TOOL_TRANSFER_MODE: z.enum(['cold', 'warm']).default('warm'),
  /** Longest wait for the handoff service's answer to transfer_to_human (ms). */
  HANDOFF_REQUEST_TIMEOUT_MS: intEnv({ min: 100, max: 60_000, default: 5_000 }),
});

export type Config = z.output<typeof configSchema>;

/** Parses and freezes the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseConfig(configSchema, env);
}
