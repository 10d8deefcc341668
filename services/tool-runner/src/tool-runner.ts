/**
 * The tool-runner of one replica, assembled: the `tool-runner.execute` endpoint as the NATS
 * service `tool-runner` (queue group, stats, discovery), backed by the executor, the built-in
 * tools, the HTTP tool client (behind the SSRF guard) and the shared rate limits. `main.ts` starts it with the service's
 * clients; tests start it directly.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';

import { serveService, type Names, type RunningService } from '@app/contracts';
import type { PrismaClient } from '@app/db';
import type { Logger } from '@app/platform';

import { guardedDispatcher } from './adapters/guarded-dispatcher.js';
import { httpToolClient } from './adapters/http-tool-client.js';
import { KvCounterStore } from './adapters/kv-counter-store.js';
import { prismaToolDirectory } from './adapters/tool-directory.js';
import { ArgumentValidator } from './domain/argument-validator.js';
import { destinationPolicy, type DestinationPolicyOptions } from './domain/destination-policy.js';
import { ToolRateLimiter, type WindowLimit } from './domain/rate-limits.js';
import { createToolExecutor, type ExecuteSettings } from './handlers/execute-tool.js';
import { createToolMetrics } from './metrics.js';
import { builtinHandlers } from './tools/builtin-handlers.js';

export interface ToolRunnerSettings extends ExecuteSettings {
  /** All tools of one call together; `max: 0` = no limit. */
  readonly perCall: WindowLimit;
  /** One tool across every call; `max: 0` = no limit. */
  readonly perTool: WindowLimit;
  readonly transferMode: 'cold' | 'warm';
  /** Longest wait for the handoff service's answer, ms. */
  readonly handoffTimeoutMs: number;
  /** First pause between HTTP tool attempts, doubled each time, ms. */
  readonly httpRetryBaseMs: number;
  /**
   * Where HTTP tools may connect. The default refuses every non-public address (loopback,
   * private, link-local, …); tests and development whose tools run locally allow them.
   */
  readonly httpDestinations: DestinationPolicyOptions;
}

export const DEFAULT_TOOL_RUNNER_SETTINGS: ToolRunnerSettings = {
  maxOutputBytes: 16 * 1024,
  maxTimeoutMs: 30_000,
  deadlineMarginMs: 100,
  perCall: { max: 30, windowMs: 60_000 },
  perTool: { max: 100, windowMs: 1_000 },
  transferMode: 'warm',
  handoffTimeoutMs: 5_000,
  httpRetryBaseMs: 200,
  httpDestinations: { allowPrivateNetworks: false, allowedHosts: [] },
};

export interface ToolRunnerDeps {
  nc: NatsConnection;
  names: Names;
  prisma: PrismaClient;
  registry: Registry;
  log: Logger;
  settings?: Partial<ToolRunnerSettings>;
  /** Version the service announces (micro protocol). @defaultValue `0.0.0` */
  version?: string;
  /** @defaultValue `() => new Date()` */
  now?: () => Date;
}

export interface RunningToolRunner {
  /** The `@nats-io/services` service (stats, discovery). */
  readonly service: RunningService;
  /** Stops taking requests; invocations under way finish (the subscription drains). Idempotent. */
  stop(): Promise<void>;
}

export async function startToolRunner(deps: ToolRunnerDeps): Promise<RunningToolRunner> {
  const { nc, names, log } = deps;
  const settings = { ...DEFAULT_TOOL_RUNNER_SETTINGS, ...deps.settings };
  const now = deps.now ?? (() => new Date());
  // Built first: a bad allowlist entry fails before anything starts.
  const dispatcher = guardedDispatcher({ policy: destinationPolicy(settings.httpDestinations) });
  const limiter =
    settings.perCall.max > 0 || settings.perTool.max > 0
      ? new ToolRateLimiter({
          store: await KvCounterStore.open(nc, names),
          perCall: settings.perCall,
          perTool: settings.perTool,
          now: () => now().getTime(),
        })
      : null;
  const executeTool = createToolExecutor({
    directory: prismaToolDirectory(deps.prisma),
    validator: new ArgumentValidator(),
    limiter,
    builtins: builtinHandlers({
      nc,
      prisma: deps.prisma,
      js: jetstream(nc),
      names,
      now,
      transferMode: settings.transferMode,
      handoffTimeoutMs: settings.handoffTimeoutMs,
    }),
    callHttpTool: httpToolClient({
      dispatcher,
      log,
      now: () => now().getTime(),
      retryBaseMs: settings.httpRetryBaseMs,
    }),
    settings,
    metrics: createToolMetrics(deps.registry),
    log,
  });
  const service = await serveService({
    nc,
    version: deps.version ?? '0.0.0',
    description: "Runs the agents' function calls: built-in and HTTP tools",
    endpoints: [{ names, endpoint: 'tool-execute', logger: log, handler: executeTool }],
  });
  log.info({ serviceId: service.service.info().id }, 'serving tool-runner.execute');
  let stopped: Promise<void> | undefined;
  return {
    service,
    // Once: a second close of the dispatcher throws.
    stop: () =>
      (stopped ??= (async () => {
        await service.stop();
        // After the drain: invocations still running keep their connections until they finish.
        await dispatcher.close();
      })()),
  };
}
