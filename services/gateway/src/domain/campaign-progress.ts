/**
 * A campaign's progress from its contacts' counts: what `GET /v1/campaigns/:id` shows and what
 * the campaign events carry. Pure, no I/O.
 */
import type { CampaignCounts } from '@app/contracts';

/** Contact statuses (`campaign_contact_status`). */
export const CONTACT_STATUSES = [
  'pending',
  'dialing',
  'completed',
  'failed',
  'skipped',
  'canceled',
] as const;
export type ContactStatus = (typeof CONTACT_STATUSES)[number];

/** What the store counts; every status present, 0 when none. */
export interface ContactTally {
  byStatus: Record<ContactStatus, number>;
  /** Sum of the contacts' attempts. */
  attempts: number;
  /** Contacts with at least one attempt. */
  dialed: number;
}

export interface CampaignProgress {
  total: number;
  byStatus: Record<ContactStatus, number>;
  attempts: number;
  /** Calls live now: contacts `dialing`. */
  live: number;
  /** Contacts still to be called: `pending` and `dialing`. */
  remaining: number;
  /**
   * When the remaining contacts will have been started at `callsPerMinute`, ISO 8601; null when
   * the campaign is not running or nothing remains. A lower bound: windows, retries and the
   * concurrency cap can only make it later.
   */
  estimatedCompletionAt: string | null;
}

export function campaignProgress(
  tally: ContactTally,
  campaign: { status: string; callsPerMinute: number },
  now: Date,
): CampaignProgress {
  const total = CONTACT_STATUSES.reduce((sum, s) => sum + tally.byStatus[s], 0);
  const remaining = tally.byStatus.pending + tally.byStatus.dialing;
  const minutes = Math.ceil(tally.byStatus.pending / Math.max(1, campaign.callsPerMinute));
  const estimatedCompletionAt =
    campaign.status === 'running' && remaining > 0
      ? new Date(now.getTime() + minutes * 60_000).toISOString()
      : null;
  return {
    total,
    byStatus: tally.byStatus,
    attempts: tally.attempts,
    live: tally.byStatus.dialing,
    remaining,
    estimatedCompletionAt,
  };
}

/** The counts of a campaign event (`@app/contracts` `CampaignCounts`). */
export function eventCounts(tally: ContactTally): CampaignCounts {
  const total = CONTACT_STATUSES.reduce((sum, s) => sum + tally.byStatus[s], 0);
  return {
    total,
    dialed: tally.dialed,
    completed: tally.byStatus.completed,
    failed: tally.byStatus.failed,
    remaining: tally.byStatus.pending + tally.byStatus.dialing,
    live: tally.byStatus.dialing,
    skipped: tally.byStatus.skipped,
  };
}
