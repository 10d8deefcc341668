import { z } from 'zod';

import {
  baseServiceEnv,
  parseConfig,
  refuseDevStreamTokenSecret,
  requireTwilioCredentialPair,
  streamTokenSecretEnv,
  twilioRestEnv,
} from '@app/platform';

import { DEFAULT_APOLOGY } from './domain/apology.js';
import { DEFAULT_FILLER_INSTRUCTIONS } from './domain/tool-calls.js';

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
    /**
     * Reconnects of a call's Realtime socket over the call's lifetime; 0: a dropped socket ends
     * the call at once (with the apology).
     */
    REALTIME_MAX_RECONNECTS: z.coerce.number().int().min(0).max(20).default(3),
    /** Longest a reconnect may take before the call is given up (ms). */
    REALTIME_RECONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
    /** Failed responses (server or rate-limit errors) asked for again, per call. */
    REALTIME_RESPONSE_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
    // Twilio, for the apology when the voice model is lost (a call update with <Say>). Unset:
    // such a call is just hung up.
    ...twilioRestEnv,
    /** What the caller hears when the call cannot go on. */
    PROVIDER_FAILURE_MESSAGE: z.string().min(1).max(500).default(DEFAULT_APOLOGY),
    /** How often the owning pod re-puts a call's call-owners entry (ms). */
    CALL_OWNER_HEARTBEAT_MS: z.coerce.number().int().min(50).default(10_000),
    /**
     * A call-owners entry not re-put for this long belongs to a dead pod (ms); at least three
     * heartbeats. The bucket TTL removes such entries later anyway.
     */
    OWNER_STALE_AFTER_MS: z.coerce.number().int().min(150).default(30_000),
    /** How often each bridge looks for calls whose owner is gone (ms). */
    OWNER_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(15_000),
    /**
     * Longest wait for the tool-runner's answer to one function call (ms); after it the model is
     * told the tool timed out and the call goes on.
     */
    TOOL_TIMEOUT_MS: z.coerce.number().int().min(500).max(120_000).default(10_000),
    /** A tool still running after this long gets a short filler line (ms); 0: never. */
    TOOL_FILLER_AFTER_MS: z.coerce.number().int().min(0).max(60_000).default(1_500),
    /** Instructions of the filler response (one short holding phrase, no tools). */
    TOOL_FILLER_INSTRUCTIONS: z.string().min(1).max(500).default(DEFAULT_FILLER_INSTRUCTIONS),
    /** Failed tool calls in one call after which a human is asked for (rule trigger); 0: never. */
    TOOL_FAILURES_BEFORE_HANDOFF: z.coerce.number().int().min(0).max(100).default(3),
    /** The key a caller presses to reach a human (DTMF); `off`: none. */
    HANDOFF_DTMF_DIGIT: z
      .string()
      .regex(/^([0-9*#]|off)$/, 'one of 0-9, *, # or off')
      .default('0'),
    /** Longest wait for the handoff service's answer (ms). */
    HANDOFF_TIMEOUT_MS: z.coerce.number().int().min(500).max(60_000).default(5_000),
  })
  .superRefine((cfg, ctx) => {
    refuseDevStreamTokenSecret(cfg, ctx);
    requireTwilioCredentialPair(cfg, ctx);
    if (cfg.OWNER_STALE_AFTER_MS < 3 * cfg.CALL_OWNER_HEARTBEAT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['OWNER_STALE_AFTER_MS'],
        message: `must be at least 3 × CALL_OWNER_HEARTBEAT_MS (${3 * cfg.CALL_OWNER_HEARTBEAT_MS}) so a live pod that misses a heartbeat keeps its calls`,
      });
    }
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
