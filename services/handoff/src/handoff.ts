/**
 * The handoff service of one replica, assembled: the `handoff.transfer` endpoint, the runner
 * that carries out accepted handoffs, and the call-ended consumer. `main.ts` starts it with the
 * service's clients; tests start it against the simulators.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';

import type { Names, RunningService } from '@app/contracts';
import type { PrismaClient } from '@app/db';
import type { Logger } from '@app/platform';

import { bridgeControl } from './adapters/bridge-control.js';
import { handoffEvents } from './adapters/handoff-events.js';
import { HandoffStore } from './adapters/handoff-store.js';
import { HumanAgentStore } from './adapters/human-agent-store.js';
import { humanNotifier, type WebhookTarget } from './adapters/notifier.js';
import type { TwilioVoice } from './adapters/twilio-voice.js';
import { startCallEndedConsumer } from './handlers/call-ended.js';
import { serveTransferRequests } from './handlers/transfer-requests.js';
import { TransferRunner, type RunnerSettings } from './handlers/transfer-runner.js';
import { createHandoffMetrics, type HandoffMetrics } from './metrics.js';

export interface HandoffSettings extends RunnerSettings {
  /** Longest wait for the owning bridge's call-control reply, ms. */
  controlTimeoutMs: number;
}

export const DEFAULT_HANDOFF_SETTINGS: HandoffSettings = {
  transferDelayMs: 2_500,
  ringTimeoutSec: 20,
  joinTimeoutMs: 90_000,
  pollIntervalMs: 500,
  controlTimeoutMs: 5_000,
};

export interface HandoffDeps {
  nc: NatsConnection;
  names: Names;
  prisma: PrismaClient;
  /** Null: no Twilio account; Media Streams calls cannot be handed off (refused with a reason). */
  twilio: TwilioVoice | null;
  webhook: WebhookTarget | null;
  settings?: Partial<HandoffSettings>;
  /** @defaultValue metrics on a registry of their own (not exported) */
  metrics?: HandoffMetrics;
  /** Version the service announces (micro protocol). @defaultValue `0.0.0` */
  version?: string;
  log: Logger;
}

export interface RunningHandoff {
  readonly service: RunningService;
  /** Stops taking requests, lets transfers under way settle, stops the consumer. */
  stop(): Promise<void>;
}

export async function startHandoff(deps: HandoffDeps): Promise<RunningHandoff> {
  const { nc, names, log } = deps;
  const settings = { ...DEFAULT_HANDOFF_SETTINGS, ...deps.settings };
  const metrics = deps.metrics ?? createHandoffMetrics(new Registry());
  const handoffs = new HandoffStore(deps.prisma);
  const humans = new HumanAgentStore(deps.prisma);
  const events = handoffEvents(jetstream(nc), names);
  const notify = humanNotifier({ nc, names, webhook: deps.webhook, log });
  const runner = new TransferRunner({
    handoffs,
    humans,
    events,
    notify,
    bridge: bridgeControl(nc, names, settings.controlTimeoutMs),
    twilio: deps.twilio,
    settings,
    metrics,
    log,
  });
  const consumer = await startCallEndedConsumer({
    nc,
    names,
    handoffs,
    humans,
    events,
    notify,
    log,
  });
  const service = await serveTransferRequests(
    {
      nc,
      names,
      prisma: deps.prisma,
      handoffs,
      events,
      notify,
      runner,
      twilioReady: deps.twilio !== null,
      metrics,
      log,
    },
    deps.version ?? '0.0.0',
  );
  return {
    /** The `@nats-io/services` service (stats, discovery). */
    service,
    async stop() {
      await service.stop();
      await runner.stop();
      await consumer.stop();
    },
  };
}
