/**
 * Handoff rows and the call facts a handoff needs (transport, provider ids, our number), in
 * PostgreSQL. Every step of a handoff updates its row; the call events say the same on the bus.
 */
import type { Prisma, PrismaClient } from '@app/db';

import { TRIGGER_COLUMN, type Transport, type Trigger } from '../domain/transfer-plan.js';

/** What a handoff needs to know about the call it moves. */
export interface CallFacts {
  id: string;
  transport: Transport | null;
  twilioCallSid: string | null;
  openaiCallId: string | null;
  /** Our number on this call: the called number of an inbound call, the caller id of an outbound one. */
  ourNumber: string;
  ended: boolean;
}

export type HandoffStatus =
  | 'requested'
  | 'queued'
  | 'ringing'
  | 'connected'
  | 'completed'
  | 'abandoned'
  | 'failed'
  | 'canceled';

/** Statuses a handoff can still move on from. */
export const OPEN_STATUSES: readonly HandoffStatus[] = [
  'requested',
  'queued',
  'ringing',
  'connected',
];

export interface NewHandoff {
  callId: string;
  reason: string;
  summary: string | undefined;
  trigger: Trigger;
  skill: string | undefined;
  mode: 'cold' | 'warm';
}

export interface HandoffChange {
  status: HandoffStatus;
  humanAgentId?: string;
  target?: string;
  failureReason?: string;
}

export interface OpenHandoff {
  id: string;
  status: HandoffStatus;
  humanAgentId: string | null;
}

const TERMINAL: ReadonlySet<HandoffStatus> = new Set([
  'completed',
  'abandoned',
  'failed',
  'canceled',
]);

export class HandoffStore {
  /** The client, or a transaction's (see transfer-requests.ts). */
  constructor(private readonly prisma: PrismaClient | Prisma.TransactionClient) {}

  async callFacts(callId: string): Promise<CallFacts | null> {
    const call = await this.prisma.call.findUnique({
      where: { id: callId },
      select: {
        id: true,
        transport: true,
        twilioCallSid: true,
        openaiCallId: true,
        direction: true,
        fromNumber: true,
        toNumber: true,
        endedAt: true,
      },
    });
    if (!call) return null;
    return {
      id: call.id,
      transport:
        call.transport === 'sip' ? 'sip' : call.transport === null ? null : 'media-streams',
      twilioCallSid: call.twilioCallSid,
      openaiCallId: call.openaiCallId,
      ourNumber: call.direction === 'inbound' ? call.toNumber : call.fromNumber,
      ended: call.endedAt !== null,
    };
  }

  /** The call's handoffs still under way (a second one is refused while one is). */
  async openFor(callId: string): Promise<OpenHandoff[]> {
    return this.prisma.handoff.findMany({
      where: { callId, status: { in: [...OPEN_STATUSES] } },
      select: { id: true, status: true, humanAgentId: true },
      orderBy: { requestedAt: 'asc' },
    });
  }

  /** Inserts a handoff row with the request's facts plus `fields`; answers its id. */
  async #insert(
    h: NewHandoff,
    fields: Pick<Prisma.HandoffUncheckedCreateInput, 'status'> &
      Partial<Prisma.HandoffUncheckedCreateInput>,
  ): Promise<string> {
    const row = await this.prisma.handoff.create({
      data: {
        callId: h.callId,
        reason: h.reason,
        summary: h.summary ?? null,
        trigger: TRIGGER_COLUMN[h.trigger],
        skill: h.skill ?? null,
        mode: h.mode,
        ...fields,
      },
      select: { id: true },
    });
    return row.id;
  }

  create(h: NewHandoff): Promise<string> {
    return this.#insert(h, { status: 'requested' });
  }

  /** A handoff with its human chosen (`queued`). */
  createQueued(h: NewHandoff, humanAgentId: string, target: string): Promise<string> {
    return this.#insert(h, { status: 'queued', humanAgentId, target });
  }

  /**
   * Moves a handoff on, unless it already ended (a late step after the call's end must not
   * reopen it). False when nothing changed.
   */
  async update(id: string, change: HandoffChange): Promise<boolean> {
    const now = new Date();
    const { count } = await this.prisma.handoff.updateMany({
      where: { id, status: { in: [...OPEN_STATUSES] } },
      data: {
        status: change.status,
        ...(change.humanAgentId !== undefined ? { humanAgentId: change.humanAgentId } : {}),
        ...(change.target !== undefined ? { target: change.target } : {}),
        ...(change.failureReason !== undefined ? { failureReason: change.failureReason } : {}),
        ...(change.status === 'connected' ? { connectedAt: now } : {}),
        ...(TERMINAL.has(change.status) ? { endedAt: now } : {}),
      },
    });
    return count === 1;
  }

  /** Whether the handoff is still under way (not completed, failed, abandoned or canceled). */
  async isOpen(id: string): Promise<boolean> {
    const row = await this.prisma.handoff.findUnique({ where: { id }, select: { status: true } });
    return row !== null && OPEN_STATUSES.includes(row.status);
  }

  /** A handoff refused at once (no human): created and failed in one go, for the record. */
  createFailed(h: NewHandoff, failureReason: string): Promise<string> {
    return this.#insert(h, { status: 'failed', failureReason, endedAt: new Date() });
  }
}
