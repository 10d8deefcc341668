/**
 * The calls under way, as the live view's snapshot lists them (`GET /v1/live/events`), and the
 * one call an operator acts on (`/v1/calls/:id/hangup|transfer`). A call is live until the
 * projector records an ended status (`completed`, `busy`, `no_answer`, `canceled`, `failed`).
 */
import type { CallStatus, PrismaClient } from '@app/db';

// The same shape as the call list's items, so the dashboard merges both.
import { SUMMARY_INCLUDE, summaryOf, type CallSummary } from './call-reports.js';

/** Statuses of a call not yet over (schema.prisma `CallStatus`). */
export const LIVE_STATUSES = [
  'queued',
  'initiated',
  'ringing',
  'in_progress',
] as const satisfies readonly CallStatus[];

export const isLive = (status: CallStatus): boolean =>
  (LIVE_STATUSES as readonly CallStatus[]).includes(status);

/**
 * More live calls than one dashboard can show; the bound keeps one snapshot (and a reconnect
 * storm) cheap. A platform past it reads `GET /v1/calls?status=…` instead.
 */
export const SNAPSHOT_LIMIT = 2_000;

export class PrismaLiveCalls {
  constructor(private readonly prisma: PrismaClient) {}

  /** Live calls, newest first. */
  async list(): Promise<CallSummary[]> {
    const rows = await this.prisma.call.findMany({
      where: { status: { in: [...LIVE_STATUSES] }, endedAt: null },
      include: SUMMARY_INCLUDE,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: SNAPSHOT_LIMIT,
    });
    return rows.map(summaryOf);
  }

  /** The status of one call (whether it may be acted on); null when unknown. */
  async state(id: string): Promise<{ status: CallStatus; live: boolean } | null> {
    const row = await this.prisma.call.findUnique({
      where: { id },
      select: { status: true, endedAt: true },
    });
    if (row === null) return null;
    return { status: row.status, live: isLive(row.status) && row.endedAt === null };
  }
}
