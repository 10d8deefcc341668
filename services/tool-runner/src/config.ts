import { z } from 'zod';

import { baseServiceEnv, boolEnv, intEnv, listEnv, parseConfig } from '@app/platform';

import { parseAllowedHost } from './domain/destination-policy.js';

/**
 * Environment of the tool-runner: the shared variables (packages/platform README) plus the
 * limits every tool runs under, the shared rate limits, how transfer_to_human hands over, and
 * which addresses HTTP tools may reach.
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
  /**
   * `true`: HTTP tools may reach any address, loopback, private networks and cloud metadata
   * (169.254.169.254) included. For development and tests only; the default refuses every
   * non-public address (DESTINATION_NOT_ALLOWED).
   */
  HTTP_TOOL_ALLOW_PRIVATE_NETWORKS: boolEnv.default(false),
  /**
   * Non-public destinations HTTP tools may reach all the same (in-cluster tools), comma-separated:
   * host names (`inventory.tools.svc.cluster.local`), subdomain wildcards
   * (`*.tools.svc.cluster.local`), IP addresses and CIDRs (`10.20.0.0/16`). Empty: none.
   */
  HTTP_TOOL_ALLOWED_HOSTS: listEnv({
    check: (entry) => {
      try {
        parseAllowedHost(entry);
        return null;
      } catch (err) {
        return (err as Error).message;
      }
    },
  }),
});

export type Config = z.output<typeof configSchema>;

/** Parses and freezes the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseConfig(configSchema, env);
}
