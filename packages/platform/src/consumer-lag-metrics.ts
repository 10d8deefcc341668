/**
 * JetStream consumer lag, exported by the services that own the durable consumers, so the lag
 * alerts need nothing deployed next to nats-server (no prometheus-nats-exporter):
 *
 * - `nats_consumer_pending_messages{stream,consumer}`: messages of the stream the consumer has
 *   not been handed yet (`num_pending`), the backlog;
 * - `nats_consumer_ack_pending_messages{stream,consumer}`: handed out and not yet acknowledged
 *   (`num_ack_pending`), work in progress or stuck.
 *
 * Read from the server's consumer info when Prometheus scrapes (one request per consumer per
 * scrape, shared by both gauges). Every replica of a service reports the same figures; alerts
 * take the `max`. A consumer whose info cannot be read (NATS down, consumer deleted) has no
 * sample in that scrape rather than a stale one.
 */
import { jetstreamManager, type ConsumerInfo, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Gauge, type Registry } from 'prom-client';

/** One durable consumer. */
export interface DurableConsumerRef {
  /** Stream name, e.g. `names.streams.calls.name`. */
  stream: string;
  /** Durable name, e.g. `names.consumers.callRecords`. */
  consumer: string;
}

export interface ConsumerLagOptions {
  /** Longest wait for the server's answer, in ms; scrapes must not hang. @defaultValue 2000 */
  timeoutMs?: number;
}

/**
 * Registers the lag gauges of `consumers` on `registry`. Call it once per registry.
 */
export function registerConsumerLagMetrics(
  registry: Registry,
  nc: NatsConnection,
  consumers: readonly DurableConsumerRef[],
  opts: ConsumerLagOptions = {},
): void {
  let jsm: Promise<JetStreamManager> | undefined;
  let inFlight: Promise<Array<ConsumerInfo | null>> | undefined;

  const fetchInfos = async (): Promise<Array<ConsumerInfo | null>> => {
    const manager = (jsm ??= jetstreamManager(nc, { timeout: opts.timeoutMs ?? 2_000 }));
    try {
      await manager;
    } catch {
      // NATS down at this scrape: ask for a manager again at the next.
      if (jsm === manager) jsm = undefined;
      return consumers.map(() => null);
    }
    return Promise.all(
      consumers.map(async ({ stream, consumer }) => {
        try {
          return await (await manager).consumers.info(stream, consumer);
        } catch {
          return null;
        }
      }),
    );
  };
  // A scrape collects both gauges concurrently: they share the answers of one round of requests.
  const sample = () =>
    (inFlight ??= fetchInfos().finally(() => {
      inFlight = undefined;
    }));

  // Written out (not built in a loop) so test/deploy/monitoring.test.ts finds the names.
  async function collectInto(
    this: Gauge<'stream' | 'consumer'>,
    read: (info: ConsumerInfo) => number,
  ): Promise<void> {
    const infos = await sample();
    this.reset();
    consumers.forEach(({ stream, consumer }, i) => {
      const info = infos[i];
      if (info) this.set({ stream, consumer }, read(info));
    });
  }
  new Gauge({
    name: 'nats_consumer_pending_messages',
    help: 'JetStream messages not yet delivered to the durable consumer (backlog), by stream and consumer',
    labelNames: ['stream', 'consumer'],
    registers: [registry],
    collect() {
      return collectInto.call(this, (info) => info.num_pending);
    },
  });
  new Gauge({
    name: 'nats_consumer_ack_pending_messages',
    help: 'JetStream messages delivered to the durable consumer and not yet acknowledged, by stream and consumer',
    labelNames: ['stream', 'consumer'],
    registers: [registry],
    collect() {
      return collectInto.call(this, (info) => info.num_ack_pending);
    },
  });
}
