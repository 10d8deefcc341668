/** The handoff service's Prometheus metrics, registered on the service's registry. */
import { Counter, Histogram, type Registry } from 'prom-client';

export interface HandoffMetrics {
  /** Every `handoff.transfer` answered, by trigger and reply (`accepted`, `rejected`). */
  requests: Counter<'trigger' | 'outcome'>;
  /** How accepted handoffs went: `connected` or `failed`, by transport and mode. */
  transfers: Counter<'transport' | 'mode' | 'outcome'>;
  /** From the reply to the call being moved to the human, in seconds. */
  connectSeconds: Histogram<'mode'>;
}

export function createHandoffMetrics(registry: Registry): HandoffMetrics {
  return {
    requests: new Counter({
      name: 'handoff_requests_total',
      help: 'handoff.transfer requests answered, by trigger and outcome (accepted, rejected)',
      labelNames: ['trigger', 'outcome'],
      registers: [registry],
    }),
    transfers: new Counter({
      name: 'handoff_transfers_total',
      help: 'accepted handoffs by transport, mode and outcome (connected, failed)',
      labelNames: ['transport', 'mode', 'outcome'],
      registers: [registry],
    }),
    connectSeconds: new Histogram({
      name: 'handoff_connect_seconds',
      help: 'from accepting a handoff to moving the call to the human, by mode',
      labelNames: ['mode'],
      buckets: [0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120],
      registers: [registry],
    }),
  };
}
