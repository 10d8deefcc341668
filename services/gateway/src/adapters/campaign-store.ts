/**
 * Campaigns on PostgreSQL (`campaigns`, `audit_logs`): every write and its audit row commit
 * together, and status changes are conditional UPDATEs (`WHERE status IN (<expected>)`), so two
 * concurrent actions (or the runner completing the campaign) cannot both win.
 */
import { Prisma, type Campaign, type PrismaClient } from '@app/db';

import type { CampaignFields } from '../domain/campaign-input.js';
import {
  CONTACT_STATUSES,
  type ContactStatus,
  type ContactTally,
} from '../domain/campaign-progress.js';

/** A campaign as the API shows it (dates as ISO 8601). */
export interface CampaignView {
  id: string;
  name: string;
  agentId: string;
  fromNumbers: string[];
  startAt: string | null;
  endAt: string | null;
  callingWindows: unknown;
  timezone: string;
  maxConcurrentCalls: number;
  callsPerMinute: number;
  retryPolicy: unknown;
  consentPurpose: string | null;
  fromPool: string | null;
  status: string;
  createdAt: string;
  updatedAt: string;
}

/** Outcome of a write on one campaign. */
export type CampaignWrite<T> =
  { kind: 'ok'; value: T } | { kind: 'not_found' } | { kind: 'conflict'; status: string };

/** `campaigns.id` is a uuid column: anything else would make PostgreSQL fail the query. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The statuses in which a campaign's settings and contacts may change. */
export const EDITABLE: readonly Campaign['status'][] = ['draft', 'paused'];

export function campaignView(row: Campaign): CampaignView {
  return {
    id: row.id,
    name: row.name,
    agentId: row.agentId,
    fromNumbers: row.fromNumbers,
    startAt: row.startAt?.toISOString() ?? null,
    endAt: row.endAt?.toISOString() ?? null,
    callingWindows: row.callingWindows,
    timezone: row.timezone,
    maxConcurrentCalls: row.maxConcurrentCalls,
    callsPerMinute: row.callsPerMinute,
    retryPolicy: row.retryPolicy,
    consentPurpose: row.consentPurpose,
    fromPool: row.fromPool,
    status: row.status,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

type Tx = Prisma.TransactionClient;

const json = (value: unknown) => JSON.parse(JSON.stringify(value)) as Prisma.InputJsonValue;

/** One `audit_logs` row; `before`/`after` null on create/delete. */
export async function audit(
  tx: Tx,
  entry: { actor: string; action: string; resourceId: string; before: unknown; after: unknown },
): Promise<void> {
  await tx.auditLog.create({
    data: {
      actor: entry.actor,
      action: entry.action,
      resourceType: 'campaign',
      resourceId: entry.resourceId,
      before: entry.before === null ? Prisma.JsonNull : json(entry.before),
      after: entry.after === null ? Prisma.JsonNull : json(entry.after),
    },
    select: { id: true },
  });
}

function columns(fields: Partial<CampaignFields>) {
  return {
    ...(fields.name === undefined ? {} : { name: fields.name }),
    ...(fields.agentId === undefined ? {} : { agentId: fields.agentId }),
    ...(fields.fromNumbers === undefined ? {} : { fromNumbers: fields.fromNumbers }),
    ...(fields.startAt === undefined ? {} : { startAt: fields.startAt }),
    ...(fields.endAt === undefined ? {} : { endAt: fields.endAt }),
    ...(fields.callingWindows === undefined ? {} : { callingWindows: json(fields.callingWindows) }),
    ...(fields.timezone === undefined ? {} : { timezone: fields.timezone }),
    ...(fields.maxConcurrentCalls === undefined
      ? {}
      : { maxConcurrentCalls: fields.maxConcurrentCalls }),
    ...(fields.callsPerMinute === undefined ? {} : { callsPerMinute: fields.callsPerMinute }),
    ...(fields.retryPolicy === undefined ? {} : { retryPolicy: json(fields.retryPolicy) }),
    ...(fields.consentPurpose === undefined ? {} : { consentPurpose: fields.consentPurpose }),
    ...(fields.fromPool === undefined ? {} : { fromPool: fields.fromPool }),
  };
}

export class PrismaCampaignStore {
  constructor(private readonly prisma: PrismaClient) {}

  async create(fields: CampaignFields, actor: string): Promise<CampaignView> {
    return this.prisma.$transaction(async (tx) => {
      const row = await tx.campaign.create({
        data: { ...columns(fields), name: fields.name, agentId: fields.agentId },
      });
      const view = campaignView(row);
      await audit(tx, {
        actor,
        action: 'campaign.create',
        resourceId: row.id,
        before: null,
        after: view,
      });
      return view;
    });
  }

  async get(id: string): Promise<Campaign | null> {
    if (!UUID.test(id)) return null;
    return this.prisma.campaign.findUnique({ where: { id } });
  }

  /** Newest first; `cursor` is the id of the last campaign of the previous page. */
  async list(
    limit: number,
    cursor?: string,
  ): Promise<{ items: CampaignView[]; nextCursor: string | null }> {
    if (cursor !== undefined && !UUID.test(cursor)) return { items: [], nextCursor: null };
    const rows = await this.prisma.campaign.findMany({
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      ...(cursor === undefined ? {} : { cursor: { id: cursor }, skip: 1 }),
    });
    const page = rows.slice(0, limit);
    return {
      items: page.map(campaignView),
      nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  /**
   * Applies `fields` while the campaign is draft or paused. `check` sees the campaign as it
   * would be stored and may refuse it (cross-field rules); its issues are returned as they are.
   */
  async update<I>(
    id: string,
    fields: Partial<CampaignFields>,
    actor: string,
    check: (merged: Campaign) => I[],
  ): Promise<CampaignWrite<CampaignView> | { kind: 'invalid'; issues: I[] }> {
    if (!UUID.test(id)) return { kind: 'not_found' };
    return this.prisma.$transaction(async (tx) => {
      const before = await lockCampaign(tx, id);
      if (before === null) return { kind: 'not_found' as const };
      if (!EDITABLE.includes(before.status))
        return { kind: 'conflict' as const, status: before.status };
      const issues = check({ ...before, ...(fields as Partial<Campaign>) });
      if (issues.length > 0) return { kind: 'invalid' as const, issues };
      const row = await tx.campaign.update({ where: { id }, data: columns(fields) });
      const view = campaignView(row);
      await audit(tx, {
        actor,
        action: 'campaign.update',
        resourceId: id,
        before: campaignView(before),
        after: view,
      });
      return { kind: 'ok' as const, value: view };
    });
  }

  /** Deletes a draft campaign and its contacts. */
  async remove(id: string, actor: string): Promise<CampaignWrite<null>> {
    if (!UUID.test(id)) return { kind: 'not_found' };
    return this.prisma.$transaction(async (tx) => {
      const before = await lockCampaign(tx, id);
      if (before === null) return { kind: 'not_found' as const };
      if (before.status !== 'draft') return { kind: 'conflict' as const, status: before.status };
      await tx.campaign.delete({ where: { id } });
      await audit(tx, {
        actor,
        action: 'campaign.delete',
        resourceId: id,
        before: campaignView(before),
        after: null,
      });
      return { kind: 'ok' as const, value: null };
    });
  }

  /**
   * Moves the campaign from one of `from` to `to` with a conditional UPDATE; a cancel also marks
   * the pending contacts `canceled` (a contact being dialed finishes its call).
   */
  async transition(
    id: string,
    action: string,
    from: readonly Campaign['status'][],
    to: Campaign['status'],
    actor: string,
  ): Promise<CampaignWrite<{ campaign: CampaignView; tally: ContactTally }>> {
    if (!UUID.test(id)) return { kind: 'not_found' };
    return this.prisma.$transaction(async (tx) => {
      // Locked, so `before` is exactly what the UPDATE changes; the UPDATE stays conditional all
      // the same, the way the runner's `running -> completed` is.
      const before = await lockCampaign(tx, id);
      if (before === null) return { kind: 'not_found' as const };
      const moved = await tx.campaign.updateMany({
        where: { id, status: { in: [...from] } },
        data: { status: to },
      });
      if (moved.count === 0) return { kind: 'conflict' as const, status: before.status };
      if (to === 'canceled') {
        await tx.campaignContact.updateMany({
          where: { campaignId: id, status: 'pending' },
          data: { status: 'canceled', nextAttemptAt: null },
        });
      }
      const after = await tx.campaign.findUniqueOrThrow({ where: { id } });
      await audit(tx, {
        actor,
        action: `campaign.${action}`,
        resourceId: id,
        before: campaignView(before),
        after: campaignView(after),
      });
      return {
        kind: 'ok' as const,
        value: { campaign: campaignView(after), tally: await tally(tx, id) },
      };
    });
  }

  async tally(id: string): Promise<ContactTally> {
    return tally(this.prisma, id);
  }
}

/** The campaign, locked against concurrent writes until the transaction ends. */
export async function lockCampaign(tx: Tx, id: string): Promise<Campaign | null> {
  const locked = await tx.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM campaigns WHERE id = ${id}::uuid FOR UPDATE`;
  if (locked.length === 0) return null;
  return tx.campaign.findUnique({ where: { id } });
}

/** Counts of a campaign's contacts by status, with their attempts. */
export async function tally(db: Tx | PrismaClient, id: string): Promise<ContactTally> {
  const rows = await db.$queryRaw<
    Array<{ status: string; n: number; attempts: number; dialed: number }>
  >`
    SELECT status::text AS status, count(*)::int AS n,
           coalesce(sum(attempts), 0)::int AS attempts,
           (count(*) FILTER (WHERE attempts > 0))::int AS dialed
      FROM campaign_contacts WHERE campaign_id = ${id}::uuid GROUP BY status`;
  const byStatus = Object.fromEntries(CONTACT_STATUSES.map((s) => [s, 0])) as Record<
    ContactStatus,
    number
  >;
  let attempts = 0;
  let dialed = 0;
  for (const row of rows) {
    if ((CONTACT_STATUSES as readonly string[]).includes(row.status)) {
      byStatus[row.status as ContactStatus] = row.n;
    }
    attempts += row.attempts;
    dialed += row.dialed;
  }
  return { byStatus, attempts, dialed };
}
