/**
 * The X-Twilio-Signature check every Twilio webhook route runs first (twilio.md §2.1): the
 * signature covers the full URL Twilio requested, query string included, plus the sorted POST
 * params. Behind a proxy the socket address is not that URL, so it is rebuilt from
 * PUBLIC_BASE_URL and the request's path and query (§2.3).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import twilio from 'twilio';

import type { WebhookMetrics } from '../metrics.js';

export interface TwilioSignatureOptions {
  /** PUBLIC_BASE_URL: the origin (and path prefix) Twilio called. */
  publicBaseUrl: string;
  /** Unset: nothing can be verified and every request gets 503. */
  authToken: string | undefined;
  /** Counts refused signatures (`source="twilio"`); absent: not counted. */
  metrics?: WebhookMetrics | undefined;
}

/**
 * Returns the check for a route: true when the request may go on; otherwise it has already
 * answered (403 for a bad or missing signature, 503 without an auth token) and logged why.
 */
export function twilioSignatureCheck(
  opts: TwilioSignatureOptions,
): (request: FastifyRequest, reply: FastifyReply) => boolean {
  const base = opts.publicBaseUrl.replace(/\/+$/, '');
  return (request, reply) => {
    if (!opts.authToken) {
      request.log.error(
        { route: request.routeOptions.url },
        'twilio webhook refused: TWILIO_AUTH_TOKEN is not set',
      );
      void reply.code(503).send({ error: 'twilio webhooks are not configured' });
      return false;
    }
    const signature = request.headers['x-twilio-signature'];
    const params = (request.body ?? {}) as Record<string, string>;
    // `request.url` is the path with its query string, exactly as requested.
    const ok =
      typeof signature === 'string' &&
      twilio.validateRequest(opts.authToken, signature, `${base}${request.url}`, params);
    if (!ok) {
      opts.metrics?.signatureFailures.inc({ source: 'twilio' });
      request.log.warn(
        { route: request.routeOptions.url, signed: typeof signature === 'string' },
        'twilio signature invalid',
      );
      void reply.code(403).send({ error: 'invalid X-Twilio-Signature' });
    }
    return ok;
  };
}
