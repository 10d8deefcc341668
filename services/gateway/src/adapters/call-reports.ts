/**
 * Reads of call records for the reports (`GET /v1/calls`, `/v1/calls/:id`, the CSV export):
 * filters, keyset pagination newest first, and the detail of one call.
 *
 * Pagination is by keyset on `(created_at, id)`, both descending, never by offset: a page costs
 * the same deep in the list as at its head (the `created_at DESC` indexes serve it), and calls
 * that start while someone pages do not shift the pages after the one in hand. `id` breaks ties
 * between calls created in the same millisecond (`timestamptz(3)`).
 */
import type { CallDirection, CallStatus, Prisma, PrismaClient } from '@app/db';

/** One row of the call list and of the CSV export. */
export interface CallSummary {
  id: string;
  direction: CallDirection;
  /** `media_streams` or `sip`; null until known. */
  transport: string | null;
  fromNumber: string;
  toNumber: string;
  status: CallStatus;
  /** Why it ended; null while live. */
  endReason: string | null;
  agentId: string | null;
  agentName: string | null;
  campaignId: string | null;
  campaignName: string | null;
  /** ISO 8601 (UTC). */
  createdAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  /** From answer to end, in ms; null while live or unknown. */
  durationMs: number | null;
  /** From call start to the voice session being ready, in ms; null when not measured. */
  setupMs: number | null;
}

export interface CallDetail extends CallSummary {
  /** Ordered by `ts`. */
  events: Array<{ id: string; type: string; ts: string; data: unknown }>;
  /** Ordered by `sequence`. */
  transcript: Array<{ role: string; text: string; startedAt: string | null; sequence: number }>;
  /** Ordered by `startedAt`. */
  toolInvocations: Array<{
    id: string;
    invocationId: string;
    name: string;
    args: unknown;
    result: unknown;
    error: string | null;
    latencyMs: number | null;
    startedAt: string;
    finishedAt: string | null;
  }>;
  /** Ordered by `requestedAt`. */
  handoffs: Array<{
    id: string;
    reason: string;
    summary: string | null;
    trigger: string;
    skill: string | null;
    mode: string;
    status: string;
    humanAgentId: string | null;
    humanAgentName: string | null;
    target: string | null;
    failureReason: string | null;
    requestedAt: string;
    connectedAt: string | null;
    endedAt: string | null;
  }>;
}

/** What the list and the export may be narrowed by; every field is optional. */
export interface CallFilters {
  /** `createdAt >= from`. */
  from?: Date;
  /** `createdAt < to`. */
  to?: Date;
  agentId?: string;
  campaignId?: string;
  direction?: CallDirection;
  status?: CallStatus;
  endReason?: string;
  /** Digits (and a leading `+`) found anywhere in the from or to number. */
  q?: string;
}

/** The position after the last call of a page. */
export interface CallCursor {
  createdAt: Date;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID.test(value);

/** Opaque to clients: base64url of `<createdAt ISO>|<id>`. */
export function encodeCursor(cursor: CallCursor): string {
  return Buffer.from(`${cursor.createdAt.toISOString()}|${cursor.id}`).toString('base64url');
}

/** The cursor a `nextCursor` encoded, or null for anything else (the route answers 400). */
export function decodeCursor(value: string): CallCursor | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(value)) return null;
  const text = Buffer.from(value, 'base64url').toString('utf8');
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f-]{36})$/i.exec(text);
  if (!match?.[1] || !match[2] || !UUID.test(match[2])) return null;
  const createdAt = new Date(match[1]);
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== match[1]) return null;
  return { createdAt, id: match[2].toLowerCase() };
}

/** The relations a CallSummary reads (agent and campaign names); the live view uses it too. */
export const SUMMARY_INCLUDE = {
  agent: { select: { name: true } },
  campaign: { select: { name: true } },
} satisfies Prisma.CallInclude;

export type SummaryRow = Prisma.CallGetPayload<{ include: typeof SUMMARY_INCLUDE }>;

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

export function summaryOf(row: SummaryRow): CallSummary {
  return {
    id: row.id,
    direction: row.direction,
    transport: row.transport,
    fromNumber: row.fromNumber,
    toNumber: row.toNumber,
    status: row.status,
    endReason: row.endReason,
    agentId: row.agentId,
    agentName: row.agent?.name ?? null,
    campaignId: row.campaignId,
    campaignName: row.campaign?.name ?? null,
    createdAt: row.createdAt.toISOString(),
    answeredAt: iso(row.answeredAt),
    endedAt: iso(row.endedAt),
    durationMs: row.durationMs,
    setupMs: row.setupMs,
  };
}

function whereOf(filters: CallFilters, after?: CallCursor): Prisma.CallWhereInput {
  const and: Prisma.CallWhereInput[] = [];
  if (filters.from || filters.to) {
    and.push({
      createdAt: {
        ...(filters.from ? { gte: filters.from } : {}),
        ...(filters.to ? { lt: filters.to } : {}),
      },
    });
  }
  if (filters.agentId) and.push({ agentId: filters.agentId });
  if (filters.campaignId) and.push({ campaignId: filters.campaignId });
  if (filters.direction) and.push({ direction: filters.direction });
  if (filters.status) and.push({ status: filters.status });
  if (filters.endReason) and.push({ endReason: filters.endReason });
  if (filters.q) {
    // `q` is digits and `+` only (the route checks), so it holds no LIKE wildcard.
    and.push({
      OR: [{ fromNumber: { contains: filters.q } }, { toNumber: { contains: filters.q } }],
    });
  }
  if (after) {
    and.push({
      OR: [
        { createdAt: { lt: after.createdAt } },
        { createdAt: after.createdAt, id: { lt: after.id } },
      ],
    });
  }
  return { AND: and };
}

const NEWEST_FIRST = [
  { createdAt: 'desc' },
  { id: 'desc' },
] satisfies Prisma.CallOrderByWithRelationInput[];

/** The report reads, over the Prisma client. */
export class PrismaCallReports {
  constructor(private readonly prisma: PrismaClient) {}

  /** One page, newest first; `nextCursor` is null on the last page. */
  async list(
    filters: CallFilters,
    limit: number,
    after?: CallCursor,
  ): Promise<{ items: CallSummary[]; nextCursor: string | null }> {
    // One more row than asked tells whether a next page exists without a count.
    const rows = await this.prisma.call.findMany({
      where: whereOf(filters, after),
      orderBy: NEWEST_FIRST,
      include: SUMMARY_INCLUDE,
      take: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(summaryOf),
      nextCursor:
        rows.length > limit && last
          ? encodeCursor({ createdAt: last.createdAt, id: last.id })
          : null,
    };
  }

  /**
   * Every matching call, newest first, read `pageSize` rows at a time: the next page is read
   * only when the consumer asks for more, so a stream's backpressure reaches the database and a
   * range of any size never sits in memory.
   */
  async *each(filters: CallFilters, pageSize: number): AsyncGenerator<CallSummary> {
    let after: CallCursor | undefined;
    for (;;) {
      const rows = await this.prisma.call.findMany({
        where: whereOf(filters, after),
        orderBy: NEWEST_FIRST,
        include: SUMMARY_INCLUDE,
        take: pageSize,
      });
      for (const row of rows) yield summaryOf(row);
      const last = rows.at(-1);
      if (rows.length < pageSize || !last) return;
      after = { createdAt: last.createdAt, id: last.id };
    }
  }

  /** The call with its timeline, transcript, tool calls and handoffs; null if unknown. */
  async detail(id: string): Promise<CallDetail | null> {
    if (!isUuid(id)) return null;
    const row = await this.prisma.call.findUnique({
      where: { id },
      include: {
        ...SUMMARY_INCLUDE,
        events: { orderBy: [{ ts: 'asc' }, { id: 'asc' }] },
        transcriptTurns: { orderBy: [{ sequence: 'asc' }, { id: 'asc' }] },
        toolInvocations: { orderBy: [{ startedAt: 'asc' }, { id: 'asc' }] },
        handoffs: {
          orderBy: [{ requestedAt: 'asc' }, { id: 'asc' }],
          include: { humanAgent: { select: { name: true } } },
        },
      },
    });
    if (row === null) return null;
    return {
      ...summaryOf(row),
      events: row.events.map((e) => ({
        id: e.id,
        type: e.type,
        ts: e.ts.toISOString(),
        data: e.data,
      })),
      transcript: row.transcriptTurns.map((t) => ({
        role: t.role,
        text: t.text,
        startedAt: iso(t.startedAt),
        sequence: t.sequence,
      })),
      toolInvocations: row.toolInvocations.map((t) => ({
        id: t.id,
        invocationId: t.invocationId,
        name: t.name,
        args: t.args,
        result: t.result,
        error: t.error,
        latencyMs: t.latencyMs,
        startedAt: t.startedAt.toISOString(),
        finishedAt: iso(t.finishedAt),
      })),
      handoffs: row.handoffs.map((h) => ({
        id: h.id,
        reason: h.reason,
        summary: h.summary,
        trigger: h.trigger,
        skill: h.skill,
        mode: h.mode,
        status: h.status,
        humanAgentId: h.humanAgentId,
        humanAgentName: h.humanAgent?.name ?? null,
        target: h.target,
        failureReason: h.failureReason,
        requestedAt: h.requestedAt.toISOString(),
        connectedAt: iso(h.connectedAt),
        endedAt: iso(h.endedAt),
      })),
    };
  }
}
