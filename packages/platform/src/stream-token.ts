/**
 * The short-lived token the gateway hands Twilio as a `<Parameter>` of `<Connect><Stream>`, and
 * the call-bridge checks before it accepts a media stream (ARCHITECTURE.md "Media Streams"):
 * only a stream the gateway set up for a known call gets in.
 *
 * Format: `v1.<payload>.<mac>`, base64url JSON `{ callId, agentId, exp, jti, setupStartMs? }`
 * and its HMAC-SHA256 under the shared secret. `jti` lets the bridge refuse a replayed token;
 * `setupStartMs` lets it measure call setup time from the gateway's first sight of the call.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import { z } from 'zod';

export interface StreamTokenClaims {
  callId: string;
  agentId: string;
  /** Expiry, Unix seconds. */
  exp: number;
  /** Unique token id, for replay protection. */
  jti: string;
  /**
   * When the gateway received the call's voice webhook, epoch ms: the start of call setup time
   * (ARCHITECTURE.md "Observability"). Absent from tokens signed without it.
   */
  setupStartMs?: number;
}

/** Why a token was refused. */
export type StreamTokenFailure = 'malformed' | 'bad-signature' | 'expired';

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(`v1.${payload}`).digest();
}

/**
 * Signs a token for one call.
 * @param opts.ttlSec - Lifetime in seconds (STREAM_TOKEN_TTL_SEC).
 * @param opts.setupStartMs - When the voice webhook arrived, epoch ms; carried as a claim.
 * @param opts.nowMs - Clock, for tests. @defaultValue Date.now()
 */
export function signStreamToken(opts: {
  callId: string;
  agentId: string;
  secret: string;
  ttlSec: number;
  setupStartMs?: number;
  nowMs?: number;
}): string {
  if (opts.secret.length < 32)
    throw new RangeError('stream token secret must be at least 32 characters');
  if (opts.setupStartMs !== undefined && !Number.isFinite(opts.setupStartMs)) {
    throw new RangeError(
      `setupStartMs must be a finite number (epoch ms), got ${opts.setupStartMs}`,
    );
  }
  const claims: StreamTokenClaims = {
    callId: opts.callId,
    agentId: opts.agentId,
    exp: Math.floor((opts.nowMs ?? Date.now()) / 1_000) + opts.ttlSec,
    jti: randomBytes(12).toString('base64url'),
    ...(opts.setupStartMs !== undefined ? { setupStartMs: opts.setupStartMs } : {}),
  };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `v1.${payload}.${mac(opts.secret, payload).toString('base64url')}`;
}

/** Checks a token's signature and expiry; never throws. */
export function verifyStreamToken(
  token: string,
  secret: string,
  nowMs: number = Date.now(),
): { ok: true; claims: StreamTokenClaims } | { ok: false; reason: StreamTokenFailure } {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3 || parts[0] !== 'v1' || !parts[1] || !parts[2]) {
    return { ok: false, reason: 'malformed' };
  }
  const given = Buffer.from(parts[2], 'base64url');
  const expected = mac(secret, parts[1]);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad-signature' };
  }
  let claims: StreamTokenClaims;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as StreamTokenClaims;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (
    typeof claims !== 'object' ||
    claims === null ||
    typeof claims.callId !== 'string' ||
    typeof claims.exp !== 'number' ||
    (claims.setupStartMs !== undefined && !Number.isFinite(claims.setupStartMs))
  ) {
    return { ok: false, reason: 'malformed' };
  }
  if (claims.exp * 1_000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}

/** Development-only default of STREAM_TOKEN_SECRET; {@link refuseDevStreamTokenSecret} rejects it in production. */
export const DEV_STREAM_TOKEN_SECRET = 'dev-only-stream-token-secret-change-me-0000';

/**
 * STREAM_TOKEN_SECRET for a service's config schema (gateway signs, call-bridge verifies): at
 * least 32 characters; a public dev default so `pnpm dev` needs no setup.
 */
export const streamTokenSecretEnv = z.string().min(32).default(DEV_STREAM_TOKEN_SECRET);

/**
 * For a schema's `superRefine`: safe by default, the public dev secret never reaches
 * production unnoticed.
 */
export function refuseDevStreamTokenSecret(
  cfg: { NODE_ENV: string; STREAM_TOKEN_SECRET: string },
  ctx: z.RefinementCtx,
): void {
  if (cfg.NODE_ENV === 'production' && cfg.STREAM_TOKEN_SECRET === DEV_STREAM_TOKEN_SECRET) {
    ctx.addIssue({
      code: 'custom',
      path: ['STREAM_TOKEN_SECRET'],
      message: 'set a secret of your own in production (the default is public)',
    });
  }
}
