/**
 * Tells the chosen human what happens: their dashboard channel `human-agents.<id>.notify`
 * (core NATS) and, when configured, a signed webhook (one per deployment). The webhook body is
 * JSON; `X-Handoff-Signature: sha256=<hex>` is the HMAC-SHA256, with the deployment's secret,
 * of `<X-Handoff-Timestamp>.<body>` (the timestamp in Unix seconds), so a receiver can reject
 * forged and replayed deliveries. A webhook that fails is logged, never retried: the dashboard
 * channel and the Handoff row are the record.
 */
import { createHmac } from 'node:crypto';

import type { NatsConnection } from '@nats-io/transport-node';

import {
  humanAgentNotify,
  publishHumanAgentNotify,
  type HumanAgentNotifyKind,
  type Names,
} from '@app/contracts';
import type { Logger } from '@app/platform';

export interface HumanNotice {
  humanAgentId: string;
  callId: string;
  handoffId: string;
  kind: HumanAgentNotifyKind;
  summary?: string | undefined;
  /** Webhook only: what the dashboard reads from the Handoff row. */
  reason?: string;
  target?: string;
}

export interface WebhookTarget {
  url: string;
  secret: string;
  timeoutMs: number;
}

export const SIGNATURE_HEADER = 'x-handoff-signature';
export const TIMESTAMP_HEADER = 'x-handoff-timestamp';

/** The signature header value of `body` sent at `timestampSec`. */
export function signWebhook(secret: string, timestampSec: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex')}`;
}

export type Notifier = (notice: HumanNotice) => Promise<void>;

export function humanNotifier(opts: {
  nc: NatsConnection;
  names: Names;
  webhook: WebhookTarget | null;
  log: Logger;
}): Notifier {
  const { nc, names, webhook, log } = opts;
  return async (n) => {
    publishHumanAgentNotify(
      nc,
      names,
      n.humanAgentId,
      humanAgentNotify(n.callId, {
        kind: n.kind,
        handoffId: n.handoffId,
        ...(n.summary !== undefined ? { summary: n.summary } : {}),
      }),
    );
    if (webhook === null) return;
    const body = JSON.stringify({
      type: `handoff.${n.kind}`,
      humanAgentId: n.humanAgentId,
      callId: n.callId,
      handoffId: n.handoffId,
      ...(n.summary !== undefined ? { summary: n.summary } : {}),
      ...(n.reason !== undefined ? { reason: n.reason } : {}),
      ...(n.target !== undefined ? { target: n.target } : {}),
    });
    const ts = Math.floor(Date.now() / 1000);
    try {
      const res = await fetch(webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signWebhook(webhook.secret, ts, body),
          [TIMESTAMP_HEADER]: String(ts),
        },
        body,
        signal: AbortSignal.timeout(webhook.timeoutMs),
      });
      if (!res.ok) log.warn({ status: res.status, kind: n.kind }, 'handoff webhook refused');
    } catch (err) {
      log.warn({ err, kind: n.kind }, 'handoff webhook failed');
    }
  };
}
