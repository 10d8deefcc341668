/**
 * An endpoint served as a `@nats-io/services` (NATS micro) service: same subject, queue group,
 * validation and failure replies as {@link serveEndpoint} (the per-message code is shared), plus
 * what the micro protocol adds: discovery (`$SRV.PING|INFO|STATS[.<name>[.<id>]]`) and stats.
 *
 * Requesters do not change: `request()` gets the same envelope reply. Failures the server
 * detects itself (`INVALID_REQUEST`, `INTERNAL`) are additionally marked with the micro
 * `Nats-Service-Error` / `Nats-Service-Error-Code` headers (400 / 500).
 *
 * The library times only the synchronous part of a callback handler and counts only synchronous
 * throws as errors, so each endpoint's stats carry our own figures for the async handler in
 * `data` ({@link EndpointRunStats}).
 */
import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import { type NatsConnection } from '@nats-io/transport-node';

import { type EndpointName } from '../registry.js';
import {
  endpointQueue,
  endpointRequestHandler,
  endpointSubject,
  ReplyFailureCode,
  type EndpointHandlerOptions,
} from './request-reply.js';

/** Endpoints served by a queue group (call-control is per call, owned by one pod). */
export type ServiceEndpointName = Exclude<EndpointName, 'call-control'>;

/** Our figures for one endpoint, in its micro stats `data`. */
export interface EndpointRunStats {
  /** Requests answered (successes and failures). */
  readonly completed: number;
  /** Requests the server failed itself, by code. */
  readonly failures: Readonly<Record<ReplyFailureCode, number>>;
  /** Total wall time from receipt to reply, including the async handler, in ms. */
  readonly processingMs: number;
  readonly averageProcessingMs: number;
}

export interface ServeServiceOptions {
  readonly nc: NatsConnection;
  /** Service name (`[-\w]+`). @defaultValue the first endpoint's queue group, e.g. `tool-runner` */
  readonly name?: string;
  /** Semantic version of the serving program (the micro protocol requires one). */
  readonly version: string;
  readonly description?: string;
  readonly metadata?: Record<string, string>;
  /** The endpoints, each with its handler; `queue` defaults to the endpoint's service name. */
  readonly endpoints: readonly ServiceEndpoint[];
}

/** One endpoint of a service: {@link EndpointHandlerOptions} of that endpoint. */
export type ServiceEndpoint = {
  [E in ServiceEndpointName]: EndpointHandlerOptions<E> & { readonly queue?: string };
}[ServiceEndpointName];

/** A running service; `stop()` drains its subscriptions (also stopped when the connection closes). */
export interface RunningService {
  readonly service: Service;
  /** Our figures per endpoint name. */
  runStats(endpoint: ServiceEndpointName): EndpointRunStats;
  stop(): Promise<void>;
}

/** Micro error code of each failure the server detects itself. */
const SERVICE_ERROR_CODE: Record<ReplyFailureCode, number> = {
  [ReplyFailureCode.InvalidRequest]: 400,
  [ReplyFailureCode.Internal]: 500,
};

class RunCounter {
  completed = 0;
  processingMs = 0;
  readonly failures: Record<ReplyFailureCode, number> = {
    [ReplyFailureCode.InvalidRequest]: 0,
    [ReplyFailureCode.Internal]: 0,
  };

  snapshot(): EndpointRunStats {
    return {
      completed: this.completed,
      failures: { ...this.failures },
      processingMs: this.processingMs,
      averageProcessingMs: this.completed === 0 ? 0 : this.processingMs / this.completed,
    };
  }
}

/**
 * Starts a `@nats-io/services` service serving `options.endpoints`. Each endpoint's micro name is
 * its endpoint name (e.g. `tool-execute`), its subject the contracts subject (namespaced by
 * `names`), its queue group the contracts one.
 */
export async function serveService(options: ServeServiceOptions): Promise<RunningService> {
  const [first] = options.endpoints;
  if (!first) throw new TypeError('a service needs at least one endpoint');
  const counters = new Map<string, RunCounter>();
  const bySubject = new Map<string, RunCounter>();
  const defaultQueue = (e: ServiceEndpoint) =>
    e.queue ?? (endpointQueue(e.names, e.endpoint) as string);

  const service = await new Svcm(options.nc).add({
    name: options.name ?? defaultQueue(first),
    version: options.version,
    queue: defaultQueue(first),
    ...(options.description === undefined ? {} : { description: options.description }),
    ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
    // Called per endpoint on a STATS request; its result becomes that endpoint's `data`.
    statsHandler: (endpoint) =>
      Promise.resolve(bySubject.get(endpoint.subject)?.snapshot() ?? null),
  });

  try {
    for (const endpoint of options.endpoints) {
      if (counters.has(endpoint.endpoint)) {
        throw new TypeError(`endpoint ${endpoint.endpoint} given twice`);
      }
      const counter = new RunCounter();
      const subject = endpointSubject(endpoint.names, endpoint.endpoint);
      counters.set(endpoint.endpoint, counter);
      bySubject.set(subject, counter);
      const started = new WeakMap<ServiceMsg, number>();
      const handle = endpointRequestHandler<ServiceEndpointName, ServiceMsg>(
        endpoint as EndpointHandlerOptions<ServiceEndpointName>,
        (msg, payload, { headers, failure }) => {
          counter.completed += 1;
          counter.processingMs += performance.now() - (started.get(msg) ?? performance.now());
          if (failure === undefined) return msg.respond(payload, headers ? { headers } : {});
          counter.failures[failure] += 1;
          return msg.respondError(SERVICE_ERROR_CODE[failure], failure, payload, {
            ...(headers ? { headers } : {}),
          });
        },
      );
      service.addEndpoint(endpoint.endpoint, {
        subject,
        queue: defaultQueue(endpoint),
        handler: (err, msg) => {
          if (err) {
            // The library stops the service on a subscription error; nothing to answer.
            endpoint.logger.error({ endpoint: endpoint.endpoint, err }, 'service endpoint failed');
            return;
          }
          started.set(msg, performance.now());
          void handle(msg);
        },
      });
    }
  } catch (err) {
    await service.stop();
    throw err;
  }

  return {
    service,
    runStats: (endpoint) => {
      const counter = counters.get(endpoint);
      if (!counter) throw new TypeError(`endpoint ${endpoint} is not served here`);
      return counter.snapshot();
    },
    stop: async () => {
      await service.stop();
    },
  };
}
