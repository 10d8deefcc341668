/**
 * Outgoing HTTP requests Twilio makes to the customer's server (voice URL, `action`,
 * status callbacks), signed with X-Twilio-Signature (twilio.md §1.1, §2.1, §8 "Webhooks").
 */
import { randomUUID } from 'node:crypto';

import { encodeForm, twilioSignature, type WebhookParams } from './signature.js';

export type HttpMethod = 'POST' | 'GET';

/** A webhook request as sent, for the call's recording and for tests. */
export interface SentWebhook {
  method: HttpMethod;
  /** The exact URL requested (for GET: with the params in the query string). */
  url: string;
  params: WebhookParams;
  signature: string;
}

export interface WebhookResponse {
  status: number;
  contentType: string;
  body: string;
}

/** The URL with the params appended to its query string (GET webhooks). */
function withQuery(url: string, params: WebhookParams): string {
  const query = encodeForm(params);
  if (query === '') return url;
  const hash = url.indexOf('#');
  const base = hash === -1 ? url : url.slice(0, hash);
  return base + (base.includes('?') ? '&' : '?') + query;
}

/**
 * The URL Twilio signs and requests: URL fragments are connection overrides (`#rc=2`) that
 * never reach the server, so they are left out (twilio.md §1.1: presumed, UNCONFIRMED).
 */
function requestUrl(url: string): string {
  const hash = url.indexOf('#');
  return hash === -1 ? url : url.slice(0, hash);
}

/** Builds the request without sending it (signature included). */
export function prepareWebhook(
  authToken: string,
  method: HttpMethod,
  url: string,
  params: WebhookParams,
): SentWebhook {
  if (method === 'GET') {
    const full = withQuery(requestUrl(url), params);
    return { method, url: full, params, signature: twilioSignature(authToken, full, {}) };
  }
  const target = requestUrl(url);
  return { method, url: target, params, signature: twilioSignature(authToken, target, params) };
}

/**
 * Sends a webhook. Rejects on network failure or after `timeoutMs`; any HTTP status resolves
 * (the caller decides what a 4xx/5xx means).
 */
export async function sendWebhook(
  req: SentWebhook,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<WebhookResponse> {
  const headers: Record<string, string> = {
    'X-Twilio-Signature': req.signature,
    'I-Twilio-Idempotency-Token': randomUUID(),
    'User-Agent': 'TwilioProxy/1.1',
    Accept: '*/*',
  };
  let body: string | undefined;
  if (req.method === 'POST') {
    headers['Content-Type'] = 'application/x-www-form-urlencoded; charset=UTF-8';
    body = encodeForm(req.params);
  }
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const res = await fetch(req.url, { method: req.method, headers, body, signal });
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    body: await res.text(),
  };
}
