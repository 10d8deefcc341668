/**
 * The campaign runner's state in PostgreSQL (`campaigns`, `campaign_contacts`, read next to the
 * dialer's `call_requests`). Every transition is one conditional statement, so replicas race
 * freely:
 *
 * - claim: the campaign row is locked `FOR UPDATE SKIP LOCKED` (one replica claims for a
 *   campaign at a time; the others skip it), so the pacing slot (`next_call_at`) and the
 *   live-call count hold across replicas; the contacts due on the pacing grid up to now (no
 *   more than the cap leaves room for) become `dialing` with `attempts + 1` in the same
 *   transaction, in one batch.
 * - settle: a `dialing` contact whose call request (found by its idempotency key) reached a final
 *   status takes the matching outcome; the statement only touches `dialing` contacts.
 * - complete: `running → completed` only while no contact is `pending` or `dialing`.
 */
import type { PrismaClient } from '@app/db';

import { afterSlots, dueSlots } from '../domain/campaign-pacing.js';
import {
  isInsideWindows,
  isValidTimeZone,
  parseCallingWindows,
} from '../domain/campaign-windows.js';

/** A contact outside its calling window is looked at again this much later (ms). */
export const WINDOW_RECHECK_MS = 60_000;

/** Contacts looked at per claim at least, when windows apply (the due head of the queue). */
const CANDIDATES = 100;

/** The idempotency key of a contact's call request (one request per contact). */
export function contactRequestKey(campaignId: string, contactId: string): string {
  return `campaign:${campaignId}:contact:${contactId}`;
}

/** A contact claimed for its call, with what the request needs. */
export interface ClaimedContact {
  readonly campaignId: string;
  readonly contactId: string;
  readonly agentId: string;
  readonly phone: string;
  /** Values for the agent's instructions, `name` included when the contact has one. */
  readonly variables: Record<string, string>;
  /** Caller id from the campaign's pool; undefined when the pool is empty (the agent's own). */
  readonly from: string | undefined;
}

export type CampaignClaim =
  /** Contacts now `dialing`, in slot order; `nextCallAt` may be past (slots left for room). */
  | {
      readonly kind: 'claimed';
      readonly contacts: readonly ClaimedContact[];
      readonly nextCallAt: Date;
    }
  /** Another replica holds the campaign, or it is no longer running or not yet started. */
  | { readonly kind: 'skipped' }
  /** The pacing slot is in the future. */
  | { readonly kind: 'paced'; readonly until: Date }
  /** `maxConcurrentCalls` contacts are `dialing`. */
  | { readonly kind: 'at-capacity' }
  /** No due contact inside its calling window. */
  | { readonly kind: 'idle' }
  /** Calling windows or zone do not parse: nothing is started. */
  | { readonly kind: 'misconfigured'; readonly reason: string };

/** A running campaign as the runner's pass sees it. */
export interface RunnableCampaign {
  readonly id: string;
  /** Its next pacing slot; null = now. */
  readonly nextCallAt: Date | null;
  /** `maxConcurrentCalls` contacts are `dialing`. */
  readonly atCapacity: boolean;
}

/** Contact counts by outcome (the `CampaignCounts` of the campaign events). */
export interface ContactCounts {
  total: number;
  dialed: number;
  completed: number;
  failed: number;
  remaining: number;
  live: number;
  skipped: number;
}

interface CampaignRow {
  id: string;
  agent_id: string;
  from_numbers: string[];
  start_at: Date | null;
  end_at: Date | null;
  calling_windows: unknown;
  timezone: string;
  max_concurrent_calls: number;
  calls_per_minute: number;
  next_call_at: Date | null;
  calls_started: number;
}

interface ContactRow {
  id: string;
  phone: string;
  name: string | null;
  variables: unknown;
  timezone: string | null;
}

/** `variables` as stored: an object of strings (anything else is dropped). */
function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}

function toContact(campaign: CampaignRow, c: ContactRow, seq: number): ClaimedContact {
  const pool = campaign.from_numbers;
  return {
    campaignId: campaign.id,
    contactId: c.id,
    agentId: campaign.agent_id,
    phone: c.phone,
    variables: { ...stringRecord(c.variables), ...(c.name ? { name: c.name } : {}) },
    from: pool.length > 0 ? pool[seq % pool.length] : undefined,
  };
}

export class CampaignStore {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Running campaigns past their `startAt` (whatever their `endAt`: see skipExpired), with
   * their pacing slot and whether their cap is full: a hint that spares the claim transaction
   * (claimDue checks both again under the lock).
   */
  async runnable(): Promise<RunnableCampaign[]> {
    const rows = await this.prisma.$queryRaw<
      Array<{ id: string; next_call_at: Date | null; full: boolean }>
    >`
      SELECT k.id::text, k.next_call_at,
        (SELECT count(*) FROM campaign_contacts c
         WHERE c.campaign_id = k.id AND c.status = 'dialing') >= k.max_concurrent_calls AS full
      FROM campaigns k
      WHERE k.status = 'running' AND (k.start_at IS NULL OR k.start_at <= now())
      ORDER BY k.next_call_at NULLS FIRST`;
    return rows.map((r) => ({ id: r.id, nextCallAt: r.next_call_at, atCapacity: r.full }));
  }

  /**
   * Claims the contacts of a running campaign to call now: one per pacing slot due up to `now`
   * (campaign-pacing.ts), no more than its live-call cap leaves room for, inside the contacts'
   * calling windows. One transaction, whatever their number, so the pace does not depend on a
   * round trip per call. Due contacts outside their window are pushed back by
   * {@link WINDOW_RECHECK_MS} so they do not hold up the queue. The slot moves on by the
   * contacts claimed: slots left for want of room are taken when calls end (within the
   * catch-up bound), none when no contact was due.
   */
  async claimDue(campaignId: string, now: Date = new Date()): Promise<CampaignClaim> {
    return this.prisma.$transaction(async (tx) => {
      const [campaign] = await tx.$queryRaw<CampaignRow[]>`
        SELECT k.id::text, k.agent_id::text, k.from_numbers, k.start_at, k.end_at,
          k.calling_windows, k.timezone, k.max_concurrent_calls, k.calls_per_minute,
          k.next_call_at, k.calls_started
        FROM campaigns k WHERE k.id = ${campaignId}::uuid AND k.status = 'running'
        FOR UPDATE OF k SKIP LOCKED`;
      if (!campaign) return { kind: 'skipped' } as const;
      if (campaign.start_at && campaign.start_at > now) return { kind: 'skipped' } as const;
      if (campaign.end_at && campaign.end_at <= now) return { kind: 'idle' } as const;
      const slots = dueSlots(campaign.next_call_at, now, campaign.calls_per_minute);
      if (!slots) return { kind: 'paced', until: campaign.next_call_at ?? now } as const;
      const windows = parseCallingWindows(campaign.calling_windows);
      if (!windows) return { kind: 'misconfigured', reason: 'calling_windows' } as const;
      if (!isValidTimeZone(campaign.timezone)) {
        return { kind: 'misconfigured', reason: 'timezone' } as const;
      }
      // The live count comes from a statement that starts after the lock is held: a snapshot
      // taken with the lock statement could miss the claims of a replica that committed
      // between that snapshot and the lock, and let both fill the same places. Without
      // windows every due contact is callable, so no more are locked (a lock writes the row)
      // than the slots or the cap allow; with windows, it looks further so that contacts
      // waiting for theirs do not block the queue.
      const most = Math.min(slots.due, campaign.max_concurrent_calls);
      const candidates = await tx.$queryRaw<Array<ContactRow & { live: number }>>`
        SELECT id::text, phone, name, variables, timezone,
          (SELECT count(*)::int FROM campaign_contacts d
           WHERE d.campaign_id = ${campaignId}::uuid AND d.status = 'dialing') AS live
        FROM campaign_contacts
        WHERE campaign_id = ${campaignId}::uuid AND status = 'pending'
          AND (next_attempt_at IS NULL OR next_attempt_at <= ${now})
        ORDER BY next_attempt_at NULLS FIRST, created_at, id
        LIMIT ${windows.length === 0 ? most : Math.max(CANDIDATES, most)}
        FOR UPDATE SKIP LOCKED`;
      if (candidates.length === 0) return { kind: 'idle' } as const;
      const room = campaign.max_concurrent_calls - candidates[0]!.live;
      if (room <= 0) return { kind: 'at-capacity' } as const;
      const wanted = Math.min(slots.due, room);
      const waiting: string[] = [];
      const chosen: ContactRow[] = [];
      for (const c of candidates) {
        if (chosen.length === wanted) break;
        // A contact zone this runtime does not know falls back to the campaign's.
        const zone = c.timezone && isValidTimeZone(c.timezone) ? c.timezone : campaign.timezone;
        if (isInsideWindows(windows, zone, now)) chosen.push(c);
        else waiting.push(c.id);
      }
      if (waiting.length > 0) {
        await tx.$executeRaw`
          UPDATE campaign_contacts
          SET next_attempt_at = ${new Date(now.getTime() + WINDOW_RECHECK_MS)}, updated_at = now()
          WHERE id = ANY(${waiting}::uuid[]) AND status = 'pending'`;
      }
      if (chosen.length === 0) return { kind: 'idle' } as const;
      const nextCallAt = afterSlots(slots, chosen.length);
      // The contacts and the campaign's slot in one statement (one round trip). The contacts
      // are locked by this transaction, so every one of them is claimed.
      await tx.$executeRaw`
        WITH claimed AS (
          UPDATE campaign_contacts SET status = 'dialing', attempts = attempts + 1,
            updated_at = now()
          WHERE id = ANY(${chosen.map((c) => c.id)}::uuid[]) AND status = 'pending'
          RETURNING id)
        UPDATE campaigns SET next_call_at = ${nextCallAt},
          calls_started = calls_started + (SELECT count(*) FROM claimed)
        WHERE id = ${campaignId}::uuid`;
      return {
        kind: 'claimed',
        contacts: chosen.map((c, i) => toContact(campaign, c, campaign.calls_started + i)),
        nextCallAt,
      } as const;
    });
  }

  /**
   * Applies the final status of each `dialing` contact's call request: completed → completed,
   * rejected (do-not-call, validation) → skipped, canceled → canceled, failed → failed. The
   * claim's provisional attempt is replaced by the calls the dialer actually made (its busy and
   * no-answer retries included; none for a rejected request). Returns the campaigns that changed.
   */
  async settleEnded(): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<Array<{ campaign_id: string }>>`
      UPDATE campaign_contacts AS c SET
        status = (CASE r.status
          WHEN 'completed' THEN 'completed' WHEN 'rejected' THEN 'skipped'
          WHEN 'canceled' THEN 'canceled' ELSE 'failed' END)::campaign_contact_status,
        attempts = c.attempts - 1 + r.attempts,
        last_call_id = (SELECT k.id FROM calls k WHERE k.id = r.call_id),
        updated_at = now()
      FROM call_requests AS r
      WHERE c.status = 'dialing'
        AND r.idempotency_key = 'campaign:' || c.campaign_id::text || ':contact:' || c.id::text
        AND r.status IN ('completed', 'failed', 'rejected', 'canceled')
      RETURNING c.campaign_id::text`;
    return [...new Set(rows.map((r) => r.campaign_id))];
  }

  /**
   * `dialing` contacts with no call request recorded since `staleBefore` (the runner died
   * between the claim and the publish, or the publish failed), re-stamped now so one replica
   * takes each. Publishing again is safe: the request's id and key are the same.
   */
  async takeUnrequested(staleBefore: Date, limit: number): Promise<ClaimedContact[]> {
    const rows = await this.prisma.$queryRaw<Array<ContactRow & { campaign_id: string }>>`
      UPDATE campaign_contacts AS t SET updated_at = now()
      FROM (SELECT c.id FROM campaign_contacts c
            WHERE c.status = 'dialing' AND c.updated_at < ${staleBefore}
              AND NOT EXISTS (SELECT 1 FROM call_requests r WHERE r.idempotency_key =
                'campaign:' || c.campaign_id::text || ':contact:' || c.id::text)
            ORDER BY c.updated_at LIMIT ${limit} FOR UPDATE SKIP LOCKED) AS old
      WHERE t.id = old.id
      RETURNING t.id::text, t.campaign_id::text, t.phone, t.name, t.variables, t.timezone`;
    if (rows.length === 0) return [];
    const ids = [...new Set(rows.map((r) => r.campaign_id))];
    const campaigns = await this.prisma.$queryRaw<CampaignRow[]>`
      SELECT id::text, agent_id::text, from_numbers, start_at, end_at, calling_windows,
        timezone, max_concurrent_calls, calls_per_minute, next_call_at, calls_started
      FROM campaigns WHERE id = ANY(${ids}::uuid[])`;
    const byId = new Map(campaigns.map((c) => [c.id, c]));
    return rows.flatMap((r) => {
      const campaign = byId.get(r.campaign_id);
      return campaign ? [toContact(campaign, r, 0)] : [];
    });
  }

  /** Running campaigns past their `endAt`: their pending contacts are skipped (never dialed). */
  async skipExpired(): Promise<number> {
    return this.prisma.$executeRaw`
      UPDATE campaign_contacts AS c SET status = 'skipped', updated_at = now()
      FROM campaigns AS k
      WHERE c.campaign_id = k.id AND c.status = 'pending'
        AND k.status = 'running' AND k.end_at IS NOT NULL AND k.end_at <= now()`;
  }

  /** `running → completed` when no contact is pending or dialing; false otherwise. */
  async completeIfDone(campaignId: string): Promise<boolean> {
    const n = await this.prisma.$executeRaw`
      UPDATE campaigns SET status = 'completed', updated_at = now()
      WHERE id = ${campaignId}::uuid AND status = 'running'
        AND NOT EXISTS (SELECT 1 FROM campaign_contacts
                        WHERE campaign_id = ${campaignId}::uuid
                          AND status IN ('pending', 'dialing'))`;
    return n === 1;
  }

  /** The campaign's contacts counted by outcome. */
  async counts(campaignId: string): Promise<ContactCounts> {
    const rows = await this.prisma.$queryRaw<Array<{ status: string; n: number; dialed: number }>>`
      SELECT status::text, count(*)::int AS n, count(*) FILTER (WHERE attempts > 0)::int AS dialed
      FROM campaign_contacts WHERE campaign_id = ${campaignId}::uuid GROUP BY status`;
    const by = (s: string) => rows.find((r) => r.status === s)?.n ?? 0;
    return {
      total: rows.reduce((sum, r) => sum + r.n, 0),
      dialed: rows.reduce((sum, r) => sum + r.dialed, 0),
      completed: by('completed'),
      failed: by('failed'),
      remaining: by('pending') + by('dialing'),
      live: by('dialing'),
      skipped: by('skipped'),
    };
  }
}
