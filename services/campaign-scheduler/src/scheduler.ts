/**
 * The dialer of one replica, assembled: the call-request intake, the call-ended consumer, the
 * dial loop, the reconciler, and the campaign runner that feeds it campaign contacts. `main.ts` starts it with the service's clients; tests start one
 * (or several, as replicas) against the simulators.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';

import type { Names, RunningConsumer } from '@app/contracts';
import type { PrismaClient } from '@app/db';
import { PrismaDialingDirectory, type DialingDirectory } from '@app/dialing';
import type { Logger } from '@app/platform';

import { dialerEvents } from './adapters/call-events.js';
import { CallRequestStore } from './adapters/call-request-store.js';
import { CampaignStore } from './adapters/campaign-store.js';
import { PrismaDialDirectory } from './adapters/dial-directory.js';
import { KvSlotStore } from './adapters/kv-slot-store.js';
import type { TwilioDialer } from './adapters/twilio-dialer.js';
import { DEFAULT_RETRY_ON, type RetryPolicy } from './domain/attempts.js';
import { classifyDialError, dialErrorFields } from './domain/dial-errors.js';
import { CallRateLimiter, type SlotStore } from './domain/rate-limiter.js';
import { startCallEndedConsumer } from './handlers/call-ended.js';
import { startCallRequestIntake } from './handlers/call-request-intake.js';
import { startCampaignRunner, type CampaignRunner } from './handlers/campaign-runner.js';
import { startDialLoop, type DialLoop } from './handlers/dial-loop.js';
import { startReconciler, type Reconciler } from './handlers/reconciler.js';
import { createDialerMetrics } from './metrics.js';

/** The dialer's settings (from config.ts; see its comments and the README for each). */
export interface DialerSettings {
  gatewayUrl: string;
  openaiSipUri: string | undefined;
  ringTimeoutSec: number;
  maxCps: number;
  maxCpsPerNumber: number;
  maxConcurrent: number;
  maxAttempts: number;
  retryBackoffMs: number;
  transientBackoffMs: number;
  maxTransientFailures: number;
  parallelism: number;
  pollIntervalMs: number;
  reclaimAfterMs: number;
  liveCheckAfterMs: number;
}

/** The campaign runner's timing (config.ts `CAMPAIGN_*`). */
export interface CampaignRunnerSettings {
  /** How often the runner looks at campaigns when nothing is due sooner (ms). */
  pollIntervalMs: number;
  /** Least time between two `progress` events of a campaign (ms). */
  progressIntervalMs: number;
  /** A `dialing` contact with no call request recorded after this long is published again (ms). */
  republishAfterMs: number;
}

/** Defaults of {@link CampaignRunnerSettings} (the config's). */
export const DEFAULT_CAMPAIGN_RUNNER_SETTINGS: CampaignRunnerSettings = {
  pollIntervalMs: 500,
  progressIntervalMs: 2_000,
  republishAfterMs: 30_000,
};

export interface SchedulerDeps {
  nc: NatsConnection;
  names: Names;
  prisma: PrismaClient;
  /** Null: requests are taken and recorded, nothing is dialed (no Twilio credentials). */
  dialer: TwilioDialer | null;
  settings: DialerSettings;
  /** @defaultValue {@link DEFAULT_CAMPAIGN_RUNNER_SETTINGS} */
  campaign?: CampaignRunnerSettings;
  pod: string;
  log: Logger;
  /** @defaultValue the KV bucket `dialer-rate-limits` */
  slotStore?: SlotStore;
  /** @defaultValue `PrismaDialingDirectory` */
  directory?: DialingDirectory;
  /** Where the dialer's metrics go (the service's `/metrics`). @defaultValue a registry of its own */
  registry?: Registry;
}

export interface RunningScheduler {
  /** Stops taking requests and ends, gives back or finishes the attempts in hand. */
  stop(): Promise<void>;
}

export async function startScheduler(deps: SchedulerDeps): Promise<RunningScheduler> {
  const { settings: s, log } = deps;
  const store = new CallRequestStore(deps.prisma);
  const metrics = createDialerMetrics(deps.registry ?? new Registry(), () => store.liveCount());
  const policy: RetryPolicy = {
    maxAttempts: s.maxAttempts,
    backoffMs: s.retryBackoffMs,
    retryOn: DEFAULT_RETRY_ON,
  };
  let loop: DialLoop | undefined;
  let reconciler: Reconciler | undefined;
  if (deps.dialer) {
    // Bad credentials show at start, not on the first call; a Twilio outage does not stop it.
    await deps.dialer.check().catch((err: unknown) => {
      log.error(
        dialErrorFields(classifyDialError(err)),
        'twilio check failed: calls will fail until it answers',
      );
    });
    const attemptDeps = {
      store,
      dialer: deps.dialer,
      limiter: new CallRateLimiter({
        store: deps.slotStore ?? (await KvSlotStore.open(deps.nc, deps.names)),
        globalCps: s.maxCps,
        perNumberCps: s.maxCpsPerNumber,
        onWait: (limit, waitMs) => {
          metrics.rateLimitWaits.inc({ limit });
          metrics.rateLimitWaitSeconds.observe({ limit }, waitMs / 1_000);
        },
      }),
      events: dialerEvents(jetstream(deps.nc), deps.names),
      directory: new PrismaDialDirectory(deps.prisma),
      placement: {
        gatewayUrl: s.gatewayUrl,
        openaiSipUri: s.openaiSipUri,
        ringTimeoutSec: s.ringTimeoutSec,
      },
      transient: { backoffMs: s.transientBackoffMs, maxFailures: s.maxTransientFailures },
      metrics,
    };
    loop = startDialLoop({
      ...attemptDeps,
      maxConcurrent: s.maxConcurrent,
      parallelism: s.parallelism,
      pollIntervalMs: s.pollIntervalMs,
      pod: deps.pod,
      log: log.child({ component: 'dialer' }),
    });
    const wake = loop.wake;
    reconciler = startReconciler(
      {
        ...attemptDeps,
        reclaimAfterMs: s.reclaimAfterMs,
        liveCheckAfterMs: s.liveCheckAfterMs,
        pod: deps.pod,
        log: log.child({ component: 'reconciler' }),
        onReleased: wake,
      },
      Math.max(50, Math.min(s.reclaimAfterMs, s.liveCheckAfterMs) / 4),
    );
  }
  const campaigns: CampaignRunner = startCampaignRunner({
    ...DEFAULT_CAMPAIGN_RUNNER_SETTINGS,
    ...deps.campaign,
    store: new CampaignStore(deps.prisma),
    js: jetstream(deps.nc),
    names: deps.names,
    log: log.child({ component: 'campaign-runner' }),
  });
  const consumers: RunningConsumer[] = [];
  try {
    consumers.push(
      await startCallEndedConsumer({
        nc: deps.nc,
        names: deps.names,
        store,
        policy,
        metrics,
        log: log.child({ component: 'call-ended' }),
        onApplied: () => {
          loop?.wake();
          // A contact's call may be over: settle it and free its campaign's place.
          campaigns.wake();
        },
      }),
    );
    consumers.push(
      await startCallRequestIntake({
        nc: deps.nc,
        names: deps.names,
        store,
        directory: deps.directory ?? new PrismaDialingDirectory(deps.prisma),
        metrics,
        log: log.child({ component: 'intake' }),
        onAccepted: () => loop?.wake(),
      }),
    );
  } catch (err) {
    await Promise.all(consumers.map((c) => c.stop()));
    await campaigns.stop();
    await reconciler?.stop();
    await loop?.stop();
    throw err;
  }
  return {
    async stop() {
      // The runner first, then intake: nothing new arrives while the rest winds down.
      await campaigns.stop();
      for (const c of [...consumers].reverse()) await c.stop();
      await reconciler?.stop();
      await loop?.stop();
    },
  };
}
