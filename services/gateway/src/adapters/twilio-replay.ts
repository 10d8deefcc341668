/**
 * Replay protection of Twilio webhooks across gateway replicas. Twilio signs the URL and the
 * params (twilio.md §2.1) but no time, so a captured request verifies forever: each verified
 * request is claimed once in the KV bucket `twilio-webhook-claims` (./webhook-claims.ts), whose
 * TTL (a day, names.kv.twilioWebhookClaims) is the window in which a repeat is recognised.
 *
 * The key is the X-Twilio-Signature itself, an HMAC over the URL and the sorted params: every
 * copy of one request carries it, however its raw bytes are arranged, and any other request
 * carries another. Neither alternative is safe: a key over the raw URL and body misses a copy
 * with its params reordered or `:443` added (both still verify), and the
 * I-Twilio-Idempotency-Token header is not signed, so a replayer sends any value he likes.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { FastifyRequest } from 'fastify';

import type { Names } from '@app/contracts';

import { KvWebhookClaims, type WebhookClaims } from './webhook-claims.js';

export class TwilioReplayGuard {
  constructor(private readonly claims: WebhookClaims) {}

  /** Opens (creating when missing) the namespace's `twilio-webhook-claims` bucket. */
  static async open(
    nc: NatsConnection,
    names: Names,
    opts: { replicas?: number } = {},
  ): Promise<TwilioReplayGuard> {
    const claims = await KvWebhookClaims.open(nc, names, {
      ...opts,
      bucket: 'twilioWebhookClaims',
    });
    return new TwilioReplayGuard(claims);
  }

  /**
   * True for the first copy of a request whose signature was verified; false for a repeat
   * (Twilio's retry or a replay) within the window, on any replica.
   */
  async claim(request: FastifyRequest): Promise<boolean> {
    return this.claims.claim('twilio-request', signatureOf(request));
  }

  /** Gives the claim up (handling failed or could not be done yet), so a retry is handled. */
  async release(request: FastifyRequest): Promise<void> {
    await this.claims.release('twilio-request', signatureOf(request));
  }
}

/** The verified request's signature (../routes/twilio-signature.ts ran first). */
export function signatureOf(request: FastifyRequest): string {
  const signature = request.headers['x-twilio-signature'];
  if (typeof signature !== 'string') {
    throw new TypeError('a Twilio request is claimed only after its signature was verified');
  }
  return signature;
}
