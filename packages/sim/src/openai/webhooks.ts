/**
 * Signed `realtime.call.incoming` webhooks (openai-realtime.md §6 step 2, §6.1): Standard
 * Webhooks v1 — HMAC-SHA256 over `${id}.${timestamp}.${body}` with the base64 key after `whsec_`,
 * header `webhook-signature: v1,<base64>`.
 */
import { createHmac, randomBytes } from 'node:crypto';

import type { Logger } from '@app/platform';

export interface WebhookTarget {
  url: string;
  /** Signing secret, `whsec_<base64>`. */
  secret: string;
}

/** The signature header value for one delivery. */
export function signWebhook(
  secret: string,
  id: string,
  timestampSec: number,
  body: string,
): string {
  // The SDK uses the UTF-8 bytes of a secret without the prefix (§6.1); mirror that.
  const key = secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret, 'utf8');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSec}.${body}`).digest('base64')}`;
}

/** The event body (§6 step 2; SPEC `WebhookRealtimeCallIncoming`). */
export function callIncomingEvent(
  callId: string,
  sipHeaders: Array<{ name: string; value: string }>,
  nowMs = Date.now(),
): Record<string, unknown> {
  return {
    object: 'event',
    id: `evt_${randomBytes(16).toString('hex')}`,
    type: 'realtime.call.incoming',
    created_at: Math.floor(nowMs / 1_000),
    data: { call_id: callId, sip_headers: sipHeaders },
  };
}

export interface Delivery {
  status: number | null;
  error?: string;
}

/**
 * POSTs a signed event. Real OpenAI retries non-2xx with backoff for up to 72 h (§6.1); the
 * simulator retries `retries` times, 200 ms apart, which is what a test can wait for.
 */
export async function deliverWebhook(
  target: WebhookTarget,
  event: Record<string, unknown>,
  log: Logger,
  retries = 2,
): Promise<Delivery> {
  const body = JSON.stringify(event);
  const id = `wh_${randomBytes(12).toString('hex')}`;
  let last: Delivery = { status: null };
  for (let attempt = 0; attempt <= retries; attempt += 1) {
    const ts = Math.floor(Date.now() / 1_000);
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)',
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': signWebhook(target.secret, id, ts, body),
        },
        body,
        signal: AbortSignal.timeout(5_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      last = { status: res.status };
      if (res.ok) return last;
    } catch (err) {
      last = { status: null, error: err instanceof Error ? err.message : String(err) };
    }
    log.warn({ attempt, status: last.status, err: last.error }, 'webhook delivery failed');
    if (attempt < retries) await new Promise((r) => setTimeout(r, 200));
  }
  return last;
}
