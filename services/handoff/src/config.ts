import { z } from 'zod';

import {
  baseServiceEnv,
  intEnv,
  parseConfig,
  requireTwilioCredentialPair,
  twilioRestEnv,
} from '@app/platform';

/**
 * Environment of the handoff service: the shared variables (packages/platform README), the
 * Twilio account that moves Media Streams calls, the transfer timing, and the optional signed
 * webhook told about every handoff.
 */
export const configSchema = baseServiceEnv({ httpPort: 3004 })
  .extend({
    // The Twilio account of the Media Streams calls. Unset: their handoffs are refused with a
    // reason (SIP calls are moved by their bridge and need no Twilio account).
    ...twilioRestEnv,
    /** Longest a Twilio REST request may take (ms). */
    TWILIO_REQUEST_TIMEOUT_MS: intEnv({ min: 100, max: 60_000, default: 10_000 }),
    /** Wait after accepting before moving the call, so the agent's "transferring you" is heard (ms). */
    HANDOFF_TRANSFER_DELAY_MS: intEnv({ min: 0, max: 30_000, default: 2_500 }),
    /** How long a human's phone rings before the handoff fails (Twilio `Timeout`), s. */
    HANDOFF_RING_TIMEOUT_SEC: intEnv({ min: 5, max: 600, default: 20 }),
    /** Longest wait for the human to be in the warm transfer's conference (ring + whisper), ms. */
    HANDOFF_JOIN_TIMEOUT_MS: intEnv({ min: 1_000, max: 600_000, default: 90_000 }),
    /** How often the human's leg is looked at during a warm transfer, ms. */
    HANDOFF_POLL_INTERVAL_MS: intEnv({ min: 50, max: 10_000, default: 500 }),
    /** Longest wait for the owning bridge to answer a call-control command, ms. */
    CALL_CONTROL_TIMEOUT_MS: intEnv({ min: 100, max: 60_000, default: 5_000 }),
    /** Optional webhook told about every handoff step (JSON, signed). Unset: none. */
    HANDOFF_WEBHOOK_URL: z
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must be an http:// or https:// URL')
      .optional(),
    /** HMAC-SHA256 key of the webhook's `X-Handoff-Signature`; required with the URL. */
    HANDOFF_WEBHOOK_SECRET: z.string().min(16, 'use at least 16 characters').optional(),
    /** Longest a webhook delivery may take, ms. */
    HANDOFF_WEBHOOK_TIMEOUT_MS: intEnv({ min: 100, max: 60_000, default: 5_000 }),
  })
  .superRefine((cfg, ctx) => {
    requireTwilioCredentialPair(cfg, ctx);
    if (cfg.HANDOFF_WEBHOOK_URL !== undefined && cfg.HANDOFF_WEBHOOK_SECRET === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['HANDOFF_WEBHOOK_SECRET'],
        message: 'set HANDOFF_WEBHOOK_SECRET with HANDOFF_WEBHOOK_URL (deliveries are signed)',
      });
    }
  });

export type Config = z.output<typeof configSchema>;

/** Parses and freezes the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseConfig(configSchema, env);
}
