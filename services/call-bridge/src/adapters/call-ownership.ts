/**
 * Ownership and control of a live call (ARCHITECTURE.md "Ownership and control of a live
 * call"): the pod holding the media socket writes `call-owners[callId] = { pod, since }` and
 * re-puts it every `heartbeatMs` (the bucket's TTL drops it if the pod dies; nats-server 2.9 has
 * no per-key TTL, so the heartbeat refreshes the whole entry), answers
 * `call-control.<callId>` (hangup, inject, and transfer where the transport has it: SIP `refer`),
 * and removes both when the call ends. A SIP call is claimed before it is accepted (the claim
 * decides which pod takes it); the claim here then finds its own entry and keeps it.
 */
import type { NatsConnection } from '@nats-io/transport-node';

import {
  CallEndReason,
  callOwner,
  serveEndpoint,
  type BusLogger,
  type CallControlCommand,
  type CallControlResult,
  type CallOwners,
  type Names,
} from '@app/contracts';
import { SpanKind } from '@app/platform';

import { spans } from '../call-trace.js';
import type { LiveCallControl } from '../launch-call.js';

export interface OwnershipDeps {
  nc: NatsConnection;
  names: Names;
  owners: CallOwners;
  /** POD_NAME: who owns the call. */
  pod: string;
  /** Re-put interval; well under the bucket TTL (30 s). @defaultValue 10 000 */
  heartbeatMs?: number;
  /** Records each successful write, for the heartbeat-age gauge. */
  heartbeats?: OwnerHeartbeats;
  log: BusLogger;
}

/**
 * When each live call's owner entry was last written by this pod (claim or heartbeat), so a
 * gauge can show heartbeats that stopped succeeding before the bucket TTL drops the entries.
 */
export class OwnerHeartbeats {
  readonly #lastWrite = new Map<string, number>();
  readonly #now: () => number;

  /** @param now - ms clock. @defaultValue Date.now */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The call's entry was written just now. */
  beat(callId: string): void {
    this.#lastWrite.set(callId, this.#now());
  }

  /** The call ended: its entry is released, nothing more to heartbeat. */
  forget(callId: string): void {
    this.#lastWrite.delete(callId);
  }

  /** Seconds since the least recently written entry; 0 when this pod holds no call. */
  oldestAgeSeconds(): number {
    let oldest = Infinity;
    for (const at of this.#lastWrite.values()) oldest = Math.min(oldest, at);
    return oldest === Infinity ? 0 : Math.max(0, this.#now() - oldest) / 1_000;
  }
}

/** Builds the media route's `onCallLive`: claim, heartbeat and control, undone at call end. */
export function callOwnership(deps: OwnershipDeps): (call: LiveCallControl) => () => void {
  return (call) => {
    const owner = callOwner({ pod: deps.pod, transport: call.transport, since: new Date() });
    const log = { callId: call.callId, pod: deps.pod };
    // Claimed just now: by the claim below, or (SIP) by the offer handler before it accepted.
    deps.heartbeats?.beat(call.callId);
    void deps.owners.claim(call.callId, owner).then(
      async (claimed) => {
        if (claimed) return;
        const current = await deps.owners.get(call.callId);
        if (current?.pod === deps.pod) return;
        deps.log.warn(log, 'call already owned by another pod; taking it over');
        await deps.owners.put(call.callId, owner);
      },
      (err: unknown) => deps.log.error({ ...log, err }, 'call owner not written'),
    );
    let ended = false;
    const heartbeat = setInterval(() => {
      deps.owners.put(call.callId, owner).then(
        () => {
          if (!ended) deps.heartbeats?.beat(call.callId);
        },
        (err: unknown) => {
          deps.log.warn({ ...log, err }, 'call owner heartbeat failed');
        },
      );
    }, deps.heartbeatMs ?? 10_000);
    heartbeat.unref();

    const runCommand = async (command: CallControlCommand): Promise<CallControlResult> => {
      if (command.action === 'hangup') {
        // Only a person's hang-up has its own reason; any other asker ends it for the agent.
        call.hangup(
          command.reason === CallEndReason.OperatorHangup
            ? CallEndReason.OperatorHangup
            : CallEndReason.AgentHangup,
        );
        return { ok: true };
      }
      if (command.action === 'inject') {
        return call.inject(command.text, command.role ?? 'system')
          ? { ok: true }
          : { ok: false, error: { code: 'CALL_NOT_LIVE', message: 'the call has ended' } };
      }
      if (call.transfer) return call.transfer(command.target, command.mode);
      return {
        ok: false,
        error: {
          code: 'NOT_SUPPORTED',
          message: `transfers of ${call.transport} calls are not supported yet`,
        },
      };
    };

    const control = serveEndpoint({
      nc: deps.nc,
      names: deps.names,
      endpoint: 'call-control',
      callId: call.callId,
      // Only the owning pod subscribes: no queue group is needed, none is wanted.
      queue: null,
      logger: deps.log,
      // Under the asker's span (an operator's action, or the handoff service moving the call).
      handler: (request) =>
        spans.withSpan(
          `call.control ${request.data.action}`,
          { 'call.id': call.callId, 'call.transport': call.transport },
          () => runCommand(request.data),
          { kind: SpanKind.SERVER },
        ),
    });

    return () => {
      ended = true;
      deps.heartbeats?.forget(call.callId);
      clearInterval(heartbeat);
      control.unsubscribe();
      deps.owners.release(call.callId).catch((err: unknown) => {
        deps.log.warn({ ...log, err }, 'call owner not released');
      });
    };
  };
}
