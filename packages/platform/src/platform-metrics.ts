/**
 * Metrics every service exposes on /metrics without code of its own: the NATS connection and the
 * database pool. (HTTP metrics are registered with the health routes, see `health.ts`.)
 *
 * Values are read when Prometheus scrapes, in prom-client `collect()` callbacks, from the
 * connection's `stats()` and the pool's counters; nothing runs between scrapes except the NATS
 * status listener that counts reconnects.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { Counter, Gauge, type Registry } from 'prom-client';

/** The counters of a `pg` Pool that {@link registerPoolMetrics} reads. */
export interface PoolStats {
  /** Clients open (idle and checked out). */
  readonly totalCount: number;
  /** Clients open and not checked out. */
  readonly idleCount: number;
  /** Queries waiting for a client. */
  readonly waitingCount: number;
}

/** A counter whose value is a running total read at scrape time (it only ever grows). */
function totalCounter(
  registry: Registry,
  name: string,
  help: string,
  read: () => number,
): Counter<string> {
  let last = 0;
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      if (now > last) this.inc(now - last);
      last = Math.max(last, now);
    },
  });
}

/**
 * Registers the NATS metrics of `nc` on `registry`:
 * `nats_connection_status` (1 while connected, 0 while disconnected, draining or closed),
 * `nats_reconnects_total`, `nats_messages_received_total`, `nats_messages_sent_total`,
 * `nats_bytes_received_total`, `nats_bytes_sent_total`.
 */
export function registerNatsMetrics(registry: Registry, nc: NatsConnection): void {
  let connected = !nc.isClosed();
  let reconnects = 0;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') connected = false;
      if (s.type === 'reconnect') {
        connected = true;
        reconnects++;
      }
    }
  })();
  new Gauge({
    name: 'nats_connection_status',
    help: 'NATS connection state: 1 connected, 0 disconnected, draining or closed.',
    registers: [registry],
    collect() {
      this.set(connected && !nc.isClosed() && !nc.isDraining() ? 1 : 0);
    },
  });
  totalCounter(
    registry,
    'nats_reconnects_total',
    'Times the NATS connection was re-established after a disconnect.',
    () => reconnects,
  );
  totalCounter(
    registry,
    'nats_messages_received_total',
    'NATS messages received by this process.',
    () => nc.stats().inMsgs,
  );
  totalCounter(
    registry,
    'nats_messages_sent_total',
    'NATS messages published by this process.',
    () => nc.stats().outMsgs,
  );
  totalCounter(
    registry,
    'nats_bytes_received_total',
    'Payload bytes received over NATS by this process.',
    () => nc.stats().inBytes,
  );
  totalCounter(
    registry,
    'nats_bytes_sent_total',
    'Payload bytes published over NATS by this process.',
    () => nc.stats().outBytes,
  );
}

/** Pools observed per registry (a service may have more than one, named by `pool`). */
const pools = new WeakMap<Registry, Map<string, PoolStats>>();

/**
 * Registers `db_pool_connections_total`, `db_pool_connections_idle` and `db_pool_waiting_clients`
 * (label `pool`) on `registry` for `pool`. Calling it again with another name adds a pool; with
 * the same name, replaces it.
 */
export function registerPoolMetrics(registry: Registry, name: string, pool: PoolStats): void {
  let byName = pools.get(registry);
  if (!byName) {
    byName = new Map();
    pools.set(registry, byName);
    const observed = byName;
    const gauge = (metric: string, help: string, read: (p: PoolStats) => number) =>
      new Gauge({
        name: metric,
        help,
        labelNames: ['pool'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [poolName, p] of observed) this.set({ pool: poolName }, read(p));
        },
      });
    gauge(
      'db_pool_connections_total',
      'Database connections open in the pool.',
      (p) => p.totalCount,
    );
    gauge(
      'db_pool_connections_idle',
      'Database connections open in the pool and not in use.',
      (p) => p.idleCount,
    );
    gauge(
      'db_pool_waiting_clients',
      'Queries waiting for a free database connection.',
      (p) => p.waitingCount,
    );
  }
  byName.set(name, pool);
}
