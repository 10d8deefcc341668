/**
 * Commands to the bridge that owns a live call (`call-control.<callId>`): a SIP call's transfer
 * is its bridge's REFER, and a note to the model when a handoff fell through after the caller
 * was told about it.
 */
import type { NatsConnection } from '@nats-io/transport-node';

import { callControlRequest, request, type CallControlResult, type Names } from '@app/contracts';

export interface BridgeControl {
  transfer(callId: string, target: string, mode: 'cold' | 'warm'): Promise<CallControlResult>;
  /** Adds a system note to the live conversation; false when nobody owns the call. */
  inject(callId: string, text: string): Promise<boolean>;
}

export function bridgeControl(nc: NatsConnection, names: Names, timeoutMs: number): BridgeControl {
  return {
    transfer: async (callId, target, mode) => {
      try {
        const reply = await request(
          nc,
          names,
          'call-control',
          callControlRequest(callId, { action: 'transfer', target, mode }),
          { timeoutMs },
        );
        return reply.data;
      } catch (err) {
        return { ok: false, error: { code: 'NO_OWNER', message: String(err) } };
      }
    },
    inject: async (callId, text) => {
      try {
        const reply = await request(
          nc,
          names,
          'call-control',
          callControlRequest(callId, { action: 'inject', text, role: 'system' }),
          { timeoutMs },
        );
        return reply.data.ok;
      } catch {
        return false;
      }
    },
  };
}
