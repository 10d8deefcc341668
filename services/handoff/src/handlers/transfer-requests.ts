/**
 * `handoff.transfer`: a human for a call, asked by the transfer_to_human tool (tool-runner),
 * by the bridge for a key press or a rule, or by an operator (the gateway's
 * `POST /v1/calls/:id/transfer`, trigger `operator`). The reply comes as soon as a human is
 * chosen, or not: `accepted` (the transfer runs next, see transfer-runner.ts) or `rejected` with
 * a reason the model can act on. Every request is a Handoff row and a `handoff-requested` event
 * (the bridge does not emit one), and every step after it a `handoff-updated` event.
 */
import type { NatsConnection } from '@nats-io/transport-node';

import {
  serveService,
  type HandoffTransferRequest,
  type HandoffTransferResult,
  type Names,
  type RunningService,
} from '@app/contracts';
import type { PrismaClient } from '@app/db';
import { SpanKind, type Logger } from '@app/platform';

import type { HandoffEvents } from '../adapters/handoff-events.js';
import { HandoffStore, type NewHandoff } from '../adapters/handoff-store.js';
import { HumanAgentStore } from '../adapters/human-agent-store.js';
import type { Notifier } from '../adapters/notifier.js';
import { noHumanReason, targetFor } from '../domain/transfer-plan.js';
import type { HandoffMetrics } from '../metrics.js';
import { spans } from '../spans.js';
import type { TransferRunner } from './transfer-runner.js';

export interface TransferDeps {
  nc: NatsConnection;
  names: Names;
  prisma: PrismaClient;
  handoffs: HandoffStore;
  events: HandoffEvents;
  notify: Notifier;
  runner: TransferRunner;
  /** Whether Twilio's REST API is configured (Media Streams calls are moved through it). */
  twilioReady: boolean;
  metrics: HandoffMetrics;
  log: Logger;
}

const rejected = (reason: string): HandoffTransferResult => ({ status: 'rejected', reason });

/** Decides one request (the endpoint's handler). */
export function transferHandler(deps: TransferDeps) {
  const decide = decider(deps);
  // A child of the asker's span (the tool-runner's `tool.execute`, or the bridge's
  // `handoff.ask`), whose context the request carried.
  return (req: HandoffTransferRequest): Promise<HandoffTransferResult> =>
    spans.withSpan(
      'handoff.transfer',
      {
        'call.id': req.callId,
        'handoff.trigger': req.data.trigger,
        'handoff.mode': req.data.mode,
        ...(req.data.skill !== undefined ? { 'handoff.skill': req.data.skill } : {}),
      },
      async (span) => {
        const result = await decide(req);
        deps.metrics.requests.inc({ trigger: req.data.trigger, outcome: result.status });
        span.setAttribute('handoff.outcome', result.status);
        if (result.status === 'accepted') span.setAttribute('handoff.id', result.handoffId);
        else span.setAttribute('handoff.reason', result.reason);
        return result;
      },
      { kind: SpanKind.SERVER },
    );
}

function decider(deps: TransferDeps) {
  const { handoffs, events, notify, log } = deps;
  return async (req: HandoffTransferRequest): Promise<HandoffTransferResult> => {
    const callId = req.callId;
    const t = req.data;
    const call = await handoffs.callFacts(callId);
    if (call === null) return rejected('unknown-call: no call with this id is recorded');
    if (call.ended) return rejected('call-ended: the call is over');
    const transport = call.transport;
    if (transport === null) return rejected('transfer-unavailable: the call transport is unknown');
    if (transport === 'media-streams' && (!deps.twilioReady || !call.twilioCallSid)) {
      return rejected('transfer-unavailable: this call cannot be moved (no Twilio call to update)');
    }
    const base: NewHandoff = {
      callId,
      reason: t.reason,
      summary: t.summary,
      trigger: t.trigger,
      skill: t.skill,
      mode: t.mode,
    };
    const requested = {
      reason: t.reason,
      ...(t.summary !== undefined ? { summary: t.summary } : {}),
      ...(t.skill !== undefined ? { skill: t.skill, queue: t.skill } : {}),
      trigger: t.trigger,
      mode: t.mode,
    };
    // One decision per call at a time, across replicas (a key pressed twice, a retried tool
    // call): the second waits for the first's row and joins it instead of claiming a 2nd human.
    const decision = await deps.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`handoff:${callId}`}))`;
      const txHandoffs = new HandoffStore(tx);
      const [open] = await txHandoffs.openFor(callId);
      if (open !== undefined) return { kind: 'joined', handoffId: open.id } as const;
      const human = await new HumanAgentStore(tx).claimLongestIdle(t.skill, transport);
      if (human === null) {
        const handoffId = await txHandoffs.createFailed(base, 'no-human-available');
        return { kind: 'no-human', handoffId } as const;
      }
      // The claim query only returns humans reachable on this transport.
      const target = targetFor(human, transport) ?? '';
      const handoffId = await txHandoffs.createQueued(base, human.id, target);
      return { kind: 'claimed', handoffId, human, target } as const;
    });
    if (decision.kind === 'joined') return { status: 'accepted', handoffId: decision.handoffId };
    const { handoffId } = decision;
    if (decision.kind === 'no-human') {
      await events.requested(callId, { ...requested, handoffId });
      await events.updated(callId, { handoffId, status: 'failed', reason: 'no-human-available' });
      log.info({ callId, handoffId, skill: t.skill }, 'handoff refused: no human available');
      return rejected(noHumanReason(t.skill));
    }
    const { human, target } = decision;
    await events.requested(callId, { ...requested, handoffId });
    await events.updated(callId, { handoffId, status: 'queued', humanAgentId: human.id, target });
    await notify({
      humanAgentId: human.id,
      callId,
      handoffId,
      kind: 'handoff-offered',
      summary: t.summary,
      reason: t.reason,
      target,
    });
    deps.runner.start({
      handoffId,
      call: { ...call, transport },
      humanAgentId: human.id,
      target,
      mode: t.mode,
      reason: t.reason,
      summary: t.summary,
      acceptedAtMs: Date.now(),
    });
    log.info({ callId, handoffId, humanAgentId: human.id, mode: t.mode }, 'handoff accepted');
    return { status: 'accepted', handoffId, target };
  };
}

/**
 * Serves `handoff.transfer` as the `handoff` service of the `@nats-io/services` framework (queue
 * group `handoff`, stats and discovery through `$SRV.*`).
 */
export function serveTransferRequests(
  deps: TransferDeps,
  version: string,
): Promise<RunningService> {
  const handle = transferHandler(deps);
  return serveService({
    nc: deps.nc,
    version,
    description: 'Hands calls to human agents: cold and warm transfers',
    endpoints: [
      {
        names: deps.names,
        endpoint: 'handoff-transfer',
        logger: deps.log,
        handler: (req) => handle(req),
      },
    ],
  });
}
