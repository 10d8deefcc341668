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
  callOwner,
  serveEndpoint,
  type BusLogger,
  type CallOwners,
  type Names,
} from '@app/contracts';

import type { LiveCallControl } from '../launch-call.js';

export interface OwnershipDeps {
  nc: NatsConnection;
  names: Names;
  owners: CallOwners;
  /** POD_NAME: who owns the call. */
  pod: string;
  /** Re-put interval; well under the bucket TTL (30 s). @defaultValue 10 000 */
  heartbeatMs?: number;
  log: BusLogger;
}

/** Builds the media route's `onCallLive`: claim, heartbeat and control, undone at call end. */
export function callOwnership(deps: OwnershipDeps): (call: LiveCallControl) => () => void {
  return (call) => {
    const owner = callOwner({ pod: deps.pod, transport: call.transport, since: new Date() });
    const log = { callId: call.callId, pod: deps.pod };
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
    const heartbeat = setInterval(() => {
      deps.owners.put(call.callId, owner).catch((err: unknown) => {
        deps.log.warn({ ...log, err }, 'call owner heartbeat failed');
      });
    }, deps.heartbeatMs ?? 10_000);
    heartbeat.unref();

    const control = serveEndpoint({
      nc: deps.nc,
      names: deps.names,
      endpoint: 'call-control',
      callId: call.callId,
      // Only the owning pod subscribes: no queue group is needed, none is wanted.
      queue: null,
      logger: deps.log,
      handler: async (request) => {
        const command = request.data;
        if (command.action === 'hangup') {
          call.hangup('agent-hangup');
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
      },
    });

    return () => {
      clearInterval(heartbeat);
      control.unsubscribe();
      deps.owners.release(call.callId).catch((err: unknown) => {
        deps.log.warn({ ...log, err }, 'call owner not released');
      });
    };
  };
}
