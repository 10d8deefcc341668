/**
 * The gateway's own Prometheus metrics, on the service's registry (HTTP, NATS, database pool and
 * process metrics come from `@app/platform`): refused webhook signatures, and the lag of the
 * call-record projector's durable consumer on CALLS.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { Counter, type Registry } from 'prom-client';

import type { Names } from '@app/contracts';
import { registerConsumerLagMetrics } from '@app/platform';

export interface WebhookMetrics {
  /**
   * Webhooks refused because their signature was missing or wrong, by `source` (`twilio`,
   * `openai`): a wrong PUBLIC_BASE_URL or secret, or someone probing the endpoints.
   */
  signatureFailures: Counter<'source'>;
}

export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const signatureFailures = new Counter({
    name: 'gateway_webhook_signature_failures_total',
    help: 'Webhooks refused for a missing or invalid signature, by source (twilio, openai)',
    labelNames: ['source'],
    registers: [registry],
  });
  // Both series exist from the start, so a rate() over them is 0 rather than absent.
  signatureFailures.inc({ source: 'twilio' }, 0);
  signatureFailures.inc({ source: 'openai' }, 0);
  return { signatureFailures };
}

/** Every gateway metric: the webhook counters, and the projector's consumer lag (read on scrape). */
export function createGatewayMetrics(
  registry: Registry,
  nc: NatsConnection,
  names: Names,
): WebhookMetrics {
  registerConsumerLagMetrics(registry, nc, [
    { stream: names.streams.calls.name, consumer: names.consumers.callRecords },
  ]);
  return createWebhookMetrics(registry);
}
