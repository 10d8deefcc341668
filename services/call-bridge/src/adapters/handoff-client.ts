/**
 * Asks the handoff service for a human on a call's behalf (`handoff.transfer`): the caller
 * pressed 0, or a rule fired. Never rejects: a service that does not answer is `unavailable`,
 * which the session tells the model and records.
 */
import type { NatsConnection } from '@nats-io/transport-node';

import { handoffTransferRequest, request, type BusLogger, type Names } from '@app/contracts';

import type { HandoffAsk, HandoffOutcome } from '../domain/call-session.js';

export interface HandoffClientOptions {
  nc: NatsConnection;
  names: Names;
  /** Longest wait for the handoff service's reply, in ms. @defaultValue 5 000 */
  timeoutMs?: number;
  log: BusLogger;
}

export type HandoffClient = (callId: string, ask: HandoffAsk) => Promise<HandoffOutcome>;

export function handoffClient(opts: HandoffClientOptions): HandoffClient {
  const { nc, names, log } = opts;
  return async (callId, ask) => {
    try {
      const message = handoffTransferRequest(callId, {
        reason: ask.reason,
        trigger: ask.trigger,
        mode: 'cold',
      });
      const reply = await request(nc, names, 'handoff-transfer', message, {
        timeoutMs: opts.timeoutMs ?? 5_000,
      });
      return reply.data;
    } catch (err) {
      log.warn({ err, callId, trigger: ask.trigger }, 'handoff service did not answer');
      return {
        status: 'unavailable',
        message: `no answer from the handoff service: ${String(err)}`,
      };
    }
  };
}
